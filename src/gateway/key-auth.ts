/**
 * Gateway-key authentication for the hot path.
 *
 * Looks keys up by SHA-256 hash through a small in-memory cache that empties itself whenever the
 * configuration version moves (any key change, by this process, the CLI or another process), so a
 * revoked key stops working on the next request.
 */
import type { Db } from '../storage/db.ts';
import type { GatewayKey, GatewayKeysRepo } from '../storage/repos/gateway-keys.ts';
import { hashSecret, GATEWAY_KEY_PREFIX } from '../storage/tokens.ts';
import { unauthenticated } from '../errors.ts';
import { createConfigVersion, createVersionedCache } from '../storage/config-version.ts';

/** Bound on cached lookups (including misses), so random keys cannot grow memory. */
const MAX_CACHE_ENTRIES = 10_000;

export interface KeyAuthenticator {
  /** The active key for an `Authorization` header value, or a 401 AppError. */
  authenticate(authorization: string | undefined): GatewayKey;
  invalidate(): void;
}

export function createKeyAuthenticator(db: Db, keys: GatewayKeysRepo): KeyAuthenticator {
  const version = createConfigVersion(db);
  const cache = createVersionedCache<string, GatewayKey | null>(version, MAX_CACHE_ENTRIES);
  const findByHash = db.prepare('SELECT id FROM gateway_keys WHERE key_hash = ?').pluck();

  return {
    authenticate(authorization) {
      if (!authorization) throw unauthenticated('Missing API key. Send it as "Authorization: Bearer <gateway key>".', 'missing_api_key');
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw unauthenticated('The Authorization header must be "Bearer <gateway key>".');
      const secret = m[1];
      if (!secret.startsWith(GATEWAY_KEY_PREFIX)) throw unauthenticated('Incorrect API key provided.');
      // The request's one SQLite read: notices keys (and other configuration) changed by other processes.
      version.refresh();
      const hash = hashSecret(secret);
      const key = cache.get(hash, () => (findByHash.get(hash) ? keys.findBySecret(secret) : null));
      if (!key) throw unauthenticated('Incorrect API key provided.');
      if (key.revokedAt !== null) throw unauthenticated('This API key has been revoked.', 'revoked_api_key');
      return key;
    },
    invalidate() {
      cache.clear();
    },
  };
}
