/**
 * Secret formats for gateway keys, control-panel tokens and operator tokens: random, prefixed so leak scanners
 * can find them, and stored only as SHA-256 hashes (they are high-entropy, so no slow hash).
 */
import crypto from 'node:crypto';

export const GATEWAY_KEY_PREFIX = 'pb_live_';
export const CONTROL_TOKEN_PREFIX = 'pbc_';
/** The appliance operator's tokens (`plugboard operator token create`). */
export const OPERATOR_TOKEN_PREFIX = 'pbo_';

export interface MintedSecret {
  secret: string;
  hash: string;
  /** Shown in listings: the prefix and the first characters. */
  displayPrefix: string;
  last4: string;
}

export function mintSecret(prefix: string): MintedSecret {
  const secret = prefix + crypto.randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret), displayPrefix: secret.slice(0, prefix.length + 4), last4: secret.slice(-4) };
}

export function hashSecret(secret: string): string {
  // One-shot hash: no Hash object per call (this runs on every gateway request).
  return crypto.hash('sha256', secret, 'hex');
}
