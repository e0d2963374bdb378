/**
 * End to end through a signed inbound WhatsApp message and the scripted model: a customer asks for
 * two products → the agent creates the order (at catalogue prices) and a payment link → the reply
 * with the link reaches the Twilio fake → the payment is confirmed (sandbox: the operator marks it
 * paid through the API; Stripe: the fake's Checkout Session is paid and a webhook signed by the SDK
 * arrives) → the order is `paid` → the customer is told, once, on the Twilio fake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/factories.ts';
import { offeredTools } from '../channels/whatsapp-setup.ts';
import { startFakeStripe } from '../fakes/stripe-api.ts';
import { sendStripeWebhook } from '../fakes/stripe-webhooks.ts';
import { PAID_TEMPLATE_SID, orderAndPayScript, setupCommerce } from './commerce-setup.ts';

const WHSEC = `whsec_${'e2eS3cr3t'.repeat(4)}`;

test('sandbox: order at catalogue prices → payment link in the reply → operator marks it paid → order paid → customer told once', async () => {
  await using s = await setupCommerce();
  const events: Array<Record<string, unknown>> = [];
  const unsubscribe = s.t.app.bus.subscribe(s.tenant.orgId, (e) => void (e.type.includes('.') && events.push(e)));
  let link: any;
  const [first, ...rest] = orderAndPayScript([{ sku: 'HELMET-1', quantity: 2 }, { sku: 'LOCK-1', quantity: 1 }], (r) => (link = r));
  s.upstream.script({
    ...first,
    expect(req) {
      const tools = offeredTools(req.body);
      for (const t of ['ecommerce__create_order', 'ecommerce__search_products', 'ecommerce__get_my_orders', 'ecommerce__open_after_sale_request', 'payments__create_payment_link', 'payments__get_payment_status', 'payments__request_refund']) {
        assert.ok(tools.includes(t), `${t} is offered`);
      }
    },
  }, ...rest);
  assert.equal((await s.send('Hi! I would like two city helmets and a D-lock please.')).status, 200);
  const [reply] = await s.waitForSent(1);
  assert.deepEqual(s.upstream.unexpected, []);
  assert.equal(link.amount, '69.99 EUR', '2 × 25.00 + 19.99 from the catalogue');
  assert.match(link.payUrl, /^https:\/\/pb\.example\.com\/payments\/sandbox\/sbx_pay_[0-9a-f]{24}$/);
  assert.equal(reply.body, `Your order #1 comes to 69.99 EUR. Pay here: ${link.payUrl}`);

  const page = await fetch(`${s.t.url}${new URL(link.payUrl).pathname}`);
  assert.equal(page.status, 200);
  assert.equal(await page.text(), 'Sandbox payment Order #1: 69.99 EUR, pending.\nThis is a test payment: no money moves. The shop marks it paid (or failed) from its control panel.\n');
  assert.equal((await fetch(`${s.t.url}/payments/sandbox/sbx_pay_${'0'.repeat(24)}`)).status, 404);
  const orders = await s.owner('GET', `${s.org}/orders`);
  assert.equal(orders.json.data.length, 1);
  const order = orders.json.data[0];
  assert.equal(order.status, 'pending_payment');
  assert.equal(order.totalMinor, 6999);
  assert.deepEqual(order.items.map((i: any) => [i.sku, i.quantity, i.unitPriceMinor, i.lineTotalMinor]), [['HELMET-1', 2, 2500, 5000], ['LOCK-1', 1, 1999, 1999]]);
  assert.equal((await s.owner('GET', `${s.org}/products/${s.products['HELMET-1'].id}`)).json.stock, 8, 'tracked stock taken');

  const detail = await s.owner('GET', `${s.org}/orders/${order.id}`);
  assert.equal(detail.json.payments.length, 1);
  const payment = detail.json.payments[0];
  assert.deepEqual([payment.status, payment.amountMinor, payment.currency, payment.provider], ['pending', 6999, 'EUR', 'sandbox']);

  const paid = await s.owner('POST', `${s.org}/payments/${payment.id}/mark-paid`);
  assert.equal(paid.status, 200, paid.text);
  assert.equal(paid.json.status, 'succeeded');
  assert.equal(paid.json.capturedMinor, 6999);
  const after = await s.owner('GET', `${s.org}/orders/${order.id}`);
  assert.equal(after.json.status, 'paid');
  assert.ok(after.json.paidAt);

  const [, told] = await s.waitForSent(2);
  assert.equal(told.to, reply.to);
  assert.equal(told.body, 'Thank you! We received your payment of 69.99 EUR for order #1.', 'inside the window: the text');

  // A double click, and the safety reconcile job: nothing moves again, nobody is told twice.
  assert.equal((await s.owner('POST', `${s.org}/payments/${payment.id}/mark-paid`)).json.status, 'succeeded');
  await waitFor('the safety reconcile to run', () => s.t.app.queue.list(s.tenant.orgId, { kind: 'payments.reconcile', status: 'queued' }).length <= 1, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.twilio.messages.length, 2);
  const jobs = await s.owner('GET', `${s.org}/jobs?kind=payments.notify_paid`);
  assert.equal(jobs.json.data.length, 1);
  assert.equal(jobs.json.data[0].status, 'done');
  assert.equal(PAID_TEMPLATE_SID.length, 34);

  // Operators watching the live stream saw each step, with ids and amounts only.
  unsubscribe();
  assert.deepEqual(events.map((e) => e.type), ['order.created', 'payment.created', 'payment.succeeded', 'order.paid']);
  assert.ok(events.every((e) => e.orgId === s.tenant.orgId && typeof e.requestId === 'string'));
  assert.deepEqual([events[3].orderNumber, events[3].amountMinor, events[3].paymentId], [1, 6999, payment.id]);
});

test('Stripe: Checkout link in the reply → paid at the fake → signed webhook → lookup → order paid → customer told; a second webhook, a forged one and another organisation\'s change nothing', async () => {
  await using stripe = await startFakeStripe({ accounts: [{}, {}] });
  await using s = await setupCommerce({ PLUGBOARD_STRIPE_API_BASE_URL: stripe.origin }, {
    binding: { provider: 'stripe', stripe: { secretKey: stripe.secretKey, webhookSecret: WHSEC }, settings: { successUrl: 'https://shop.example/thanks' } },
  });
  const binding = (await s.owner('GET', `${s.org}/payment-binding`)).json;
  assert.equal(binding.stripe.webhookUrl, `https://pb.example.com/webhooks/payments/stripe/${binding.id}`);
  assert.doesNotMatch(JSON.stringify(binding), new RegExp(`${stripe.secretKey}|${WHSEC}`), 'secrets never returned');
  const hook = `${s.t.url}/webhooks/payments/stripe/${binding.id}`;

  let link: any;
  s.upstream.script(...orderAndPayScript([{ sku: 'HELMET-1', quantity: 1 }, { sku: 'BELL-1', quantity: 1 }], (r) => (link = r)));
  await s.send('One helmet and the bell, please.');
  const [reply] = await s.waitForSent(1);
  assert.match(link.payUrl, /^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
  assert.ok(reply.body.includes(link.payUrl));
  const payment = (await s.owner('GET', `${s.org}/payments`)).json.data[0];
  const sessionId = /cs_test_[A-Za-z0-9]+/.exec(link.payUrl)![0];
  const create = stripe.requests.find((r) => r.operation === 'create_session')!;
  assert.match(create.idempotencyKey ?? '', /^pb1_create_[0-9a-f]{64}$/);
  assert.equal((create.form as any).line_items[0].price_data.unit_amount, '3000');

  // A webhook claiming "paid" before anything was paid moves nothing: the lookup says open.
  const early = await sendStripeWebhook({ url: hook, type: 'checkout.session.completed', object: { ...stripe.state.sessionJson(sessionId), status: 'complete', payment_status: 'paid' }, secret: WHSEC });
  assert.equal(early.status, 200, early.text);
  await waitFor('the early lookup', () => stripe.requests.some((r) => r.operation === 'retrieve_session'), 5000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await s.owner('GET', `${s.org}/payments/${payment.id}`)).json.status, 'pending');

  // A forged signature: 400, nothing stored or queued.
  const jobsBefore = s.t.app.queue.list(s.tenant.orgId, { limit: 500 }).length;
  stripe.markPaid(sessionId);
  const forged = await sendStripeWebhook({ url: hook, type: 'checkout.session.completed', object: stripe.state.sessionJson(sessionId), secret: `whsec_${'f0rg3d'.repeat(6)}` });
  assert.equal(forged.status, 400);
  assert.equal(JSON.parse(forged.text).error.code, 'webhook_invalid');
  assert.doesNotMatch(forged.text, /whsec_/);
  assert.equal(s.t.app.queue.list(s.tenant.orgId, { limit: 500 }).length, jobsBefore);
  assert.equal((await s.owner('GET', `${s.org}/payments/${payment.id}`)).json.status, 'pending');

  // The real one.
  const real = await sendStripeWebhook({ url: hook, type: 'checkout.session.completed', object: stripe.state.sessionJson(sessionId), secret: WHSEC });
  assert.equal(real.status, 200, real.text);
  assert.equal(JSON.parse(real.text).outcome, 'queued');
  const [, told] = await s.waitForSent(2);
  assert.equal(told.body, 'Thank you! We received your payment of 30.00 EUR for order #1.');
  const order = (await s.owner('GET', `${s.org}/orders`)).json.data[0];
  assert.equal(order.status, 'paid');
  const settled = (await s.owner('GET', `${s.org}/payments/${payment.id}`)).json;
  assert.deepEqual([settled.status, settled.capturedMinor], ['succeeded', 3000]);

  // The same event again, and another confirmation event: acknowledged, nothing changes, nobody is told twice.
  const again = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': real.signature }, body: real.payload });
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { outcome: string }).outcome, 'duplicate');
  const second = await sendStripeWebhook({ url: hook, type: 'checkout.session.async_payment_succeeded', object: stripe.state.sessionJson(sessionId), secret: WHSEC });
  assert.equal(second.status, 200);
  await waitFor('the second lookup', () => stripe.requests.filter((r) => r.operation === 'retrieve_session').length >= 3, 5000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.twilio.messages.length, 2);
  assert.equal((await s.owner('GET', `${s.org}/orders/${order.id}`)).json.paidAt, order.paidAt);

  // Another organisation with its own Stripe binding: its session, signed with its secret, sent to our URL → 400;
  // sent to its own URL naming our session → acknowledged and ignored.
  const other = s.t.tenant('Other shop');
  const otherSecret = `whsec_${'0th3r'.repeat(6)}`;
  const otherBinding = await s.owner('PUT', `/organizations/${other.orgId}/payment-binding`, { provider: 'stripe', stripe: { secretKey: stripe.accounts[1].secretKey, webhookSecret: otherSecret } }, other);
  assert.equal(otherBinding.status, 200, otherBinding.text);
  const theirs = await sendStripeWebhook({ url: hook, type: 'checkout.session.completed', object: stripe.state.sessionJson(sessionId), secret: otherSecret });
  assert.equal(theirs.status, 400);
  const cross = await sendStripeWebhook({ url: `${s.t.url}/webhooks/payments/stripe/${otherBinding.json.id}`, type: 'checkout.session.completed', object: stripe.state.sessionJson(sessionId), secret: otherSecret });
  assert.equal(cross.status, 200);
  assert.equal(JSON.parse(cross.text).outcome, 'ignored');
  assert.deepEqual((await s.owner('GET', `/organizations/${other.orgId}/payments`, undefined, other)).json.data, []);
  const huge = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': real.signature }, body: 'x'.repeat(600 * 1024) });
  assert.equal(huge.status, 413);
  const unknown = await sendStripeWebhook({ url: `${s.t.url}/webhooks/payments/stripe/pbd_${'0'.repeat(32)}`, type: 'checkout.session.completed', object: stripe.state.sessionJson(sessionId), secret: WHSEC });
  assert.equal(unknown.status, 404);
  assert.equal(s.twilio.messages.length, 2);
});

test('outside the 24-hour window the customer gets the binding\'s template; without one the notification is dead-lettered saying how to fix it', async () => {
  await using s = await setupCommerce();
  s.upstream.script(...orderAndPayScript([{ sku: 'LOCK-1', quantity: 1 }]), ...orderAndPayScript([{ sku: 'HELMET-1', quantity: 1 }]));
  await s.send('A lock');
  await s.waitForSent(1);
  await s.send('And a helmet, separately');
  await s.waitForSent(2);
  const [second, first] = (await s.owner('GET', `${s.org}/payments`)).json.data;
  // The customer wrote more than a day ago.
  s.t.app.db.prepare('UPDATE whatsapp_customers SET last_inbound_at = ?').run(Date.now() - 25 * 60 * 60_000);

  await s.owner('POST', `${s.org}/payments/${first.id}/mark-paid`);
  const [, , told] = await s.waitForSent(3);
  assert.equal(told.contentSid, PAID_TEMPLATE_SID);
  assert.deepEqual(JSON.parse(told.contentVariables ?? '{}'), { 1: '1', 2: '19.99 EUR' });

  assert.equal((await s.owner('PATCH', `${s.org}/payment-binding`, { settings: { paidTemplate: null } })).status, 200);
  await s.owner('POST', `${s.org}/payments/${second.id}/mark-paid`);
  const dead = await waitFor('the notification job dead-lettered', async () => (await s.owner('GET', `${s.org}/jobs?status=dead&kind=payments.notify_paid`)).json.data[0], 5000);
  assert.match(dead.lastError, /outside_window.*no paidTemplate: set one \(PATCH \/organizations\/\{id\}\/payment-binding\), then requeue this job/);
  assert.equal((await s.owner('GET', `${s.org}/orders/${second.orderId}`)).json.status, 'paid', 'the order is paid whatever the message did');
  assert.equal(s.twilio.messages.length, 3);
});
