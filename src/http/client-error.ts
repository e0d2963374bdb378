/**
 * Answers what Node's HTTP parser refuses before any route sees it — headers over the size limit,
 * duplicate or conflicting Content-Length / Transfer-Encoding, bad chunked framing, a request that
 * took too long — in the same OpenAI error shape as every other refusal, with `Connection: close`
 * and an `x-request-id`, instead of Node's bodiless default.
 *
 * Like Node's default it answers only when nothing of a response has been written on the socket
 * yet, and it always closes the connection after: the byte stream cannot be trusted past a framing
 * error. It must never echo any of the request's bytes (the parser's `rawPacket`) into the answer
 * or the log, and never log these at error level: they are the client's fault, not ours.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, ErrorType } from '../errors.ts';
import type { Logger } from '../log.ts';
import { defaultRequestId } from './request-context.ts';
import { createErrorWriter, type ErrorWriter } from './error-writer.ts';

/** How long a refused connection may take to read its answer before it is cut. */
const CLOSE_GRACE_MS = 2_000;

interface ParserError extends Error {
  code?: string;
  reason?: string;
}

interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** llhttp's reasons are fixed English phrases; anything else is left out of the message. */
const SAFE_REASON = /^[A-Za-z][A-Za-z0-9 ,.'-]{0,80}$/;

/** The status, error code and message for a parser error (Node's own mapping, with a body). */
export function refusalFor(err: ParserError): Refusal {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'request_header_fields_too_large', message: `The request's headers are larger than the ${http.maxHeaderSize} bytes this server accepts.` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'request_too_large', message: 'The request\'s chunk extensions are larger than this server accepts.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', message: 'The request was not received completely in time.' };
    default: {
      const reason = typeof err.reason === 'string' && SAFE_REASON.test(err.reason) ? ` (${err.reason.replace(/\.$/, '')})` : '';
      return { status: 400, code: 'malformed_request', message: `The request is not valid HTTP/1.1${reason}: check its framing headers (Content-Length, Transfer-Encoding) and chunked encoding.` };
    }
  }
}

/** The `clientError` listener of the server; the body comes from the one error writer. */
export function createClientErrorHandler(opts: { log: Logger; errors?: ErrorWriter; generateId?: () => string }): (err: Error, socket: Duplex) => void {
  const generate = opts.generateId ?? defaultRequestId;
  const errors = opts.errors ?? createErrorWriter({ log: opts.log });
  return function plugboardClientError(err, socket) {
    const e = err as ParserError;
    // A connection the client already dropped has no one to answer (Node's default ignores it too).
    const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (e.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const requestId = generate();
    const refusal = refusalFor(e);
    const { body, headers } = errors.render(new AppError({ ...refusal, type: ErrorType.invalidRequest }), requestId, false, 'parser');
    const head = [
      `HTTP/1.1 ${refusal.status} ${http.STATUS_CODES[refusal.status] ?? 'Bad Request'}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
      `x-request-id: ${requestId}`,
    ].join('\r\n');
    opts.log.info({ requestId, status: refusal.status, code: refusal.code, parserCode: e.code }, 'malformed request refused');
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.end(`${head}\r\n\r\n${body}`, () => {
      clearTimeout(timer);
      socket.destroy();
    });
  };
}
