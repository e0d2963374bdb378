/**
 * Provider idempotency keys derived from what the toolkit already persists, so a retry after a
 * crash sends the same key without having stored one: `pb1_<operation>_<sha256 hex>` over the
 * binding scope, the operation and the business reference (plus the refund reference for refunds).
 *
 * Hashing keeps keys at a fixed 70 characters (Stripe allows 255) and keeps references, which may
 * name a customer or an order, out of the provider's request logs (Stripe: avoid sensitive data in
 * keys). The scope is the binding id: two organisations, or a re-bound account, never collide.
 * Must never include anything random or time-based: determinism is the whole point.
 */
import crypto from 'node:crypto';

export type KeyedOperation = 'create' | 'cancel' | 'refund';

export function deriveIdempotencyKey(scope: string, operation: KeyedOperation, ...parts: string[]): string {
  // NUL separators: no field can contain one (references are printable ASCII), so the input is unambiguous.
  const digest = crypto.createHash('sha256').update(['plugboard-payments-v1', scope, operation, ...parts].join('\u0000')).digest('hex');
  return `pb1_${operation}_${digest}`;
}
