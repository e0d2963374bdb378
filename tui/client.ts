/**
 * The TUI's one API client and its only I/O: JSON calls to the control-panel API (bearer token and
 * `X-Org-Id` on every organisation call) and the reader of the live event stream, which reconnects
 * with bounded backoff when the stream drops. Every call takes an AbortSignal from tui/tasks.ts.
 * It must never touch the screen, read the environment or import server code (only src/shared/api.ts).
 */
import type {
  ApiErrorBody, CreatedGatewayKey, CreateKeyRequest, CreateMcpIntegrationRequest, DeletedResponse, GatewayKey, InstancePlugins,
  ListResponse, LiveEvent, McpIntegration, Me, Plugin, PluginTool, UpdateMcpIntegrationRequest, UsagePage, WhatsAppInstance,
} from '../src/shared/api.ts';
import { createSseParser } from './sse.ts';
import { isAbortError, sleep } from './tasks.ts';

/** A JSON call that takes longer is abandoned (installing an integration connects and lists its tools, so be generous). */
export const REQUEST_TIMEOUT_MS = 60_000;
/** Reconnect delays double from BASE up to MAX: a restarting server is found quickly, a dead one is not hammered. */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 15_000;
/** Consecutive failed connects before the stream gives up (about 25 minutes at the max delay); the pane says so. */
export const MAX_RECONNECT_ATTEMPTS = 100;
/** The server sends `: keep-alive` every 10 s by default; silence this long means a dead connection. */
export const STREAM_IDLE_TIMEOUT_MS = 45_000;

/** An error answer of the API (`{"error": {...}}`) or a non-JSON failure, with the HTTP status. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string | null;
  readonly type: string | null;
  readonly param: string | null;
  /** Every defect of a whole document (manifest, config) when the server lists them. */
  readonly problems: Array<{ path: string; message: string }>;
  constructor(status: number, body: Partial<ApiErrorBody['error']>, fallback: string) {
    super(body.message ?? fallback);
    this.status = status;
    this.problems = Array.isArray(body.problems) ? body.problems : [];
    this.code = body.code ?? null;
    this.type = body.type ?? null;
    this.param = body.param ?? null;
  }
}

export type StreamStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'connected' }
  | { state: 'retrying'; attempt: number; inMs: number; error: string }
  | { state: 'stopped'; error: string | null };

export interface StreamOptions {
  signal: AbortSignal;
  onEvent(event: LiveEvent): void;
  onStatus?(status: StreamStatus): void;
  /** Unparseable data and other oddities the operator may want to see in the log pane. */
  onWarning?(message: string): void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  idleTimeoutMs?: number;
}

/** The API of one organisation (every call sends `X-Org-Id`). */
export interface OrgClient {
  readonly orgId: string;
  /**
   * Any call under `/organizations/{orgId}` (`path` starts with `/`): area clients (tui/client-*.ts)
   * build their typed calls on this. `query` values that are undefined are left out.
   */
  call<T>(method: string, path: string, signal: AbortSignal, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T>;
  integrations(signal: AbortSignal): Promise<McpIntegration[]>;
  createIntegration(body: CreateMcpIntegrationRequest, signal: AbortSignal): Promise<McpIntegration>;
  updateIntegration(id: string, patch: UpdateMcpIntegrationRequest, signal: AbortSignal): Promise<McpIntegration>;
  deleteIntegration(id: string, signal: AbortSignal): Promise<DeletedResponse>;
  refreshIntegration(id: string, signal: AbortSignal): Promise<McpIntegration>;
  plugins(signal: AbortSignal): Promise<Plugin[]>;
  pluginTools(pluginId: string, signal: AbortSignal): Promise<PluginTool[]>;
  keys(signal: AbortSignal): Promise<GatewayKey[]>;
  createKey(body: CreateKeyRequest, signal: AbortSignal): Promise<CreatedGatewayKey>;
  revokeKey(id: string, signal: AbortSignal): Promise<GatewayKey>;
  usage(query: { limit?: number; cursor?: string }, signal: AbortSignal): Promise<UsagePage>;
  whatsappInstances(signal: AbortSignal): Promise<WhatsAppInstance[]>;
  instancePlugins(instanceId: string, signal: AbortSignal): Promise<InstancePlugins>;
  setInstancePlugins(instanceId: string, enabledPluginIds: string[], signal: AbortSignal): Promise<InstancePlugins>;
  /** Follows the live event stream until `signal` aborts (resolves) or it gives up (resolves after a `stopped` status). */
  streamEvents(opts: StreamOptions): Promise<void>;
}

/** Whether the server answered the last call (any HTTP answer counts) or could not be reached. */
export type Reachability = { ok: true } | { ok: false; error: string };

export interface ApiClient {
  readonly baseUrl: string;
  /** `path` is absolute from the server root (`/operator/me`); `orgId` adds the X-Org-Id header. */
  request<T>(method: string, path: string, opts: { orgId?: string; body?: unknown; signal: AbortSignal }): Promise<T>;
  /** Calls `fn` after every call that reached the server or failed to; returns the unsubscribe. */
  watch(fn: (r: Reachability) => void): () => void;
  me(signal: AbortSignal): Promise<Me>;
  forOrg(orgId: string): OrgClient;
}

export function createApiClient(opts: { url: string; token: string; requestTimeoutMs?: number }): ApiClient {
  const baseUrl = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const watchers = new Set<(r: Reachability) => void>();
  const report = (r: Reachability): void => {
    for (const w of watchers) w(r);
  };

  function headers(orgId?: string, extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${opts.token}`, ...(orgId ? { 'x-org-id': orgId } : {}), ...extra };
  }

  async function request<T>(method: string, path: string, o: { orgId?: string; body?: unknown; signal: AbortSignal }): Promise<T> {
    const signal = AbortSignal.any([o.signal, AbortSignal.timeout(timeoutMs)]);
    const init: RequestInit = { method, headers: headers(o.orgId, { accept: 'application/json' }), signal };
    if (o.body !== undefined) {
      init.body = JSON.stringify(o.body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(baseUrl + path, init);
    } catch (err) {
      // Our own cancellation says nothing about the server; a refused connection or a timeout does.
      if (!o.signal.aborted) report({ ok: false, error: reachError(err) });
      throw err;
    }
    report({ ok: true });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const err = (json as ApiErrorBody | null)?.error;
      throw new ApiError(res.status, err && typeof err === 'object' ? err : {}, `HTTP ${res.status} from ${method} ${path}`);
    }
    if (json === null) throw new ApiError(res.status, {}, `${method} ${path} answered with something other than JSON.`);
    return json as T;
  }

  /** One connection of the event stream; resolves when the server ends it, rejects on errors. */
  async function readStream(path: string, orgId: string, o: StreamOptions, onOpen: () => void, onData: () => void): Promise<void> {
    const conn = new AbortController();
    const stop = (): void => conn.abort(o.signal.reason);
    o.signal.addEventListener('abort', stop, { once: true });
    const idleMs = o.idleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    try {
      arm();
      const res = await fetch(baseUrl + path, { headers: headers(orgId, { accept: 'text/event-stream' }), signal: conn.signal });
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => '');
        let body: Partial<ApiErrorBody['error']> = {};
        try {
          body = (JSON.parse(text) as ApiErrorBody).error ?? {};
        } catch {
          body = {};
        }
        throw new ApiError(res.status, body, `HTTP ${res.status} from the event stream`);
      }
      onOpen();
      const parser = createSseParser({
        onMessage(msg) {
          try {
            o.onEvent(JSON.parse(msg.data) as LiveEvent);
          } catch {
            o.onWarning?.(`Ignored an event that is not JSON (${msg.event}).`);
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        arm();
        onData();
        parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
      }
      parser.push(decoder.decode());
    } catch (err) {
      // The idle watchdog aborts with its own reason; report that rather than a bare AbortError.
      if (conn.signal.aborted && !o.signal.aborted) throw conn.signal.reason;
      throw err;
    } finally {
      clearTimeout(idle);
      o.signal.removeEventListener('abort', stop);
    }
  }

  async function streamEvents(orgId: string, o: StreamOptions): Promise<void> {
    const path = `/organizations/${encodeURIComponent(orgId)}/events`;
    const base = o.baseDelayMs ?? RECONNECT_BASE_MS;
    const max = o.maxDelayMs ?? RECONNECT_MAX_MS;
    const maxAttempts = o.maxAttempts ?? MAX_RECONNECT_ATTEMPTS;
    let failures = 0;
    // Bounded: ends on abort, on an answer retrying cannot fix, or after maxAttempts failures in a row.
    while (!o.signal.aborted) {
      o.onStatus?.({ state: 'connecting', attempt: failures + 1 });
      let error: string;
      try {
        // Only a stream that delivers data counts as healthy: one that opens and stays silent keeps failing towards the cap.
        await readStream(path, orgId, o, () => o.onStatus?.({ state: 'connected' }), () => (failures = 0));
        error = 'the server closed the stream';
      } catch (err) {
        if (o.signal.aborted) break;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
          o.onStatus?.({ state: 'stopped', error: err.message });
          return;
        }
        error = isAbortError(err) ? 'aborted' : ((err as Error)?.message ?? String(err));
      }
      failures++;
      if (failures >= maxAttempts) {
        o.onStatus?.({ state: 'stopped', error: `gave up after ${failures} attempts: ${error}` });
        return;
      }
      const inMs = backoffDelay(failures, base, max);
      o.onStatus?.({ state: 'retrying', attempt: failures, inMs, error });
      try {
        await sleep(inMs, o.signal);
      } catch {
        break;
      }
    }
    o.onStatus?.({ state: 'stopped', error: null });
  }

  function forOrg(orgId: string): OrgClient {
    const p = `/organizations/${encodeURIComponent(orgId)}`;
    const call = <T>(method: string, path: string, signal: AbortSignal, body?: unknown): Promise<T> => request<T>(method, p + path, { orgId, body, signal });
    const id = encodeURIComponent;
    return {
      orgId,
      call: (method, path, signal, body, query) => call(method, path + queryString(query), signal, body),
      integrations: async (s) => (await call<ListResponse<McpIntegration>>('GET', '/mcp-integrations', s)).data,
      createIntegration: (body, s) => call('POST', '/mcp-integrations', s, body),
      updateIntegration: (iid, patch, s) => call('PATCH', `/mcp-integrations/${id(iid)}`, s, patch),
      deleteIntegration: (iid, s) => call('DELETE', `/mcp-integrations/${id(iid)}`, s),
      refreshIntegration: (iid, s) => call('POST', `/mcp-integrations/${id(iid)}/refresh`, s),
      plugins: async (s) => (await call<ListResponse<Plugin>>('GET', '/plugins', s)).data,
      pluginTools: async (pid, s) => (await call<ListResponse<PluginTool>>('GET', `/plugins/${id(pid)}/tools`, s)).data,
      keys: async (s) => (await call<ListResponse<GatewayKey>>('GET', '/keys', s)).data,
      createKey: (body, s) => call('POST', '/keys', s, body),
      revokeKey: (kid, s) => call('DELETE', `/keys/${id(kid)}`, s),
      usage: (q, s) => {
        const qs = new URLSearchParams();
        if (q.limit !== undefined) qs.set('limit', String(q.limit));
        if (q.cursor !== undefined) qs.set('cursor', q.cursor);
        const tail = qs.size ? `?${qs}` : '';
        return call('GET', `/usage-events${tail}`, s);
      },
      whatsappInstances: async (s) => (await call<ListResponse<WhatsAppInstance>>('GET', '/whatsapp-instances', s)).data,
      instancePlugins: (iid, s) => call('GET', `/whatsapp-instances/${id(iid)}/plugins`, s),
      setInstancePlugins: (iid, enabledPluginIds, s) => call('PUT', `/whatsapp-instances/${id(iid)}/plugins`, s, { enabledPluginIds }),
      streamEvents: (o) => streamEvents(orgId, o),
    };
  }

  const watch = (fn: (r: Reachability) => void): (() => void) => {
    watchers.add(fn);
    return () => watchers.delete(fn);
  };
  return { baseUrl, request, watch, me: (signal) => request<Me>('GET', '/me', { signal }), forOrg };
}

/** `?a=1&b=x` from the defined values (or '' when none). */
export function queryString(query?: Record<string, string | number | boolean | undefined>): string {
  if (!query) return '';
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, String(v));
  return qs.size ? `?${qs}` : '';
}

function reachError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** Delay before reconnect attempt `n` (1-based): doubling from `base`, capped at `max`. */
export function backoffDelay(n: number, base = RECONNECT_BASE_MS, max = RECONNECT_MAX_MS): number {
  return Math.min(max, base * 2 ** Math.min(Math.max(n - 1, 0), 20));
}
