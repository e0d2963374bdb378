/**
 * Standard Webhooks signing, producer side (standard-webhooks/standard-webhooks spec, `v1`):
 * `webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<raw body>")>` with the
 * secret shown as `whsec_<base64>`. During a secret rotation a request is signed with every live
 * secret, space-separated, so receivers holding either one verify it. What this module signs is
 * exactly the bytes sent: callers pass the raw body, never an object to re-serialise.
 * Must never log, return or put a secret in an error message.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** Random bytes in a generated secret (the spec asks for at least 24). */
export const SECRET_BYTES = 32;
/** Shortest secret accepted for signing, in bytes. */
export const MIN_SECRET_BYTES = 24;
/** Most secrets signing at once (old + new during a rotation, with room to spare). */
export const MAX_SIGNING_SECRETS = 4;
/** Webhook ids: visible ASCII without "." (the spec: ids must not contain the separator). */
const WEBHOOK_ID = /^[\x21-\x2d\x2f-\x7e]{1,255}$/;
/** Timestamps are whole seconds; anything from 1e11 on is milliseconds by mistake. */
const MAX_TIMESTAMP_SECONDS = 99_999_999_999;

export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The key bytes of a `whsec_…` secret (the prefix is optional). Throws TypeError, without the secret, when malformed. */
export function decodeSigningSecret(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new TypeError('signing secret is not whsec_ followed by base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_SECRET_BYTES) throw new TypeError(`signing secret must hold at least ${MIN_SECRET_BYTES} bytes`);
  return key;
}

export interface WebhookSigner {
  /** The `webhook-signature` value: one `v1,<sig>` per secret, space-separated. */
  sign(id: string, timestampSeconds: number, body: string | Uint8Array): string;
  /** The three Standard Webhooks headers for one request. */
  headers(id: string, timestampSeconds: number, body: string | Uint8Array): WebhookHeaders;
}

/**
 * A signer over one secret, or several during a rotation (newest first by convention; every
 * receiver holding any of them verifies). Secrets are decoded once here.
 */
export function createWebhookSigner(secrets: string | readonly string[]): WebhookSigner {
  const list = [...new Set(typeof secrets === 'string' ? [secrets] : secrets)];
  if (list.length === 0 || list.length > MAX_SIGNING_SECRETS) throw new TypeError(`between 1 and ${MAX_SIGNING_SECRETS} signing secrets are needed`);
  const keys = list.map(decodeSigningSecret);
  const sign = (id: string, timestampSeconds: number, body: string | Uint8Array): string => {
    if (!WEBHOOK_ID.test(id)) throw new TypeError('webhook id must be 1-255 visible ASCII characters without "."');
    if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0 || timestampSeconds > MAX_TIMESTAMP_SECONDS) {
      throw new TypeError('webhook timestamp must be whole seconds since the epoch (not milliseconds)');
    }
    const prefix = `${id}.${timestampSeconds}.`;
    return keys.map((key) => `v1,${createHmac('sha256', key).update(prefix).update(body).digest('base64')}`).join(' ');
  };
  return {
    sign,
    headers: (id, timestampSeconds, body) => ({
      'webhook-id': id,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': sign(id, timestampSeconds, body),
    }),
  };
}

/** One-shot form of `createWebhookSigner(secrets).headers(id, timestampSeconds, body)`. */
export function webhookHeaders(input: { id: string; timestampSeconds: number; body: string | Uint8Array; secrets: string | readonly string[] }): WebhookHeaders {
  return createWebhookSigner(input.secrets).headers(input.id, input.timestampSeconds, input.body);
}
