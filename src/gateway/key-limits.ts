/**
 * Per-gateway-key request rate limit (rate-limiter-flexible, in memory).
 *
 * One limiter per distinct requests-per-minute value; keys are `orgId:keyId`. Answers carry
 * OpenAI's `x-ratelimit-*` headers; a refusal is a 429 with integer-second `Retry-After`.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../errors.ts';

export interface KeyLimiter {
  /** Consumes one request; returns headers to send, or throws a 429 AppError. */
  consume(orgId: string, keyId: string, rpm: number): Promise<Record<string, string>>;
}

function limitHeaders(rpm: number, res: RateLimiterRes): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(rpm),
    'x-ratelimit-remaining-requests': String(Math.max(0, res.remainingPoints)),
    'x-ratelimit-reset-requests': `${Math.max(0, Math.ceil(res.msBeforeNext / 1000))}s`,
  };
}

export function createKeyLimiter(): KeyLimiter {
  const limiters = new Map<number, RateLimiterMemory>();
  const limiterFor = (rpm: number): RateLimiterMemory => {
    let l = limiters.get(rpm);
    if (!l) {
      l = new RateLimiterMemory({ keyPrefix: `key_rpm_${rpm}`, points: rpm, duration: 60 });
      limiters.set(rpm, l);
    }
    return l;
  };
  return {
    async consume(orgId, keyId, rpm) {
      if (rpm <= 0) return {};
      try {
        return limitHeaders(rpm, await limiterFor(rpm).consume(`${orgId}:${keyId}`));
      } catch (err) {
        if (err instanceof Error) throw err;
        const res = err as RateLimiterRes;
        const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        throw rateLimited(`Rate limit reached for this API key (${rpm} requests per minute). Try again in ${seconds}s.`, {
          ...limitHeaders(rpm, res),
          'retry-after': String(seconds),
        });
      }
    },
  };
}
