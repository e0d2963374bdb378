/**
 * One MCP server connection: a warm session over Streamable HTTP or legacy SSE, tool listing across
 * every page, and tool calls that come back as outcomes the tool loop can hand to a model.
 *
 * With ./http-transport.ts (its Streamable HTTP transport), the only module that imports
 * `@modelcontextprotocol/sdk`: the SDK's `Client` speaks the protocol, over our transport for
 * Streamable HTTP and the SDK's for legacy SSE. It must never send headers
 * other than the stored credential, never fetch without the guarded `fetch` it is given, never
 * retry a call the server may have run (only a 404 on an expired session is retried, once), and
 * never let error text out unscrubbed.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { redactSecrets, scrubError, scrubText, type SecretSource } from '../../scrub.ts';
import type { FetchLike, GuardedFetch } from '../../../net/ssrf.ts';
import { McpHttpError, McpHttpTransport, McpStreamBroken, MESSAGE_MAX_BYTES } from './http-transport.ts';
import { cappedFetch } from '../../../net/capped-fetch.ts';
import { isReservedHeader } from '../../../net/reserved-headers.ts';
import { CallAborted, DeadlineExceeded, remaining, untilDeadline, withTimeout } from './deadline.ts';
import { toolResultToText } from './result-text.ts';
import { capUtf8 } from '../../../net/text.ts';
import { normaliseTool } from './tool-info.ts';
import type { McpToolInfo } from './tool-info.ts';

export type { FetchLike, GuardedFetch, McpToolInfo };

/** A server that keeps returning cursors must not hold a request forever. */
export const MAX_TOOL_LIST_PAGES = 100;
/** Servers often send several list_changed in a burst; the owner re-lists once. */
const TOOLS_CHANGED_DEBOUNCE_MS = 100;
/** DELETE of the session on close() must not hold shutdown. */
const CLOSE_TIMEOUT_MS = 2_000;
/** isError text goes through the scrubber, which caps; this keeps enough for the model to self-correct. */
const ERROR_RESULT_MAX_CHARS = 2_000;
/** Scrubbed detail kept for logs and health. */
const DETAIL_MAX_CHARS = 300;
/** Statuses at connect that mean "no Streamable HTTP here" (spec: backwards compatibility). */
const FALLBACK_STATUSES = new Set([400, 404, 405]);
const CLIENT_VERSION = '0.1.0';

export type McpTransportChoice = 'streamable_http' | 'sse' | 'auto';
type TransportKind = 'streamable_http' | 'sse';

export interface McpConnectionOptions {
  url: string;
  /** `auto`: Streamable HTTP first; on 400/404/405 at connect, legacy SSE with a new Client. */
  transport: McpTransportChoice;
  /** The stored credential headers; the only headers sent, and only to this endpoint. */
  headers: Record<string, string>;
  /** Default per-request timeout (connect and tool listing). */
  timeoutMs: number;
  /** The SSRF guard: its request function carries Streamable HTTP, its fetch the SDK's legacy SSE transport. */
  fetch: GuardedFetch;
  /** Credential values to remove from any error or result text (a list, or a redactor such as the known-secrets registry). */
  secrets: SecretSource;
  /** Called (debounced) after `notifications/tools/list_changed`, and after a lost session was re-established. */
  onToolsChanged?: () => void;
  /** Client name sent in `initialize`; default `plugboard`. */
  clientName?: string;
}

export interface McpHealth {
  transport: TransportKind | null;
  connected: boolean;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

export type McpErrorClass = 'timeout' | 'transport' | 'protocol' | 'aborted';

export type McpCallOutcome =
  | { ok: true; isError: boolean; text: string }
  | { ok: false; errorClass: McpErrorClass; message: string; detail: string };

/** Thrown by `listAllTools`; `message` is scrubbed and safe to show to an owner. */
export class McpClientError extends Error {
  override name = 'McpClientError';
  readonly errorClass: McpErrorClass;
  readonly detail: string;
  constructor(errorClass: McpErrorClass, message: string, detail: string) {
    super(message);
    this.errorClass = errorClass;
    this.detail = detail;
  }
}

interface Session {
  kind: TransportKind;
  client: Client;
  transport: McpHttpTransport | SSEClientTransport;
  /** Set (scrubbed cause) when the transport reported a dead stream: pending requests fail as transport errors. */
  broken: string | null;
  retired: boolean;
  /** Set when we began closing the client: from then on the SDK fails pending requests with ConnectionClosed. */
  closing: boolean;
  inFlight: number;
}

class ConnectionClosedLocally extends Error {}

/**
 * A lazily connected, self-healing MCP client for one server. Concurrent first calls share one
 * connect; an expired session (HTTP 404) is re-initialised and the request retried once; after a
 * transport failure the next call reconnects.
 */
export class McpConnection {
  readonly #opts: McpConnectionOptions;
  #current: Session | null = null;
  #connecting: Promise<Session> | null = null;
  #resolved: TransportKind | null = null;
  #hadSession = false;
  #closed = false;
  #debounce: NodeJS.Timeout | undefined;
  #health = { lastSuccessAt: null as number | null, lastError: null as string | null, lastErrorAt: null as number | null };

  constructor(opts: McpConnectionOptions) {
    const headers = Object.fromEntries(Object.entries(opts.headers).filter(([name]) => !isReservedHeader(name)));
    this.#opts = { ...opts, headers, secrets: Array.isArray(opts.secrets) ? [...opts.secrets] : opts.secrets };
  }

  /** The transport that worked, once connected. */
  get resolvedTransport(): TransportKind | null {
    return this.#resolved;
  }

  health(): McpHealth {
    return { transport: this.#resolved, connected: this.#current !== null, ...this.#health };
  }

  /**
   * Connects if needed and lists every tool, following `nextCursor` to the end (at most
   * MAX_TOOL_LIST_PAGES pages, within `timeoutMs` overall). Throws McpClientError.
   */
  async listAllTools(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<McpToolInfo[]> {
    const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    try {
      const tools = await this.#withSession(deadline, opts.signal, (s) => this.#listPages(s, deadline, opts.signal));
      this.#health.lastSuccessAt = Date.now();
      return tools;
    } catch (failure) {
      const out = this.#failure(failure, opts.signal, timeoutMs);
      throw new McpClientError(out.errorClass, out.message, out.detail);
    }
  }

  /** Calls one tool; never throws. Result text is converted, secret-redacted and capped at `maxResultBytes`. */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    opts: { timeoutMs: number; signal?: AbortSignal; maxResultBytes: number },
  ): Promise<McpCallOutcome> {
    const deadline = Date.now() + opts.timeoutMs;
    try {
      const result = await this.#withSession(deadline, opts.signal, (s) => {
        const left = remaining(deadline);
        return s.client.callTool({ name, arguments: args }, undefined, { timeout: left, maxTotalTimeout: left, signal: opts.signal });
      });
      this.#health.lastSuccessAt = Date.now();
      const { text, isError } = toolResultToText(result, Number.POSITIVE_INFINITY);
      const safe = isError ? scrubText(text, { secrets: this.#opts.secrets, maxLength: ERROR_RESULT_MAX_CHARS }) : redactSecrets(text, this.#opts.secrets);
      return { ok: true, isError, text: capUtf8(safe || '(no output)', opts.maxResultBytes) };
    } catch (failure) {
      return this.#failure(failure, opts.signal, opts.timeoutMs);
    }
  }

  /** Ends the session (DELETE for Streamable HTTP; 405 is fine) and closes the client. Later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#debounce);
    const session = this.#current;
    this.#current = null;
    const connecting = this.#connecting;
    if (session) await this.#dispose(session, true);
    if (connecting) await withTimeout(connecting.then(() => undefined, () => undefined), CLOSE_TIMEOUT_MS);
  }

  /** `await using conn = new McpConnection(…)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #listPages(s: Session, deadline: number, signal: AbortSignal | undefined): Promise<McpToolInfo[]> {
    const byName = new Map<string, McpToolInfo>();
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_LIST_PAGES; page++) {
      const left = remaining(deadline);
      const res = await s.client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: left, maxTotalTimeout: left, signal });
      for (const tool of res.tools) if (!byName.has(tool.name)) byName.set(tool.name, normaliseTool(tool));
      cursor = res.nextCursor;
      if (cursor === undefined) return [...byName.values()];
      if (seenCursors.has(cursor)) break;
      seenCursors.add(cursor);
    }
    this.#recordError(`tool list cut short: more than ${MAX_TOOL_LIST_PAGES} pages or a repeating cursor`);
    return [...byName.values()];
  }

  /** Runs `fn` on a live session; on a 404 for an expired session, re-initialises and runs it once more. */
  async #withSession<T>(deadline: number, signal: AbortSignal | undefined, fn: (s: Session) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#session(deadline, signal);
      session.inFlight++;
      try {
        return await fn(session);
      } catch (err) {
        if (attempt === 0 && isSessionExpired(err, session)) {
          this.#retire(session, false);
          continue;
        }
        // Remember whether the stream broke, or we closed the session, first (then `err` is only the echo of that).
        const failure: Failure = { err, brokenBy: session.broken, closed: session.closing };
        if (classify(failure, signal) === 'transport') this.#markBroken(session, err);
        throw failure;
      } finally {
        session.inFlight--;
        if (session.retired && session.inFlight === 0) void this.#dispose(session, false);
      }
    }
  }

  async #session(deadline: number, signal: AbortSignal | undefined): Promise<Session> {
    if (this.#closed) throw new ConnectionClosedLocally('The MCP connection is closed.');
    if (this.#current && !this.#current.retired) return this.#current;
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return untilDeadline(this.#connecting, deadline, signal);
  }

  async #connect(): Promise<Session> {
    const choice = this.#opts.transport;
    const order: TransportKind[] =
      choice !== 'auto' ? [choice] : this.#resolved === 'sse' ? ['sse', 'streamable_http'] : ['streamable_http', 'sse'];
    for (let i = 0; ; i++) {
      try {
        const session = await this.#open(order[i]);
        if (this.#closed) {
          await this.#dispose(session, true);
          throw new ConnectionClosedLocally('The MCP connection is closed.');
        }
        this.#resolved = order[i];
        this.#current = session;
        // Notifications sent while we had no session are lost: let the owner re-list.
        if (this.#hadSession) this.#scheduleToolsChanged();
        this.#hadSession = true;
        return session;
      } catch (err) {
        const fallback = i + 1 < order.length && (err instanceof McpHttpError || err instanceof SseError) && FALLBACK_STATUSES.has(err.code ?? 0);
        if (!fallback) {
          this.#recordError(scrubError(err, this.#opts.secrets, DETAIL_MAX_CHARS));
          throw err;
        }
      }
    }
  }

  async #open(kind: TransportKind): Promise<Session> {
    const client = new Client({ name: this.#opts.clientName ?? 'plugboard', version: CLIENT_VERSION }, { capabilities: {} });
    const url = new URL(this.#opts.url);
    const requestInit: RequestInit = { headers: { ...this.#opts.headers }, redirect: 'error' };
    const transport =
      kind === 'streamable_http'
        ? new McpHttpTransport(url, { request: this.#opts.fetch.request, headers: this.#opts.headers })
        : new SSEClientTransport(url, { requestInit, fetch: cappedFetch(this.#opts.fetch, { maxBodyBytes: MESSAGE_MAX_BYTES, maxEventBytes: MESSAGE_MAX_BYTES }) });
    const session: Session = { kind, client, transport, broken: null, retired: false, closing: false, inFlight: 0 };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (!session.retired) this.#scheduleToolsChanged();
    });
    client.onerror = (err) => {
      if (isStreamBreak(err)) this.#markBroken(session, err);
    };
    client.onclose = () => this.#markBroken(session, new Error('The MCP transport closed.'));
    try {
      await client.connect(transport, { timeout: this.#opts.timeoutMs, maxTotalTimeout: this.#opts.timeoutMs });
    } catch (err) {
      session.retired = true;
      session.closing = true;
      await client.close().catch(() => undefined);
      throw err;
    }
    return session;
  }

  /** The live session's stream died: fail its pending requests now and reconnect on the next call. */
  #markBroken(session: Session, err: unknown): void {
    if (session.retired || this.#current !== session) return;
    session.broken = scrubError(err, this.#opts.secrets, DETAIL_MAX_CHARS);
    this.#recordError(session.broken);
    this.#retire(session, true);
  }

  /** Stops handing out `session`; closes it now, or (expired) once its other requests settle. */
  #retire(session: Session, now: boolean): void {
    session.retired = true;
    if (this.#current === session) this.#current = null;
    // Deferred: transports report errors before they schedule their own reconnect timer, and
    // closing after that lets close() clear the timer instead of leaving it behind.
    if (now || session.inFlight === 0) queueMicrotask(() => void this.#dispose(session, false));
  }

  async #dispose(session: Session, terminate: boolean): Promise<void> {
    session.retired = true;
    session.closing = true;
    if (terminate && session.transport instanceof McpHttpTransport) {
      await withTimeout(session.transport.terminateSession().catch(() => undefined), CLOSE_TIMEOUT_MS);
    }
    await session.client.close().catch(() => undefined);
  }

  #scheduleToolsChanged(): void {
    const callback = this.#opts.onToolsChanged;
    if (!callback || this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      try {
        callback();
      } catch {
        // The owner's callback failing must not break the connection.
      }
    }, TOOLS_CHANGED_DEBOUNCE_MS);
  }

  #recordError(message: string): void {
    this.#health.lastError = message;
    this.#health.lastErrorAt = Date.now();
  }

  /** Maps any failure to an outcome with a model-safe message and a scrubbed detail; records health. */
  #failure(failure: unknown, signal: AbortSignal | undefined, timeoutMs: number): Extract<McpCallOutcome, { ok: false }> {
    const err = isWrapped(failure) ? failure.err : failure;
    const errorClass = classify(failure, signal);
    const brokenBy = isWrapped(failure) ? failure.brokenBy : null;
    const status = httpStatus(err);
    const detail = brokenBy ?? scrubError(status ? `HTTP ${status}: ${errorMessage(err)}` : err, this.#opts.secrets, DETAIL_MAX_CHARS);
    let message: string;
    switch (errorClass) {
      case 'aborted':
        message = 'The tool call was cancelled before it finished.';
        break;
      case 'timeout':
        message = `The tool did not answer within ${timeoutMs} ms.`;
        this.#recordError(message);
        break;
      case 'protocol':
        message = `The MCP server rejected the request (${protocolReason(err)}).`;
        this.#health.lastSuccessAt = Date.now(); // it answered: the connection itself is fine
        break;
      default:
        if (err instanceof ConnectionClosedLocally) message = err.message;
        else if (status === 401 || status === 403) message = credentialRefusal(status, Object.keys(this.#opts.headers).length > 0);
        else if (brokenBy) message = `The connection to the MCP server broke during the call: ${detail}`;
        else message = `The MCP server could not be reached: ${detail}`;
        this.#recordError(detail);
    }
    return { ok: false, errorClass, message, detail };
  }
}

/** An error from a request on a session, with the stream failure that preceded it, if any. */
interface Failure {
  err: unknown;
  brokenBy: string | null;
  /** The session was being closed (by us, or after its transport closed) when the request failed. */
  closed: boolean;
}

function isWrapped(value: unknown): value is Failure {
  return !!value && typeof value === 'object' && 'err' in value && 'brokenBy' in value && 'closed' in value;
}

function classify(failure: unknown, signal: AbortSignal | undefined): McpErrorClass {
  const err = isWrapped(failure) ? failure.err : failure;
  if (err instanceof CallAborted || signal?.aborted) return 'aborted';
  if (err instanceof DeadlineExceeded) return 'timeout';
  if (isWrapped(failure) && failure.brokenBy) return 'transport';
  if (err instanceof McpError) {
    if (err.code === ErrorCode.RequestTimeout) return 'timeout';
    // The SDK fails pending requests with ConnectionClosed once the client closes; a server may send
    // the same JSON-RPC code (-32000) itself, which is a protocol answer. Told apart by our own state.
    if (err.code === ErrorCode.ConnectionClosed && isWrapped(failure) && failure.closed) return 'transport';
    return 'protocol';
  }
  // A result that does not match the MCP schema (zod) is the server's fault, not the network's.
  if (err instanceof Error && /ZodError/.test(err.name)) return 'protocol';
  return 'transport';
}

function protocolReason(err: unknown): string {
  if (!(err instanceof McpError)) return 'malformed response';
  const names: Record<number, string> = {
    [ErrorCode.InvalidParams]: 'invalid params',
    [ErrorCode.MethodNotFound]: 'method not found',
    [ErrorCode.InternalError]: 'internal error',
    [ErrorCode.InvalidRequest]: 'invalid request',
    [ErrorCode.ParseError]: 'parse error',
  };
  return `JSON-RPC error ${err.code}${names[err.code] ? ` ${names[err.code]}` : ''}`;
}

/** The HTTP status behind a transport error, if there was one. */
function httpStatus(err: unknown): number | undefined {
  const code = err instanceof McpHttpError || err instanceof SseError ? err.code : undefined;
  return typeof code === 'number' && code >= 100 ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** HTTP 404 on a request that carried a session id: the server forgot the session. */
function isSessionExpired(err: unknown, session: Session): boolean {
  return (
    err instanceof McpHttpError &&
    err.code === 404 &&
    session.transport instanceof McpHttpTransport &&
    session.transport.sessionId !== undefined
  );
}

/**
 * Transport errors that mean the session's stream is gone: our Streamable HTTP transport's typed
 * break (a POST's response stream or the GET stream ended, broke, or could not be resumed), and the
 * SDK's legacy SSE transport's SseError. Classes only: never a match on message text.
 */
function isStreamBreak(err: unknown): boolean {
  return err instanceof McpStreamBroken || err instanceof SseError;
}

/** A 401/403 worded by whether the integration has a credential to refuse. */
export function credentialRefusal(status: number, hasCredential: boolean): string {
  if (hasCredential) return `The MCP server refused the stored credential (HTTP ${status}).`;
  return status === 401
    ? 'The MCP server requires authentication (HTTP 401), and this integration has no credential stored: add one to the integration.'
    : 'The MCP server refused the request (HTTP 403), and this integration has no credential stored: add one to the integration if the server needs it.';
}
