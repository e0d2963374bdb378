/**
 * The Stripe payment provider against the loopback Stripe fake, reached by the real SDK through
 * the provider's `apiBaseUrl` (host/port/protocol). Webhooks are signed by the SDK's own
 * `generateTestHeaderString` and POSTed to a loopback receiver that hands the raw bytes to
 * `provider.parseWebhook`, as the toolkit's route will.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import util from 'node:util';
import {
  createPaymentProvider, deriveIdempotencyKey, PaymentErrorCode, PaymentProviderError, STRIPE_DEFAULTS,
  type CreatePaymentInput, type PaymentErrorCodeValue, type PaymentProvider, type ProviderEvent,
} from '../../src/toolkits/payments/providers/index.ts';
import { createStripeProvider, type StripeProviderConfig } from '../../src/toolkits/payments/providers/stripe.ts';
import { sessionSnapshot } from '../../src/toolkits/payments/providers/stripe-status.ts';
import { startFakeStripe, type FakeStripe } from '../fakes/stripe-api.ts';
import { buildStripeEvent, sendStripeWebhook } from '../fakes/stripe-webhooks.ts';

const WHSEC = 'whsec_' + 'K3y'.repeat(12);
const OTHER_WHSEC = 'whsec_' + 'Z9q'.repeat(12);

function config(fake: FakeStripe, overrides: Partial<StripeProviderConfig> = {}): StripeProviderConfig {
  return {
    ...STRIPE_DEFAULTS,
    secretKey: fake.secretKey,
    webhookSecret: WHSEC,
    scope: 'binding_s1',
    successUrl: 'https://shop.example/paid',
    cancelUrl: null,
    apiBaseUrl: fake.origin,
    ...overrides,
  };
}

function stripeProvider(fake: FakeStripe, overrides: Partial<StripeProviderConfig> = {}): PaymentProvider {
  return createStripeProvider(config(fake, overrides), { now: () => new Date() });
}

function input(overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput {
  return { reference: 'ord_42', amountMinor: 2800, currency: 'EUR', description: 'Order ord_42: two coffees', expiresAt: new Date(Date.now() + 3600_000), ...overrides };
}

async function rejectsWith(p: Promise<unknown>, code: PaymentErrorCodeValue): Promise<PaymentProviderError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => ((caught = e), e instanceof PaymentProviderError && e.code === code));
  return caught as PaymentProviderError;
}

/** What the toolkit's webhook route will do: raw bytes + headers → parseWebhook; 200 with the event, 400 when refused. */
async function startWebhookRoute(provider: PaymentProvider): Promise<{ url: string; events: ProviderEvent[]; refusals: PaymentProviderError[] } & AsyncDisposable> {
  const events: ProviderEvent[] = [];
  const refusals: PaymentProviderError[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      provider.parseWebhook({ rawBody: Buffer.concat(chunks), headers: req.headers }).then(
        (e) => { events.push(e); res.writeHead(200).end(); },
        (e: PaymentProviderError) => { refusals.push(e); res.writeHead(400).end(e.code); },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/payments/stripe`,
    events,
    refusals,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

test('create → pending with a pay URL and our Idempotency-Key → paid in the fake → signed webhook verified → lookup says succeeded', async () => {
  await using fake = await startFakeStripe();
  const provider = stripeProvider(fake);
  await using route = await startWebhookRoute(provider);

  const inp = input();
  const created = await provider.createPayment(inp);
  assert.equal(created.status, 'pending');
  assert.match(created.providerRef, /^cs_test_/);
  assert.match(created.payUrl ?? '', /^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
  const sent = fake.requests.filter((r) => r.operation === 'create_session');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].idempotencyKey, deriveIdempotencyKey('binding_s1', 'create', 'ord_42'));
  assert.equal(sent[0].telemetry, false, 'telemetry is off');
  const form = sent[0].form as Record<string, unknown>;
  assert.deepEqual({ ...(form.metadata as object) }, { plugboard_reference: 'ord_42', plugboard_scope: 'binding_s1' });
  assert.equal(form.client_reference_id, 'ord_42');
  assert.equal(form.expires_at, String(Math.floor(inp.expiresAt.getTime() / 1000)));
  assert.equal(created.expiresAt.getTime(), Math.floor(inp.expiresAt.getTime() / 1000) * 1000);
  assert.equal((await provider.getPayment(created.providerRef)).status, 'pending');

  fake.markPaid(created.providerRef);
  const delivery = await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object: fake.state.sessionJson(created.providerRef), secret: WHSEC });
  assert.equal(delivery.status, 200);
  assert.deepEqual(route.events, [{ kind: 'payment', eventId: delivery.event.id, eventType: 'checkout.session.completed', providerRef: created.providerRef }]);
  assert.ok(!('status' in route.events[0]), 'the event carries an id to look up, never a status');

  const snap = await provider.getPayment((route.events[0] as { providerRef: string }).providerRef);
  assert.deepEqual({ ...snap, expiresAt: null }, {
    providerRef: created.providerRef, reference: 'ord_42', status: 'succeeded', amountMinor: 2800, currency: 'EUR',
    capturedMinor: 2800, refundedMinor: 0, expiresAt: null, failureReason: null,
  });
});

test('a webhook claiming "paid" for an unpaid session is only a hint: the lookup still says pending', async () => {
  await using fake = await startFakeStripe();
  const provider = stripeProvider(fake);
  await using route = await startWebhookRoute(provider);
  const created = await provider.createPayment(input());
  const forgedContent = { ...fake.state.sessionJson(created.providerRef), status: 'complete', payment_status: 'paid' };
  assert.equal((await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object: forgedContent, secret: WHSEC })).status, 200);
  assert.equal((await provider.getPayment(created.providerRef)).status, 'pending');
});

test('forged signatures, other secrets, other accounts and other bindings are refused', async () => {
  await using fake = await startFakeStripe({ accounts: [{}, {}] });
  const provider = stripeProvider(fake);
  await using route = await startWebhookRoute(provider);
  const mine = await provider.createPayment(input());
  fake.markPaid(mine.providerRef);
  const object = fake.state.sessionJson(mine.providerRef);

  // Signed with another endpoint's secret, a made-up signature, a stale timestamp, an altered body.
  assert.equal((await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object, secret: OTHER_WHSEC })).status, 400);
  assert.equal((await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object, secret: WHSEC, signature: `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` })).status, 400);
  assert.equal((await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object, secret: WHSEC, timestamp: Math.floor(Date.now() / 1000) - 301 })).status, 400);
  assert.equal((await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object, secret: WHSEC, timestamp: Math.floor(Date.now() / 1000) + 3600 })).status, 400);
  const event = buildStripeEvent('checkout.session.completed', object);
  const good = await sendStripeWebhook({ url: route.url, type: '', object: {}, secret: WHSEC, event });
  assert.equal(good.status, 200);
  const altered = await fetch(route.url, { method: 'POST', headers: { 'stripe-signature': good.signature }, body: good.payload.replace(mine.providerRef, 'cs_test_other') });
  assert.equal(altered.status, 400);
  const missing = await fetch(route.url, { method: 'POST', body: good.payload });
  assert.equal(missing.status, 400);
  assert.equal(route.refusals.length, 6);
  assert.ok(route.refusals.every((e) => e.code === PaymentErrorCode.webhookInvalid && !e.message.includes(WHSEC.slice(-4))));

  // Correctly signed for this binding, but about a session of another Stripe account: the lookup refuses it.
  const otherAccount = stripeProvider(fake, { secretKey: fake.accounts[1].secretKey, webhookSecret: OTHER_WHSEC, scope: 'binding_s2' });
  const theirs = await otherAccount.createPayment(input());
  fake.markPaid(theirs.providerRef);
  const foreign = await sendStripeWebhook({ url: route.url, type: 'checkout.session.completed', object: fake.state.sessionJson(theirs.providerRef), secret: WHSEC });
  assert.equal(foreign.status, 200, 'the signature is ours, so the event parses…');
  await rejectsWith(provider.getPayment(theirs.providerRef), PaymentErrorCode.notFound); // …but nothing about it can be looked up

  // Same Stripe account, another binding (scope): not ours either.
  const sibling = stripeProvider(fake, { scope: 'binding_s3' });
  const siblings = await sibling.createPayment(input({ reference: 'ord_sib' }));
  await rejectsWith(provider.getPayment(siblings.providerRef), PaymentErrorCode.notFound);

  // A live-mode event for a test-mode key.
  const live = await sendStripeWebhook({ url: route.url, type: '', object: {}, secret: WHSEC, event: { ...event, id: 'evt_live1', livemode: true } });
  assert.equal(live.status, 400);
});

test('refunds: above the captured amount refused by the provider; above what is left refused by Stripe; a retry is replayed', async () => {
  await using fake = await startFakeStripe();
  const provider = stripeProvider(fake);
  const p = await provider.createPayment(input());
  await rejectsWith(provider.refundPayment({ providerRef: p.providerRef, refundReference: 'rf_0', amountMinor: 100, reason: 'requested_by_customer' }), PaymentErrorCode.notRefundable);
  fake.markPaid(p.providerRef);

  const over = await rejectsWith(provider.refundPayment({ providerRef: p.providerRef, refundReference: 'rf_1', amountMinor: 2801, reason: 'requested_by_customer' }), PaymentErrorCode.refundExceedsCaptured);
  assert.equal(over.providerStatus, null, 'refused before any call to Stripe');
  assert.equal(fake.requests.filter((r) => r.operation === 'create_refund').length, 0);

  const first = await provider.refundPayment({ providerRef: p.providerRef, refundReference: 'rf_1', amountMinor: 2000, reason: 'requested_by_customer' });
  assert.equal(first.status, 'succeeded');
  assert.equal(first.refundReference, 'rf_1');
  assert.equal((await provider.getPayment(p.providerRef)).refundedMinor, 2000);

  const byStripe = await rejectsWith(provider.refundPayment({ providerRef: p.providerRef, refundReference: 'rf_2', amountMinor: 1000, reason: 'requested_by_customer' }), PaymentErrorCode.refundExceedsCaptured);
  assert.equal(byStripe.providerStatus, 400);
  assert.equal(byStripe.providerCode, 'amount_too_large');

  const again = await provider.refundPayment({ providerRef: p.providerRef, refundReference: 'rf_1', amountMinor: 2000, reason: 'requested_by_customer' });
  assert.equal(again.refundRef, first.refundRef);
  assert.equal(fake.requests.filter((r) => r.operation === 'create_refund').at(-1)?.replayed, true);
  assert.equal((await provider.getRefund(first.refundRef)).providerRef, p.providerRef);
  await rejectsWith(stripeProvider(fake, { scope: 'binding_other' }).getRefund(first.refundRef), PaymentErrorCode.notFound);

  // charge.refunded and refund.* webhooks normalise to ids of this payment.
  await using route = await startWebhookRoute(provider);
  const pi = fake.state.sessionJson(p.providerRef).payment_intent as string;
  await sendStripeWebhook({ url: route.url, type: 'charge.refunded', object: fake.state.chargeJson(fake.state.paymentIntentJson(pi).latest_charge as string), secret: WHSEC });
  await sendStripeWebhook({ url: route.url, type: 'refund.updated', object: fake.state.refundJson(first.refundRef), secret: WHSEC });
  await sendStripeWebhook({ url: route.url, type: 'customer.created', object: { id: 'cus_1', object: 'customer' }, secret: WHSEC });
  assert.deepEqual(route.events.map((e) => [e.kind, 'providerRef' in e ? e.providerRef : null, 'refundRef' in e ? e.refundRef : null]), [
    ['payment', p.providerRef, null], ['refund', p.providerRef, first.refundRef], ['ignored', null, null],
  ]);
});

test('a retried create with the same reference sends the same Idempotency-Key and makes one session — also after a restart and a lost answer', async () => {
  await using fake = await startFakeStripe();
  const persisted = input(); // the toolkit persists the input (expiresAt included) before the first call
  const a = await stripeProvider(fake).createPayment(persisted);
  // The toolkit restarted: a new provider (new SDK client) with the same binding and the persisted input.
  const b = await stripeProvider(fake).createPayment({ ...persisted });
  assert.equal(b.providerRef, a.providerRef);
  const creates = fake.requests.filter((r) => r.operation === 'create_session');
  assert.deepEqual(creates.map((r) => [r.idempotencyKey, r.replayed]), [[creates[0].idempotencyKey, false], [creates[0].idempotencyKey, true]]);
  assert.equal(fake.state.sessionCount(), 1);

  // Stripe created it but the answer was lost: the SDK's retry (same key) gets the replay.
  fake.failNext({ drop: true, afterExecute: true, match: 'create_session' });
  const c = await stripeProvider(fake).createPayment(input({ reference: 'ord_43' }));
  assert.equal(fake.state.sessionCount(), 2);
  assert.equal(fake.requests.at(-1)?.replayed, true);
  assert.notEqual(c.providerRef, a.providerRef);

  await rejectsWith(stripeProvider(fake).createPayment({ ...persisted, amountMinor: 2900 }), PaymentErrorCode.idempotencyConflict);
  // Why expiresAt must be persisted, not recomputed: a retry with a later expiry is another request.
  await rejectsWith(stripeProvider(fake).createPayment({ ...persisted, expiresAt: new Date(persisted.expiresAt.getTime() + 60_000) }), PaymentErrorCode.idempotencyConflict);
});

test('a 500 then success through the SDK\'s own retries; persistent 5xx and 429 are retryable errors', async () => {
  await using fake = await startFakeStripe();
  fake.failNext({ status: 500, match: 'create_session' });
  const p = await stripeProvider(fake).createPayment(input());
  const creates = fake.requests.filter((r) => r.operation === 'create_session');
  assert.deepEqual(creates.map((r) => r.status), [500, 200]);
  assert.equal(creates[0].idempotencyKey, creates[1].idempotencyKey);
  assert.match(p.providerRef, /^cs_test_/);

  fake.failNext({ status: 503 }, 2);
  const down = await rejectsWith(stripeProvider(fake, { maxNetworkRetries: 1 }).getPayment(p.providerRef), PaymentErrorCode.unavailable);
  assert.equal(down.retryable, true);
  fake.failNext({ status: 429 });
  assert.equal((await rejectsWith(stripeProvider(fake).getPayment(p.providerRef), PaymentErrorCode.rateLimited)).retryable, true);
  fake.failNext({ hang: true });
  assert.equal((await rejectsWith(stripeProvider(fake, { timeoutMs: 200, maxNetworkRetries: 0 }).getPayment(p.providerRef), PaymentErrorCode.unavailable)).retryable, true);
});

test('status mapping: processing stays pending, a failed payment is failed, an expired session is expired, cancel expires early', async () => {
  await using fake = await startFakeStripe();
  const provider = stripeProvider(fake);
  const processing = await provider.createPayment(input({ reference: 'ord_p' }));
  fake.markProcessing(processing.providerRef);
  assert.equal((await provider.getPayment(processing.providerRef)).status, 'pending');
  await rejectsWith(provider.cancelPayment(processing.providerRef), PaymentErrorCode.invalidState);
  fake.markFailed(processing.providerRef);
  const failed = await provider.getPayment(processing.providerRef);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failureReason, 'generic_decline');

  const expiring = await provider.createPayment(input({ reference: 'ord_e' }));
  fake.markExpired(expiring.providerRef);
  assert.equal((await provider.getPayment(expiring.providerRef)).status, 'expired');

  const toCancel = await provider.createPayment(input({ reference: 'ord_c' }));
  assert.equal((await provider.cancelPayment(toCancel.providerRef)).status, 'canceled');
  assert.equal(fake.requests.filter((r) => r.operation === 'expire_session').at(-1)?.idempotencyKey, deriveIdempotencyKey('binding_s1', 'cancel', toCancel.providerRef));
  assert.equal((await provider.getPayment(toCancel.providerRef)).status, 'expired', 'Stripe itself records an expired session');

  const paid = await provider.createPayment(input({ reference: 'ord_paid' }));
  fake.markPaid(paid.providerRef);
  await rejectsWith(provider.cancelPayment(paid.providerRef), PaymentErrorCode.invalidState);
  await rejectsWith(provider.getPayment('pi_notasession'), PaymentErrorCode.notFound);

  // complete + paid but a PaymentIntent not (yet) succeeded never counts as succeeded.
  const odd = sessionSnapshot({ id: 'cs_test_x', status: 'complete', payment_status: 'paid', amount_total: 100, currency: 'eur', expires_at: 0, client_reference_id: null, metadata: {},
    payment_intent: { id: 'pi_x', status: 'processing', amount_received: 0, latest_charge: null, last_payment_error: null } }, 'plugboard_reference');
  assert.equal(odd.status, 'pending');
});

test('the secret key and webhook secret never appear in any error, whatever Stripe or the SDK says', async () => {
  await using fake = await startFakeStripe({ accounts: [{}, {}] });
  const check = (e: PaymentProviderError) => {
    for (const text of [e.message, String(e), e.stack ?? '', util.inspect(e), JSON.stringify(e)]) {
      for (const secret of [fake.secretKey, fake.accounts[1].secretKey, WHSEC]) assert.ok(!text.includes(secret), `secret leaked in: ${text.slice(0, 200)}`);
    }
  };
  // A key of the right shape that the account does not know: Stripe's 401 names it (masked); we do not pass even that on.
  const wrong = 'sk_test_' + 'Wr0ngKey'.repeat(6);
  const auth = await rejectsWith(stripeProvider(fake, { secretKey: wrong }).createPayment(input()), PaymentErrorCode.authFailed);
  assert.equal(auth.retryable, false);
  assert.ok(!auth.message.includes(wrong) && !auth.message.includes(wrong.slice(-4)), auth.message);
  // An upstream (or proxy) that echoes secrets in its error text.
  fake.failNext({ status: 400, message: `Bad request with key ${fake.secretKey}, Bearer ${fake.secretKey}, secret ${WHSEC}, other ${fake.accounts[1].secretKey}` });
  const echoed = await rejectsWith(stripeProvider(fake).createPayment(input()), PaymentErrorCode.rejected);
  assert.match(echoed.message, /\[redacted\]/);
  fake.failNext({ drop: true }, 3);
  const network = await rejectsWith(stripeProvider(fake, { maxNetworkRetries: 1 }).getPayment('cs_test_abc'), PaymentErrorCode.unavailable);
  for (const e of [auth, echoed, network]) check(e);
  // Configuration errors name the field, never its value.
  for (const bad of [{ secretKey: 'sk_test_short' }, { webhookSecret: 'nope' }, { apiBaseUrl: 'http://api.example.com' }, { apiBaseUrl: 'https://127.0.0.1/v1' }]) {
    assert.throws(() => stripeProvider(fake, bad), (e: unknown) => e instanceof TypeError && !e.message.includes(fake.secretKey));
  }
});

test('the composition root builds the Stripe provider from a binding', async () => {
  await using fake = await startFakeStripe();
  const provider = createPaymentProvider({ kind: 'stripe', ...config(fake) }, { localStore: { getPayment: () => undefined, savePayment() {}, getRefund: () => undefined, listRefunds: () => [], saveRefund() {} }, now: () => new Date() });
  assert.equal(provider.kind, 'stripe');
  assert.equal(provider.capabilities.webhooks, true);
  assert.equal((await provider.createPayment(input())).status, 'pending');
});
