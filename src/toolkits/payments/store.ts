/**
 * The Payments toolkit's rows: payments (the whole create input, persisted before the first
 * provider call; status forward only, also by trigger) and refunds (requested → approved |
 * rejected → pending → succeeded | failed | canceled). Plain statements, safe inside a caller's
 * transaction. Must never know about providers or HTTP, and never read across organisations
 * (the unscoped lookups take a binding or a provider reference, which belong to one organisation).
 */
import type { Db } from '../../storage/db.ts';
import type { ProviderKind, RefundReason } from './providers/index.ts';

export type PaymentRowStatus = 'created' | 'pending' | 'succeeded' | 'failed' | 'canceled' | 'expired';
export type RefundRowStatus = 'requested' | 'rejected' | 'approved' | 'pending' | 'succeeded' | 'failed' | 'canceled';
export const OPEN_PAYMENT: readonly PaymentRowStatus[] = ['created', 'pending'];
/** Refund states that hold money back from further refunds. */
export const COMMITTED_REFUND: readonly RefundRowStatus[] = ['requested', 'approved', 'pending', 'succeeded'];

export interface Payment {
  id: string;
  orgId: string;
  bindingId: string;
  provider: ProviderKind;
  orderId: string;
  instanceId: string | null;
  customerRef: string | null;
  reference: string;
  amountMinor: number;
  currency: string;
  description: string;
  expiresAt: number;
  status: PaymentRowStatus;
  providerRef: string | null;
  payUrl: string | null;
  instructions: string | null;
  capturedMinor: number;
  refundedMinor: number;
  failureReason: string | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  settledAt: number | null;
}

export interface Refund {
  id: string;
  orgId: string;
  paymentId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  reason: RefundReason;
  note: string;
  status: RefundRowStatus;
  requestedBy: 'agent' | 'operator';
  requestedByUser: string | null;
  decidedByUser: string | null;
  decisionNote: string | null;
  decidedAt: number | null;
  providerRefundRef: string | null;
  failureReason: string | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  settledAt: number | null;
}

const PAYMENT_SELECT = 'SELECT p.*, b.provider FROM payments p JOIN payment_bindings b ON b.id = p.binding_id';
const REFUND_SELECT = 'SELECT r.*, p.order_id FROM payment_refunds r JOIN payments p ON p.id = r.payment_id';

function toPayment(r: Record<string, any>): Payment {
  return {
    id: r.id, orgId: r.org_id, bindingId: r.binding_id, provider: r.provider, orderId: r.order_id, instanceId: r.instance_id, customerRef: r.customer_ref,
    reference: r.reference, amountMinor: r.amount_minor, currency: r.currency, description: r.description, expiresAt: r.expires_at, status: r.status,
    providerRef: r.provider_ref, payUrl: r.pay_url, instructions: r.instructions, capturedMinor: r.captured_minor, refundedMinor: r.refunded_minor,
    failureReason: r.failure_reason, lastError: r.last_error, createdAt: r.created_at, updatedAt: r.updated_at, settledAt: r.settled_at,
  };
}

function toRefund(r: Record<string, any>): Refund {
  return {
    id: r.id, orgId: r.org_id, paymentId: r.payment_id, orderId: r.order_id, amountMinor: r.amount_minor, currency: r.currency, reason: r.reason, note: r.note,
    status: r.status, requestedBy: r.requested_by, requestedByUser: r.requested_by_user, decidedByUser: r.decided_by_user, decisionNote: r.decision_note,
    decidedAt: r.decided_at, providerRefundRef: r.provider_refund_ref, failureReason: r.failure_reason, lastError: r.last_error,
    createdAt: r.created_at, updatedAt: r.updated_at, settledAt: r.settled_at,
  };
}

export function createPaymentStore(db: Db) {
  const s = {
    insert: db.prepare(`
      INSERT INTO payments (id, org_id, binding_id, order_id, instance_id, customer_ref, reference, amount_minor, currency, description, expires_at, status, created_at, updated_at)
      VALUES (@id, @orgId, @bindingId, @orderId, @instanceId, @customerRef, @reference, @amountMinor, @currency, @description, @expiresAt, 'created', @now, @now)`),
    get: db.prepare(`${PAYMENT_SELECT} WHERE p.org_id = ? AND p.id = ?`),
    byProviderRef: db.prepare(`${PAYMENT_SELECT} WHERE p.binding_id = ? AND p.provider_ref = ?`),
    sandboxPage: db.prepare(`${PAYMENT_SELECT} WHERE b.provider = 'sandbox' AND p.provider_ref = ?`),
    openForOrder: db.prepare(`${PAYMENT_SELECT} WHERE p.order_id = ? AND p.status IN ('created', 'pending')`),
    forOrder: db.prepare(`${PAYMENT_SELECT} WHERE p.org_id = ? AND p.order_id = ? ORDER BY p.created_at DESC, p.id DESC`),
    list: db.prepare(`
      ${PAYMENT_SELECT} WHERE p.org_id = @orgId AND (@status IS NULL OR p.status = @status) AND (@orderId IS NULL OR p.order_id = @orderId)
        AND (@before IS NULL OR (p.created_at, p.id) < (@beforeAt, @before))
      ORDER BY p.created_at DESC, p.id DESC LIMIT @limit`),
    started: db.prepare(`
      UPDATE payments SET status = @status, provider_ref = @providerRef, pay_url = @payUrl, instructions = @instructions, last_error = NULL, updated_at = @now
      WHERE id = @id AND status = 'created'`),
    createFailed: db.prepare(`
      UPDATE payments SET status = 'failed', failure_reason = @reason, last_error = @error, settled_at = @now, updated_at = @now WHERE id = @id AND status = 'created'`),
    lastError: db.prepare('UPDATE payments SET last_error = @error, updated_at = @now WHERE id = @id'),
    settle: db.prepare(`
      UPDATE payments SET status = @status, captured_minor = @captured, refunded_minor = @refunded, failure_reason = @failureReason, last_error = NULL,
        last_event_id = COALESCE(@eventId, last_event_id), settled_at = @now, updated_at = @now
      WHERE id = @id AND status IN ('created', 'pending')`),
    amounts: db.prepare(`
      UPDATE payments SET captured_minor = @captured, refunded_minor = @refunded, last_event_id = COALESCE(@eventId, last_event_id), updated_at = @now
      WHERE id = @id AND (captured_minor <> @captured OR refunded_minor <> @refunded)`),
    // Refunds
    insertRefund: db.prepare(`
      INSERT INTO payment_refunds (id, org_id, payment_id, amount_minor, currency, reason, note, status, requested_by, requested_by_user,
        decided_by_user, decided_at, idempotency_key, created_at, updated_at)
      VALUES (@id, @orgId, @paymentId, @amountMinor, @currency, @reason, @note, @status, @requestedBy, @requestedByUser,
        @decidedByUser, @decidedAt, @idempotencyKey, @now, @now)
      ON CONFLICT (org_id, idempotency_key) DO NOTHING`),
    getRefund: db.prepare(`${REFUND_SELECT} WHERE r.org_id = ? AND r.id = ?`),
    refundByKey: db.prepare(`${REFUND_SELECT} WHERE r.org_id = ? AND r.idempotency_key = ?`),
    refundByProviderRef: db.prepare(`${REFUND_SELECT} WHERE r.org_id = ? AND r.provider_refund_ref = ?`),
    refundsOf: db.prepare(`${REFUND_SELECT} WHERE r.payment_id = ? ORDER BY r.created_at, r.id`),
    committed: db.prepare(`
      SELECT COALESCE(SUM(amount_minor), 0) FROM payment_refunds
      WHERE payment_id = ? AND status IN ('requested', 'approved', 'pending', 'succeeded') AND id <> ?`).pluck(),
    listRefunds: db.prepare(`
      ${REFUND_SELECT} WHERE r.org_id = @orgId AND (@status IS NULL OR r.status = @status) AND (@paymentId IS NULL OR r.payment_id = @paymentId)
        AND (@before IS NULL OR (r.created_at, r.id) < (@beforeAt, @before))
      ORDER BY r.created_at DESC, r.id DESC LIMIT @limit`),
    decide: db.prepare(`
      UPDATE payment_refunds SET status = @status, decided_by_user = @userId, decision_note = @note, decided_at = @now, updated_at = @now
      WHERE org_id = @orgId AND id = @id AND status = 'requested'`),
    refundProgress: db.prepare(`
      UPDATE payment_refunds SET status = @status, provider_refund_ref = COALESCE(@ref, provider_refund_ref), failure_reason = @failureReason,
        last_error = @error, settled_at = CASE WHEN @status IN ('succeeded', 'failed', 'canceled') THEN @now ELSE settled_at END, updated_at = @now
      WHERE id = @id AND status IN ('approved', 'pending')`),
    refundError: db.prepare('UPDATE payment_refunds SET last_error = @error, updated_at = @now WHERE id = @id'),
  };
  const payment = (r: unknown): Payment | null => (r ? toPayment(r as Record<string, any>) : null);
  const refund = (r: unknown): Refund | null => (r ? toRefund(r as Record<string, any>) : null);
  const page = <T>(stmt: typeof s.list, params: Record<string, unknown>, cursor: { at: number; id: string } | undefined, map: (r: unknown) => T | null): T[] =>
    (stmt.all({ ...params, before: cursor?.id ?? null, beforeAt: cursor?.at ?? null }) as unknown[]).map((r) => map(r) as T);

  return {
    insert: (p: { id: string; orgId: string; bindingId: string; orderId: string; instanceId: string | null; customerRef: string | null; reference: string; amountMinor: number; currency: string; description: string; expiresAt: number; now: number }): void =>
      void s.insert.run(p),
    get: (orgId: string, id: string): Payment | null => payment(s.get.get(orgId, id)),
    byProviderRef: (bindingId: string, ref: string): Payment | null => payment(s.byProviderRef.get(bindingId, ref)),
    /** The sandbox pay page's lookup, by the unguessable ref in its URL. */
    sandboxByRef: (ref: string): Payment | null => payment(s.sandboxPage.get(ref)),
    openForOrder: (orderId: string): Payment | null => payment(s.openForOrder.get(orderId)),
    forOrder: (orgId: string, orderId: string): Payment[] => (s.forOrder.all(orgId, orderId) as unknown[]).map((r) => payment(r) as Payment),
    list: (orgId: string, q: { status?: PaymentRowStatus; orderId?: string; limit: number; cursor?: { at: number; id: string } }): Payment[] =>
      page(s.list, { orgId, status: q.status ?? null, orderId: q.orderId ?? null, limit: q.limit }, q.cursor, payment),
    /** created → pending (or whatever the provider said), with its reference and link. */
    started: (id: string, v: { status: PaymentRowStatus; providerRef: string; payUrl: string | null; instructions: string | null }, now: number): boolean =>
      s.started.run({ id, ...v, now }).changes === 1,
    createFailed: (id: string, reason: string, error: string, now: number): boolean => s.createFailed.run({ id, reason, error, now }).changes === 1,
    setLastError: (id: string, error: string | null, now: number): void => void s.lastError.run({ id, error, now }),
    /** An open payment → a final state; false when it was already final. */
    settle: (id: string, v: { status: PaymentRowStatus; captured: number; refunded: number; failureReason: string | null; eventId: string | null }, now: number): boolean =>
      s.settle.run({ id, ...v, now }).changes === 1,
    /** Captured and refunded amounts from a later lookup (refunds); the status stays. */
    setAmounts: (id: string, captured: number, refunded: number, eventId: string | null, now: number): boolean => s.amounts.run({ id, captured, refunded, eventId, now }).changes === 1,

    insertRefund: (r: { id: string; orgId: string; paymentId: string; amountMinor: number; currency: string; reason: RefundReason; note: string; status: RefundRowStatus; requestedBy: 'agent' | 'operator'; requestedByUser: string | null; decidedByUser: string | null; decidedAt: number | null; idempotencyKey: string | null; now: number }): boolean =>
      s.insertRefund.run(r).changes === 1,
    getRefund: (orgId: string, id: string): Refund | null => refund(s.getRefund.get(orgId, id)),
    refundByKey: (orgId: string, key: string): Refund | null => refund(s.refundByKey.get(orgId, key)),
    refundByProviderRef: (orgId: string, ref: string): Refund | null => refund(s.refundByProviderRef.get(orgId, ref)),
    refundsOf: (paymentId: string): Refund[] => (s.refundsOf.all(paymentId) as unknown[]).map((r) => refund(r) as Refund),
    /** Money of the payment's refunds that are asked for, approved, under way or done (all but `exceptId`). */
    committedRefunds: (paymentId: string, exceptId = ''): number => s.committed.get(paymentId, exceptId) as number,
    listRefunds: (orgId: string, q: { status?: RefundRowStatus; paymentId?: string; limit: number; cursor?: { at: number; id: string } }): Refund[] =>
      page(s.listRefunds, { orgId, status: q.status ?? null, paymentId: q.paymentId ?? null, limit: q.limit }, q.cursor, refund),
    decide: (orgId: string, id: string, status: 'approved' | 'rejected', userId: string, note: string | null, now: number): boolean =>
      s.decide.run({ orgId, id, status, userId, note, now }).changes === 1,
    refundProgress: (id: string, v: { status: RefundRowStatus; ref: string | null; failureReason: string | null; error: string | null }, now: number): boolean =>
      s.refundProgress.run({ id, ...v, now }).changes === 1,
    setRefundError: (id: string, error: string | null, now: number): void => void s.refundError.run({ id, error, now }),
  };
}
export type PaymentStore = ReturnType<typeof createPaymentStore>;
