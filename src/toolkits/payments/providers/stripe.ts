/**
 * The `stripe` payment provider: hosted Checkout Sessions through the official `stripe` SDK. The
 * only file in src/ that imports `stripe`.
 *
 * - Every value is passed explicitly: secret key, API version (the one the SDK's types describe),
 *   host/port/protocol from `apiBaseUrl` (Stripe, an egress proxy, or a loopback fake in tests),
 *   timeout, retries, `telemetry: false` (no request-latency reports or platform details to Stripe).
 *   The Node SDK has no key fallback from the environment; it does read a few variables of its own
 *   at import (AI-agent detection for its User-Agent, STRIPE_SUPPRESS_NOTICES), which no option
 *   turns off and which carry no credential.
 * - Every POST carries a key derived from (scope, operation, reference) (`idempotency-key.ts`), so
 *   the SDK's own retries and the toolkit's retries after a crash reuse it and Stripe replays.
 * - `timeoutMs` 10 s and `maxNetworkRetries` 2 by default: Checkout Session creation answers in
 *   about a second, an agent's tool call should not hang for Stripe's 80 s default, and retrying a
 *   5xx/409/connection failure is safe because of those keys (unlike Twilio, which has no keys and
 *   whose retries belong to the job queue). Worst case ≈ 3 × timeout + backoff (0.5–1 s, 1–2 s).
 * - Webhooks are verified with `stripe.webhooks.constructEvent`, then reduced to an id to look up.
 * Must never return or log the secret key or webhook secret (error messages are scrubbed; the SDK
 * error is never attached), and never trust a webhook's status.
 */
import Stripe from 'stripe';
import { deriveIdempotencyKey } from './idempotency-key.ts';
import { refundSnapshot, sessionSnapshot } from './stripe-status.ts';
import { checkCreateInput, checkRefundInput } from './validate.ts';
import {
  PaymentErrorCode, paymentError, PaymentProviderError,
  type PaymentErrorCodeValue, type PaymentProvider, type PaymentSnapshot, type ProviderCapabilities, type ProviderEvent,
} from './types.ts';

export const STRIPE_API_ORIGIN = 'https://api.stripe.com';

/** Defaults the toolkit spreads into a config; each is still passed to the SDK explicitly. */
export const STRIPE_DEFAULTS = { apiBaseUrl: STRIPE_API_ORIGIN, timeoutMs: 10_000, maxNetworkRetries: 2, webhookToleranceSec: 300 } as const;

/** Checkout's window is 30 min–24 h after creation; a minute of margin each side for clock skew. */
export const STRIPE_CAPABILITIES: ProviderCapabilities = {
  payment: 'link',
  webhooks: true,
  operatorActions: false,
  minExpirySeconds: 31 * 60,
  maxExpirySeconds: 24 * 60 * 60 - 60,
};

/** Metadata keys Plugboard writes on sessions, PaymentIntents and refunds. */
export const STRIPE_METADATA = { reference: 'plugboard_reference', scope: 'plugboard_scope', payment: 'plugboard_payment' } as const;

const MAX_WEBHOOK_BYTES = 512 * 1024;
const MAX_MESSAGE = 300;
const SESSION_RE = /^cs_(test|live)_[A-Za-z0-9]{1,250}$/;
const REFUND_RE = /^(re|pyr)_[A-Za-z0-9]{1,250}$/;

export interface StripeProviderConfig {
  /** `sk_…` or restricted `rk_…` (Checkout Sessions write, PaymentIntents read, Refunds write). */
  secretKey: string;
  /** The `whsec_…` signing secret of this binding's webhook endpoint. */
  webhookSecret: string;
  /** The binding id: namespaces idempotency keys and tags metadata, so a session of another binding is "not found". */
  scope: string;
  /** Where Checkout sends the payer afterwards; null leaves Stripe's own confirmation page. */
  successUrl: string | null;
  cancelUrl: string | null;
  apiBaseUrl: string;
  timeoutMs: number;
  maxNetworkRetries: number;
  webhookToleranceSec: number;
}

export interface StripeProviderDeps {
  now: () => Date;
}

export function createStripeProvider(config: StripeProviderConfig, deps: StripeProviderDeps): PaymentProvider & { readonly kind: 'stripe' } {
  checkConfig(config);
  const api = apiBase(config.apiBaseUrl);
  const stripe = new Stripe(config.secretKey, {
    apiVersion: Stripe.API_VERSION,
    host: api.host,
    port: api.port,
    protocol: api.protocol,
    timeout: config.timeoutMs,
    maxNetworkRetries: config.maxNetworkRetries,
    telemetry: false,
    appInfo: { name: 'Plugboard' },
  });
  const live = /^(sk|rk)_live_/.test(config.secretKey);
  const secrets = [config.secretKey, config.webhookSecret];
  const meta = (reference: string, extra: Record<string, string> = {}) => ({ [STRIPE_METADATA.reference]: reference, [STRIPE_METADATA.scope]: config.scope, ...extra });

  async function call<T>(op: 'payment' | 'refund', fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapStripeError(err, secrets, op);
    }
  }

  async function loadSession(providerRef: string): Promise<{ snapshot: PaymentSnapshot; paymentIntentId: string | null }> {
    if (typeof providerRef !== 'string' || !SESSION_RE.test(providerRef)) throw paymentError(PaymentErrorCode.notFound, 'Not a Stripe Checkout Session id.');
    const s = await call('payment', () => stripe.checkout.sessions.retrieve(providerRef, { expand: ['payment_intent.latest_charge'] }));
    if (s.metadata?.[STRIPE_METADATA.scope] !== config.scope) throw paymentError(PaymentErrorCode.notFound, 'This Checkout Session was not created by this binding.');
    const pi = s.payment_intent;
    return { snapshot: sessionSnapshot(s, STRIPE_METADATA.reference), paymentIntentId: pi === null ? null : typeof pi === 'string' ? pi : pi.id };
  }

  /** The session a PaymentIntent belongs to (identification only; status comes from `getPayment`). */
  async function sessionOf(paymentIntent: unknown): Promise<string | null> {
    const id = typeof paymentIntent === 'string' ? paymentIntent : (paymentIntent as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' || !/^pi_[A-Za-z0-9]{1,250}$/.test(id)) return null;
    const list = await call('payment', () => stripe.checkout.sessions.list({ payment_intent: id, limit: 1 }));
    return list.data[0]?.id ?? null;
  }

  const provider: PaymentProvider & { readonly kind: 'stripe' } = {
    kind: 'stripe',
    capabilities: STRIPE_CAPABILITIES,

    async createPayment(raw) {
      const input = checkCreateInput(raw, STRIPE_CAPABILITIES, deps.now());
      const metadata = meta(input.reference);
      const params: Stripe.Checkout.SessionCreateParams = {
        mode: 'payment',
        line_items: [{ quantity: 1, price_data: { currency: input.currency.toLowerCase(), unit_amount: input.amountMinor, product_data: { name: input.description } } }],
        client_reference_id: input.reference,
        metadata,
        payment_intent_data: { description: input.description, metadata },
        expires_at: Math.floor(input.expiresAt.getTime() / 1000),
        ...(config.successUrl !== null && { success_url: config.successUrl }),
        ...(config.cancelUrl !== null && { cancel_url: config.cancelUrl }),
      };
      const idempotencyKey = deriveIdempotencyKey(config.scope, 'create', input.reference);
      const s = await call('payment', () => stripe.checkout.sessions.create(params, { idempotencyKey }));
      // A replayed create returns the session as it was when first created; `getPayment` tells what it is now.
      return { providerRef: s.id, status: sessionSnapshot(s, STRIPE_METADATA.reference).status, payUrl: s.url ?? null, instructions: null, expiresAt: new Date(s.expires_at * 1000) };
    },

    getPayment: async (providerRef) => (await loadSession(providerRef)).snapshot,

    async cancelPayment(providerRef) {
      const before = (await loadSession(providerRef)).snapshot;
      if (before.status === 'canceled' || before.status === 'expired') return before;
      if (before.status !== 'pending') throw paymentError(PaymentErrorCode.invalidState, `The payment is ${before.status}; only a pending payment can be canceled.`);
      try {
        await call('payment', () => stripe.checkout.sessions.expire(providerRef, {}, { idempotencyKey: deriveIdempotencyKey(config.scope, 'cancel', providerRef) }));
      } catch (err) {
        // Not open any more (the payer got there first): the lookup below says what happened.
        if (!(err instanceof PaymentProviderError) || err.code !== PaymentErrorCode.rejected) throw err;
      }
      const after = (await loadSession(providerRef)).snapshot;
      // Stripe records an expired session; "canceled" is Plugboard's word for expiring it early.
      if (after.status === 'expired') return { ...after, status: 'canceled' };
      if (after.status === 'canceled') return after;
      throw paymentError(PaymentErrorCode.invalidState, after.status === 'pending' ? 'The payer has submitted a payment that is still processing.' : `The payment is ${after.status}.`);
    },

    async refundPayment(input) {
      checkRefundInput(input);
      const { snapshot, paymentIntentId } = await loadSession(input.providerRef);
      if (snapshot.status !== 'succeeded' || paymentIntentId === null) throw paymentError(PaymentErrorCode.notRefundable, `The payment is ${snapshot.status}; there is nothing captured to refund.`);
      // Above the captured amount is refused here. Between captured − refunded and captured the decision is
      // Stripe's: a retry of a refund it already made is replayed by its key; a new one is refused (amount_too_large).
      if (input.amountMinor > snapshot.capturedMinor) {
        throw paymentError(PaymentErrorCode.refundExceedsCaptured, `The refund (${input.amountMinor}) exceeds the captured amount (${snapshot.capturedMinor} ${snapshot.currency}).`);
      }
      const r = await call('refund', () => stripe.refunds.create(
        { payment_intent: paymentIntentId, amount: input.amountMinor, reason: input.reason, metadata: meta(input.refundReference, { [STRIPE_METADATA.payment]: input.providerRef }) },
        { idempotencyKey: deriveIdempotencyKey(config.scope, 'refund', input.providerRef, input.refundReference) },
      ));
      return refundSnapshot(r, input.providerRef, STRIPE_METADATA.reference);
    },

    async getRefund(refundRef) {
      if (typeof refundRef !== 'string' || !REFUND_RE.test(refundRef)) throw paymentError(PaymentErrorCode.notFound, 'Not a Stripe refund id.');
      const r = await call('refund', () => stripe.refunds.retrieve(refundRef));
      if (r.metadata?.[STRIPE_METADATA.scope] !== config.scope) throw paymentError(PaymentErrorCode.notFound, 'This refund was not made by this binding.');
      return refundSnapshot(r, r.metadata[STRIPE_METADATA.payment] ?? null, STRIPE_METADATA.reference);
    },

    async parseWebhook(request) {
      const raw = request.rawBody;
      if ((typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length) > MAX_WEBHOOK_BYTES) throw webhookInvalid('The webhook body is too large.');
      const signature = headerValue(request.headers, 'stripe-signature');
      if (!signature) throw webhookInvalid('The Stripe-Signature header is missing.');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(raw, signature, config.webhookSecret, config.webhookToleranceSec, undefined, deps.now().getTime());
      } catch {
        // The SDK's message describes the configured secret (length, last characters): never pass it on.
        throw webhookInvalid('The Stripe-Signature does not verify for this binding (wrong secret, altered body, or outside the time tolerance).');
      }
      // The SDK refuses only old timestamps; one from the future is refused too (Standard Webhooks: either direction).
      const signedAt = Number(/(?:^|,)t=(\d{1,12})(?:,|$)/.exec(signature)?.[1]);
      if (signedAt > deps.now().getTime() / 1000 + config.webhookToleranceSec) throw webhookInvalid('The Stripe-Signature timestamp is in the future.');
      if (typeof event.id !== 'string' || !event.id.startsWith('evt_')) throw webhookInvalid('Not a Stripe event.');
      if (event.livemode !== live) throw webhookInvalid(`A ${event.livemode ? 'live' : 'test'} mode event for a ${live ? 'live' : 'test'} mode key.`);
      return normalise(event);
    },
  };

  async function normalise(event: Stripe.Event): Promise<ProviderEvent> {
    const base = { eventId: event.id, eventType: event.type };
    const obj = event.data.object as unknown as { id?: unknown; object?: unknown; payment_intent?: unknown };
    const ignored: ProviderEvent = { kind: 'ignored', ...base };
    if (event.type.startsWith('checkout.session.')) {
      return typeof obj.id === 'string' && SESSION_RE.test(obj.id) ? { kind: 'payment', ...base, providerRef: obj.id } : ignored;
    }
    if (event.type.startsWith('payment_intent.')) {
      const ref = await sessionOf(obj.id);
      return ref === null ? ignored : { kind: 'payment', ...base, providerRef: ref };
    }
    if (event.type === 'charge.refunded' || event.type === 'charge.succeeded' || event.type === 'charge.failed') {
      const ref = await sessionOf(obj.payment_intent);
      return ref === null ? ignored : { kind: 'payment', ...base, providerRef: ref };
    }
    if (event.type.startsWith('refund.') || event.type === 'charge.refund.updated') {
      if (typeof obj.id !== 'string' || !REFUND_RE.test(obj.id)) return ignored;
      return { kind: 'refund', ...base, refundRef: obj.id, providerRef: await sessionOf(obj.payment_intent) };
    }
    return ignored;
  }

  return provider;
}

/** Turns anything a Stripe call threw into the provider's small error set, with a scrubbed message. */
export function mapStripeError(err: unknown, secrets: string[], op: 'payment' | 'refund'): PaymentProviderError {
  const E = Stripe.errors;
  if (!(err instanceof E.StripeError)) {
    if (err instanceof PaymentProviderError) return err;
    return new PaymentProviderError(PaymentErrorCode.rejected, `Stripe call failed: ${scrub(err instanceof Error ? err.message : String(err), secrets)}`);
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : null;
  const code = typeof err.code === 'string' ? err.code : null;
  let kind: PaymentErrorCodeValue = PaymentErrorCode.rejected;
  if (err instanceof E.StripeAuthenticationError || err instanceof E.StripePermissionError) kind = PaymentErrorCode.authFailed;
  else if (err instanceof E.StripeRateLimitError) kind = PaymentErrorCode.rateLimited;
  else if (err instanceof E.StripeIdempotencyError) kind = PaymentErrorCode.idempotencyConflict;
  else if (err instanceof E.StripeConnectionError) kind = PaymentErrorCode.unavailable;
  else if (err instanceof E.StripeInvalidRequestError) {
    if (code === 'resource_missing') kind = PaymentErrorCode.notFound;
    else if (op === 'refund' && (code === 'amount_too_large' || code === 'charge_already_refunded')) kind = PaymentErrorCode.refundExceedsCaptured;
  } else if (err instanceof E.StripeAPIError || status === 409 || (status !== null && status >= 500)) kind = PaymentErrorCode.unavailable;
  return new PaymentProviderError(kind, `Stripe: ${scrub(err.message, secrets)}`, { providerStatus: status, providerCode: code });
}

/** Removes the configured secrets and anything shaped like a Stripe key or signing secret; bounds length. */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]');
  out = out
    .replace(/\b(sk|rk|pk)_(test|live)_[A-Za-z0-9*]+/g, '$1_$2_[redacted]')
    .replace(/\bwhsec_[A-Za-z0-9+/=*]+/g, 'whsec_[redacted]')
    .replace(/\bBearer\s+\S+/gi, 'Bearer [redacted]');
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE - 1)}…` : out;
}

function webhookInvalid(message: string): PaymentProviderError {
  return paymentError(PaymentErrorCode.webhookInvalid, message);
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return typeof v === 'string' ? v : null; // a repeated header is not Stripe's
  }
  return null;
}

function checkConfig(c: StripeProviderConfig): void {
  // Messages name the field, never its value.
  if (typeof c.secretKey !== 'string' || !/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,247}$/.test(c.secretKey)) throw new TypeError('secretKey must be a Stripe secret (sk_…) or restricted (rk_…) key.');
  if (typeof c.webhookSecret !== 'string' || !/^whsec_[A-Za-z0-9+/=]{8,250}$/.test(c.webhookSecret)) throw new TypeError('webhookSecret must be a Stripe signing secret (whsec_…).');
  if (typeof c.scope !== 'string' || !/^[\x21-\x7E]{1,200}$/.test(c.scope)) throw new TypeError('scope must be 1–200 printable ASCII characters.');
  for (const [name, v] of [['successUrl', c.successUrl], ['cancelUrl', c.cancelUrl]] as const) {
    if (v !== null && (typeof v !== 'string' || !/^https?:\/\/\S+$/.test(v) || v.length > 5000)) throw new TypeError(`${name} must be an http(s) URL or null.`);
  }
  if (!Number.isInteger(c.timeoutMs) || c.timeoutMs < 100 || c.timeoutMs > 120_000) throw new TypeError('timeoutMs must be an integer from 100 to 120000.');
  if (!Number.isInteger(c.maxNetworkRetries) || c.maxNetworkRetries < 0 || c.maxNetworkRetries > 5) throw new TypeError('maxNetworkRetries must be an integer from 0 to 5.');
  if (!Number.isInteger(c.webhookToleranceSec) || c.webhookToleranceSec < 1 || c.webhookToleranceSec > 3600) throw new TypeError('webhookToleranceSec must be an integer from 1 to 3600.');
}

/** `https://api.stripe.com` → SDK host/port/protocol. Plain http only to loopback: the key must not cross a network in clear. */
function apiBase(url: string): { host: string; port: number; protocol: 'http' | 'https' } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError('apiBaseUrl must be a URL.');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError('apiBaseUrl must be http(s).');
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) throw new TypeError('apiBaseUrl must be an origin only (scheme, host, port).');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  if (u.protocol === 'http:' && !loopback) throw new TypeError('apiBaseUrl may use http only for a loopback host.');
  const https = u.protocol === 'https:';
  return { host, port: u.port === '' ? (https ? 443 : 80) : Number(u.port), protocol: https ? 'https' : 'http' };
}
