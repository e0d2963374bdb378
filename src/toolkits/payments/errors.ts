/**
 * How the Payments toolkit words provider failures for its callers: a `PaymentProviderError`
 * becomes an AppError (4xx for what the caller can fix, 409 for a state, 502/503 for the provider),
 * and the job kinds it runs on the queue. Messages are the provider's own safe text (already
 * scrubbed of secrets by the provider). Must never pass an SDK error or a stack on.
 */
import { AppError, conflict, ErrorType, invalidRequest, notFound } from '../../errors.ts';
import { PaymentErrorCode, PaymentProviderError } from './providers/index.ts';

/** The job kinds of the toolkit (all on the shared job table, run by its worker). */
export const PAYMENT_JOBS = {
  /** Retry a create the provider could not confirm (same stored input → the provider replays). */
  create: 'payments.create',
  /** Look a payment up and settle it (webhooks, operator actions, and the poll of pending payments). */
  reconcile: 'payments.reconcile',
  /** Tell the customer their payment arrived (exactly once per payment). */
  notifyPaid: 'payments.notify_paid',
  /** Send an approved refund to the provider. */
  refundSubmit: 'payments.refund_submit',
  /** Look a refund up and settle it. */
  refundReconcile: 'payments.refund_reconcile',
} as const;

/** A provider's failure as an AppError for the API or a tool; anything else is rethrown as it is. */
export function providerFailure(err: unknown): AppError {
  if (!(err instanceof PaymentProviderError)) throw err;
  switch (err.code) {
    case PaymentErrorCode.invalidInput: return invalidRequest(err.message, null, err.code);
    case PaymentErrorCode.notFound: return notFound('payment');
    case PaymentErrorCode.refundExceedsCaptured:
    case PaymentErrorCode.notRefundable:
    case PaymentErrorCode.invalidState:
    case PaymentErrorCode.idempotencyConflict:
      return conflict(err.message, err.code);
    case PaymentErrorCode.rateLimited:
    case PaymentErrorCode.unavailable:
      return new AppError({ code: err.code, status: 503, type: ErrorType.upstream, message: `${err.message} The outcome is not known yet; it is checked again automatically.`, headers: { 'retry-after': '5' } });
    case PaymentErrorCode.unsupported: return invalidRequest(err.message, null, err.code);
    default: return new AppError({ code: err.code, status: 502, type: ErrorType.upstream, message: err.message });
  }
}

/** The payment the provider describes is not the one stored (reference, amount or currency): never move on it. */
export class PaymentMismatch extends Error {
  override name = 'PaymentMismatch';
}
