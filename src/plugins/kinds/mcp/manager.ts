/**
 * MCP installations as plugins: one warm McpConnection per installation, rebuilt when the
 * endpoint, transport or credential changes; catalog refresh (every page) on install, on request
 * and on `notifications/tools/list_changed`; health recorded (throttled) for the operator.
 * Credentials are opened here and sent only to the endpoint they were stored for.
 */
import type { Logger } from '../../../log.ts';
import type { CatalogTool } from '../../../storage/repos/plugin-installations.ts';
import type { Credential, McpInstallation as Installation, McpInstallationsRepo } from './settings.ts';
import { prefixToolNames } from '../../naming.ts';
import { createGuardedFetch, type NetworkPolicy } from '../../../net/ssrf.ts';
import { redactSecrets, scrubText } from '../../scrub.ts';
import { NO_SECRETS, type Redactor } from '../../../storage/known-secrets.ts';
import type { PluginHandle, ToolCallContext, ToolOutcome } from '../../types.ts';
import { McpConnection, McpClientError } from './client.ts';

/** Health successes are written at most this often per installation (errors always). */
const HEALTH_WRITE_INTERVAL_MS = 5_000;

export interface McpManagerDeps {
  installations: McpInstallationsRepo;
  policy: NetworkPolicy;
  log: Logger;
  defaultTimeoutMs: number;
  maxResultBytes: number;
  /** The appliance's known secrets: removed from every error, result and health text besides the connection's own credential. */
  secrets?: Redactor;
}

interface Entry {
  fingerprint: string;
  conn: McpConnection;
  lastHealthWrite: number;
  /** Tool calls running on this connection; a replaced connection closes when they are done. */
  inFlight: number;
  retired: boolean;
}

function credentialHeaders(c: Credential | null): { headers: Record<string, string>; secrets: string[] } {
  if (!c) return { headers: {}, secrets: [] };
  if (c.type === 'bearer') return { headers: { authorization: `Bearer ${c.token}` }, secrets: [c.token] };
  return { headers: { [c.name]: c.value }, secrets: [c.value] };
}

/** The schema with every known secret removed from its text (still valid JSON: a redaction replaces a whole JSON-escaped form). */
function redactSchema<T>(schema: T, known: Redactor): T {
  const text = JSON.stringify(schema);
  const clean = known.redact(text);
  if (clean === text) return schema;
  try {
    return JSON.parse(clean) as T;
  } catch {
    return { type: 'object' } as T;
  }
}

export function createMcpManager(deps: McpManagerDeps) {
  const known = deps.secrets ?? NO_SECRETS;
  const entries = new Map<string, Entry>();
  const guardedFetch = createGuardedFetch(deps.policy);
  const refreshing = new Map<string, Promise<Installation>>();

  // Only what changes the connection itself: catalog saves and cosmetic edits must not drop a warm session.
  const fingerprintOf = (i: Installation): string => `${i.url}|${i.transport}|${i.timeoutMs}|${i.credentialVersion}|${i.credentialHeaderName}`;

  function retire(e: Entry): void {
    e.retired = true;
    if (e.inFlight === 0) void e.conn.close().catch(() => undefined);
  }

  function entryFor(inst: Installation): Entry {
    const fp = fingerprintOf(inst);
    const cur = entries.get(inst.id);
    if (cur && cur.fingerprint === fp) return cur;
    if (cur) retire(cur);
    const { headers, secrets: own } = credentialHeaders(deps.installations.credential(inst.orgId, inst.id));
    // The registry knows the credential too (the box registered it when it was opened); the list also
    // covers values too short for the registry.
    const secrets: Redactor = { redact: (text) => redactSecrets(known.redact(text), own) };
    const conn = new McpConnection({
      url: inst.url,
      transport: inst.resolvedTransport ?? inst.transport,
      headers,
      secrets,
      timeoutMs: inst.timeoutMs ?? deps.defaultTimeoutMs,
      fetch: guardedFetch,
      onToolsChanged: () => {
        const latest = deps.installations.get(inst.orgId, inst.id);
        if (latest && latest.status === 'active') {
          refresh(latest).catch((err: unknown) => deps.log.warn({ installationId: inst.id, err: { message: (err as Error).message } }, 'tool list refresh failed'));
        }
      },
    });
    const entry: Entry = { fingerprint: fp, conn, lastHealthWrite: 0, inFlight: 0, retired: false };
    entries.set(inst.id, entry);
    return entry;
  }

  function connectionFor(inst: Installation): McpConnection {
    return entryFor(inst).conn;
  }

  /** Re-lists every page of tools and stores the catalog; throws McpClientError when the server fails. */
  function refresh(inst: Installation): Promise<Installation> {
    const running = refreshing.get(inst.id);
    if (running) return running;
    const p = (async () => {
      const conn = connectionFor(inst);
      try {
        const tools = await conn.listAllTools();
        const { named, skipped } = prefixToolNames(inst.slug, tools.map((t) => t.name));
        const byName = new Map(tools.map((t) => [t.name, t]));
        const catalog: CatalogTool[] = named.map((n) => {
          const t = byName.get(n.name)!;
          // Descriptions and schemas are the server's text, shown to members and the model: no known secret in them.
          const inputSchema = redactSchema(t.inputSchema, known);
          return { name: t.name, prefixedName: n.prefixedName, description: known.redact(t.description ?? ''), inputSchema, ...(t.annotations ? { annotations: t.annotations } : {}) };
        });
        deps.installations.saveCatalog(inst.orgId, inst.id, { tools: catalog, skipped, transport: conn.resolvedTransport });
        deps.installations.recordHealth(inst.orgId, inst.id, { successAt: Date.now(), error: null, errorAt: null });
        return deps.installations.get(inst.orgId, inst.id)!;
      } catch (err) {
        const message = err instanceof McpClientError ? err.message : scrubText((err as Error)?.message ?? String(err), { secrets: known });
        deps.installations.recordHealth(inst.orgId, inst.id, { error: message, errorAt: Date.now() });
        throw err instanceof McpClientError ? err : new McpClientError('transport', message, message);
      } finally {
        refreshing.delete(inst.id);
      }
    })();
    refreshing.set(inst.id, p);
    return p;
  }

  function noteHealth(inst: Installation, ok: boolean, error: string | null): void {
    const e = entries.get(inst.id);
    const now = Date.now();
    if (ok) {
      if (!e || now - e.lastHealthWrite < HEALTH_WRITE_INTERVAL_MS) return;
      e.lastHealthWrite = now;
      deps.installations.recordHealth(inst.orgId, inst.id, { successAt: now, error: null, errorAt: null });
    } else {
      if (e) e.lastHealthWrite = 0;
      deps.installations.recordHealth(inst.orgId, inst.id, { error, errorAt: now });
    }
  }

  function handle(inst: Installation): PluginHandle {
    return {
      id: inst.id,
      kind: 'mcp',
      slug: inst.slug,
      displayName: inst.displayName,
      description: inst.description,
      tools: () => inst.catalog.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations })),
      async call(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
        const entry = entryFor(inst);
        entry.inFlight++;
        let out;
        try {
          out = await entry.conn.callTool(tool, args, { timeoutMs: inst.timeoutMs ?? ctx.timeoutMs, signal: ctx.signal, maxResultBytes: deps.maxResultBytes });
        } finally {
          entry.inFlight--;
          if (entry.retired && entry.inFlight === 0) void entry.conn.close().catch(() => undefined);
        }
        if (out.ok) {
          noteHealth(inst, true, null);
          return { isError: out.isError, text: out.text, errorClass: out.isError ? 'tool_error' : undefined };
        }
        if (out.errorClass !== 'aborted' && out.errorClass !== 'protocol') noteHealth(inst, false, out.message);
        return { isError: true, text: out.message, errorClass: out.errorClass };
      },
    };
  }

  return {
    refresh,
    handle,
    /** Health as the live connection sees it (falls back to what is stored). */
    health(inst: Installation) {
      const live = entries.get(inst.id)?.conn.health();
      return {
        transport: live?.transport ?? inst.resolvedTransport,
        connected: live?.connected ?? false,
        lastSuccessAt: Math.max(live?.lastSuccessAt ?? 0, inst.lastSuccessAt ?? 0) || null,
        lastError: inst.lastError,
        lastErrorAt: inst.lastErrorAt,
      };
    },
    async drop(installationId: string): Promise<void> {
      const e = entries.get(installationId);
      entries.delete(installationId);
      if (e) retire(e);
    },
    async closeAll(): Promise<void> {
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(all.map((e) => e.conn.close().catch(() => undefined)));
    },
  };
}
export type McpManager = ReturnType<typeof createMcpManager>;
