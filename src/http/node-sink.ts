/**
 * A ResponseSink over Node's ServerResponse: writes answers directly (Koa's own response
 * handling is switched off for these routes) with backpressure and disconnect tracking.
 */
import type { ServerResponse } from 'node:http';
import type { ResponseSink } from '../gateway/sink.ts';

export function createNodeSink(res: ServerResponse, baseHeaders: Record<string, string>): ResponseSink {
  let streamOpen = false;
  let gone = false;
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  const writeHeaders = (status: number, extra: Record<string, string>): void => {
    res.statusCode = status;
    for (const [k, v] of Object.entries(baseHeaders)) res.setHeader(k, v);
    for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  };
  return {
    json(status, body, headers = {}) {
      writeHeaders(status, { 'content-type': 'application/json', ...headers });
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(body);
    },
    header(name, value) {
      if (!res.headersSent) res.setHeader(name, value);
    },
    openStream(opts = { flush: true }) {
      if (streamOpen) return;
      streamOpen = true;
      writeHeaders(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      if (opts.flush !== false) res.flushHeaders();
    },
    get streamOpen() {
      return streamOpen;
    },
    write(data) {
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
    },
    end(last) {
      if (!res.writableEnded && !res.destroyed) {
        if (last !== undefined && last.length) res.end(last);
        else res.end();
      }
    },
    get closed() {
      return gone;
    },
  };
}
