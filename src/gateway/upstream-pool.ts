/**
 * The gateway's HTTP client to the upstream: a pooled keep-alive undici client, used by the
 * passthrough and by the tool loop's model turns (upstream-chat.ts). A full `openai` SDK round trip
 * per request costs most of a Node hop's throughput; the SDK serves `doctor` only.
 * Sends only the configured upstream key — never the caller's gateway key. An answer with status
 * 400 or more is never handed out: its body is read (at most UPSTREAM_ERROR_BODY_MAX_BYTES) and
 * mapped to the caller's error here, once, with every known secret scrubbed from it. Every other
 * read of an upstream body goes through `readUpstreamBody`, which is bounded too.
 * The upstream knows one secret of ours, its key; `echo` removes it from what the upstream sends
 * that is relayed as it is (answers, stream events, streamed content): a probe per event, not a scan.
 */
import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { AppError, upstreamError } from '../errors.ts';
import { createKnownSecrets, MIN_SECRET_LENGTH, NO_SECRETS, type Redactor } from '../storage/known-secrets.ts';
import { mapUpstreamStatus } from './upstream-errors.ts';

/** An error body is only quoted (its message, at most 1,000 characters): this much of it is read. */
export const UPSTREAM_ERROR_BODY_MAX_BYTES = 64 * 1024;
/** Largest non-streamed answer read from the upstream (a chat completion, the model list). */
export const UPSTREAM_ANSWER_MAX_BYTES = 64 * 1024 * 1024;

export interface UpstreamPoolOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  connections: number;
  /** Scrubs upstream error text (the appliance's known secrets). */
  secrets?: Redactor;
  /**
   * Told of every call when its response headers arrive or it fails: the path, the status (or
   * `unreachable` / `timeout`; nothing for a caller's abort) and the seconds it took (metrics, readiness).
   */
  observe?: (path: string, status: number | 'unreachable' | 'timeout', seconds: number) => void;
}

export interface UpstreamPool {
  /** Path below the base URL, e.g. `/chat/completions`. Statuses ≥ 400 are thrown as the caller's AppError. */
  request(opts: { method: 'GET' | 'POST'; path: string; body?: Buffer | string; signal?: AbortSignal; accept?: string }): Promise<Dispatcher.ResponseData>;
  /** Removes the upstream's own key from text and bytes the upstream sent that are relayed as they are. */
  readonly echo: EchoGuard;
  close(): Promise<void>;
}

export interface EchoGuard extends Redactor {
  /** `bytes` itself unless it holds the key (then a redacted copy). */
  redactBytes(bytes: Buffer): Buffer;
}

/**
 * The guard for one key: `Buffer#includes` of its plain and JSON-escaped forms per event (tens of
 * nanoseconds), and the full redactor (every encoded form) only on a hit.
 */
export function createEchoGuard(apiKey: string): EchoGuard {
  const key = apiKey.trim();
  if (key.length < MIN_SECRET_LENGTH) return { redact: (t) => t, redactBytes: (b) => b };
  const own = createKnownSecrets();
  own.add(key);
  const probes = [...new Set([key, JSON.stringify(key).slice(1, -1)])].map((p) => Buffer.from(p, 'utf8'));
  return {
    redact: (text) => own.redact(text),
    redactBytes: (bytes) => (probes.some((p) => bytes.includes(p)) ? Buffer.from(own.redact(bytes.toString('utf8')), 'utf8') : bytes),
  };
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
  const secrets = opts.secrets ?? NO_SECRETS;
  const echo = createEchoGuard(opts.apiKey);
  const observe = opts.observe;
  return {
    echo,
    async request(r) {
      const headers: Record<string, string> = { accept: r.accept ?? 'application/json' };
      if (authHeader) headers.authorization = authHeader;
      if (r.body !== undefined) headers['content-type'] = 'application/json';
      let res: Dispatcher.ResponseData;
      const started = observe ? performance.now() : 0;
      try {
        res = await pool.request({ method: r.method, path: basePath + r.path, headers, body: r.body, signal: r.signal });
      } catch (err) {
        const mapped = mapTransportError(err);
        if (observe && mapped instanceof AppError) observe(r.path, mapped.status === 504 ? 'timeout' : 'unreachable', (performance.now() - started) / 1000);
        throw mapped;
      }
      observe?.(r.path, res.statusCode, (performance.now() - started) / 1000);
      if (res.statusCode >= 400) {
        const text = await readCapped(res.body, UPSTREAM_ERROR_BODY_MAX_BYTES).then((x) => x.bytes.toString('utf8'), () => '');
        throw mapUpstreamStatus(res.statusCode, res.headers, text, secrets);
      }
      return res;
    },
    async close() {
      await pool.close();
    },
  };
}

/** Reads at most `max` bytes of `body` (the rest is discarded); `complete` is false when it was longer. */
const ignore = (): void => {};

function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<{ bytes: Buffer; complete: boolean }> {
  // Events rather than `for await`: the async iterator costs a promise per chunk and an end-of-stream
  // watcher per body, measurable on the hot path (every non-streamed answer is read here).
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > max) {
        chunks.push(chunk.subarray(0, max - size));
        done();
        // undici's body answers destroy() with an abort error event: nobody waits for it any more.
        body.on('error', ignore);
        if (!body.destroyed) body.destroy();
        resolve({ bytes: Buffer.concat(chunks), complete: false });
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = (): void => {
      done();
      resolve({ bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), complete: true });
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    // Closed without an end or an error (destroyed by someone else): the answer is incomplete.
    const onClose = (): void => {
      done();
      reject(Object.assign(new Error('The upstream answer ended before it was complete.'), { code: 'UND_ERR_SOCKET' }));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

/**
 * Reads a whole upstream answer of at most `max` bytes; a longer one is an upstream fault (502),
 * never a process that buffers without bound. Transport failures are mapped as usual.
 */
export async function readUpstreamBody(body: Dispatcher.ResponseData['body'], max = UPSTREAM_ANSWER_MAX_BYTES): Promise<Buffer> {
  let out: { bytes: Buffer; complete: boolean };
  try {
    out = await readCapped(body, max);
  } catch (err) {
    throw isAbort(err) ? err : mapTransportError(err);
  }
  if (!out.complete) throw upstreamError(502, `The upstream model provider sent an answer larger than ${max} bytes.`, 'upstream_response_too_large');
  return out.bytes;
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
    return withCause(upstreamError(504, 'The upstream model provider did not answer in time.', 'upstream_timeout'), err);
  }
  return withCause(upstreamError(502, 'The upstream model provider could not be reached.', 'upstream_unreachable'), err);
}

/** Keeps the transport failure as `cause` for the log (never on the wire: only the AppError's own fields are). */
function withCause(mapped: AppError, cause: unknown): AppError {
  Object.defineProperty(mapped, 'cause', { value: cause, enumerable: false, configurable: true, writable: true });
  return mapped;
}

/** True when an error is the caller going away rather than a fault. */
export function isAbort(err: unknown): boolean {
  const e = err as { name?: string; code?: string };
  return e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED' || e?.code === 'ABORT_ERR';
}
