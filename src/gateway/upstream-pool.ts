/**
 * The gateway's HTTP client to the upstream: a pooled keep-alive undici client, used by the
 * passthrough and by the tool loop's model turns (upstream-chat.ts). A full `openai` SDK round trip
 * per request costs most of a Node hop's throughput; the SDK serves `doctor` only.
 * Sends only the configured upstream key — never the caller's gateway key.
 */
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { AppError, upstreamError } from '../errors.ts';

export interface UpstreamPoolOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  connections: number;
}

export interface UpstreamPool {
  /** Path below the base URL, e.g. `/chat/completions`. */
  request(opts: { method: 'GET' | 'POST'; path: string; body?: Buffer | string; signal?: AbortSignal; accept?: string }): Promise<Dispatcher.ResponseData>;
  close(): Promise<void>;
}

export function createUpstreamPool(opts: UpstreamPoolOptions): UpstreamPool {
  const url = new URL(opts.baseUrl);
  const basePath = url.pathname.replace(/\/+$/, '');
  const pool = new Pool(url.origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connectTimeout: Math.min(opts.timeoutMs, 10_000),
  });
  const authHeader = opts.apiKey ? `Bearer ${opts.apiKey}` : undefined;
  return {
    async request(r) {
      const headers: Record<string, string> = { accept: r.accept ?? 'application/json' };
      if (authHeader) headers.authorization = authHeader;
      if (r.body !== undefined) headers['content-type'] = 'application/json';
      try {
        return await pool.request({ method: r.method, path: basePath + r.path, headers, body: r.body, signal: r.signal });
      } catch (err) {
        throw mapTransportError(err);
      }
    },
    async close() {
      await pool.close();
    },
  };
}

/** Maps a network-level failure to the caller's error: timeouts 504, everything else 502. */
export function mapTransportError(err: unknown): AppError | Error {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; code?: string };
  if (e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED') return err as Error;
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return upstreamError(504, 'The upstream model provider did not answer in time.', 'upstream_timeout');
  }
  return upstreamError(502, 'The upstream model provider could not be reached.', 'upstream_unreachable');
}

/** True when an error is the caller going away rather than a fault. */
export function isAbort(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED' || e?.code === 'ABORT_ERR';
}
