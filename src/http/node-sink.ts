/**
 * A ResponseSink over Node's ServerResponse: writes answers directly (Koa's own response handling
 * is not involved) with backpressure and disconnect tracking, and renders failures through the one
 * error writer (error-writer.ts). A class: one per request, and its methods are not closures
 * allocated per request on the hot path. It must never write after the response ended.
 */
import type { ServerResponse } from 'node:http';
import { writeFailure, type Failure, type RenderedFailure, type ResponseSink } from '../gateway/sink.ts';
import type { ErrorWriter } from './error-writer.ts';

const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};
const NO_HEADERS: Readonly<Record<string, string>> = {};

export class NodeSink implements ResponseSink {
  readonly #res: ServerResponse;
  readonly #requestId: string;
  readonly #errors: ErrorWriter;
  #streamOpen = false;
  #gone = false;

  constructor(res: ServerResponse, requestId: string, errors: ErrorWriter) {
    this.#res = res;
    this.#requestId = requestId;
    this.#errors = errors;
    res.on('close', () => {
      if (!res.writableFinished) this.#gone = true;
    });
  }

  #writeHeaders(status: number, extra: Readonly<Record<string, string>>): void {
    const res = this.#res;
    res.statusCode = status;
    res.setHeader('x-request-id', this.#requestId);
    for (const k in extra) res.setHeader(k, extra[k]);
  }

  json(status: number, body: Buffer | string, headers?: Record<string, string>): void {
    this.#writeHeaders(status, headers ?? NO_HEADERS);
    if (!headers?.['content-type']) this.#res.setHeader('content-type', 'application/json');
    this.#res.setHeader('content-length', Buffer.byteLength(body));
    this.#res.end(body);
  }

  header(name: string, value: string): void {
    if (!this.#res.headersSent) this.#res.setHeader(name, value);
  }

  openStream(opts?: { flush?: boolean }): void {
    if (this.#streamOpen) return;
    this.#streamOpen = true;
    this.#writeHeaders(200, SSE_HEADERS);
    if (opts?.flush !== false) this.#res.flushHeaders();
  }

  get streamOpen(): boolean {
    return this.#streamOpen;
  }

  write(data: string | Buffer): Promise<void> {
    const res = this.#res;
    if (res.destroyed || res.writableEnded) return Promise.resolve();
    if (res.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  end(last?: string | Buffer): void {
    const res = this.#res;
    if (!res.writableEnded && !res.destroyed) {
      if (last !== undefined && last.length) res.end(last);
      else res.end();
    }
  }

  get closed(): boolean {
    return this.#gone;
  }

  renderFailure(err: unknown, where: string): RenderedFailure {
    return this.#errors.render(err, this.#requestId, this.#streamOpen || this.#res.headersSent, where);
  }

  fail(err: unknown, where: string): Failure {
    return writeFailure(this, this.renderFailure(err, where));
  }
}
