/**
 * The in-process providers' (sandbox, manual) `LocalPaymentStore` in SQLite: two tables scoped by
 * binding (migration 0007), synchronous like the interface, so the ledger's read-check-write runs
 * without an await in between. Must never hold provider rules (they are in providers/local-ledger.ts)
 * and never read another binding's records.
 */
import type { Db } from '../../storage/db.ts';
import type { LocalPaymentRecord, LocalPaymentStore, LocalRefundRecord } from './providers/index.ts';

interface PaymentRow {
  provider_ref: string;
  reference: string;
  amount_minor: number;
  currency: string;
  description: string;
  status: LocalPaymentRecord['status'];
  expires_at: number;
  failure_reason: string | null;
  note: string | null;
  created_at: number;
  updated_at: number;
}

interface RefundRow {
  refund_ref: string;
  provider_ref: string;
  refund_reference: string;
  amount_minor: number;
  currency: string;
  reason: LocalRefundRecord['reason'];
  status: LocalRefundRecord['status'];
  failure_reason: string | null;
  created_at: number;
  updated_at: number;
}

const toPayment = (r: PaymentRow): LocalPaymentRecord => ({
  providerRef: r.provider_ref, reference: r.reference, amountMinor: r.amount_minor, currency: r.currency, description: r.description, status: r.status,
  expiresAt: new Date(r.expires_at), failureReason: r.failure_reason, note: r.note, createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
});

const toRefund = (r: RefundRow): LocalRefundRecord => ({
  refundRef: r.refund_ref, providerRef: r.provider_ref, refundReference: r.refund_reference, amountMinor: r.amount_minor, currency: r.currency,
  reason: r.reason, status: r.status, failureReason: r.failure_reason, createdAt: new Date(r.created_at), updatedAt: new Date(r.updated_at),
});

export function createSqlitePaymentStore(db: Db, bindingId: string): LocalPaymentStore {
  const stmts = {
    getPayment: db.prepare('SELECT * FROM payment_local_payments WHERE binding_id = ? AND provider_ref = ?'),
    savePayment: db.prepare(`
      INSERT INTO payment_local_payments (binding_id, provider_ref, reference, amount_minor, currency, description, status, expires_at, failure_reason, note, created_at, updated_at)
      VALUES (@bindingId, @providerRef, @reference, @amountMinor, @currency, @description, @status, @expiresAt, @failureReason, @note, @createdAt, @updatedAt)
      ON CONFLICT (binding_id, provider_ref) DO UPDATE SET status = excluded.status, failure_reason = excluded.failure_reason, note = excluded.note,
        updated_at = excluded.updated_at`),
    getRefund: db.prepare('SELECT * FROM payment_local_refunds WHERE binding_id = ? AND refund_ref = ?'),
    listRefunds: db.prepare('SELECT * FROM payment_local_refunds WHERE binding_id = ? AND provider_ref = ? ORDER BY created_at, refund_ref'),
    saveRefund: db.prepare(`
      INSERT INTO payment_local_refunds (binding_id, refund_ref, provider_ref, refund_reference, amount_minor, currency, reason, status, failure_reason, created_at, updated_at)
      VALUES (@bindingId, @refundRef, @providerRef, @refundReference, @amountMinor, @currency, @reason, @status, @failureReason, @createdAt, @updatedAt)
      ON CONFLICT (binding_id, refund_ref) DO UPDATE SET status = excluded.status, failure_reason = excluded.failure_reason, updated_at = excluded.updated_at`),
  };
  return {
    getPayment(ref) {
      const r = stmts.getPayment.get(bindingId, ref) as PaymentRow | undefined;
      return r ? toPayment(r) : undefined;
    },
    savePayment(p) {
      stmts.savePayment.run({
        bindingId, providerRef: p.providerRef, reference: p.reference, amountMinor: p.amountMinor, currency: p.currency, description: p.description,
        status: p.status, expiresAt: p.expiresAt.getTime(), failureReason: p.failureReason, note: p.note, createdAt: p.createdAt.getTime(), updatedAt: p.updatedAt.getTime(),
      });
    },
    getRefund(ref) {
      const r = stmts.getRefund.get(bindingId, ref) as RefundRow | undefined;
      return r ? toRefund(r) : undefined;
    },
    listRefunds: (providerRef) => (stmts.listRefunds.all(bindingId, providerRef) as RefundRow[]).map(toRefund),
    saveRefund(r) {
      stmts.saveRefund.run({
        bindingId, refundRef: r.refundRef, providerRef: r.providerRef, refundReference: r.refundReference, amountMinor: r.amountMinor, currency: r.currency,
        reason: r.reason, status: r.status, failureReason: r.failureReason, createdAt: r.createdAt.getTime(), updatedAt: r.updatedAt.getTime(),
      });
    },
  };
}
