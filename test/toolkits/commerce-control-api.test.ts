/**
 * The E-Commerce and Payments control-panel API: catalogue CRUD; bad input → a 4xx in the error
 * shape with nothing stored; roles (members read, admins act, owners bind providers); order states
 * that only move forward (fulfil, cancel); after-sale requests opened by the agent and resolved by
 * an operator; refunds above the captured amount refused; the manual provider (operator confirms
 * receipt, settles the refund by hand); the poll of pending payments when a webhook never comes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotTables, waitFor } from '../helpers/factories.ts';
import { startFakeStripe } from '../fakes/stripe-api.ts';
import { calls, dynamic, lastResult, orderAndPayScript, say, setupCommerce } from './commerce-setup.ts';

const IGNORE = { ignoreColumns: { control_tokens: ['last_used_at'] } };

test('catalogue CRUD; bad input is a 4xx naming the field and stores nothing; roles as the policy says', async () => {
  await using s = await setupCommerce({}, { binding: null, grant: [] });
  const admin = s.t.member(s.tenant.orgId, 'admin');
  const member = s.t.member(s.tenant.orgId, 'member');
  const as = (token: string, method: string, path: string, body?: unknown) => s.t.api(method, `${s.org}${path}`, { token, body });

  const list = await as(member.token, 'GET', '/products?limit=2');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.data.map((p: any) => p.sku), ['BELL-1', 'HELMET-1']);
  assert.equal(list.json.hasMore, true);
  const next = await as(member.token, 'GET', `/products?limit=2&cursor=${list.json.nextCursor}`);
  assert.deepEqual(next.json.data.map((p: any) => p.sku), ['LOCK-1', 'OLD-1']);
  assert.deepEqual((await as(member.token, 'GET', '/products?active=false')).json.data.map((p: any) => p.sku), ['OLD-1']);
  assert.deepEqual((await as(member.token, 'GET', '/products?q=lock')).json.data.map((p: any) => p.sku), ['LOCK-1']);

  const created = await as(admin.token, 'POST', '/products', { sku: 'TUBE-26', name: 'Inner tube', priceMinor: 650, currency: 'eur' });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual([created.json.currency, created.json.active, created.json.stock, created.json.description], ['EUR', true, null, '']);
  const patched = await as(admin.token, 'PATCH', `/products/${created.json.id}`, { priceMinor: 700, stock: 3, active: false });
  assert.deepEqual([patched.json.priceMinor, patched.json.stock, patched.json.active], [700, 3, false]);

  const before = snapshotTables(s.t.app.db, IGNORE);
  const bad: Array<[string, string, unknown, number, string | null]> = [
    ['POST', '/products', { sku: 'X 1', name: 'x', priceMinor: 1, currency: 'EUR' }, 400, 'sku'],
    ['POST', '/products', { sku: 'X1', name: 'x', priceMinor: 1.5, currency: 'EUR' }, 400, 'priceMinor'],
    ['POST', '/products', { sku: 'X1', name: 'x', priceMinor: 0, currency: 'EUR' }, 400, 'priceMinor'],
    ['POST', '/products', { sku: 'X1', name: 'x', priceMinor: 100, currency: 'EURO' }, 400, 'currency'],
    ['POST', '/products', { sku: 'X1', name: 'x', priceMinor: 100, currency: 'EUR', stock: -1 }, 400, 'stock'],
    ['POST', '/products', { sku: 'X1', name: 'x', priceMinor: 100, currency: 'EUR', colour: 'red' }, 400, null],
    ['POST', '/products', { sku: 'LOCK-1', name: 'dup', priceMinor: 100, currency: 'EUR' }, 409, 'sku'],
    ['PATCH', `/products/${created.json.id}`, { sku: 'LOCK-1' }, 409, 'sku'],
    ['PATCH', `/products/${created.json.id}`, { priceMinor: 100_000_000 }, 400, 'priceMinor'],
    ['GET', '/products?limit=0', undefined, 400, 'limit'],
    ['GET', '/orders?status=shipped', undefined, 400, 'status'],
    ['POST', '/orders/ord_nope/fulfill', undefined, 404, 'orderId'],
    ['PUT', '/payment-binding', { provider: 'paypal' }, 400, 'provider'],
    ['PUT', '/payment-binding', { provider: 'stripe' }, 400, 'stripe'],
    ['PUT', '/payment-binding', { provider: 'stripe', stripe: { secretKey: 'pk_test_abcdefghij', webhookSecret: 'whsec_abcdefghij' } }, 400, 'stripe.secretKey'],
    ['PUT', '/payment-binding', { provider: 'manual' }, 400, 'settings.instructionsTemplate'],
    ['PUT', '/payment-binding', { provider: 'manual', settings: { instructionsTemplate: 'Pay us' } }, 400, 'settings.instructionsTemplate'],
    ['PUT', '/payment-binding', { provider: 'sandbox', settings: { paidTemplate: { contentSid: 'HX1' } } }, 400, 'settings.paidTemplate.contentSid'],
    ['PUT', '/payment-binding', { provider: 'sandbox', settings: { successUrl: 'https://x.example/ok' } }, 400, 'settings.successUrl'],
    ['PATCH', '/payment-binding', { settings: {} }, 404, null],
    ['GET', '/payments/pay_nope', undefined, 404, 'paymentId'],
    ['POST', '/refunds/ref_nope/approve', undefined, 404, 'refundId'],
    ['POST', '/after-sale-requests/asr_nope/resolve', { resolution: 'x' }, 404, 'afterSaleId'],
  ];
  for (const [method, path, body, status, param] of bad) {
    const res = await as(s.tenant.ownerToken, method, path, body);
    assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
    assert.equal(typeof res.json.error.message, 'string');
    if (param) assert.equal(res.json.error.param, param, `${method} ${path}: ${res.text}`);
  }
  const raw = await s.t.api('POST', `${s.org}/products`, { token: s.tenant.ownerToken, rawBody: '{"sku": ', headers: { 'content-type': 'application/json' } });
  assert.equal(raw.status, 400);
  assert.deepEqual(snapshotTables(s.t.app.db, IGNORE), before, 'nothing stored by any refused request');

  // Grants know both toolkits before they are usable; an unknown toolkit is refused.
  await s.grant(['first_party:payments', 'first_party:ecommerce']);
  const unknownGrant = await s.t.api('PUT', `${s.org}/whatsapp-instances/${s.instance.id}/plugins`, { token: s.tenant.ownerToken, body: { enabledPluginIds: ['first_party:shop'] } });
  assert.equal(unknownGrant.status, 400);
  assert.equal(unknownGrant.json.error.code, 'unknown_plugin');

  // Roles: members read, admins write the catalogue but cannot bind a provider; owners bind.
  assert.equal((await as(member.token, 'POST', '/products', { sku: 'M1', name: 'm', priceMinor: 1, currency: 'EUR' })).status, 403);
  assert.equal((await as(member.token, 'DELETE', `/products/${created.json.id}`)).status, 403);
  assert.equal((await as(admin.token, 'PUT', '/payment-binding', { provider: 'sandbox' })).status, 403);
  assert.equal((await as(member.token, 'GET', '/payment-binding')).status, 404, 'nothing bound yet');
  const bound = await as(s.tenant.ownerToken, 'PUT', '/payment-binding', { provider: 'sandbox' });
  assert.equal(bound.status, 200, bound.text);
  assert.equal((await as(member.token, 'GET', '/payment-binding')).json.id, bound.json.id);
  assert.deepEqual(bound.json.settings, {
    successUrl: null, cancelUrl: null, instructionsTemplate: null, paidTemplate: null, paidText: null, refundsRequireApproval: true, linkExpiresInSeconds: 43200,
  });
  // Another organisation's owner sees none of it.
  const other = s.t.tenant('Other');
  assert.equal((await s.t.api('GET', `${s.org}/products/${created.json.id}`, { token: other.ownerToken })).status, 404);

  const del = await as(admin.token, 'DELETE', `/products/${created.json.id}`);
  assert.deepEqual(del.json, { id: created.json.id, object: 'product', deleted: true });
  assert.equal((await as(member.token, 'GET', `/products/${created.json.id}`)).status, 404);
  // The plugins list shows both toolkits once usable, in the seed's shape.
  const plugins = (await as(member.token, 'GET', '/plugins')).json.data;
  for (const id of ['first_party:ecommerce', 'first_party:payments']) assert.ok(plugins.some((p: any) => p.id === id && p.kind === 'first_party'), id);
});

test('orders move forward only; after-sale requests are opened by the agent and resolved by an operator; refunds never exceed what was captured', async () => {
  await using s = await setupCommerce();
  s.upstream.script(...orderAndPayScript([{ sku: 'LOCK-1', quantity: 2 }]));
  await s.send('Two locks');
  await s.waitForSent(1);
  const order = (await s.owner('GET', `${s.org}/orders`)).json.data[0];
  const notPaid = await s.owner('POST', `${s.org}/orders/${order.id}/fulfill`);
  assert.equal(notPaid.status, 409);
  assert.equal(notPaid.json.error.code, 'order_not_paid');
  const payment = (await s.owner('GET', `${s.org}/payments`)).json.data[0];
  assert.equal((await s.owner('POST', `${s.org}/payments/${payment.id}/confirm-receipt`)).json.error.code, 'operator_action_unsupported');
  await s.owner('POST', `${s.org}/payments/${payment.id}/mark-paid`);
  await s.waitForSent(2);

  // The operator refunds: more than captured is refused, nothing stored.
  const tooMuch = await s.owner('POST', `${s.org}/payments/${payment.id}/refunds`, { amountMinor: 3999 });
  assert.equal(tooMuch.status, 400);
  assert.equal(tooMuch.json.error.code, 'refund_exceeds_captured');
  assert.equal(tooMuch.json.error.param, 'amountMinor');
  assert.deepEqual((await s.owner('GET', `${s.org}/refunds`)).json.data, []);
  const part = await s.owner('POST', `${s.org}/payments/${payment.id}/refunds`, { amountMinor: 1000, note: 'One lock back' });
  assert.equal(part.status, 201, part.text);
  assert.equal(part.json.status, 'approved', 'an operator\'s refund needs no second approval');
  await waitFor('the partial refund', async () => (await s.owner('GET', `${s.org}/refunds/${part.json.id}`)).json.status === 'succeeded', 5000);
  const rest = await s.owner('POST', `${s.org}/payments/${payment.id}/refunds`, { amountMinor: 2999 });
  assert.equal(rest.status, 400, 'only 2998 is left');
  assert.match(rest.json.error.message, /29\.98 EUR of 39\.98 EUR captured/);

  // fulfilled, then no way back.
  const fulfilled = await s.owner('POST', `${s.org}/orders/${order.id}/fulfill`);
  assert.equal(fulfilled.json.status, 'fulfilled', fulfilled.text);
  assert.equal((await s.owner('POST', `${s.org}/orders/${order.id}/fulfill`)).json.status, 'fulfilled', 'a double click changes nothing');
  const cancel = await s.owner('POST', `${s.org}/orders/${order.id}/cancel`, {});
  assert.equal(cancel.status, 409);
  assert.equal(cancel.json.error.code, 'order_fulfilled');
  assert.throws(() => s.t.app.db.prepare("UPDATE commerce_orders SET status = 'pending_payment' WHERE id = ?").run(order.id), /forward only/);

  // The customer complains; the agent records it; an operator resolves it once.
  s.upstream.script(
    { json: calls({ name: 'ecommerce__open_after_sale_request', arguments: { orderNumber: 1, type: 'complaint', description: 'One lock arrived scratched.' } }, { name: 'ecommerce__open_after_sale_request', arguments: { orderNumber: 99, type: 'return', description: 'x' } }) },
    dynamic((req) => {
      assert.match(lastResult(req).text, /The customer has no order #99/);
      return say('Recorded.');
    }),
  );
  await s.send('One lock is scratched!');
  await s.waitForSent(3);
  const requests = (await s.owner('GET', `${s.org}/after-sale-requests?status=open`)).json.data;
  assert.equal(requests.length, 1);
  assert.deepEqual([requests[0].type, requests[0].orderNumber, requests[0].description], ['complaint', 1, 'One lock arrived scratched.']);
  const resolved = await s.owner('POST', `${s.org}/after-sale-requests/${requests[0].id}/resolve`, { resolution: 'Refunded one lock.' });
  assert.equal(resolved.json.status, 'resolved', resolved.text);
  assert.equal(resolved.json.resolvedByUserId, s.tenant.ownerUserId);
  assert.equal((await s.owner('POST', `${s.org}/after-sale-requests/${requests[0].id}/resolve`, { resolution: 'again' })).status, 409);
});

test('manual provider: the payer gets instructions; the operator confirms receipt (exact amount) and settles refunds by hand', async () => {
  await using s = await setupCommerce({}, { binding: { provider: 'manual', settings: { instructionsTemplate: 'Transfer {amount} to IBAN XX00 0000, reference {reference}.', refundsRequireApproval: false } } });
  let link: any;
  s.upstream.script(...orderAndPayScript([{ sku: 'HELMET-1', quantity: 1 }], (r) => (link = r)));
  await s.send('A helmet');
  const [reply] = await s.waitForSent(1);
  const payment = (await s.owner('GET', `${s.org}/payments`)).json.data[0];
  assert.equal(link.instructions, `Transfer 25.00 EUR to IBAN XX00 0000, reference ${payment.reference}.`);
  assert.ok(reply.body.includes(link.instructions));
  const wrong = await s.owner('POST', `${s.org}/payments/${payment.id}/confirm-receipt`, { receivedMinor: 2000 });
  assert.equal(wrong.status, 400);
  assert.equal((await s.owner('GET', `${s.org}/payments/${payment.id}`)).json.status, 'pending');
  assert.equal((await s.owner('POST', `${s.org}/payments/${payment.id}/mark-paid`)).json.error.code, 'operator_action_unsupported');
  const ok = await s.owner('POST', `${s.org}/payments/${payment.id}/confirm-receipt`, { receivedMinor: 2500, note: 'Bank statement 12 May' });
  assert.equal(ok.json.status, 'succeeded', ok.text);
  await s.waitForSent(2);

  // With approval turned off by the owner, the agent's refund request goes straight to the provider; the manual one waits for the operator.
  s.upstream.script(
    { json: calls({ name: 'payments__request_refund', arguments: { orderNumber: 1, note: 'Wrong size' } }) },
    dynamic((req) => {
      assert.equal(lastResult(req).body.status, 'approved');
      return say('Refund on its way.');
    }),
  );
  await s.send('Refund please');
  await s.waitForSent(3);
  const refund = await waitFor('the refund at the provider', async () => {
    const r = (await s.owner('GET', `${s.org}/refunds`)).json.data[0];
    return r?.status === 'pending' ? r : null;
  }, 5000);
  const settled = await s.owner('POST', `${s.org}/refunds/${refund.id}/settle`, { outcome: 'succeeded' });
  assert.equal(settled.json.status, 'succeeded', settled.text);
  await waitFor('the payment to show the refund', async () => (await s.owner('GET', `${s.org}/payments/${payment.id}`)).json.refundedMinor === 2500, 5000);
});

test('a Stripe payment paid without any webhook is found by the poll of pending payments', async () => {
  await using stripe = await startFakeStripe();
  await using s = await setupCommerce({ PLUGBOARD_STRIPE_API_BASE_URL: stripe.origin, PLUGBOARD_PAYMENTS_POLL_MS: '300' }, {
    binding: { provider: 'stripe', stripe: { secretKey: stripe.secretKey, webhookSecret: `whsec_${'p0ll'.repeat(8)}` } },
  });
  let link: any;
  s.upstream.script(...orderAndPayScript([{ sku: 'HELMET-1', quantity: 1 }], (r) => (link = r)));
  await s.send('A helmet');
  await s.waitForSent(1);
  await waitFor('a first poll', () => stripe.requests.some((r) => r.operation === 'retrieve_session'), 5000);
  stripe.markPaid(/cs_test_[A-Za-z0-9]+/.exec(link.payUrl)![0]);
  const [, told] = await s.waitForSent(2, 10_000);
  assert.match(told.body, /received your payment of 25\.00 EUR for order #1/);
  assert.equal((await s.owner('GET', `${s.org}/orders`)).json.data[0].status, 'paid');
  const polls = s.t.app.queue.list(s.tenant.orgId, { kind: 'payments.reconcile', limit: 500 });
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(s.t.app.queue.list(s.tenant.orgId, { kind: 'payments.reconcile', limit: 500 }).length, polls.length, 'polling stops once the payment is final');
});

test('Stripe\'s answer to the create is lost three times: the tool says so, a job resends the same stored input, Stripe replays it, and the customer gets that one session', async () => {
  await using stripe = await startFakeStripe();
  await using s = await setupCommerce({ PLUGBOARD_STRIPE_API_BASE_URL: stripe.origin }, {
    binding: { provider: 'stripe', stripe: { secretKey: stripe.secretKey, webhookSecret: `whsec_${'l0st'.repeat(8)}` } },
  });
  // The SDK tries three times (maxNetworkRetries 2); each request is executed, each answer is a 500.
  stripe.failNext({ match: 'create_session', afterExecute: true, status: 500 }, 3);
  s.upstream.script(
    { json: calls({ name: 'ecommerce__create_order', arguments: { items: [{ sku: 'HELMET-1', quantity: 1 }] } }) },
    { json: calls({ name: 'payments__create_payment_link', arguments: { orderNumber: 1 } }) },
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'error');
      assert.match(r.text, /outcome is not known yet; it is checked again automatically/);
      return say('The payment service is slow; I will send the link in a moment.');
    }),
  );
  await s.send('A helmet');
  await s.waitForSent(1);
  const payment = await waitFor('the create job to finish the payment', async () => {
    const p = (await s.owner('GET', `${s.org}/payments`)).json.data[0];
    return p?.status === 'pending' ? p : null;
  }, 10_000);
  const creates = stripe.requests.filter((r) => r.operation === 'create_session');
  assert.equal(creates.length, 4);
  assert.equal(new Set(creates.map((r) => r.idempotencyKey)).size, 1, 'one key for every attempt');
  assert.equal(new Set(creates.map((r) => JSON.stringify(r.form))).size, 1, 'the very same input every time');
  assert.equal(creates.at(-1)!.replayed, true, 'Stripe replayed instead of creating a second session');

  let again: any;
  s.upstream.script(
    { json: calls({ name: 'payments__create_payment_link', arguments: { orderNumber: 1 } }) },
    dynamic((req) => {
      again = lastResult(req).body;
      return say(`Pay here: ${again.payUrl}`);
    }),
  );
  await s.send('Can I have the link now?');
  const [, reply] = await s.waitForSent(2);
  assert.equal(again.paymentId, payment.id);
  assert.equal(reply.body, `Pay here: ${payment.payUrl}`);
  assert.equal(stripe.requests.filter((r) => r.operation === 'create_session').length, 4, 'the existing link was reused');
});
