/**
 * How Stripe's objects map onto the normalised payment and refund statuses. Pure functions over
 * the few fields they read (structural types, so this module needs no SDK import and can be tested
 * with plain objects).
 *
 * The rule that matters: `succeeded` only when the Checkout Session is `complete` + `paid` AND its
 * PaymentIntent (when present) is `succeeded`. Anything unexpected maps to `pending`, the one state
 * that moves nothing. Must never read a webhook payload: these run on objects fetched from the API.
 */
import type { PaymentSnapshot, RefundSnapshot, RefundStatus } from './types.ts';

export interface StripeChargeFields {
  amount_captured: number;
  amount_refunded: number;
}

export interface StripePaymentIntentFields {
  id: string;
  status: string;
  amount_received: number;
  latest_charge: string | StripeChargeFields | null;
  last_payment_error: { code?: string | null; decline_code?: string | null } | null;
}

export interface StripeSessionFields {
  id: string;
  status: string | null;
  payment_status: string;
  amount_total: number | null;
  currency: string | null;
  expires_at: number;
  client_reference_id: string | null;
  metadata: Record<string, string> | null;
  payment_intent: string | StripePaymentIntentFields | null;
}

export interface StripeRefundFields {
  id: string;
  amount: number;
  currency: string;
  status: string | null;
  payment_intent: string | { id: string } | null;
  metadata: Record<string, string> | null;
  failure_reason?: string | null;
}

/** Session (with `payment_intent.latest_charge` expanded) → snapshot. */
export function sessionSnapshot(s: StripeSessionFields, referenceKey: string): PaymentSnapshot {
  const pi = typeof s.payment_intent === 'object' ? s.payment_intent : null;
  const charge = pi && typeof pi.latest_charge === 'object' ? pi.latest_charge : null;
  const status = sessionStatus(s, pi);
  return {
    providerRef: s.id,
    reference: s.metadata?.[referenceKey] ?? s.client_reference_id ?? null,
    status,
    amountMinor: s.amount_total ?? 0,
    currency: (s.currency ?? '').toUpperCase(),
    capturedMinor: status === 'succeeded' ? (charge?.amount_captured ?? pi?.amount_received ?? s.amount_total ?? 0) : 0,
    refundedMinor: status === 'succeeded' ? (charge?.amount_refunded ?? 0) : 0,
    expiresAt: new Date(s.expires_at * 1000),
    failureReason: status === 'failed' ? safeReason(pi?.last_payment_error?.decline_code ?? pi?.last_payment_error?.code ?? 'payment_failed') : null,
  };
}

function sessionStatus(s: StripeSessionFields, pi: StripePaymentIntentFields | null): PaymentSnapshot['status'] {
  if (s.status === 'expired') return 'expired';
  if (s.status === 'open') return 'pending';
  if (s.status !== 'complete') return 'pending';
  if (s.payment_status === 'paid') return pi === null || pi.status === 'succeeded' ? 'succeeded' : 'pending';
  // complete + unpaid: a delayed payment method (bank debit, …) is processing, or it failed.
  if (pi?.status === 'requires_payment_method') return 'failed';
  if (pi?.status === 'canceled') return 'canceled';
  return 'pending';
}

/** Stripe refund → snapshot; `requires_action` (the customer must give bank details) counts as pending. */
export function refundSnapshot(r: StripeRefundFields, providerRef: string | null, referenceKey: string): RefundSnapshot {
  const map: Record<string, RefundStatus> = { pending: 'pending', requires_action: 'pending', succeeded: 'succeeded', failed: 'failed', canceled: 'canceled' };
  const status = (r.status !== null && map[r.status]) || 'pending';
  return {
    refundRef: r.id,
    providerRef,
    refundReference: r.metadata?.[referenceKey] ?? null,
    amountMinor: r.amount,
    currency: r.currency.toUpperCase(),
    status,
    failureReason: status === 'failed' ? safeReason(r.failure_reason ?? 'failed') : null,
  };
}

/** Provider reason codes are snake_case words; anything else is reduced to that alphabet and bounded. */
function safeReason(text: string): string {
  return text.replace(/[^a-z0-9_]/gi, '_').slice(0, 64);
}
