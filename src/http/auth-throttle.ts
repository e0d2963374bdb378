/**
 * Throttle of failed authentication per client address: wrong, revoked or missing gateway keys
 * and control-panel tokens. After `failuresPerMinute` failures within a minute, the address is
 * refused with 429 (integer `Retry-After`, OpenAI error shape) for BLOCK_SECONDS, on every route
 * that authenticates — a valid credential included, so that a guess that comes right during the
 * block teaches the guesser nothing. Until then a valid credential costs nothing and is never
 * slowed: successes are not counted, and an address that never failed is a Map miss.
 *
 * Memory is bounded: rate-limiter-flexible's memory store keeps one record (and one timer) per
 * key until it expires, so random addresses would grow it without end. Addresses are grouped
 * (an IPv6 client is its /64: one host owns that many), and at most MAX_TRACKED_ADDRESSES are kept;
 * beyond that the least recently failing one is forgotten. This module must never log or store a
 * presented credential, and never decide who is authenticated: it only counts the verdicts.
 */
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorType } from '../errors.ts';

/** Counting window of failures. */
const WINDOW_SECONDS = 60;
/** How long an address over the limit is refused. */
export const BLOCK_SECONDS = 300;
/**
 * Addresses tracked at once (~0.5 KB each with the store's record and timer): a flood from more
 * addresses than this evicts the least recent ones instead of growing memory.
 */
export const MAX_TRACKED_ADDRESSES = 20_000;

export interface AuthThrottle {
  /** Throws the 429 when the address is refused now; synchronous and free for addresses that never failed. */
  assertAllowed(address: string): void;
  /** Counts one failed authentication; resolves with the 429 to answer instead once the address is over the limit. */
  failed(address: string): Promise<AppError | null>;
  /** Addresses tracked right now (for tests and health). */
  readonly size: number;
}

function tooMany(seconds: number): AppError {
  return new AppError({
    code: 'too_many_failed_authentications',
    status: 429,
    type: ErrorType.rateLimit,
    message: `Too many failed authentication attempts from your address. Try again in ${seconds}s.`,
    headers: { 'retry-after': String(seconds) },
  });
}

/** `failuresPerMinute` 0 turns the throttle off (every method is then a no-op). */
export function createAuthThrottle(opts: { failuresPerMinute: number; maxTracked?: number }): AuthThrottle {
  const cap = opts.maxTracked ?? MAX_TRACKED_ADDRESSES;
  const limiter = new RateLimiterMemory({ keyPrefix: 'auth_fail', points: Math.max(1, opts.failuresPerMinute), duration: WINDOW_SECONDS, blockDuration: BLOCK_SECONDS });
  /** Address → when its block ends (0 = counted, not blocked); Map order = least recently failing first. */
  const tracked = new Map<string, number>();
  const off = opts.failuresPerMinute <= 0;

  return {
    assertAllowed(address) {
      if (off) return;
      const until = tracked.get(address);
      if (until === undefined || until === 0) return;
      const ms = until - Date.now();
      if (ms > 0) throw tooMany(Math.max(1, Math.ceil(ms / 1000)));
    },
    async failed(address) {
      if (off) return null;
      const until = tracked.get(address) ?? 0;
      tracked.delete(address); // re-inserted last: the most recently failing address is evicted last
      tracked.set(address, until);
      // Bounded: runs at most once per new address, the map being at most `cap` long before it.
      while (tracked.size > cap) {
        const oldest = tracked.keys().next().value as string;
        tracked.delete(oldest);
        void limiter.delete(oldest);
      }
      try {
        await limiter.consume(address);
        return null;
      } catch (err) {
        if (err instanceof Error) throw err;
        const ms = (err as RateLimiterRes).msBeforeNext;
        if (tracked.has(address)) tracked.set(address, Date.now() + ms);
        return tooMany(Math.max(1, Math.ceil(ms / 1000)));
      }
    },
    get size() {
      return tracked.size;
    },
  };
}

/**
 * The client address that failures are counted against. Behind a trusted reverse proxy
 * (PLUGBOARD_TRUST_PROXY) it is the last X-Forwarded-For entry — the address the proxy itself
 * saw; earlier entries are whatever the client sent and would let a guesser pick a new address per
 * request. IPv4-mapped IPv6 is unwrapped; IPv6 is grouped by /64.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  let raw = req.socket.remoteAddress ?? '';
  if (!trustProxy && raw && !raw.includes(':')) return raw; // plain IPv4: nothing to unwrap or group
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').pop()?.trim();
    if (last && ipaddr.isValid(last)) raw = last;
  }
  try {
    const addr = ipaddr.process(raw.replace(/%.*$/, ''));
    if (addr.kind() === 'ipv4') return addr.toString();
    const parts = (addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
    return `${parts.join(':')}::/64`;
  } catch {
    return raw.slice(0, 64) || 'unknown';
  }
}

/** Paths that never authenticate (probes, signed webhooks): a blocked address still reaches them. */
export function authenticates(path: string): boolean {
  return path !== '/healthz' && path !== '/readyz' && !path.startsWith('/webhooks/');
}
