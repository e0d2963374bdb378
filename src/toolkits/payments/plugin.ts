/**
 * The first-party Payments plugin (`first_party:payments`, slug `payments`): the agent's tools to
 * create a payment link for one of the current customer's orders, check a payment's status, and
 * ask for a refund. The amount is always the order's (the schemas have no amount for a payment,
 * and no status or approval anywhere): the agent can neither mark anything paid nor refund on its
 * own — a refund it asks for waits for a person (unless the owner turned approval off).
 * Must never throw out of `call`, or act on an order of another customer.
 */
import type { Logger } from '../../log.ts';
import type { FirstPartyPlugin, PluginHandle, ToolCallContext, ToolDescriptor, ToolOutcome } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import type { OrdersRepo } from '../ecommerce/orders.ts';
import { customersOrder, toolKey } from '../ecommerce/plugin.ts';
import { asTool, currentCustomer, formatMoney, grantRevoked, toolError, toolResult } from '../ecommerce/support.ts';
import { MAX_PRICE_MINOR } from '../ecommerce/products.ts';
import { REFUND_REASONS, type RefundReason } from './providers/index.ts';
import type { Bindings } from './bindings.ts';
import type { PaymentsCore } from './core.ts';
import type { Refunds } from './refunds.ts';
import type { Payment, PaymentStore } from './store.ts';

export const PAYMENTS_PLUGIN_ID = 'first_party:payments';
export const PAYMENTS_SLUG = 'payments';
/** The platform permission each tool exercises; approving a refund (`refund_manage`) is a person's, never a tool's. */
export const PAYMENTS_PERMISSIONS = {
  create_payment_link: 'toolkit:PAYMENTS:initiate',
  get_payment_status: 'toolkit:PAYMENTS:status',
  request_refund: 'toolkit:PAYMENTS:refund_request',
  approve_refund: 'toolkit:PAYMENTS:refund_manage',
} as const;
const RATE_LIMITS = {
  create_payment_link: { points: 60, durationSeconds: 60 },
  get_payment_status: { points: 300, durationSeconds: 60 },
  request_refund: { points: 30, durationSeconds: 60 },
} as const;
const MAX_NOTE = 500;
const ORDER_NUMBER = { type: 'integer', minimum: 1, maximum: 1_000_000_000, description: 'The order number (e.g. 12 for order #12).' };

export const PAYMENTS_TOOLS: readonly ToolDescriptor[] = [
  {
    name: 'create_payment_link',
    description: 'Create (or get again) the payment link for one of the current customer\'s unpaid orders, for the order\'s total. Send the customer the link (or the payment instructions) exactly as returned. The order becomes paid by itself once the provider confirms the payment, and the customer is told; you cannot mark it paid.',
    inputSchema: { type: 'object', properties: { orderNumber: ORDER_NUMBER }, required: ['orderNumber'], additionalProperties: false },
  },
  {
    name: 'get_payment_status',
    description: 'Check the payment of one of the current customer\'s orders (pending, succeeded, failed, canceled, expired) when the customer asks whether their payment went through.',
    inputSchema: { type: 'object', properties: { orderNumber: ORDER_NUMBER }, required: ['orderNumber'], additionalProperties: false },
  },
  {
    name: 'request_refund',
    description: 'Ask the shop\'s team to refund a paid order of the current customer (all of it, or amountMinor in minor units). Nothing is refunded until a person approves it: tell the customer the request was passed on.',
    inputSchema: {
      type: 'object',
      properties: {
        orderNumber: ORDER_NUMBER,
        amountMinor: { type: 'integer', minimum: 1, maximum: MAX_PRICE_MINOR, description: 'Part of the payment to refund, in minor units (cents); leave out for everything still refundable.' },
        reason: { type: 'string', enum: [...REFUND_REASONS], description: 'Default requested_by_customer.' },
        note: { type: 'string', minLength: 1, maxLength: MAX_NOTE, description: 'Why, in a sentence, for the person who decides.' },
      },
      required: ['orderNumber', 'note'],
      additionalProperties: false,
    },
  },
];

export interface PaymentsPluginDeps {
  bindings: Bindings;
  store: PaymentStore;
  orders: OrdersRepo;
  core: PaymentsCore;
  refunds: Refunds;
  grants: GrantsRepo;
  log: Logger;
}

export function paymentForModel(p: Payment): Record<string, unknown> {
  return {
    paymentId: p.id, status: p.status, amount: formatMoney(p.amountMinor, p.currency),
    ...(p.status === 'pending' && p.payUrl && { payUrl: p.payUrl }), ...(p.status === 'pending' && p.instructions && { instructions: p.instructions }),
    ...(p.status === 'pending' && { expiresAt: new Date(p.expiresAt).toISOString() }), ...(p.failureReason && { failureReason: p.failureReason }),
    ...(p.refundedMinor > 0 && { refunded: formatMoney(p.refundedMinor, p.currency) }),
  };
}

export function createPaymentsPlugin(deps: PaymentsPluginDeps): FirstPartyPlugin {
  async function run(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const revoked = grantRevoked(deps.grants, ctx, PAYMENTS_PLUGIN_ID);
    if (revoked) return revoked;
    const who = currentCustomer(ctx);
    if ('isError' in who) return who;
    if (tool !== 'create_payment_link' && tool !== 'get_payment_status' && tool !== 'request_refund') return toolError(`The Payments toolkit has no tool "${tool}".`, 'unknown_tool');
    const order = customersOrder(deps.orders, who.orgId, who.customerRef, args.orderNumber as number);
    if ('isError' in order) return order;

    if (tool === 'create_payment_link') {
      const { payment, reused } = await deps.core.linkForOrder(order, ctx.requestId);
      return toolResult({
        orderNumber: order.number, ...paymentForModel(payment),
        note: payment.instructions
          ? 'Send the customer these payment instructions as they are. The order becomes paid once the shop confirms the money arrived.'
          : `${reused ? 'This is the order\'s existing link. ' : ''}Send the customer this link. The order becomes paid automatically once the payment is confirmed, and the customer is told.`,
      });
    }
    const payments = deps.store.forOrder(who.orgId, order.id);
    if (tool === 'get_payment_status') {
      let latest = payments[0];
      if (!latest) return toolResult({ orderNumber: order.number, orderStatus: order.status, payment: null, note: 'No payment was started for this order; create a link with payments__create_payment_link.' });
      if (latest.status === 'pending') latest = await deps.core.reconcile(latest, { requestId: ctx.requestId }).catch(() => latest);
      const now = deps.orders.get(who.orgId, order.id) ?? order;
      return toolResult({ orderNumber: order.number, orderStatus: now.status, payment: paymentForModel(latest) });
    }
    const paid = payments.find((p) => p.status === 'succeeded');
    if (!paid) return toolError(`Order #${order.number} has no completed payment, so there is nothing to refund.`, 'payment_not_refundable');
    const reason = (typeof args.reason === 'string' ? args.reason : 'requested_by_customer') as RefundReason;
    const amountMinor = typeof args.amountMinor === 'number' ? args.amountMinor : undefined;
    const { refund } = deps.refunds.request({
      payment: paid, amountMinor, reason, note: String(args.note), by: 'agent', userId: null,
      idempotencyKey: toolKey(ctx, tool, [paid.id, amountMinor ?? null, reason, args.note]), requestId: ctx.requestId,
    });
    return toolResult({
      refundId: refund.id, orderNumber: order.number, status: refund.status, amount: formatMoney(refund.amountMinor, refund.currency),
      note: refund.status === 'requested'
        ? 'Requested only: a person at the shop must approve it before any money moves. Tell the customer the request was passed on.'
        : 'The shop\'s settings approve refunds automatically: it is being sent to the payment provider.',
    });
  }

  const handle: PluginHandle = {
    id: PAYMENTS_PLUGIN_ID,
    kind: 'first_party',
    slug: PAYMENTS_SLUG,
    displayName: 'Payments',
    description: 'Payment links for the customer\'s orders, payment status, and refund requests (approved by a person).',
    rateLimits: RATE_LIMITS,
    tools: () => [...PAYMENTS_TOOLS],
    call: (tool, args, ctx) => asTool(() => run(tool, args, ctx), (err) => deps.log.error({ tool, requestId: ctx.requestId, err: { message: String((err as Error)?.message).slice(0, 300) } }, 'payments tool failed')),
  };
  return {
    slug: PAYMENTS_SLUG,
    displayName: handle.displayName,
    description: handle.description,
    // Offered once the organisation has bound a payment provider.
    forOrg: (orgId) => (deps.bindings.active(orgId) ? handle : null),
  };
}
