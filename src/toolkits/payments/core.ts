/**
 * Payments' core use cases: create a payment for an order (the whole input stored before the first
 * provider call, then resent unchanged on every retry), reconcile it (a provider lookup — the only
 * source of status — cross-checked against the stored reference, amount and currency), settle it
 * (forward only), and the operator's hands (sandbox mark paid / failed, manual confirm receipt,
 * cancel). A payment that succeeds moves its order to `paid` and enqueues the customer's
 * notification in ONE transaction with its own update, so a crash leaves all three or none, and a
 * repeat finds the payment final and does nothing. Every pending payment is polled (a job chain)
 * until it is final: webhooks get lost. Must never trust a webhook's content, take an amount from
 * a caller, or await inside a transaction.
 */
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { EventBus } from '../../usage/bus.ts';
import { conflict, invalidRequest } from '../../errors.ts';
import type { Order, OrdersRepo } from '../ecommerce/orders.ts';
import { newId } from '../ecommerce/products.ts';
import { publishCommerce } from '../ecommerce/support.ts';
import { isManual, isSandbox, PaymentProviderError, type PaymentSnapshot } from './providers/index.ts';
import { activeBinding, type Bindings } from './bindings.ts';
import { OPEN_PAYMENT, type Payment, type PaymentStore } from './store.ts';
import { PAYMENT_JOBS, PaymentMismatch, providerFailure } from './errors.ts';

/** A link about to expire is replaced rather than sent (the payer needs time to pay). */
const REUSE_MARGIN_MS = 5 * 60_000;
/** Operator actions leave a reconcile job this far ahead, in case the process dies mid-action. */
const SAFETY_DELAY_MS = 2_000;

export interface PaymentsCoreDeps {
  db: Db;
  store: PaymentStore;
  bindings: Bindings;
  orders: OrdersRepo;
  queue: JobQueue;
  log: Logger;
  bus?: EventBus;
  now: () => number;
  /** Interval of the poll of a pending payment. */
  pollIntervalMs: number;
  /** Nudges the toolkit's worker after an enqueue. */
  wake(): void;
}

export type OperatorAction = 'mark_paid' | 'mark_failed' | 'confirm_receipt' | 'cancel';

export function createPaymentsCore(deps: PaymentsCoreDeps) {
  const { db, store, bindings, queue, now } = deps;
  const concurrency = (id: string): string => `payment:${id}`;

  function announce(p: Payment, type: 'payment.created' | 'payment.succeeded' | 'payment.failed' | 'payment.canceled' | 'payment.expired', requestId: string): void {
    publishCommerce(deps.bus, { type, orgId: p.orgId, requestId, paymentId: p.id, orderId: p.orderId, amountMinor: p.amountMinor, currency: p.currency });
  }

  /** The next poll of a pending payment (the first one is enqueued with the row). */
  function enqueuePoll(p: Pick<Payment, 'id' | 'orgId'>, n: number, at: number): void {
    queue.enqueue({ orgId: p.orgId, kind: PAYMENT_JOBS.reconcile, dedupeKey: `payments.poll:${p.id}:${n}`, payload: { paymentId: p.id, poll: n }, runAt: at + deps.pollIntervalMs, concurrencyKey: concurrency(p.id) });
  }

  function enqueueReconcile(p: Payment, key: string, runAt?: number): boolean {
    const r = queue.enqueue({ orgId: p.orgId, kind: PAYMENT_JOBS.reconcile, dedupeKey: `payments.reconcile:${p.id}:${key}`, payload: { paymentId: p.id }, runAt, concurrencyKey: concurrency(p.id) });
    deps.wake();
    return r.created;
  }

  const insert = db.transaction((row: Parameters<PaymentStore['insert']>[0]) => {
    store.insert(row);
    enqueuePoll(row, 1, row.now);
  });

  /** Calls the provider with the stored input; the row becomes pending (or failed for a permanent refusal). */
  async function start(p: Payment, requestId: string): Promise<Payment> {
    const binding = bindings.get(p.orgId, p.bindingId);
    if (!binding) throw new Error('payment without its binding');
    const provider = bindings.providerFor(binding);
    try {
      const c = await provider.createPayment({ reference: p.reference, amountMinor: p.amountMinor, currency: p.currency, description: p.description, expiresAt: new Date(p.expiresAt) });
      if (store.started(p.id, { status: 'pending', providerRef: c.providerRef, payUrl: c.payUrl, instructions: c.instructions }, now())) {
        const started = store.get(p.orgId, p.id) as Payment;
        announce(started, 'payment.created', requestId);
        // A replayed create may describe a session that has moved on since: look it up at once.
        if (c.status !== 'pending') enqueueReconcile(started, 'created');
        return started;
      }
      return store.get(p.orgId, p.id) as Payment;
    } catch (err) {
      if (!(err instanceof PaymentProviderError)) throw err;
      if (err.retryable) {
        store.setLastError(p.id, err.message, now());
        queue.enqueue({ orgId: p.orgId, kind: PAYMENT_JOBS.create, dedupeKey: `payments.create:${p.id}:${now()}`, payload: { paymentId: p.id }, concurrencyKey: concurrency(p.id) });
        deps.wake();
        throw providerFailure(err);
      }
      if (store.createFailed(p.id, err.code, err.message, now())) announce(store.get(p.orgId, p.id) as Payment, 'payment.failed', requestId);
      throw providerFailure(err);
    }
  }

  /** Moves the row (and its order) by a provider snapshot, in one transaction. */
  const settleTx = db.transaction((p: Payment, snap: PaymentSnapshot, eventId: string | null, at: number): { moved: boolean; orderPaid: boolean } => {
    if (snap.status === 'pending') return { moved: false, orderPaid: false };
    if (!OPEN_PAYMENT.includes(p.status)) {
      if (p.status === 'succeeded') store.setAmounts(p.id, snap.capturedMinor, snap.refundedMinor, eventId, at);
      return { moved: false, orderPaid: false };
    }
    const moved = store.settle(p.id, { status: snap.status, captured: snap.capturedMinor, refunded: snap.refundedMinor, failureReason: snap.failureReason, eventId }, at);
    if (!moved || snap.status !== 'succeeded') return { moved, orderPaid: false };
    const orderPaid = deps.orders.markPaid(p.orgId, p.orderId, at);
    if (orderPaid && p.instanceId && p.customerRef) {
      queue.enqueue({ orgId: p.orgId, kind: PAYMENT_JOBS.notifyPaid, dedupeKey: `payments.notify:${p.id}`, payload: { paymentId: p.id } });
    }
    return { moved, orderPaid };
  });

  function apply(p: Payment, snap: PaymentSnapshot, opts: { eventId?: string | null; requestId: string }): Payment {
    if (snap.providerRef !== p.providerRef || (snap.reference !== null && snap.reference !== p.reference) || snap.amountMinor !== p.amountMinor || snap.currency !== p.currency) {
      const msg = 'The provider describes a payment that does not match this one (reference, amount or currency); nothing was changed.';
      store.setLastError(p.id, msg, now());
      deps.log.error({ paymentId: p.id, orgId: p.orgId }, 'payment lookup does not match the stored payment');
      throw new PaymentMismatch(msg);
    }
    const { moved, orderPaid } = settleTx.immediate(p, snap, opts.eventId ?? null, now());
    const after = store.get(p.orgId, p.id) as Payment;
    if (moved) {
      announce(after, `payment.${snap.status as 'succeeded' | 'failed' | 'canceled' | 'expired'}`, opts.requestId);
      if (orderPaid) {
        const o = deps.orders.get(p.orgId, p.orderId) as Order;
        publishCommerce(deps.bus, { type: 'order.paid', orgId: p.orgId, requestId: opts.requestId, orderId: o.id, orderNumber: o.number, paymentId: p.id, amountMinor: o.totalMinor, currency: o.currency });
        deps.wake();
      } else if (snap.status === 'succeeded') {
        deps.log.warn({ paymentId: p.id, orderId: p.orderId }, 'payment succeeded for an order that was no longer pending payment: refund it or fulfil by hand');
      }
    }
    return after;
  }

  /** Looks the payment up at its provider and settles it; a payment not yet created is returned as it is. */
  async function reconcile(p: Payment, opts: { eventId?: string | null; requestId: string }): Promise<Payment> {
    if (p.status === 'created' || p.providerRef === null) return p;
    const binding = bindings.get(p.orgId, p.bindingId);
    if (!binding) throw new Error('payment without its binding');
    const snap = await bindings.providerFor(binding).getPayment(p.providerRef);
    return apply(p, snap, opts);
  }

  /** The operator's hands on a pending payment; asking for the state it is already in changes nothing. */
async function operator(p: Payment, action: OperatorAction, input: { reason?: string; receivedMinor?: number; note?: string }, requestId: string): Promise<Payment> {
    if (action === 'cancel' && (p.status === 'canceled' || p.status === 'expired')) return p;
    if (action === 'mark_paid' || action === 'confirm_receipt') if (p.status === 'succeeded') return p;
    if (action === 'mark_failed' && p.status === 'failed') return p;
    if (p.status === 'created') throw conflict('The provider has not confirmed this payment yet; nothing to act on.', 'payment_not_started', 'paymentId');
    if (p.status !== 'pending' || p.providerRef === null) throw conflict(`The payment is ${p.status}; only a pending payment can be changed.`, 'payment_not_pending', 'paymentId');
    const binding = bindings.get(p.orgId, p.bindingId);
    if (!binding) throw new Error('payment without its binding');
    const provider = bindings.providerFor(binding);
    if ((action === 'mark_paid' || action === 'mark_failed') && !isSandbox(provider)) {
      throw invalidRequest(`This payment is with the ${binding.provider} provider: mark-paid and mark-failed are for sandbox payments only.`, null, 'operator_action_unsupported');
    }
    if (action === 'confirm_receipt' && !isManual(provider)) {
      throw invalidRequest(`This payment is with the ${binding.provider} provider: confirm-receipt is for manual payments only.`, null, 'operator_action_unsupported');
    }
    enqueueReconcile(p, `op:${action}:${now()}`, now() + SAFETY_DELAY_MS);
    let snap: PaymentSnapshot;
    try {
      if (action === 'mark_paid' && isSandbox(provider)) snap = await provider.markPaid(p.providerRef);
      else if (action === 'mark_failed' && isSandbox(provider)) snap = await provider.markFailed(p.providerRef, input.reason);
      else if (action === 'confirm_receipt' && isManual(provider)) snap = await provider.confirmReceived(p.providerRef, { receivedMinor: input.receivedMinor, note: input.note });
      else snap = await provider.cancelPayment(p.providerRef);
    } catch (err) {
      throw providerFailure(err);
    }
    return apply(p, snap, { requestId });
  }

  return {
    start,
    operator,
    apply,
    reconcile,
    enqueuePoll,
    enqueueReconcile,

    /**
     * A payment link for an order awaiting payment: the order's open payment when it is still good
     * for a while, otherwise a new one for the order's total, created at the active binding.
     */
    async linkForOrder(order: Order, requestId: string): Promise<{ payment: Payment; reused: boolean }> {
      if (order.status !== 'pending_payment') {
        throw conflict(`Order #${order.number} is ${order.status.replace('_', ' ')}; only an order awaiting payment can get a payment link.`, order.status === 'cancelled' ? 'order_cancelled' : 'order_already_paid', 'orderId');
      }
      const binding = activeBinding(bindings, order.orgId);
      let open = store.openForOrder(order.id);
      if (open?.status === 'created') return { payment: await start(open, requestId), reused: true };
      if (open && open.expiresAt - now() < REUSE_MARGIN_MS) open = await reconcile(open, { requestId }).catch(() => open);
      if (open && OPEN_PAYMENT.includes(open.status) && open.expiresAt - now() >= REUSE_MARGIN_MS) return { payment: open, reused: true };
      if (open && OPEN_PAYMENT.includes(open.status)) {
        // Still open at the provider but about to lapse: stop it, so the order has one live link.
        open = await reconcile(await operator(open, 'cancel', {}, requestId), { requestId }).catch(() => open);
        if (open && OPEN_PAYMENT.includes(open.status)) throw conflict('The order\'s current payment link is about to expire and could not be replaced yet; try again in a few minutes.', 'payment_link_expiring');
      }
      const caps = bindings.providerFor(binding).capabilities;
      const seconds = Math.min(Math.max(binding.settings.linkExpiresInSeconds, caps.minExpirySeconds), caps.maxExpirySeconds);
      const id = newId('pay');
      const at = now();
      try {
        insert.immediate({
          id, orgId: order.orgId, bindingId: binding.id, orderId: order.id, instanceId: order.instanceId, customerRef: order.customerRef, reference: id,
          amountMinor: order.totalMinor, currency: order.currency, description: `Order #${order.number}`, expiresAt: at + seconds * 1000, now: at,
        });
      } catch (err) {
        // Another call made the order's open payment at the same moment: that one is the link.
        const other = (err as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE' ? store.openForOrder(order.id) : null;
        if (other) return { payment: other, reused: true };
        throw err;
      }
      deps.wake();
      return { payment: await start(store.get(order.orgId, id) as Payment, requestId), reused: false };
    },

  };
}
export type PaymentsCore = ReturnType<typeof createPaymentsCore>;
