/**
 * Refunds: asked for by the agent (`requested`, waiting for a person by default) or made by an
 * operator (approved at once); approved → sent to the provider by a job (refund reference = the
 * refund's id, so a retry is replayed, never doubled) → pending → succeeded | failed | canceled,
 * from the provider's answer, a webhook's lookup, or the manual operator. Never more than the
 * captured amount: what is asked for, approved, under way or done is counted before a request is
 * stored and again when it is approved. Must never send a refund that no person (or the binding's
 * explicit "no approval" setting) approved, and never await inside a transaction.
 */
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { EventBus } from '../../usage/bus.ts';
import { conflict, invalidRequest } from '../../errors.ts';
import { newId } from '../ecommerce/products.ts';
import { formatMoney, publishCommerce } from '../ecommerce/support.ts';
import { isManual, PaymentProviderError, type RefundReason, type RefundSnapshot } from './providers/index.ts';
import type { Bindings } from './bindings.ts';
import type { Payment, PaymentStore, Refund } from './store.ts';
import { PAYMENT_JOBS, providerFailure } from './errors.ts';

export interface RefundsDeps {
  db: Db;
  store: PaymentStore;
  bindings: Bindings;
  queue: JobQueue;
  log: Logger;
  bus?: EventBus;
  now: () => number;
  wake(): void;
  /** Refreshes the payment's captured and refunded amounts after a refund moved. */
  reconcileLater(p: Payment, key: string): void;
}

export interface RefundRequest {
  payment: Payment;
  amountMinor?: number;
  reason: RefundReason;
  note: string;
  by: 'agent' | 'operator';
  userId: string | null;
  idempotencyKey: string | null;
  requestId: string;
}

type RefundEvent = 'refund.requested' | 'refund.approved' | 'refund.rejected' | 'refund.succeeded' | 'refund.failed';

export function createRefunds(deps: RefundsDeps) {
  const { store, queue, now } = deps;
  const announce = (r: Refund, type: RefundEvent, requestId: string): void =>
    publishCommerce(deps.bus, { type, orgId: r.orgId, requestId, refundId: r.id, paymentId: r.paymentId, orderId: r.orderId, amountMinor: r.amountMinor, currency: r.currency });
  const submitJob = (r: { id: string; orgId: string; paymentId: string }): void =>
    void queue.enqueue({ orgId: r.orgId, kind: PAYMENT_JOBS.refundSubmit, dedupeKey: `payments.refund:${r.id}`, payload: { refundId: r.id }, concurrencyKey: `payment:${r.paymentId}` });

  /** What may still be refunded: captured minus what other refunds hold. */
  function available(p: Payment, exceptId = ''): number {
    return p.capturedMinor - store.committedRefunds(p.id, exceptId);
  }

  const requestTx = deps.db.transaction((q: RefundRequest, approved: boolean, at: number): { refund: Refund; created: boolean } => {
    if (q.idempotencyKey) {
      const prior = store.refundByKey(q.payment.orgId, q.idempotencyKey);
      if (prior) return { refund: prior, created: false };
    }
    const p = q.payment;
    const left = available(p);
    const amount = q.amountMinor ?? left;
    if (amount < 1 || amount > left) {
      throw invalidRequest(
        `The refund (${formatMoney(amount, p.currency)}) is more than can still be refunded: ${formatMoney(Math.max(0, left), p.currency)} of ${formatMoney(p.capturedMinor, p.currency)} captured (other refunds hold the rest). Nothing was refunded.`,
        'amountMinor', 'refund_exceeds_captured',
      );
    }
    const id = newId('ref');
    store.insertRefund({
      id, orgId: p.orgId, paymentId: p.id, amountMinor: amount, currency: p.currency, reason: q.reason, note: q.note, status: approved ? 'approved' : 'requested',
      requestedBy: q.by, requestedByUser: q.userId, decidedByUser: approved ? q.userId : null, decidedAt: approved ? at : null, idempotencyKey: q.idempotencyKey, now: at,
    });
    if (approved) submitJob({ id, orgId: p.orgId, paymentId: p.id });
    return { refund: store.getRefund(p.orgId, id) as Refund, created: true };
  });

  const approveTx = deps.db.transaction((r: Refund, p: Payment, userId: string, note: string | null, at: number): boolean => {
    if (r.amountMinor > available(p, r.id)) {
      throw conflict(`Approving would refund more than was captured (${formatMoney(available(p, r.id), p.currency)} can still be refunded). Reject it, or ask for a smaller refund.`, 'refund_exceeds_captured', 'refundId');
    }
    if (!store.decide(r.orgId, r.id, 'approved', userId, note, at)) return false;
    submitJob(r);
    return true;
  });

  /** Stores the provider's view of a refund (forward only) and refreshes the payment's amounts when it moved. */
  function progress(r: Refund, snap: RefundSnapshot, requestId: string): Refund {
    const final = snap.status === 'succeeded' || snap.status === 'failed' || snap.status === 'canceled';
    const moved = store.refundProgress(r.id, { status: snap.status, ref: snap.refundRef, failureReason: snap.failureReason, error: null }, now());
    const after = store.getRefund(r.orgId, r.id) as Refund;
    if (moved && final && r.status !== snap.status) {
      if (snap.status === 'succeeded' || snap.status === 'failed') announce(after, `refund.${snap.status}`, requestId);
      const p = store.get(r.orgId, r.paymentId);
      if (p) deps.reconcileLater(p, `refund:${r.id}:${snap.status}`);
    }
    return after;
  }

  function paymentOf(r: Refund): Payment {
    const p = store.get(r.orgId, r.paymentId);
    if (!p) throw new Error('refund without its payment');
    return p;
  }

  return {
    available,

    /** A new refund request (agent) or refund (operator, approved at once); the same key returns the first. */
    request(q: RefundRequest): { refund: Refund; created: boolean } {
      if (q.payment.status !== 'succeeded') {
        throw conflict(`The payment is ${q.payment.status}; only a succeeded payment can be refunded.`, 'payment_not_refundable', 'paymentId');
      }
      const binding = deps.bindings.get(q.payment.orgId, q.payment.bindingId);
      const approved = q.by === 'operator' || binding?.settings.refundsRequireApproval === false;
      const r = requestTx.immediate(q, approved, now());
      if (r.created) {
        announce(r.refund, approved ? 'refund.approved' : 'refund.requested', q.requestId);
        if (approved) deps.wake();
      }
      return r;
    },

    approve(r: Refund, userId: string, note: string | null, requestId: string): Refund {
      if (r.status !== 'requested') throw conflict(`This refund is ${r.status}; only a requested refund can be approved.`, 'refund_already_decided', 'refundId');
      if (!approveTx.immediate(r, paymentOf(r), userId, note, now())) throw conflict('This refund changed meanwhile; read it again.', 'refund_changed', 'refundId');
      deps.wake();
      const after = store.getRefund(r.orgId, r.id) as Refund;
      announce(after, 'refund.approved', requestId);
      return after;
    },

    reject(r: Refund, userId: string, note: string | null, requestId: string): Refund {
      if (r.status !== 'requested') throw conflict(`This refund is ${r.status}; only a requested refund can be rejected.`, 'refund_already_decided', 'refundId');
      if (!store.decide(r.orgId, r.id, 'rejected', userId, note, now())) throw conflict('This refund changed meanwhile; read it again.', 'refund_changed', 'refundId');
      const after = store.getRefund(r.orgId, r.id) as Refund;
      announce(after, 'refund.rejected', requestId);
      return after;
    },

    /** The job's work: send an approved refund to the provider. A permanent refusal is recorded on the refund. */
    async submit(r: Refund, requestId: string): Promise<Refund> {
      if (r.status !== 'approved') return r;
      const p = paymentOf(r);
      const binding = deps.bindings.get(p.orgId, p.bindingId);
      if (!binding || p.providerRef === null) throw new Error('refund of a payment without its binding');
      try {
        const snap = await deps.bindings.providerFor(binding).refundPayment({ providerRef: p.providerRef, refundReference: r.id, amountMinor: r.amountMinor, reason: r.reason });
        return progress(r, snap, requestId);
      } catch (err) {
        if (err instanceof PaymentProviderError && !err.retryable) {
          store.refundProgress(r.id, { status: 'failed', ref: null, failureReason: err.code, error: err.message }, now());
          const after = store.getRefund(r.orgId, r.id) as Refund;
          announce(after, 'refund.failed', requestId);
          return after;
        }
        if (err instanceof PaymentProviderError) store.setRefundError(r.id, err.message, now());
        throw err;
      }
    },

    /** A lookup of a refund the provider has (webhook, or a later check). */
    async reconcile(r: Refund, requestId: string): Promise<Refund> {
      if (r.providerRefundRef === null || (r.status !== 'pending' && r.status !== 'approved')) return r;
      const p = paymentOf(r);
      const binding = deps.bindings.get(p.orgId, p.bindingId);
      if (!binding) return r;
      return progress(r, await deps.bindings.providerFor(binding).getRefund(r.providerRefundRef), requestId);
    },

    /** Manual binding: the operator paid the refund back, or could not. */
    async settleManual(r: Refund, outcome: 'succeeded' | 'failed', reason: string | null, requestId: string): Promise<Refund> {
      if (r.status === outcome) return r;
      if (r.status !== 'pending' || r.providerRefundRef === null) throw conflict(`This refund is ${r.status}; only a pending refund can be settled.`, 'refund_not_pending', 'refundId');
      const p = paymentOf(r);
      const binding = deps.bindings.get(p.orgId, p.bindingId);
      const provider = binding ? deps.bindings.providerFor(binding) : null;
      if (!provider || !isManual(provider)) throw invalidRequest('Only refunds of manual payments are settled by hand; the provider settles the others.', null, 'operator_action_unsupported');
      try {
        return progress(r, await provider.settleRefund(r.providerRefundRef, outcome, reason ?? undefined), requestId);
      } catch (err) {
        throw providerFailure(err);
      }
    },
  };
}
export type Refunds = ReturnType<typeof createRefunds>;
