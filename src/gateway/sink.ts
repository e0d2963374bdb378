/**
 * What the gateway writes a chat-completion answer to. The HTTP layer implements it over the Node
 * response (http/node-sink.ts), so gateway code never sees Koa; errors are rendered by the HTTP
 * layer's one error writer behind `fail`, so gateway code never builds a wire error itself.
 * Also the held last write: a completion's usage row is made safe before its last byte leaves.
 */

/** What a failed answer's usage row records. */
export interface Failure {
  status: number;
  code: string;
}

/** A failure rendered for one response by the error writer (http/error-writer.ts). */
export interface RenderedFailure extends Failure {
  /** True once the answer started (SSE): `body` is then the final error event, else the JSON error. */
  afterHeaders: boolean;
  body: string;
  /** Headers of a JSON error (content type, Retry-After and the like); empty after the headers. */
  headers: Record<string, string>;
}

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
  /**
   * Renders `err` for this response through the one error writer — the JSON error before the
   * headers, the final SSE error event after them — redacted of known secrets, a fault after the
   * headers logged once with the request id (`where` names the stage). Writes nothing.
   */
  renderFailure(err: unknown, where: string): RenderedFailure;
  /** Ends the answer with `err` rendered as above as its last write; returns what the usage row records. */
  fail(err: unknown, where: string): Failure;
}

/** Serialises one SSE data event. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/** Writes a rendered failure as the answer's last write (the error event, or the JSON error). */
export function writeFailure(sink: ResponseSink, f: RenderedFailure): Failure {
  if (f.afterHeaders) sink.end(f.body);
  else sink.json(f.status, f.body, f.headers);
  return f;
}

/**
 * A sink whose last write (`json`, `end`, or a failure) waits for `release()`: everything before it
 * streams as usual; the answer's final bytes — the whole JSON body, the SSE tail with `[DONE]`, or
 * the error event — and the end of the response wait, so the usage row can be made safe first
 * (see usage/recorder.ts). A class: one per response, no closures allocated per request.
 */
export class HeldSink implements ResponseSink {
  readonly #inner: ResponseSink;
  #last: (() => void) | null = null;
  #ended = false;
  #released = false;

  constructor(inner: ResponseSink) {
    this.#inner = inner;
  }

  json(status: number, body: Buffer | string, headers?: Record<string, string>): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#last = () => this.#inner.json(status, body, headers);
  }

  header(name: string, value: string): void {
    this.#inner.header?.(name, value);
  }

  openStream(opts?: { flush?: boolean }): void {
    this.#inner.openStream(opts);
  }

  get streamOpen(): boolean {
    return this.#inner.streamOpen;
  }

  write(data: string | Buffer): Promise<void> {
    return this.#ended ? Promise.resolve() : this.#inner.write(data);
  }

  end(last?: string | Buffer): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#last = () => this.#inner.end(last);
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  renderFailure(err: unknown, where: string): RenderedFailure {
    return this.#inner.renderFailure(err, where);
  }

  /** Rendered (and logged) now; the error itself is the held last write. */
  fail(err: unknown, where: string): Failure {
    return writeFailure(this, this.#inner.renderFailure(err, where));
  }

  /** True while a last write waits for `release()`. */
  get holding(): boolean {
    return this.#last !== null && !this.#released;
  }

  /** Sends the held last write now (ends an open stream that never ended). Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#last) this.#last();
    else if (this.#inner.streamOpen) this.#inner.end();
  }
}

/** Holds a response's last write until `release()` (see HeldSink). */
export function holdLastWrite(inner: ResponseSink): HeldSink {
  return new HeldSink(inner);
}
