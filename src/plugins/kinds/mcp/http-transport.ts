/**
 * The MCP Streamable HTTP client transport (spec 2025-03-26 and later), on undici's request API.
 *
 * Behaves like the SDK 1.x `StreamableHTTPClientTransport` the `Client` is used with elsewhere —
 * POST per message with `Accept: application/json, text/event-stream`, `Mcp-Session-Id` taken from
 * the answers and sent back, `Mcp-Protocol-Version` after initialisation, JSON or SSE answers, the
 * standalone GET stream opened after `notifications/initialized` (405: none), resumption with
 * `Last-Event-ID` when a stream that carried event ids ends before its answer, DELETE to end the
 * session — but without `fetch` and web streams: through the SDK's transport on its default fetch
 * the tool call was a fifth of the gateway's CPU on the tool-loop benchmark, most of it undici's
 * fetch layers and the `TextDecoderStream` → `EventSourceParserStream` pipeline per answer.
 *
 * Every request goes through the SSRF guard's request function (addresses checked at connect
 * time, redirects never followed: a 3xx is an error). Only the stored credential headers are
 * added. Messages are handed to the `Client`, which checks their JSON-RPC shape itself.
 * The server is untrusted: error bodies are read up to ERROR_BODY_MAX_BYTES, a JSON answer up to
 * MESSAGE_MAX_BYTES, and one SSE event (or line) up to MESSAGE_MAX_BYTES characters; beyond that the
 * request or stream fails with an error that says so, and an oversize stream is not resumed.
 */
import type { Dispatcher } from 'undici';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { GuardedRequest } from '../../../net/ssrf.ts';
import { SseEventParser, SseLimitError } from '../../../net/sse-events.ts';

/** An HTTP status the server answered with (`code`), or -1 for an answer of the wrong type. */
export class McpHttpError extends Error {
  override name = 'McpHttpError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(`Streamable HTTP error: ${message}`);
    this.code = code;
  }
}

/** Why a stream is gone: it ended or broke before its answer, a resume failed, or resumes ran out. */
export type McpStreamBreakReason = 'disconnected' | 'reconnect_failed' | 'reconnect_exhausted';

/**
 * The session's event stream is gone (reported through `onerror`): the client fails the requests
 * waiting on it as transport errors and reconnects on the next call. Typed, so the client never
 * has to recognise a break by its message.
 */
export class McpStreamBroken extends Error {
  override name = 'McpStreamBroken';
  readonly reason: McpStreamBreakReason;
  constructor(reason: McpStreamBreakReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Same schedule as the SDK's transport: 1 s, then ×1.5, at most 30 s, two attempts. */
const RECONNECT = { initialMs: 1_000, maxMs: 30_000, factor: 1.5, maxRetries: 2 };
/** Some gateways and WAFs in front of MCP servers refuse requests without one. */
const USER_AGENT = 'plugboard-mcp-client';
/** Error bodies are only quoted (then scrubbed by the client): read this much of them. */
const ERROR_BODY_MAX_BYTES = 4_096;
/**
 * Largest JSON-RPC message read (a JSON answer, or one SSE event in characters). Tool results are cut
 * to PLUGBOARD_TOOL_RESULT_MAX_BYTES later, but the raw message may carry images: generous, yet bounded.
 */
export const MESSAGE_MAX_BYTES = 16 * 1024 * 1024;

interface StreamOptions {
  resumptionToken?: string;
  onresumptiontoken?: (token: string) => void;
  /** A resumed stream answers the original request: its response gets this id back. */
  replayMessageId?: RequestId;
}

type Body = Dispatcher.ResponseData['body'];

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
}

/** Discards a body without holding the connection (undici: drains a little, else destroys). */
function discard(body: Body): void {
  body.dump().catch(() => undefined);
}

/** Reads a whole answer of at most `max` bytes; a longer one is refused (McpHttpError -1) without buffering the rest. */
async function readAll(body: Body, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      if (!body.destroyed) body.destroy();
      throw new McpHttpError(-1, `the MCP server sent a message larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readCapped(body: Body, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) break;
    }
  } catch {
    // The status is what matters; a body that broke off is quoted as far as it came.
  }
  if (!body.destroyed) body.destroy();
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

// Structural checks only: the SDK's zod guards (isJSONRPCRequest, …) would parse every message
// once more, and its Client validates each message's shape itself.
function isRequest(m: JSONRPCMessage): boolean {
  return 'method' in m && 'id' in m && m.id !== undefined;
}

function isResponse(m: unknown): m is { id: RequestId } {
  return !!m && typeof m === 'object' && 'id' in m && ('result' in m || 'error' in m) && !('method' in m);
}

export interface McpHttpTransportOptions {
  /** The guarded request function (SSRF checks, no redirects). */
  request: GuardedRequest;
  /** The stored credential headers; nothing else of the caller's is ever sent. */
  headers: Record<string, string>;
}

export class McpHttpTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #url: URL;
  readonly #request: GuardedRequest;
  readonly #headers: Record<string, string>;
  #abort: AbortController | undefined;
  #sessionId: string | undefined;
  #protocolVersion: string | undefined;
  #serverRetryMs: number | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(url: URL, opts: McpHttpTransportOptions) {
    this.#url = url;
    this.#request = opts.request;
    this.#headers = { ...opts.headers };
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  async start(): Promise<void> {
    if (this.#abort) throw new Error('McpHttpTransport already started.');
    this.#abort = new AbortController();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#abort?.abort();
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    try {
      if (options?.resumptionToken) {
        const replayMessageId = isRequest(message) ? (message as { id: RequestId }).id : undefined;
        this.#openStream({ resumptionToken: options.resumptionToken, onresumptiontoken: options.onresumptiontoken, replayMessageId }).catch((err: unknown) => this.#error(err));
        return;
      }
      const headers = this.#common();
      headers['content-type'] = 'application/json';
      headers.accept = 'application/json, text/event-stream';
      const res = await this.#request(this.#url, { method: 'POST', headers, body: JSON.stringify(message), signal: this.#abort?.signal });
      const body = res.body;
      const sessionId = header(res.headers, 'mcp-session-id');
      if (sessionId) this.#sessionId = sessionId;
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const text = res.statusCode >= 300 && res.statusCode < 400 ? this.#redirectText(res.headers) : await readCapped(body, ERROR_BODY_MAX_BYTES);
        if (res.statusCode < 400) discard(body);
        throw new McpHttpError(res.statusCode, `Error POSTing to endpoint: ${text}`);
      }
      if (res.statusCode === 202) {
        discard(body);
        if ('method' in message && message.method === 'notifications/initialized' && !('id' in message)) {
          this.#openStream({}).catch((err: unknown) => this.#error(err));
        }
        return;
      }
      const messages = Array.isArray(message) ? (message as JSONRPCMessage[]) : [message];
      if (!messages.some(isRequest)) {
        discard(body);
        return;
      }
      const type = mediaType(header(res.headers, 'content-type'));
      if (type === 'text/event-stream') {
        this.#readStream(body, { onresumptiontoken: options?.onresumptiontoken }, false);
      } else if (type === 'application/json') {
        const data = JSON.parse(await readAll(body, MESSAGE_MAX_BYTES)) as unknown;
        for (const msg of Array.isArray(data) ? data : [data]) this.onmessage?.(msg as JSONRPCMessage);
      } else {
        discard(body);
        throw new McpHttpError(-1, `Unexpected content type: ${type || '(none)'}`);
      }
    } catch (err) {
      this.#error(err);
      throw err;
    }
  }

  /**
   * Ends the session with DELETE (405: the server does not end sessions on request, which is fine).
   */
  async terminateSession(): Promise<void> {
    if (!this.#sessionId) return;
    try {
      const res = await this.#request(this.#url, { method: 'DELETE', headers: this.#common(), signal: this.#abort?.signal });
      discard(res.body);
      if ((res.statusCode < 200 || res.statusCode >= 300) && res.statusCode !== 405) {
        throw new McpHttpError(res.statusCode, `Failed to terminate session: HTTP ${res.statusCode}`);
      }
      this.#sessionId = undefined;
    } catch (err) {
      this.#error(err);
      throw err;
    }
  }

  #common(): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': USER_AGENT, ...this.#headers };
    if (this.#sessionId) h['mcp-session-id'] = this.#sessionId;
    if (this.#protocolVersion) h['mcp-protocol-version'] = this.#protocolVersion;
    return h;
  }

  #redirectText(headers: Record<string, string | string[] | undefined>): string {
    const location = header(headers, 'location');
    return `the server answered with a redirect${location ? ` to ${location}` : ''}, and redirects are not followed`;
  }

  #error(err: unknown): void {
    if (this.#closed) return;
    this.onerror?.(err instanceof Error ? err : new Error(String(err)));
  }

  /** Opens (or resumes) the GET stream for server-initiated messages; 405 means the server has none. */
  async #openStream(opts: StreamOptions): Promise<void> {
    const headers = this.#common();
    headers.accept = 'text/event-stream';
    if (opts.resumptionToken) headers['last-event-id'] = opts.resumptionToken;
    const res = await this.#request(this.#url, { method: 'GET', headers, signal: this.#abort?.signal });
    const body = res.body;
    if (res.statusCode === 405) {
      discard(body);
      return;
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      discard(body);
      throw new McpHttpError(res.statusCode, `Failed to open SSE stream: HTTP ${res.statusCode}`);
    }
    this.#readStream(body, opts, true);
  }

  /**
   * Reads an SSE body, handing each message to the client. A stream that ends (or breaks) before it
   * carried its answer is resumed with GET + `Last-Event-ID` when it can be: the standalone stream
   * always, a POST's stream when the server gave its events ids.
   */
  #readStream(body: Body, opts: StreamOptions, reconnectable: boolean): void {
    let lastEventId: string | undefined;
    let answered = false;
    let settled = false;
    /** Set when the server sent an event over the cap: resuming would replay it, so the stream is not resumed. */
    let oversize = false;
    const parser = new SseEventParser(
      (ev) => {
        if (ev.id !== undefined) {
          lastEventId = ev.id;
          opts.onresumptiontoken?.(ev.id);
        }
        if (!ev.data || (ev.event !== undefined && ev.event !== 'message')) return;
        let msg: unknown;
        try {
          msg = JSON.parse(ev.data);
        } catch (err) {
          this.#error(err);
          return;
        }
        if (isResponse(msg)) {
          answered = true;
          if (opts.replayMessageId !== undefined) msg.id = opts.replayMessageId;
        }
        this.onmessage?.(msg as JSONRPCMessage);
      },
      (ms) => {
        this.#serverRetryMs = ms;
      },
      { maxEventChars: MESSAGE_MAX_BYTES },
    );
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      if (this.#closed) return;
      if (err) this.#error(new McpStreamBroken('disconnected', `SSE stream disconnected: ${err instanceof Error ? err.message : String(err)}`));
      if ((reconnectable || lastEventId !== undefined) && !answered && !oversize) {
        this.#scheduleReconnect({ resumptionToken: lastEventId, onresumptiontoken: opts.onresumptiontoken, replayMessageId: opts.replayMessageId }, 0);
      }
    };
    body.setEncoding('utf8');
    body.on('data', (text: string) => {
      if (oversize) return;
      try {
        parser.push(text);
      } catch (err) {
        if (!(err instanceof SseLimitError)) throw err;
        oversize = true;
        finish(new Error(`the MCP server sent an event longer than ${err.limit} characters`));
        body.destroy();
      }
    });
    body.once('end', () => finish(null));
    body.once('error', (err: Error) => finish(err));
    body.once('close', () => {
      if (!body.readableEnded) finish(new Error('the connection closed'));
    });
  }

  #scheduleReconnect(opts: StreamOptions, attempt: number): void {
    if (this.#closed) return;
    if (attempt >= RECONNECT.maxRetries) {
      this.#error(new McpStreamBroken('reconnect_exhausted', `Maximum reconnection attempts (${RECONNECT.maxRetries}) exceeded.`));
      return;
    }
    const delay = this.#serverRetryMs ?? Math.min(RECONNECT.initialMs * RECONNECT.factor ** attempt, RECONNECT.maxMs);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#openStream(opts).catch((err: unknown) => {
        this.#error(new McpStreamBroken('reconnect_failed', `Failed to reconnect SSE stream: ${err instanceof Error ? err.message : String(err)}`));
        this.#scheduleReconnect(opts, attempt + 1);
      });
    }, delay);
  }
}
