/**
 * Input rules every provider applies before touching anything: reference, amount, currency,
 * description, expiry, refund amount. One place, so sandbox, manual and Stripe refuse the same
 * inputs with the same `payment_invalid_input` message.
 *
 * Must never clamp or repair an input: the toolkit persists the input before the first call and
 * a retry must send the very same values, so a silent fix here would diverge from the stored row.
 */
import { PaymentErrorCode, paymentError, REFUND_REASONS, type CreatePaymentInput, type ProviderCapabilities, type RefundInput } from './types.ts';

/** Stripe's ceiling (8 digits), applied to every provider so switching provider never breaks a catalogue. */
export const MAX_AMOUNT_MINOR = 99_999_999;
const MAX_REFERENCE = 200;
const MAX_DESCRIPTION = 250;
/** Printable ASCII without spaces: safe in URLs, metadata, idempotency keys and logs. */
const REFERENCE_RE = /^[\x21-\x7E]+$/;

/** A create input with the currency in upper case. */
export function checkCreateInput(input: CreatePaymentInput, caps: ProviderCapabilities, now: Date): CreatePaymentInput {
  checkReference(input.reference, 'reference');
  checkAmount(input.amountMinor, 'amountMinor');
  const currency = typeof input.currency === 'string' ? input.currency.toUpperCase() : '';
  if (!/^[A-Z]{3}$/.test(currency)) throw invalid('currency must be an ISO 4217 code of three letters (e.g. EUR).');
  const d = input.description;
  if (typeof d !== 'string' || d.trim() === '' || d.length > MAX_DESCRIPTION || /[\x00-\x1F\x7F]/.test(d)) {
    throw invalid(`description must be 1–${MAX_DESCRIPTION} characters without control characters.`);
  }
  const at = input.expiresAt;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw invalid('expiresAt must be a valid date.');
  // Only "in the future" and "not beyond the maximum" are checked here. The minimum window is for
  // the toolkit to apply when it first persists the payment: a retry some minutes later must still
  // be allowed through, so the provider can replay the payment it may already have created.
  if (at.getTime() <= now.getTime()) throw invalid('expiresAt is in the past.');
  if (at.getTime() > now.getTime() + caps.maxExpirySeconds * 1000) throw invalid(`expiresAt is more than ${caps.maxExpirySeconds} seconds away.`);
  return { ...input, currency };
}

export function checkRefundInput(input: RefundInput): void {
  if (typeof input.providerRef !== 'string' || input.providerRef === '') throw invalid('providerRef is required.');
  checkReference(input.refundReference, 'refundReference');
  checkAmount(input.amountMinor, 'amountMinor');
  if (!(REFUND_REASONS as readonly string[]).includes(input.reason)) throw invalid(`reason must be one of ${REFUND_REASONS.join(', ')}.`);
}

function checkReference(value: unknown, name: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_REFERENCE || !REFERENCE_RE.test(value)) {
    throw invalid(`${name} must be 1–${MAX_REFERENCE} printable ASCII characters without spaces.`);
  }
}

function checkAmount(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_AMOUNT_MINOR) {
    throw invalid(`${name} must be an integer from 1 to ${MAX_AMOUNT_MINOR} (minor units).`);
  }
}

function invalid(message: string) {
  return paymentError(PaymentErrorCode.invalidInput, message);
}
