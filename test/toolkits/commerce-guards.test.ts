/**
 * What the model cannot do, through a signed inbound WhatsApp message and the scripted model: set a
 * price or a total, mark an order paid, or refund without a person's approval — every attempt is a
 * tool error the model reads, and nothing changes. Also: an inactive product, an unknown SKU and
 * stock that is not there are refused with nothing stored; two orders racing for the last item
 * cannot both have it; on the plain API path (no conversation) the customer's tools refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/factories.ts';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { calls, dynamic, say, setupCommerce, toolResults } from './commerce-setup.ts';

test('the model\'s attempts to set a price, mark paid, or refund without approval are tool errors; a person approves the refund', async () => {
  await using s = await setupCommerce();
  s.upstream.script(
    { json: calls(
      { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'HELMET-1', quantity: 1, priceMinor: 1 }] } },
      { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'HELMET-1', quantity: 1 }], totalMinor: 100 } },
      { name: 'ecommerce__mark_order_paid', arguments: { orderNumber: 1 } },
    ) },
    dynamic((req) => {
      const r = toolResults(req);
      assert.deepEqual(r.map((x) => x.status), ['error', 'error', 'error']);
      assert.match(r[0].text, /Invalid arguments for ecommerce__create_order/);
      assert.match(r[1].text, /Invalid arguments for ecommerce__create_order/);
      assert.match(r[2].text, /There is no tool named "ecommerce__mark_order_paid"/);
      return calls({ name: 'ecommerce__create_order', arguments: { items: [{ sku: 'HELMET-1', quantity: 1 }] } });
    }),
    dynamic((req) => {
      const [r] = toolResults(req);
      assert.equal(r.status, 'ok', r.text);
      assert.equal(r.body.total, '25.00 EUR');
      return calls(
        { name: 'payments__create_payment_link', arguments: { orderNumber: 1, amountMinor: 1 } },
        { name: 'payments__mark_paid', arguments: { orderNumber: 1 } },
        { name: 'payments__request_refund', arguments: { orderNumber: 1, note: 'Changed my mind' } },
        { name: 'payments__create_payment_link', arguments: { orderNumber: 1 } },
      );
    }),
    dynamic((req) => {
      const r = toolResults(req);
      assert.deepEqual(r.map((x) => x.status), ['error', 'error', 'error', 'ok'], JSON.stringify(r));
      assert.match(r[0].text, /Invalid arguments for payments__create_payment_link/);
      assert.match(r[1].text, /There is no tool named "payments__mark_paid"/);
      assert.match(r[2].text, /no completed payment/);
      assert.equal(r[3].body.amount, '25.00 EUR');
      return say('Here is your link.');
    }),
  );
  await s.send('One helmet please, for 1 cent.');
  await s.waitForSent(1);
  assert.deepEqual(s.upstream.unexpected, []);
  const orders = (await s.owner('GET', `${s.org}/orders`)).json.data;
  assert.equal(orders.length, 1, 'only the valid order exists');
  assert.deepEqual([orders[0].status, orders[0].totalMinor], ['pending_payment', 2500]);
  const payment = (await s.owner('GET', `${s.org}/payments`)).json.data[0];
  assert.equal(payment.amountMinor, 2500, 'the payment is for the order\'s total');
  assert.equal((await s.owner('POST', `${s.org}/payments/${payment.id}/mark-paid`)).json.status, 'succeeded');
  await s.waitForSent(2);

  s.upstream.script(
    { json: calls(
      { name: 'payments__request_refund', arguments: { orderNumber: 1, note: 'Too small', approved: true } },
      { name: 'payments__request_refund', arguments: { orderNumber: 1, note: 'Too small', amountMinor: 999_999 } },
      { name: 'payments__refund_payment', arguments: { orderNumber: 1 } },
      { name: 'ecommerce__get_my_orders', arguments: { orderNumber: 1, status: 'fulfilled' } },
      { name: 'payments__request_refund', arguments: { orderNumber: 1, note: 'Too small' } },
    ) },
    dynamic((req) => {
      const r = toolResults(req);
      assert.deepEqual(r.map((x) => x.status), ['error', 'error', 'error', 'error', 'ok'], JSON.stringify(r));
      assert.match(r[0].text, /Invalid arguments/);
      assert.match(r[1].text, /more than can still be refunded: 25\.00 EUR of 25\.00 EUR captured/);
      assert.match(r[2].text, /There is no tool named "payments__refund_payment"/);
      assert.match(r[3].text, /Invalid arguments/);
      assert.equal(r[4].body.status, 'requested');
      assert.match(r[4].body.note, /a person at the shop must approve it/);
      return say('I passed your refund request on.');
    }),
  );
  await s.send('The helmet is too small, refund me now.');
  await s.waitForSent(3);
  assert.deepEqual(s.upstream.unexpected, []);

  const refunds = (await s.owner('GET', `${s.org}/refunds`)).json.data;
  assert.equal(refunds.length, 1);
  assert.deepEqual([refunds[0].status, refunds[0].amountMinor, refunds[0].requestedBy], ['requested', 2500, 'agent']);
  assert.equal(s.t.app.db.prepare('SELECT COUNT(*) FROM payment_local_refunds').pluck().get(), 0, 'no money moved at the provider');
  assert.equal((await s.owner('GET', `${s.org}/orders/${orders[0].id}`)).json.status, 'paid', 'not fulfilled, not refunded');

  // A member cannot approve; an admin can, and the refund goes to the provider.
  const member = s.t.member(s.tenant.orgId, 'member');
  const denied = await s.t.api('POST', `${s.org}/refunds/${refunds[0].id}/approve`, { token: member.token });
  assert.equal(denied.status, 403);
  const admin = s.t.member(s.tenant.orgId, 'admin');
  const ok = await s.t.api('POST', `${s.org}/refunds/${refunds[0].id}/approve`, { token: admin.token, body: { note: 'Fine' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.decidedByUserId, admin.userId);
  await waitFor('the refund to succeed', async () => (await s.owner('GET', `${s.org}/refunds/${refunds[0].id}`)).json.status === 'succeeded', 5000);
  await waitFor('the payment to show it', async () => (await s.owner('GET', `${s.org}/payments/${payment.id}`)).json.refundedMinor === 2500, 5000);
  const again = await s.owner('POST', `${s.org}/refunds/${refunds[0].id}/approve`);
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'refund_already_decided');
});

test('an inactive product, an unknown SKU and missing stock are refused with nothing stored; two orders cannot both take the last item', async () => {
  await using s = await setupCommerce();
  s.upstream.script(
    { json: calls(
      { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'OLD-1', quantity: 1 }] } },
      { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'NOPE-9', quantity: 1 }] } },
      { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'LOCK-1', quantity: 1 }, { sku: 'BELL-1', quantity: 2 }] } },
      { name: 'ecommerce__search_products', arguments: { query: 'pump' } },
    ) },
    dynamic((req) => {
      const r = toolResults(req);
      assert.deepEqual(r.map((x) => x.status), ['error', 'error', 'error', 'ok']);
      assert.match(r[0].text, /"Discontinued pump" \(SKU OLD-1\) is not available for ordering\. No order was created\./);
      assert.match(r[1].text, /no product with SKU "NOPE-9"/);
      assert.match(r[2].text, /Only 1 of "Bell" \(SKU BELL-1\) is left; 2 cannot be ordered/);
      assert.equal(r[3].body.count, 0, 'inactive products are not offered');
      return calls(
        { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'BELL-1', quantity: 1 }] } },
        { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'BELL-1', quantity: 1 }, { sku: 'LOCK-1', quantity: 1 }] } },
      );
    }),
    dynamic((req) => {
      const r = toolResults(req);
      assert.deepEqual(r.map((x) => x.status).sort(), ['error', 'ok']);
      assert.match(r.find((x) => x.status === 'error')!.text, /Only 0 of "Bell"|Only 1 of "Bell"/);
      return say('done');
    }),
  );
  await s.send('A pump, and two bells');
  await s.waitForSent(1);
  assert.deepEqual(s.upstream.unexpected, []);
  const orders = (await s.owner('GET', `${s.org}/orders`)).json.data;
  assert.equal(orders.length, 1);
  assert.equal((await s.owner('GET', `${s.org}/products/${s.products['BELL-1'].id}`)).json.stock, 0);
  assert.equal((await s.owner('GET', `${s.org}/products/${s.products['LOCK-1'].id}`)).json.stock, null);

  // Cancelling gives the bell back.
  const cancelled = await s.owner('POST', `${s.org}/orders/${orders[0].id}/cancel`, { reason: 'Customer changed their mind' });
  assert.equal(cancelled.json.status, 'cancelled', cancelled.text);
  assert.equal((await s.owner('GET', `${s.org}/products/${s.products['BELL-1'].id}`)).json.stock, 1);
});

test('on the plain API path (no conversation) the catalogue can be searched but the customer\'s tools refuse', async () => {
  await using s = await setupCommerce();
  const key = s.t.key(s.tenant.orgId);
  s.upstream.script(
    { json: calls(
      { name: 'ecommerce__search_products', arguments: { query: 'helmet' } },
      { name: 'ecommerce__create_order', arguments: { items: [{ sku: 'HELMET-1', quantity: 1 }] } },
      { name: 'payments__create_payment_link', arguments: { orderNumber: 1 } },
    ) },
    dynamic((req) => {
      const r = toolResults(req);
      assert.equal(r[0].status, 'ok');
      assert.deepEqual(r[0].body.products.map((p: any) => [p.sku, p.price, p.inStock]), [['HELMET-1', '25.00 EUR', 10]]);
      for (const x of r.slice(1)) {
        assert.equal(x.status, 'error');
        assert.match(x.text, /works only inside a WhatsApp conversation/);
      }
      return chatCompletion({ content: 'searched' });
    }),
  );
  const res = await s.t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'helmets?' }] });
  assert.equal(res.choices[0].message.content, 'searched');
  assert.deepEqual((await s.owner('GET', `${s.org}/orders`)).json.data, []);
});
