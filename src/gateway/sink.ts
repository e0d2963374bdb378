/**
 * What the gateway writes a chat-completion answer to. The HTTP layer implements it over the
 * Node response, so gateway code never sees Koa. Also the one place an error becomes wire text
 * (`safeWireError`): every exit of an error — JSON answer or final SSE event — goes through it.
 */
import { internalWireError, isAppError, toWireError, type WireError } from '../errors.ts';
import type { Redactor } from '../storage/known-secrets.ts';

export interface ResponseSink {
  /** A complete non-streaming answer. */
  json(status: number, body: Buffer | string, headers?: Record<string, string>): void;
  /** Sets a response header while headers are not yet sent. */
  header?(name: string, value: string): void;
  /**
   * Starts the SSE response. With `flush` the headers go out at once (the tool loop, which may
   * run tools before its first byte); without, they leave with the first event (one packet less).
   */
  openStream(opts?: { flush?: boolean }): void;
  readonly streamOpen: boolean;
  /** Writes SSE text or bytes; resolves when the client can take more (backpressure). */
  write(data: string | Buffer): Promise<void>;
  /** Ends the response; `last` goes out with the end in one write (one packet, one wake-up less). */
  end(last?: string | Buffer): void;
  /** True once the client has gone. */
  readonly closed: boolean;
}

/** Serialises one SSE data event. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * The wire form of any thrown value: an AppError's own status and fields, anything else a generic
 * 500 naming the request id. Every string field passes the known-secrets redactor, whatever
 * produced it: this is the last exit, not the first line of defence.
 */
export function safeWireError(err: unknown, requestId: string, secrets: Redactor): { status: number; wire: WireError } {
  if (!isAppError(err)) return { status: 500, wire: internalWireError(requestId) };
  const { error } = toWireError(err);
  const clean = (v: string | null): string | null => (v === null ? null : secrets.redact(v));
  return {
    status: err.status,
    wire: { error: { message: secrets.redact(error.message), type: secrets.redact(error.type), param: clean(error.param), code: clean(error.code) } },
  };
}

/** A sink whose last write (`json`, or `end`) is held until `release()`. */
export interface HeldSink extends ResponseSink {
  /** Sends the held last write now (ends an open stream that never ended). Idempotent. */
  release(): void;
  /** True while a last write waits for `release()`. */
  readonly holding: boolean;
}

/**
 * Holds a response's last write so the usage row can be made safe first (see usage/recorder.ts):
 * everything before it streams as usual; the answer's final bytes — the whole JSON body, the SSE
 * tail with `[DONE]`, or the error event — and the end of the response wait for `release()`.
 */
export function holdLastWrite(inner: ResponseSink): HeldSink {
  let last: (() => void) | null = null;
  let ended = false;
  let released = false;
  return {
    json(status, body, headers) {
      if (ended) return;
      ended = true;
      last = () => inner.json(status, body, headers);
    },
    header(name, value) {
      inner.header?.(name, value);
    },
    openStream(opts) {
      inner.openStream(opts);
    },
    get streamOpen() {
      return inner.streamOpen;
    },
    write(data) {
      return ended ? Promise.resolve() : inner.write(data);
    },
    end(data) {
      if (ended) return;
      ended = true;
      last = () => inner.end(data);
    },
    get closed() {
      return inner.closed;
    },
    get holding() {
      return last !== null && !released;
    },
    release() {
      if (released) return;
      released = true;
      if (last) last();
      else if (inner.streamOpen) inner.end();
    },
  };
}
