/**
 * Stripe webhook deliveries for tests: builds an Event around an object as the fake renders it
 * (`checkout.session.completed`, `checkout.session.expired`, `charge.refunded`, …), signs the exact
 * bytes with the SDK's own `Stripe.webhooks.generateTestHeaderString({ payload, secret })` and
 * POSTs them to a loopback URL with the `Stripe-Signature` header, as Stripe would.
 *
 * Test-only. Must never compute a signature by hand: a signature the SDK did not make proves
 * nothing about the verifier.
 */
import Stripe from 'stripe';
import { eventJson } from './stripe-api-objects.ts';

export interface StripeDelivery {
  status: number;
  text: string;
  event: Record<string, unknown>;
  payload: string;
  signature: string;
}

/** An Event as Stripe delivers it; `created` defaults to now. */
export function buildStripeEvent(type: string, object: Record<string, unknown>, opts: { created?: number; previousAttributes?: Record<string, unknown> } = {}): Record<string, unknown> {
  return eventJson(type, object, {
    created: opts.created ?? Math.floor(Date.now() / 1000),
    apiVersion: Stripe.API_VERSION,
    ...(opts.previousAttributes && { previousAttributes: opts.previousAttributes }),
  });
}

/** The `Stripe-Signature` header for these bytes, made by the SDK (`t=…,v1=…`). */
export function signStripePayload(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp !== undefined && { timestamp }) });
}

/**
 * Builds, signs and POSTs one event. `signature` overrides the header (forgeries); `timestamp`
 * signs as of another time (replays).
 */
export async function sendStripeWebhook(input: {
  url: string;
  type: string;
  object: Record<string, unknown>;
  secret: string;
  timestamp?: number;
  signature?: string;
  event?: Record<string, unknown>;
}): Promise<StripeDelivery> {
  const event = input.event ?? buildStripeEvent(input.type, input.object);
  const payload = JSON.stringify(event, null, 2);
  const signature = input.signature ?? signStripePayload(payload, input.secret, input.timestamp);
  const res = await fetch(input.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    body: payload,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text(), event, payload, signature };
}
