/**
 * Contract of the loopback Stripe fake: the real `stripe` SDK, pointed at it through its own
 * host/port/protocol options, performs every operation the payment-link flow needs, gets the
 * SDK's own error classes for the fake's errors, receives objects shaped as Stripe's spec says
 * (fixtures/stripe-openapi-excerpt.json), and a webhook signed by the SDK verifies with
 * `stripe.webhooks.constructEvent` while a forged one does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { startFakeStripe, type FakeStripe } from './stripe-api.ts';
import { buildStripeEvent, sendStripeWebhook, signStripePayload } from './stripe-webhooks.ts';

type Shape = { required: string[]; optional: string[]; enums: Record<string, string[]>; fixtureTypes: Record<string, string> };
const EXCERPT = JSON.parse(fs.readFileSync(new URL('./fixtures/stripe-openapi-excerpt.json', import.meta.url), 'utf8')) as Record<string, Shape>;

function sdk(fake: FakeStripe, key = fake.secretKey, extra: Stripe.StripeConfig = {}): Stripe {
  return new Stripe(key, { ...fake.sdkOptions, maxNetworkRetries: 0, telemetry: false, timeout: 5_000, ...extra });
}

const IN_AN_HOUR = () => Math.floor(Date.now() / 1000) + 3600;

function sessionParams(overrides: Partial<Stripe.Checkout.SessionCreateParams> = {}): Stripe.Checkout.SessionCreateParams {
  return {
    mode: 'payment',
    line_items: [
      { price_data: { currency: 'eur', unit_amount: 1250, product_data: { name: 'Two coffees' } }, quantity: 2 },
      { price_data: { currency: 'eur', unit_amount: 300, product_data: { name: 'Croissant', description: 'Butter' } }, quantity: 1 },
    ],
    metadata: { plugboard_reference: 'ord_1' },
    client_reference_id: 'ord_1',
    expires_at: IN_AN_HOUR(),
    success_url: 'https://shop.example/thanks',
    ...overrides,
  };
}

/** Checks one object against the excerpt: required keys present, nothing undeclared, enums, fixture JSON types. */
function assertShape(kind: string, obj: Record<string, unknown>): void {
  const shape = EXCERPT[kind];
  assert.ok(shape, `no excerpt for ${kind}`);
  assert.equal(obj.object, kind);
  for (const k of shape.required) assert.ok(Object.hasOwn(obj, k), `${kind}.${k} is required by the spec but missing`);
  for (const k of Object.keys(obj)) assert.ok(shape.required.includes(k) || shape.optional.includes(k), `${kind}.${k} is not in the spec`);
  for (const [k, values] of Object.entries(shape.enums)) {
    if (obj[k] !== null && obj[k] !== undefined) assert.ok(values.includes(obj[k] as string), `${kind}.${k} = ${String(obj[k])} not in ${values.join('|')}`);
  }
  for (const [k, type] of Object.entries(shape.fixtureTypes)) {
    const v = obj[k];
    if (v === null || v === undefined) continue;
    const actual = Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
    // An expandable field is an id string or the expanded object.
    if (typeof v === 'object' && type === 'string') continue;
    assert.equal(actual, type, `${kind}.${k} is ${actual}, Stripe's fixture has ${type}`);
  }
}

test('Checkout Session create/retrieve/expire through the real SDK, nested form parsed, shapes as in the spec', async () => {
  await using fake = await startFakeStripe();
  const stripe = sdk(fake);
  const created = await stripe.checkout.sessions.create(sessionParams());
  assert.match(created.id, /^cs_test_/);
  assert.equal(created.amount_total, 2 * 1250 + 300);
  assert.equal(created.currency, 'eur');
  assert.equal(created.status, 'open');
  assert.equal(created.payment_status, 'unpaid');
  assert.equal(created.payment_intent, null, 'no PaymentIntent before the payer confirms (API ≥ 2022-08-01)');
  assert.deepEqual(created.metadata, { plugboard_reference: 'ord_1' });
  assert.equal(created.client_reference_id, 'ord_1');
  assert.match(created.url ?? '', /^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
  assertShape('checkout.session', created as unknown as Record<string, unknown>);

  const req = fake.requests.find((r) => r.operation === 'create_session')!;
  const items = req.form.line_items as Array<Record<string, Record<string, unknown>>>;
  assert.equal(items[0].price_data.unit_amount, '1250', 'line_items[0][price_data][unit_amount] parsed as nested form');
  assert.equal((items[1].price_data.product_data as Record<string, string>).description, 'Butter');
  assert.match(req.idempotencyKey ?? '', /^stripe-node-retry-/, 'the SDK keys every POST');
  assert.equal(req.stripeVersion, Stripe.API_VERSION);
  assert.equal(req.telemetry, false);

  const again = await stripe.checkout.sessions.retrieve(created.id);
  assert.equal(again.id, created.id);
  const expired = await stripe.checkout.sessions.expire(created.id);
  assert.equal(expired.status, 'expired');
  assert.equal(expired.url, null);
  await assert.rejects(stripe.checkout.sessions.expire(created.id), (e: unknown) => e instanceof Stripe.errors.StripeInvalidRequestError && e.statusCode === 400);
});

test('a paid session: PaymentIntent succeeded, expandable down to the charge; every object matches the spec', async () => {
  await using fake = await startFakeStripe();
  const stripe = sdk(fake);
  const s = await stripe.checkout.sessions.create(sessionParams({ payment_intent_data: { description: 'Order ord_1', metadata: { plugboard_reference: 'ord_1' } } }));
  fake.markPaid(s.id);
  const paid = await stripe.checkout.sessions.retrieve(s.id, { expand: ['payment_intent.latest_charge'] });
  assert.equal(paid.status, 'complete');
  assert.equal(paid.payment_status, 'paid');
  const pi = paid.payment_intent as Stripe.PaymentIntent;
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount_received, 2800);
  assert.deepEqual(pi.metadata, { plugboard_reference: 'ord_1' });
  const charge = pi.latest_charge as Stripe.Charge;
  assert.equal(charge.amount_captured, 2800);
  assert.equal(charge.amount_refunded, 0);
  assertShape('checkout.session', paid as unknown as Record<string, unknown>);
  assertShape('payment_intent', pi as unknown as Record<string, unknown>);
  assertShape('charge', charge as unknown as Record<string, unknown>);

  const byId = await stripe.paymentIntents.retrieve(pi.id);
  assert.equal(byId.latest_charge, charge.id);
  const listed = await stripe.checkout.sessions.list({ payment_intent: pi.id, limit: 1 });
  assert.deepEqual(listed.data.map((x) => x.id), [s.id]);
});

test('refunds: partial, then above the remainder refused with amount_too_large, then the rest; unpaid cannot be refunded', async () => {
  await using fake = await startFakeStripe();
  const stripe = sdk(fake);
  const s = await stripe.checkout.sessions.create(sessionParams());
  await assert.rejects(stripe.refunds.create({ payment_intent: 'pi_unknown' }), (e: unknown) => e instanceof Stripe.errors.StripeInvalidRequestError && e.code === 'resource_missing');
  fake.markPaid(s.id);
  const pi = fake.state.sessionJson(s.id).payment_intent as string;
  const first = await stripe.refunds.create({ payment_intent: pi, amount: 1000, reason: 'requested_by_customer' });
  assert.equal(first.status, 'succeeded');
  assert.equal(first.amount, 1000);
  assertShape('refund', first as unknown as Record<string, unknown>);
  await assert.rejects(stripe.refunds.create({ payment_intent: pi, amount: 1801 }), (e: unknown) => {
    assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(e.code, 'amount_too_large');
    assert.equal(e.param, 'amount');
    return true;
  });
  const rest = await stripe.refunds.create({ payment_intent: pi });
  assert.equal(rest.amount, 1800);
  assert.equal((await stripe.refunds.retrieve(rest.id)).id, rest.id);
  const charge = fake.state.chargeJson(fake.state.paymentIntentJson(pi).latest_charge as string);
  assert.equal(charge.amount_refunded, 2800);
  assert.equal(charge.refunded, true);
  await assert.rejects(stripe.refunds.create({ payment_intent: pi, amount: 1 }), (e: unknown) => e instanceof Stripe.errors.StripeInvalidRequestError && e.code === 'charge_already_refunded');

  const unpaid = await stripe.checkout.sessions.create(sessionParams());
  fake.markProcessing(unpaid.id);
  const processingPi = fake.state.sessionJson(unpaid.id).payment_intent as string;
  await assert.rejects(stripe.refunds.create({ payment_intent: processingPi }), Stripe.errors.StripeInvalidRequestError);
});

test('auth: a wrong key is a StripeAuthenticationError whose message never carries the key whole; accounts do not see each other', async () => {
  await using fake = await startFakeStripe({ accounts: [{}, {}] });
  const wrongKey = 'sk_test_' + 'x'.repeat(40) + 'WXYZ';
  await assert.rejects(sdk(fake, wrongKey).checkout.sessions.create(sessionParams()), (e: unknown) => {
    assert.ok(e instanceof Stripe.errors.StripeAuthenticationError);
    assert.equal(e.statusCode, 401);
    assert.ok(!e.message.includes(wrongKey));
    assert.match(e.message, /sk_test_\*+WXYZ/);
    return true;
  });
  assert.equal(fake.state.sessionCount(), 0);
  const a = await sdk(fake).checkout.sessions.create(sessionParams());
  const b = sdk(fake, fake.accounts[1].secretKey);
  await assert.rejects(b.checkout.sessions.retrieve(a.id), (e: unknown) => e instanceof Stripe.errors.StripeInvalidRequestError && e.statusCode === 404 && e.code === 'resource_missing');
});

test('idempotency: a replay returns the first response marked Idempotent-Replayed; other params or endpoint → StripeIdempotencyError', async () => {
  await using fake = await startFakeStripe();
  const stripe = sdk(fake);
  const params = sessionParams();
  const first = await stripe.checkout.sessions.create(params, { idempotencyKey: 'pb-key-1' });
  const second = await stripe.checkout.sessions.create(params, { idempotencyKey: 'pb-key-1' });
  assert.equal(second.id, first.id);
  assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
  assert.equal(fake.state.sessionCount(), 1);
  assert.deepEqual(fake.requests.map((r) => [r.idempotencyKey, r.replayed]), [['pb-key-1', false], ['pb-key-1', true]]);

  await assert.rejects(stripe.checkout.sessions.create({ ...params, client_reference_id: 'other' }, { idempotencyKey: 'pb-key-1' }), (e: unknown) => {
    assert.ok(e instanceof Stripe.errors.StripeIdempotencyError);
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /same parameters/);
    return true;
  });
  await assert.rejects(stripe.refunds.create({ payment_intent: 'pi_x' }, { idempotencyKey: 'pb-key-1' }), (e: unknown) => e instanceof Stripe.errors.StripeIdempotencyError && /same endpoint/.test(e.message));
  assert.equal(fake.state.sessionCount(), 1);

  // A validation failure is not saved: the same key with corrected parameters then executes.
  await assert.rejects(stripe.checkout.sessions.create({ ...params, expires_at: 1 }, { idempotencyKey: 'pb-key-2' }), Stripe.errors.StripeInvalidRequestError);
  const fixed = await stripe.checkout.sessions.create(params, { idempotencyKey: 'pb-key-2' });
  assert.notEqual(fixed.id, first.id);
});

test('scripted faults surface as the SDK error classes; the SDK retries a 500 with the same key; a lost answer is replayed, not redone', async () => {
  await using fake = await startFakeStripe();
  const stripe = sdk(fake);
  fake.failNext({ status: 402, code: 'card_declined' });
  await assert.rejects(stripe.checkout.sessions.create(sessionParams()), Stripe.errors.StripeCardError);
  fake.failNext({ status: 429 });
  await assert.rejects(stripe.checkout.sessions.create(sessionParams()), Stripe.errors.StripeRateLimitError);
  fake.failNext({ status: 500 });
  await assert.rejects(stripe.checkout.sessions.create(sessionParams()), Stripe.errors.StripeAPIError);
  assert.equal(fake.state.sessionCount(), 0, 'faults happen before the endpoint runs');

  fake.requests.length = 0;
  fake.failNext({ status: 500, match: 'create_session' });
  const s = await stripe.checkout.sessions.create(sessionParams(), { maxNetworkRetries: 1 });
  assert.deepEqual(fake.requests.map((r) => r.status), [500, 200]);
  assert.equal(fake.requests[0].idempotencyKey, fake.requests[1].idempotencyKey, 'the SDK retries with the same Idempotency-Key');

  fake.requests.length = 0;
  fake.failNext({ drop: true, afterExecute: true });
  const replayed = await stripe.checkout.sessions.create(sessionParams(), { idempotencyKey: 'lost-answer', maxNetworkRetries: 1 });
  assert.deepEqual(fake.requests.map((r) => r.replayed), [false, true]);
  assert.equal(fake.state.sessionCount(), 2, 'one session for s, one for the lost answer, none twice');
  assert.notEqual(replayed.id, s.id);

  // A closed connection is retried once by the SDK even with maxNetworkRetries 0; two in a row fail.
  fake.failNext({ drop: true }, 2);
  await assert.rejects(stripe.paymentIntents.retrieve('pi_x'), Stripe.errors.StripeConnectionError);
  fake.failNext({ hang: true });
  await assert.rejects(sdk(fake, fake.secretKey, { timeout: 200 }).refunds.retrieve('re_x'), (e: unknown) => e instanceof Stripe.errors.StripeConnectionError && /timeout/.test(e.message));
});

test('parameters Stripe would refuse are refused in its shape (missing, unknown, out of the expiry window, mixed currencies)', async () => {
  await using fake = await startFakeStripe();
  const stripe = sdk(fake);
  const bad = async (params: Stripe.Checkout.SessionCreateParams, code: string, param: RegExp) =>
    assert.rejects(stripe.checkout.sessions.create(params), (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError, String(e));
      assert.equal(e.code, code);
      assert.match(e.param ?? '', param);
      return true;
    });
  await bad({ mode: 'payment' }, 'parameter_missing', /^line_items$/);
  await bad(sessionParams({ customer_email: 'a@b.example' }), 'parameter_unknown', /^customer_email$/);
  await bad(sessionParams({ expires_at: Math.floor(Date.now() / 1000) + 60 }), 'parameter_invalid', /^expires_at$/);
  await bad(sessionParams({ expires_at: Math.floor(Date.now() / 1000) + 25 * 3600 }), 'parameter_invalid', /^expires_at$/);
  await bad(sessionParams({ line_items: [{ price_data: { currency: 'eur', unit_amount: 10, product_data: { name: 'x' } }, quantity: 1 }] }), 'amount_too_small', /^line_items$/);
  await bad(sessionParams({ line_items: [{ price_data: { currency: 'eur', unit_amount: 100, product_data: { name: 'x' } } }] }), 'parameter_missing', /quantity/);
  await bad(
    sessionParams({ line_items: [
      { price_data: { currency: 'eur', unit_amount: 100, product_data: { name: 'x' } }, quantity: 1 },
      { price_data: { currency: 'usd', unit_amount: 100, product_data: { name: 'y' } }, quantity: 1 },
    ] }),
    'parameter_invalid', /^line_items$/,
  );
  assert.equal(fake.state.sessionCount(), 0);
});

test('a session is expired once its expires_at has passed (the fake reads an injected clock)', async () => {
  let now = Date.now();
  await using fake = await startFakeStripe({ now: () => new Date(now) });
  const stripe = sdk(fake);
  const s = await stripe.checkout.sessions.create(sessionParams({ expires_at: Math.floor(now / 1000) + 1800 }));
  now += 1800 * 1000;
  const later = await stripe.checkout.sessions.retrieve(s.id);
  assert.equal(later.status, 'expired');
  assert.throws(() => fake.markPaid(s.id), /expired/);
});

test('webhooks: an event signed by the SDK verifies with constructEvent; a forged, tampered or stale one does not', async () => {
  await using fake = await startFakeStripe();
  const secret = 'whsec_' + 'a'.repeat(32);
  const stripe = sdk(fake);
  const outcomes: string[] = [];
  await using receiver = await startReceiver((raw, sig) => {
    try {
      const event = stripe.webhooks.constructEvent(raw, sig, secret);
      outcomes.push(`ok:${event.type}`);
      return 200;
    } catch (e) {
      outcomes.push(e instanceof Stripe.errors.StripeSignatureVerificationError ? 'refused' : `other:${String(e)}`);
      return 400;
    }
  });
  const s = await stripe.checkout.sessions.create(sessionParams());
  fake.markPaid(s.id);
  const object = fake.state.sessionJson(s.id);
  const good = await sendStripeWebhook({ url: receiver.url, type: 'checkout.session.completed', object, secret });
  assert.equal(good.status, 200);
  assertShape('event', good.event);
  assert.match(good.signature, /^t=\d+,v1=[0-9a-f]{64}$/);

  assert.equal((await sendStripeWebhook({ url: receiver.url, type: 'checkout.session.completed', object, secret: 'whsec_' + 'b'.repeat(32) })).status, 400);
  const event = buildStripeEvent('checkout.session.completed', object);
  const payload = JSON.stringify(event);
  const tamperedSig = signStripePayload(payload, secret);
  const tampered = await fetch(receiver.url, { method: 'POST', headers: { 'stripe-signature': tamperedSig }, body: payload.replace('"paid"', '"unpaid"') });
  assert.equal(tampered.status, 400);
  const stale = await sendStripeWebhook({ url: receiver.url, type: 'checkout.session.completed', object, secret, timestamp: Math.floor(Date.now() / 1000) - 3600 });
  assert.equal(stale.status, 400);
  assert.deepEqual(outcomes, ['ok:checkout.session.completed', 'refused', 'refused', 'refused']);
});

/** A loopback receiver that hands the raw body and Stripe-Signature to `verify`. */
async function startReceiver(verify: (raw: Buffer, signature: string) => number): Promise<{ url: string } & AsyncDisposable> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(verify(Buffer.concat(chunks), String(req.headers['stripe-signature'] ?? '')));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
