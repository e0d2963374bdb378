/**
 * The business screens' pure views: money shown and parsed in minor units (zero-decimal currencies
 * too), the product form parsed and turned into a minimal PATCH, actions greyed by role and state
 * (orders forward only, provider-specific payment actions, refunds waiting for approval), the
 * inbox order, send-time parsing, and customer text made safe for the terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Escalation, EscalationDetail, Order, Payment, Product, Refund, ScheduledMessage } from '../../src/shared/api.ts';
import {
  actionBar, bindingLine, canAct, formatMoney, orderActions, orderDetail, orderRow, parseMoney, parseProductForm, paymentActions,
  productFormFields, productPatch, productRow, refundActions,
} from '../../tui/views/commerce.ts';
import { detailLabel, escalationDetailText, escalationRow, inboxActions, inboxOrder, parseSendAt, scheduledActions, scheduledRow } from '../../tui/views/inbox.ts';

const product: Product = {
  id: 'prd_1', object: 'product', sku: 'HELMET-1', name: 'City helmet', description: 'Light', priceMinor: 2500, currency: 'EUR',
  active: true, stock: 10, createdAt: '2026-05-01T10:00:00.000Z', updatedAt: '2026-05-01T10:00:00.000Z',
};
const order = (status: Order['status']): Order => ({
  id: 'ord_1', object: 'order', number: 7, status, instanceId: 'wi_1', customerRef: 'wcr_abc', currency: 'EUR', totalMinor: 6999,
  items: [{ line: 1, productId: 'prd_1', sku: 'HELMET-1', name: 'City helmet', unitPriceMinor: 2500, quantity: 2, lineTotalMinor: 5000 },
    { line: 2, productId: 'prd_2', sku: 'LOCK-1', name: 'D-lock', unitPriceMinor: 1999, quantity: 1, lineTotalMinor: 1999 }],
  cancelReason: null, createdAt: '2026-05-01T10:00:00.000Z', updatedAt: null, paidAt: null, fulfilledAt: null, cancelledAt: null,
});
const payment = (over: Partial<Payment>): Payment => ({
  id: 'pay_1', object: 'payment', orderId: 'ord_1', bindingId: 'pb_1', provider: 'manual', reference: 'PB-7-AAAA', amountMinor: 6999,
  currency: 'EUR', description: 'Order #7', status: 'pending', payUrl: null, instructions: 'Transfer', capturedMinor: 0, refundedMinor: 0,
  failureReason: null, lastError: null, expiresAt: null, createdAt: null, updatedAt: null, settledAt: null, ...over,
});
const refund = (status: Refund['status']): Refund => ({
  id: 'ref_1', object: 'refund', paymentId: 'pay_1', orderId: 'ord_1', amountMinor: 1000, currency: 'EUR', reason: 'requested_by_customer',
  note: 'Wrong size', status, requestedBy: 'agent', requestedByUserId: null, decidedByUserId: null, decisionNote: null, decidedAt: null,
  failureReason: null, lastError: null, createdAt: null, updatedAt: null, settledAt: null,
});
const esc = (over: Partial<Escalation>): Escalation => ({
  id: 'esc_1', object: 'escalation', instanceId: 'wi_1', customerRef: 'wcr_abc', phoneMasked: '+1415•••0123', status: 'pending',
  priority: 'normal', reason: 'Wants a person', summary: '', openedBy: 'agent', assigneeUserId: null, timeoutAt: null,
  customerMessagesWhileHeld: 0, replyCount: 0, resolutionNote: null, resolvedByUserId: null, createdAt: '2026-05-01T10:00:00.000Z',
  updatedAt: null, assignedAt: null, closedAt: null, ...over,
});
const enabled = (hints: Array<{ key: string; enabled: boolean }>): string[] => hints.filter((h) => h.enabled).map((h) => h.key);

test('money: minor units shown with the currency, parsed back from what people type, zero-decimal currencies whole', () => {
  assert.equal(formatMoney(2500, 'EUR'), '25.00 EUR');
  assert.equal(formatMoney(5, 'USD'), '0.05 USD');
  assert.equal(formatMoney(1500, 'JPY'), '1500 JPY');
  assert.deepEqual(parseMoney('12.5', 'EUR'), { minor: 1250 });
  assert.deepEqual(parseMoney('12,50', 'EUR'), { minor: 1250 });
  assert.deepEqual(parseMoney(' 19.99 ', 'EUR'), { minor: 1999 });
  assert.deepEqual(parseMoney('7', 'EUR'), { minor: 700 });
  assert.deepEqual(parseMoney('1500', 'JPY'), { minor: 1500 });
  for (const bad of ['', 'abc', '1.234', '-5', '0', '0.00', '1e3']) assert.ok('error' in parseMoney(bad, 'EUR'), bad);
  assert.ok('error' in parseMoney('15.5', 'JPY'));
});

test('product form: prefilled for editing, parsed with errors naming the field, and only changed fields patched', () => {
  const fields = productFormFields(product);
  assert.deepEqual(fields.map((f) => [f.name, f.value]), [['sku', 'HELMET-1'], ['name', 'City helmet'], ['price', '25.00'], ['currency', 'EUR'], ['stock', '10'], ['description', 'Light']]);
  const v = Object.fromEntries(fields.map((f) => [f.name, f.value])) as Record<'sku' | 'name' | 'price' | 'currency' | 'stock' | 'description', string>;
  const same = parseProductForm(v);
  assert.ok('body' in same);
  assert.deepEqual(productPatch(product, same.body), {}, 'nothing changed, nothing sent');
  const changed = parseProductForm({ ...v, price: '27', stock: '-', currency: 'eur' });
  assert.ok('body' in changed);
  assert.deepEqual(productPatch(product, changed.body), { priceMinor: 2700, stock: null });
  assert.match((parseProductForm({ ...v, price: 'free' }) as { error: string }).error, /^Price:/);
  assert.match((parseProductForm({ ...v, currency: 'EURO' }) as { error: string }).error, /^Currency:/);
  assert.match((parseProductForm({ ...v, stock: '-3' }) as { error: string }).error, /^Stock:/);
  assert.deepEqual(productRow({ ...product, name: 'Evil\u001b[31mname', stock: null, active: false }).slice(1, 5), ['Evil [31mname', '25.00 EUR', '-', 'inactive']);
});

test('orders: only forward moves offered (fulfil when paid, cancel when unpaid); members get everything greyed with the reason', () => {
  assert.deepEqual(enabled(orderActions(order('pending_payment'), 'admin')), ['c', 'r']);
  assert.deepEqual(enabled(orderActions(order('paid'), 'owner')), ['f', 'r']);
  assert.deepEqual(enabled(orderActions(order('fulfilled'), 'owner')), ['r']);
  assert.deepEqual(enabled(orderActions(order('cancelled'), 'admin')), ['r']);
  const member = orderActions(order('paid'), 'member');
  assert.deepEqual(enabled(member), []);
  assert.ok(member.every((h) => h.why?.includes('members can read only')));
  assert.deepEqual(orderRow(order('paid')).slice(0, 4), ['7', 'paid', '69.99 EUR', '2x HELMET-1, 1x LOCK-1']);
  const text = orderDetail({ ...order('paid'), payments: [payment({ status: 'succeeded', capturedMinor: 6999, refundedMinor: 1000 })] }, []);
  assert.match(text, /2 x HELMET-1 City helmet @ 25\.00 EUR = 50\.00 EUR/);
  assert.match(text, /PB-7-AAAA manual succeeded 69\.99 EUR refunded 10\.00 EUR/);
  assert.equal(canAct('member'), false);
  assert.equal(canAct(null), false);
  assert.equal(actionBar([{ key: 'a', label: 'add', enabled: true }, { key: 'd', label: 'delete', enabled: false }]), 'a add  {gray-fg}d delete{/gray-fg}');
});

test('payments: each provider\'s own actions, refunds only with money left, approvals only while requested, settle only manual', () => {
  assert.deepEqual(enabled(paymentActions(payment({ provider: 'manual' }), 'admin')), ['m', 'c', 'u']);
  assert.deepEqual(enabled(paymentActions(payment({ provider: 'sandbox' }), 'admin')), ['p', 'F', 'c', 'u']);
  assert.deepEqual(enabled(paymentActions(payment({ provider: 'stripe' }), 'owner')), ['c', 'u']);
  assert.deepEqual(enabled(paymentActions(payment({ status: 'succeeded', capturedMinor: 6999, refundedMinor: 1000 }), 'admin')), ['u', 'R']);
  assert.deepEqual(enabled(paymentActions(payment({ status: 'succeeded', capturedMinor: 6999, refundedMinor: 6999 }), 'admin')), ['u']);
  assert.deepEqual(enabled(paymentActions(payment({}), 'member')), []);
  assert.deepEqual(enabled(refundActions(refund('requested'), 'admin', 'stripe')), ['a', 'x']);
  assert.deepEqual(enabled(refundActions(refund('pending'), 'admin', 'manual')), ['s']);
  assert.deepEqual(enabled(refundActions(refund('pending'), 'admin', 'stripe')), []);
  assert.deepEqual(enabled(refundActions(refund('requested'), 'member', 'manual')), []);
  assert.match(bindingLine(null), /No payment provider bound/);
});

test('inbox: urgent and longest-waiting first, closed last; actions by state and role; the whole history in the panel', () => {
  const list = [
    esc({ id: 'a', priority: 'normal', createdAt: '2026-05-01T09:00:00Z' }),
    esc({ id: 'b', priority: 'urgent', createdAt: '2026-05-01T11:00:00Z' }),
    esc({ id: 'c', priority: 'urgent', createdAt: '2026-05-01T10:00:00Z' }),
    esc({ id: 'd', priority: 'urgent', status: 'resolved', createdAt: '2026-05-01T08:00:00Z' }),
    esc({ id: 'e', priority: 'low', status: 'assigned', createdAt: '2026-05-01T07:00:00Z' }),
  ];
  assert.deepEqual(inboxOrder(list).map((e) => e.id), ['c', 'b', 'a', 'e', 'd']);
  assert.deepEqual(enabled(inboxActions(esc({}), 'admin')), ['t', 'r', 'v', 'n', 'x']);
  assert.deepEqual(enabled(inboxActions(esc({ status: 'resolved' }), 'owner')), ['n', 'x']);
  assert.deepEqual(enabled(inboxActions(esc({}), 'member')), []);
  assert.equal(escalationRow(esc({ assigneeUserId: 'usr_me' }), 'usr_me')[4], 'me');
  const detail: EscalationDetail = {
    ...esc({ status: 'assigned', assigneeUserId: 'usr_me', summary: 'Box crushed' }),
    timeline: [{ type: 'opened', at: '2026-05-01T10:00:00.000Z', userId: null, messageId: null, note: null }],
    messages: [
      { id: 'm1', object: 'whatsapp_message', direction: 'in', body: 'My box\u001b]0;pwned\u0007 arrived crushed', media: [], contentSid: null, status: 'received', errorCode: null, twilioSid: null, replyToMessageId: null, partIndex: null, createdAt: '2026-05-01T10:00:00.000Z', sentAt: null },
      { id: 'm2', object: 'whatsapp_message', direction: 'out', body: 'Sorry!', media: [], contentSid: null, status: 'failed', errorCode: 63016, twilioSid: 'SM1', replyToMessageId: null, partIndex: null, createdAt: '2026-05-01T10:01:00.000Z', sentAt: null },
    ],
    historyTruncated: true,
  };
  const text = escalationDetailText(detail, 'usr_me', []);
  assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(text.replace(/\n/g, '')), 'no control characters reach the terminal');
  assert.match(text, /<< customer\n +My box/);
  assert.match(text, />> sent +\[failed error 63016\]/);
  assert.match(text, /older messages not shown/);
  assert.equal(detailLabel(detail, 'usr_me'), '+1415•••0123: assigned normal, assigned to me');
});

test('reminders: send times from 30m / in 2h / 1d / ISO with a zone; anything else is a clear error; cancel only while scheduled', () => {
  const now = Date.parse('2026-05-01T10:00:00.000Z');
  assert.deepEqual(parseSendAt('30m', now), { sendAt: '2026-05-01T10:30:00.000Z' });
  assert.deepEqual(parseSendAt('in 2h', now), { sendAt: '2026-05-01T12:00:00.000Z' });
  assert.deepEqual(parseSendAt('1 day', now), { sendAt: '2026-05-02T10:00:00.000Z' });
  assert.deepEqual(parseSendAt('2026-05-03T09:00:00+02:00', now), { sendAt: '2026-05-03T07:00:00.000Z' });
  for (const bad of ['tomorrow', '2026-05-03 09:00', '0m', '-5m', '']) assert.ok('error' in parseSendAt(bad, now), bad);
  const m: ScheduledMessage = {
    id: 'sm_1', object: 'scheduled_message', instanceId: 'wi_1', customerRef: 'wcr_abc', text: 'Pick up today', template: null,
    sendAt: '2026-05-01T10:30:00.000Z', status: 'scheduled', createdBy: 'operator', createdByUserId: 'usr_1', outsideWindowAtCreation: false,
    usedTemplate: null, messageSids: [], failureReason: null, createdAt: null, updatedAt: null, sentAt: null, cancelledAt: null,
  };
  assert.deepEqual(scheduledRow(m).slice(0, 4), ['05-01 10:30:00', 'scheduled', 'wcr_abc', 'Pick up today']);
  assert.deepEqual(enabled(scheduledActions(m, 'admin')), ['n', 'x', 'f']);
  assert.deepEqual(enabled(scheduledActions({ ...m, status: 'sent' }, 'admin')), ['n', 'f']);
  assert.deepEqual(enabled(scheduledActions(m, 'member')), ['f']);
});
