/**
 * Where the in-process providers (sandbox, manual) keep their payments and refunds: an injected
 * store, so the Payments toolkit can put them in SQLite (one table pair scoped by binding) while
 * tests use `createMemoryPaymentStore()`.
 *
 * The interface is synchronous on purpose, like better-sqlite3: a read-check-write in the ledger
 * then runs without an await in between, so two calls cannot interleave. Must never hold provider
 * logic: rules live in `local-ledger.ts`.
 */
import type { PaymentStatus, RefundReason, RefundStatus } from './types.ts';

export interface LocalPaymentRecord {
  providerRef: string;
  reference: string;
  amountMinor: number;
  currency: string;
  description: string;
  status: PaymentStatus;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  failureReason: string | null;
  /** Manual: the operator's note on confirmation; sandbox: null. */
  note: string | null;
}

export interface LocalRefundRecord {
  refundRef: string;
  providerRef: string;
  refundReference: string;
  amountMinor: number;
  currency: string;
  reason: RefundReason;
  status: RefundStatus;
  createdAt: Date;
  updatedAt: Date;
  failureReason: string | null;
}

/** One binding's records. `save*` inserts or replaces by primary ref. */
export interface LocalPaymentStore {
  getPayment(providerRef: string): LocalPaymentRecord | undefined;
  savePayment(record: LocalPaymentRecord): void;
  getRefund(refundRef: string): LocalRefundRecord | undefined;
  listRefunds(providerRef: string): LocalRefundRecord[];
  saveRefund(record: LocalRefundRecord): void;
}

/** An in-memory store for tests and throwaway sandboxes. Records are copied in and out. */
export function createMemoryPaymentStore(): LocalPaymentStore {
  const payments = new Map<string, LocalPaymentRecord>();
  const refunds = new Map<string, LocalRefundRecord>();
  return {
    getPayment: (ref) => copy(payments.get(ref)),
    savePayment: (r) => void payments.set(r.providerRef, { ...r }),
    getRefund: (ref) => copy(refunds.get(ref)),
    listRefunds: (providerRef) => [...refunds.values()].filter((r) => r.providerRef === providerRef).map((r) => ({ ...r })),
    saveRefund: (r) => void refunds.set(r.refundRef, { ...r }),
  };
}

function copy<T extends object>(r: T | undefined): T | undefined {
  return r === undefined ? undefined : { ...r };
}
