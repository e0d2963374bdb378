/**
 * The state machine shared by the in-process providers (sandbox, manual): payments move
 * `pending → succeeded | failed | canceled | expired` and never back; refunds stay within
 * captured − refunded; creates and refunds are idempotent by reference, with deterministic refs.
 *
 * Every operation is a synchronous read-check-write on the injected store (no await inside), so
 * concurrent calls cannot interleave. Must never do I/O of its own or read the wall clock: time
 * comes from `now`.
 */
import crypto from 'node:crypto';
import type { LocalPaymentRecord, LocalPaymentStore, LocalRefundRecord } from './local-store.ts';
import {
  PaymentErrorCode, paymentError,
  type CreatePaymentInput, type PaymentSnapshot, type PaymentStatus, type RefundInput, type RefundSnapshot, type RefundStatus,
} from './types.ts';

export interface LocalLedgerDeps {
  store: LocalPaymentStore;
  /** The binding id: refs are derived from it, so two bindings never share one. */
  scope: string;
  /** `sbx` or `man`: the prefix of every ref this ledger makes. */
  prefix: string;
  now: () => Date;
}

export type LocalLedger = ReturnType<typeof createLocalLedger>;

export function createLocalLedger(deps: LocalLedgerDeps) {
  const { store, now } = deps;
  if (!/^[\x21-\x7E]{1,200}$/.test(deps.scope)) throw new TypeError('scope must be 1–200 printable ASCII characters.');
  const ref = (kind: string, ...parts: string[]) =>
    `${deps.prefix}_${kind}${crypto.createHash('sha256').update([deps.scope, ...parts].join('\u0000')).digest('hex').slice(0, 24)}`;

  /** Reads a payment, applying its expiry if the time has come (persisted, so it happens once). */
  function load(providerRef: string): LocalPaymentRecord {
    const p = typeof providerRef === 'string' ? store.getPayment(providerRef) : undefined;
    if (!p) throw paymentError(PaymentErrorCode.notFound, 'No such payment for this binding.');
    if (p.status === 'pending' && now().getTime() >= p.expiresAt.getTime()) {
      p.status = 'expired';
      p.updatedAt = now();
      store.savePayment(p);
    }
    return p;
  }

  function refunded(providerRef: string): number {
    return store.listRefunds(providerRef).filter((r) => r.status === 'pending' || r.status === 'succeeded').reduce((s, r) => s + r.amountMinor, 0);
  }

  function snapshot(p: LocalPaymentRecord): PaymentSnapshot {
    return {
      providerRef: p.providerRef,
      reference: p.reference,
      status: p.status,
      amountMinor: p.amountMinor,
      currency: p.currency,
      capturedMinor: p.status === 'succeeded' ? p.amountMinor : 0,
      refundedMinor: refunded(p.providerRef),
      expiresAt: p.expiresAt,
      failureReason: p.failureReason,
    };
  }

  function refundSnapshot(r: LocalRefundRecord): RefundSnapshot {
    return {
      refundRef: r.refundRef, providerRef: r.providerRef, refundReference: r.refundReference, amountMinor: r.amountMinor,
      currency: r.currency, status: r.status, failureReason: r.failureReason,
    };
  }

  return {
    /** Creates the payment, or returns the one this reference already made if the input is the same. */
    create(input: CreatePaymentInput): PaymentSnapshot {
      const providerRef = ref('pay_', input.reference);
      const existing = store.getPayment(providerRef);
      if (existing) {
        const same = existing.amountMinor === input.amountMinor && existing.currency === input.currency &&
          existing.description === input.description && existing.expiresAt.getTime() === input.expiresAt.getTime();
        if (!same) throw paymentError(PaymentErrorCode.idempotencyConflict, 'This reference was already used for a payment with other parameters.');
        return snapshot(load(providerRef));
      }
      const at = now();
      const p: LocalPaymentRecord = {
        providerRef, reference: input.reference, amountMinor: input.amountMinor, currency: input.currency, description: input.description,
        status: 'pending', createdAt: at, updatedAt: at, expiresAt: input.expiresAt, failureReason: null, note: null,
      };
      store.savePayment(p);
      return snapshot(p);
    },

    get: (providerRef: string): PaymentSnapshot => snapshot(load(providerRef)),

    /**
     * Settles a pending payment (operator action). Asking for the state it is already in is a
     * no-op (a double click); any other terminal state is `payment_invalid_state`.
     */
    settle(providerRef: string, target: Exclude<PaymentStatus, 'pending' | 'expired'>, extra: { failureReason?: string; note?: string } = {}): PaymentSnapshot {
      const p = load(providerRef);
      if (p.status === target) return snapshot(p);
      if (p.status !== 'pending') throw paymentError(PaymentErrorCode.invalidState, `The payment is ${p.status}; it cannot become ${target}.`);
      Object.assign(p, { status: target, updatedAt: now(), failureReason: extra.failureReason ?? null, note: extra.note ?? null });
      store.savePayment(p);
      return snapshot(p);
    },

    /** Cancels a pending payment; canceled/expired ones are returned as they are. */
    cancel(providerRef: string): PaymentSnapshot {
      const p = load(providerRef);
      if (p.status === 'canceled' || p.status === 'expired') return snapshot(p);
      if (p.status !== 'pending') throw paymentError(PaymentErrorCode.invalidState, `The payment is ${p.status}; only a pending payment can be canceled.`);
      Object.assign(p, { status: 'canceled', updatedAt: now() });
      store.savePayment(p);
      return snapshot(p);
    },

    /** Records a refund of up to captured − refunded; `initial` decides the status it starts in. */
    refund(input: RefundInput, initial: (p: LocalPaymentRecord, amountMinor: number) => { status: RefundStatus; failureReason: string | null }): RefundSnapshot {
      const p = load(input.providerRef);
      const refundRef = ref('re_', p.providerRef, input.refundReference);
      const existing = store.getRefund(refundRef);
      if (existing) {
        if (existing.amountMinor !== input.amountMinor || existing.reason !== input.reason) {
          throw paymentError(PaymentErrorCode.idempotencyConflict, 'This refund reference was already used with another amount or reason.');
        }
        return refundSnapshot(existing);
      }
      if (p.status !== 'succeeded') throw paymentError(PaymentErrorCode.notRefundable, `The payment is ${p.status}; there is nothing captured to refund.`);
      const remaining = p.amountMinor - refunded(p.providerRef);
      if (input.amountMinor > remaining) {
        throw paymentError(PaymentErrorCode.refundExceedsCaptured, `The refund (${input.amountMinor}) exceeds what is left to refund (${remaining} of ${p.amountMinor} ${p.currency}).`);
      }
      const at = now();
      const r: LocalRefundRecord = {
        refundRef, providerRef: p.providerRef, refundReference: input.refundReference, amountMinor: input.amountMinor, currency: p.currency,
        reason: input.reason, createdAt: at, updatedAt: at, ...initial(p, input.amountMinor),
      };
      store.saveRefund(r);
      return refundSnapshot(r);
    },

    getRefund(refundRef: string): RefundSnapshot {
      const r = typeof refundRef === 'string' ? store.getRefund(refundRef) : undefined;
      if (!r) throw paymentError(PaymentErrorCode.notFound, 'No such refund for this binding.');
      return refundSnapshot(r);
    },

    /** Settles a pending refund (manual: the operator paid it back, or could not). */
    settleRefund(refundRef: string, target: 'succeeded' | 'failed', failureReason: string | null = null): RefundSnapshot {
      const r = store.getRefund(refundRef);
      if (!r) throw paymentError(PaymentErrorCode.notFound, 'No such refund for this binding.');
      if (r.status === target) return refundSnapshot(r);
      if (r.status !== 'pending') throw paymentError(PaymentErrorCode.invalidState, `The refund is ${r.status}; it cannot become ${target}.`);
      Object.assign(r, { status: target, updatedAt: now(), failureReason: target === 'failed' ? failureReason ?? 'failed' : null });
      store.saveRefund(r);
      return refundSnapshot(r);
    },
  };
}
