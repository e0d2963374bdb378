/**
 * The TUI's business clients (tui/client-biz.ts, tui/client-inbox.ts) against a real server: every
 * method reaches its route with the right verb, path, query and body (the server's own validation
 * would refuse anything else), 404s of optional settings read as null, and refusals arrive as
 * ApiError with the server's status and code — including for a member, who may read but not act.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, createApiClient } from '../../tui/client.ts';
import { createCommerceClient } from '../../tui/client-biz.ts';
import { createInboxClient } from '../../tui/client-inbox.ts';
import { calls, dynamic, lastResult, orderAndPayScript, say, setupCommerce } from '../toolkits/commerce-setup.ts';

const rejects = async (p: Promise<unknown>, status: number, code?: string): Promise<void> => {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, status, err.message);
    if (code) assert.equal(err.code, code, err.message);
    return true;
  });
};

test('commerce and payments client calls against a real server (sandbox provider)', async () => {
  await using s = await setupCommerce();
  const api = createApiClient({ url: s.t.url, token: s.tenant.ownerToken });
  const c = createCommerceClient(api, s.tenant.orgId);
  const signal = new AbortController().signal;

  const page = await c.products({ limit: 2 }, signal);
  assert.deepEqual(page.data.map((p) => p.sku), ['BELL-1', 'HELMET-1']);
  assert.equal(page.hasMore, true);
  assert.deepEqual((await c.products({ q: 'lock', active: true }, signal)).data.map((p) => p.sku), ['LOCK-1']);
  assert.deepEqual((await c.products({ active: false }, signal)).data.map((p) => p.sku), ['OLD-1']);
  const tube = await c.createProduct({ sku: 'TUBE-26', name: 'Inner tube', priceMinor: 650, currency: 'EUR', stock: null }, signal);
  assert.equal((await c.updateProduct(tube.id, { priceMinor: 700 }, signal)).priceMinor, 700);
  await rejects(c.createProduct({ sku: 'TUBE-26', name: 'dup', priceMinor: 1, currency: 'EUR' }, signal), 409);
  assert.equal((await c.deleteProduct(tube.id, signal)).deleted, true);

  // Two orders from the customer: one to pay, refund, fulfil; one to cancel.
  s.upstream.script(...orderAndPayScript([{ sku: 'HELMET-1', quantity: 1 }]));
  await s.send('A helmet');
  await s.waitForSent(1, 30_000);
  s.upstream.script(...orderAndPayScript([{ sku: 'LOCK-1', quantity: 1 }]));
  await s.send('And a lock');
  await s.waitForSent(2, 30_000);
  const orders = (await c.orders({ status: 'pending_payment' }, signal)).data;
  assert.deepEqual(orders.map((o) => o.number), [2, 1]);
  const [lockOrder, helmetOrder] = orders;
  const detail = await c.order(helmetOrder.id, signal);
  assert.equal(detail.payments.length, 1);
  const pay = detail.payments[0];
  assert.equal((await c.payment(pay.id, signal)).status, 'pending');
  assert.equal((await c.paymentAction(pay.id, 'refresh', {}, signal)).status, 'pending');
  await rejects(c.fulfilOrder(helmetOrder.id, signal), 409);
  await rejects(c.paymentAction(pay.id, 'confirm-receipt', {}, signal), 400, 'operator_action_unsupported');
  assert.equal((await c.paymentAction(pay.id, 'mark-paid', {}, signal)).status, 'succeeded');
  assert.equal((await c.payments({ status: 'succeeded', orderId: helmetOrder.id }, signal)).data.length, 1);

  const lockPay = (await c.payments({ orderId: lockOrder.id }, signal)).data[0];
  assert.equal((await c.paymentAction(lockPay.id, 'mark-failed', { reason: 'card_declined' }, signal)).failureReason, 'card_declined');
  assert.equal((await c.cancelOrder(lockOrder.id, { reason: 'Customer changed their mind' }, signal)).status, 'cancelled');

  // An operator's refund is approved at once; the agent's waits and can be rejected.
  const mine = await c.createRefund(pay.id, { amountMinor: 500, note: 'Scratch' }, signal);
  assert.notEqual(mine.status, 'requested');
  await rejects(c.createRefund(pay.id, { amountMinor: 999_999 }, signal), 400);
  s.upstream.script(
    { json: calls({ name: 'payments__request_refund', arguments: { orderNumber: 1, amountMinor: 1000, note: 'Too big' } }) },
    dynamic((req) => {
      assert.equal(lastResult(req).status, 'ok', lastResult(req).text);
      return say('Asked.');
    }),
  );
  await s.send('Refund 10 please');
  await s.waitForSent(s.twilio.messages.length + 1, 30_000);
  const [requested] = (await c.refunds({ status: 'requested' }, signal)).data;
  assert.equal(requested.requestedBy, 'agent');
  const rejected = await c.rejectRefund(requested.id, { note: 'Not eligible' }, signal);
  assert.deepEqual([rejected.status, rejected.decisionNote], ['rejected', 'Not eligible']);
  await rejects(c.approveRefund(requested.id, {}, signal), 409);
  assert.equal((await c.refunds({ paymentId: pay.id }, signal)).data.length, 2);
  assert.equal((await c.refund(mine.id, signal)).status, 'succeeded', 'the sandbox settles at once');
  await rejects(c.settleRefund(mine.id, { outcome: 'failed' }, signal), 409, 'refund_not_pending');

  assert.equal((await c.fulfilOrder(helmetOrder.id, signal)).status, 'fulfilled');

  // After-sale requests: opened by the agent, resolved by the operator.
  s.upstream.script(
    { json: calls({ name: 'ecommerce__open_after_sale_request', arguments: { orderNumber: 1, type: 'complaint', description: 'Strap is loose.' } }) },
    { json: say('Recorded.') },
  );
  const before = s.twilio.messages.length;
  await s.send('The strap is loose');
  await s.waitForSent(before + 1, 30_000);
  const [open] = (await c.afterSales({ status: 'open', orderId: helmetOrder.id }, signal)).data;
  assert.equal((await c.resolveAfterSale(open.id, 'New strap sent', signal)).status, 'resolved');

  const binding = await c.paymentBinding(signal);
  assert.equal(binding?.provider, 'sandbox');

  // A member reads everything and is refused every action.
  const member = s.t.member(s.tenant.orgId, 'member');
  const asMember = createCommerceClient(createApiClient({ url: s.t.url, token: member.token }), s.tenant.orgId);
  assert.equal((await asMember.orders({}, signal)).data.length, 2);
  await rejects(asMember.createProduct({ sku: 'X1', name: 'x', priceMinor: 1, currency: 'EUR' }, signal), 403);
  await rejects(asMember.paymentAction(pay.id, 'refresh', {}, signal), 403);
});

test('an organisation without a payment binding reads as null; inbox client: settings, empty lists, whoami, refusals', async () => {
  await using s = await setupCommerce({}, { binding: null, grant: [] });
  const api = createApiClient({ url: s.t.url, token: s.tenant.ownerToken });
  const signal = new AbortController().signal;
  assert.equal(await createCommerceClient(api, s.tenant.orgId).paymentBinding(signal), null);

  const inbox = createInboxClient(api, s.tenant.orgId);
  assert.deepEqual((await inbox.escalations({ status: 'active' }, signal)).data, []);
  assert.equal((await inbox.escalationSettings(signal))?.object, 'escalation_settings');
  assert.deepEqual((await inbox.scheduled({ instanceId: s.instance.id }, signal)).data, []);
  assert.deepEqual(await inbox.whoami(signal), { userId: (await s.t.api('GET', '/me', { token: s.tenant.ownerToken })).json.id, role: 'owner' });
  await rejects(inbox.escalation('esc_nope', signal), 404);
  await rejects(inbox.schedule({ instanceId: s.instance.id, customerRef: `wcr_${'A'.repeat(22)}`, text: 'hi', sendAt: new Date(Date.now() + 3_600_000).toISOString() }, signal), 404);
  await rejects(inbox.scheduled({ status: 'bogus' as never }, signal), 400);
  assert.equal((await inbox.conversations(s.instance.id, { limit: 5 }, signal)).data.length, 0);
});
