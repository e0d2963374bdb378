/**
 * The provider-agnostic seam of the Payments toolkit: what every payment provider (sandbox,
 * manual, Stripe, later others) offers, the normalised statuses, and the one error type.
 *
 * One provider is bound per organisation. The toolkit owns payment rows and their forward-only
 * state; a provider only creates payments at the provider, reports their current state when
 * asked, refunds, and turns a provider webhook into "something about payment X changed — look it
 * up". Must never import an SDK, storage or HTTP code, and never carry a status from a webhook:
 * status comes from a lookup (Meta: businesses "must not solely rely on these webhook
 * notifications"; Medusa's Mercado Pago provider: "the real status is always queried from the API").
 */

/** Normalised payment statuses. `pending` is the only non-terminal one. */
export const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed', 'canceled', 'expired'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** Normalised refund statuses (`pending` includes the provider's "requires action"). */
export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** Stripe's reasons; other providers map them or ignore them. */
export const REFUND_REASONS = ['requested_by_customer', 'duplicate', 'fraudulent'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export type ProviderKind = 'sandbox' | 'manual' | 'stripe';

/** What the toolkit must know to use a provider well. */
export interface ProviderCapabilities {
  /** `link`: `payUrl` is a page the payer opens; `instructions`: a text to send instead (bank details). */
  payment: 'link' | 'instructions';
  /** Whether the provider sends webhooks (`parseWebhook` works). */
  webhooks: boolean;
  /** Whether an operator moves payments by hand (sandbox mark paid/failed, manual confirm receipt). */
  operatorActions: boolean;
  /** The expiry window a new payment may ask for, from now; the toolkit clamps into it before persisting. */
  minExpirySeconds: number;
  maxExpirySeconds: number;
}

export interface CreatePaymentInput {
  /** The toolkit's business reference, unique per binding and kept forever; 1–200 printable ASCII, no spaces. */
  reference: string;
  /** Integer amount in the currency's minor unit (cents), 1–99,999,999. */
  amountMinor: number;
  /** ISO 4217 alpha-3 (`EUR`); case-insensitive on input, upper case in every output. */
  currency: string;
  /** Shown to the payer; 1–250 characters, no control characters. */
  description: string;
  /** Persisted by the toolkit before the first call, so a retry sends the very same input. */
  expiresAt: Date;
}

export interface CreatedPayment {
  /** The provider's id for this payment: what `getPayment`, `cancelPayment`, `refundPayment` take. */
  providerRef: string;
  status: PaymentStatus;
  /** A page to pay on (`link` providers), else null. */
  payUrl: string | null;
  /** A text to send the payer (`instructions` providers), else null. */
  instructions: string | null;
  expiresAt: Date;
}

/** A payment as the provider reports it now. The only source of truth for status and amounts. */
export interface PaymentSnapshot {
  providerRef: string;
  /** The business reference the provider holds for it (metadata), to cross-check with the toolkit's row. */
  reference: string | null;
  status: PaymentStatus;
  amountMinor: number;
  currency: string;
  /** Money actually taken; 0 unless `succeeded`. */
  capturedMinor: number;
  /** Refunded or being refunded (pending + succeeded refunds): no longer refundable. */
  refundedMinor: number;
  expiresAt: Date | null;
  /** A short, safe reason when `failed` (`card_declined`, …), else null. */
  failureReason: string | null;
}

export interface RefundInput {
  /** The payment's `providerRef`. */
  providerRef: string;
  /** The toolkit's refund id, unique per payment: several partial refunds are distinct operations. */
  refundReference: string;
  amountMinor: number;
  reason: RefundReason;
}

export interface RefundSnapshot {
  refundRef: string;
  /** The payment's `providerRef`, when the provider says. */
  providerRef: string | null;
  refundReference: string | null;
  amountMinor: number;
  currency: string;
  status: RefundStatus;
  failureReason: string | null;
}

/** A webhook request exactly as received: the raw bytes (signatures cover bytes, not parsed JSON). */
export interface WebhookRequest {
  rawBody: Buffer | string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A verified webhook, normalised to "look this up". It carries ids only, never a status: the
 * toolkit calls `getPayment` / `getRefund` and acts on what that returns. `eventId` lets the
 * toolkit skip duplicates cheaply, but handling one twice is harmless by construction.
 */
export type ProviderEvent =
  | { kind: 'payment'; eventId: string; eventType: string; providerRef: string }
  | { kind: 'refund'; eventId: string; eventType: string; refundRef: string; providerRef: string | null }
  | { kind: 'ignored'; eventId: string; eventType: string };

/** One payment provider, bound to one organisation's account. */
export interface PaymentProvider {
  readonly kind: ProviderKind;
  readonly capabilities: ProviderCapabilities;
  /** Idempotent per `reference`: the same input returns the same payment; other input → `payment_idempotency_conflict`. */
  createPayment(input: CreatePaymentInput): Promise<CreatedPayment>;
  getPayment(providerRef: string): Promise<PaymentSnapshot>;
  /** Stops a pending payment from being paid. A canceled/expired one is returned as it is; a paid one → `payment_invalid_state`. */
  cancelPayment(providerRef: string): Promise<PaymentSnapshot>;
  /** Up to captured − refunded; idempotent per (`providerRef`, `refundReference`). */
  refundPayment(input: RefundInput): Promise<RefundSnapshot>;
  getRefund(refundRef: string): Promise<RefundSnapshot>;
  /** Verifies and normalises a webhook; `webhook_invalid` when it cannot be trusted. */
  parseWebhook(request: WebhookRequest): Promise<ProviderEvent>;
}

/** The small, closed set of failures a provider reports. */
export const PaymentErrorCode = {
  /** The input breaks a rule (amount, currency, reference, expiry): fix the input. */
  invalidInput: 'payment_invalid_input',
  /** No such payment or refund for this binding (including one that belongs to another account). */
  notFound: 'payment_not_found',
  /** The requested refund exceeds captured − refunded. */
  refundExceedsCaptured: 'refund_exceeds_captured',
  /** The payment has no captured money to refund. */
  notRefundable: 'payment_not_refundable',
  /** The operation does not fit the payment's state (e.g. cancel a paid payment). */
  invalidState: 'payment_invalid_state',
  /** Same reference (idempotency key) with different parameters. */
  idempotencyConflict: 'payment_idempotency_conflict',
  /** The provider refused the credentials: the binding needs its owner. */
  authFailed: 'provider_auth_failed',
  /** Retryable: the provider asked us to slow down. */
  rateLimited: 'provider_rate_limited',
  /** Retryable: 5xx, timeout, connection failure. The outcome is unknown; retry with the same reference. */
  unavailable: 'provider_unavailable',
  /** The provider refused the request for another reason. */
  rejected: 'provider_rejected',
  /** A webhook that cannot be trusted (signature, timestamp, livemode, shape). */
  webhookInvalid: 'webhook_invalid',
  /** The provider does not do this (e.g. webhooks for `manual`). */
  unsupported: 'provider_unsupported',
} as const;
export type PaymentErrorCodeValue = (typeof PaymentErrorCode)[keyof typeof PaymentErrorCode];

const RETRYABLE: ReadonlySet<PaymentErrorCodeValue> = new Set([PaymentErrorCode.rateLimited, PaymentErrorCode.unavailable]);

/**
 * The one error providers throw. Its message is safe for logs and operators (no secret, bounded);
 * it never carries the SDK's error as `cause`, because SDK errors hold raw responses.
 */
export class PaymentProviderError extends Error {
  readonly code: PaymentErrorCodeValue;
  readonly retryable: boolean;
  /** The provider's HTTP status / error code when it sent one, for logs. */
  readonly providerStatus: number | null;
  readonly providerCode: string | null;

  constructor(code: PaymentErrorCodeValue, message: string, extra: { providerStatus?: number | null; providerCode?: string | null } = {}) {
    super(message);
    this.name = 'PaymentProviderError';
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    this.providerStatus = extra.providerStatus ?? null;
    this.providerCode = extra.providerCode ?? null;
  }
}

export function paymentError(code: PaymentErrorCodeValue, message: string): PaymentProviderError {
  return new PaymentProviderError(code, message);
}
