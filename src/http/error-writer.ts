/**
 * THE one error writer: every error a client is told leaves through here — from the Koa middleware
 * (request-context.ts), the raw fast path (routes/gateway.ts) and the stream sinks
 * (node-sink.ts `fail`, used by the passthrough and the tool loop once an answer has started).
 *
 * Before the headers an error becomes its status and OpenAI-shaped JSON body (with its own headers:
 * Retry-After, rate limits); after them (SSE) a final error event, then the end. An `AppError` is
 * told as it is, a storage failure as a 503 that says so, anything else as a generic 500 naming the
 * request id, its details only in the log. A fault after the headers is logged once with the
 * request id and its cause. Every string of every error body, event and header passes the
 * known-secrets redactor (`safeWireError`): this is the last exit, not the first line of defence.
 * It must never put an error's stack, SQLite's text or a secret on the wire.
 */
import type { ServerResponse } from 'node:http';
import type Koa from 'koa';
import { AppError, internalWireError, isAppError, storageUnavailable, toWireError, type WireError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { sseData, type RenderedFailure } from '../gateway/sink.ts';
import { NO_SECRETS, type Redactor } from '../storage/known-secrets.ts';
import { storageFailureKind } from '../storage/health.ts';

/**
 * The wire form of any thrown value: an AppError's own status and fields, anything else a generic
 * 500 naming the request id. Every string field passes the known-secrets redactor, whatever
 * produced it.
 */
export function safeWireError(err: unknown, requestId: string, secrets: Redactor): { status: number; wire: WireError } {
  if (!isAppError(err)) return { status: 500, wire: internalWireError(requestId) };
  const { error } = toWireError(err);
  const clean = (v: string | null): string | null => (v === null ? null : secrets.redact(v));
  return {
    status: err.status,
    wire: {
      error: {
        message: secrets.redact(error.message), type: secrets.redact(error.type), param: clean(error.param), code: clean(error.code),
        ...(error.problems && { problems: error.problems.map((p) => ({ path: secrets.redact(p.path), message: secrets.redact(p.message) })) }),
      },
    },
  };
}

/**
 * What a client may be told about an error before its answer started: an AppError as it is, a
 * storage failure (disk full, I/O error, read-only or locked database) as a 503 that says so,
 * anything else null (a generic 500). Logs what the client is not told.
 */
export function clientErrorOf(err: unknown, requestId: string, log: Logger): AppError | null {
  if (isAppError(err)) return err;
  const storage = storageFailureKind(err);
  if (storage) {
    log.warn({ requestId, err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'storage failure');
    return storageUnavailable(storage);
  }
  log.error({ requestId, err: { message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'unhandled error');
  return null;
}

/**
 * Logs a fault that happened after the SSE headers were sent (the caller sees only an error event),
 * with the request id and the cause's stack: an error mapped to the caller's (an upstream failure)
 * at warn, anything else (a fault of ours) at error. The log's redactor removes known secrets.
 */
export function logStreamFault(log: Logger, requestId: string, cause: unknown, mapped: unknown, where: string): void {
  // A transport failure mapped to the caller's error keeps the original as `cause`: log that one.
  if (cause instanceof AppError && cause.cause !== undefined) cause = cause.cause;
  const e = cause as Error | null;
  const fields = {
    requestId,
    ...(mapped instanceof AppError && { code: mapped.code, status: mapped.status }),
    err: { name: e?.name, message: e?.message ?? String(cause), ...(!(cause instanceof AppError) && { stack: e?.stack }) },
  };
  if (mapped instanceof AppError) log.warn(fields, `${where}: stream ended with an error after its headers`);
  else log.error(fields, `${where}: stream failed after its headers`);
}

export interface ErrorWriter {
  /** For a sink (node-sink.ts): the rendered failure, written by the caller as the answer's last write. */
  render(thrown: unknown, requestId: string, afterHeaders: boolean, where: string): RenderedFailure;
  /** The Koa middleware's catch (request-context.ts). */
  koa(ctx: Koa.Context, thrown: unknown, requestId: string): void;
  /** Straight to a Node response (the Koa-free fast path); returns the status written. */
  raw(res: ServerResponse, thrown: unknown, requestId: string): number;
}

export function createErrorWriter(opts: { log: Logger; secrets?: Redactor }): ErrorWriter {
  const { log } = opts;
  const secrets = opts.secrets ?? NO_SECRETS;

  /** The client's error for a fault after the headers (a storage failure stays a 503), logged once. */
  function faultAfterHeaders(thrown: unknown, requestId: string, where: string): AppError | null {
    const storage = isAppError(thrown) ? null : storageFailureKind(thrown);
    const err = isAppError(thrown) ? thrown : storage ? storageUnavailable(storage) : null;
    logStreamFault(log, requestId, thrown, err ?? thrown, where);
    return err;
  }

  function describe(thrown: unknown, requestId: string, afterHeaders: boolean, where: string): { err: AppError | null; status: number; wire: WireError } {
    const err = afterHeaders ? faultAfterHeaders(thrown, requestId, where) : clientErrorOf(thrown, requestId, log);
    const { status, wire } = safeWireError(err ?? thrown, requestId, secrets);
    return { err, status, wire };
  }

  /** The error's own headers (Retry-After, rate-limit headers), each redacted. */
  function errorHeaders(err: AppError | null, into: Record<string, string>): Record<string, string> {
    if (err) for (const [k, v] of Object.entries(err.headers)) into[k] = secrets.redact(v);
    return into;
  }

  function render(thrown: unknown, requestId: string, afterHeaders: boolean, where: string): RenderedFailure {
    const { err, status, wire } = describe(thrown, requestId, afterHeaders, where);
    const code = wire.error.code ?? 'internal_error';
    if (afterHeaders) return { status, code, afterHeaders, body: sseData(wire), headers: {} };
    return { status, code, afterHeaders, body: JSON.stringify(wire), headers: errorHeaders(err, { 'content-type': 'application/json; charset=utf-8' }) };
  }

  return {
    render,
    koa(ctx, thrown, requestId) {
      const afterHeaders = ctx.headerSent || ctx.res.headersSent;
      const { err, status, wire } = describe(thrown, requestId, afterHeaders, 'request');
      if (afterHeaders) {
        if (!ctx.res.writableEnded && !ctx.res.destroyed) ctx.res.end(sseData(wire));
        return;
      }
      ctx.respond = true;
      ctx.status = status;
      for (const [k, v] of Object.entries(errorHeaders(err, {}))) ctx.set(k, v);
      ctx.set('x-request-id', requestId);
      ctx.body = wire;
    },
    raw(res, thrown, requestId) {
      const f = render(thrown, requestId, res.headersSent, 'request');
      if (f.afterHeaders) {
        if (!res.writableEnded && !res.destroyed) res.end(f.body);
        return res.statusCode;
      }
      res.statusCode = f.status;
      for (const [k, v] of Object.entries(f.headers)) res.setHeader(k, v);
      res.setHeader('x-request-id', requestId);
      res.setHeader('content-length', Buffer.byteLength(f.body));
      res.end(f.body);
      return f.status;
    },
  };
}
