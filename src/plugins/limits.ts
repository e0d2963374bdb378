/**
 * Per-tool rate limits (rate-limiter-flexible, in memory): the MVP sandbox alongside allowlists.
 * A limited call becomes a tool error the model reads, never an HTTP 429.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface ToolRateLimit {
  /** Calls allowed per window. */
  points: number;
  durationSeconds: number;
}

/** Per-tool limits of one installation; `*` applies to tools without their own entry. */
export type ToolRateLimits = Record<string, ToolRateLimit>;

export interface ToolLimiter {
  /** Null when allowed, else the seconds until the next call may run. */
  consume(orgId: string, pluginId: string, tool: string, limits: ToolRateLimits): Promise<number | null>;
}

export function createToolLimiter(): ToolLimiter {
  const limiters = new Map<string, RateLimiterMemory>();
  return {
    async consume(orgId, pluginId, tool, limits) {
      const limit = limits[tool] ?? limits['*'];
      if (!limit) return null;
      const id = `${limit.points}/${limit.durationSeconds}`;
      let limiter = limiters.get(id);
      if (!limiter) {
        limiter = new RateLimiterMemory({ keyPrefix: `tool_${id}`, points: limit.points, duration: limit.durationSeconds });
        limiters.set(id, limiter);
      }
      try {
        await limiter.consume(`${orgId}:${pluginId}:${tool}`);
        return null;
      } catch (err) {
        if (err instanceof Error) throw err;
        return Math.max(1, Math.ceil((err as RateLimiterRes).msBeforeNext / 1000));
      }
    },
  };
}
