/**
 * Plugin installations (MCP servers now, HTTP manifest plugins later) and their cached catalogs.
 * Every query is scoped by organisation; the credential is stored sealed and only the runtime
 * opens it, for the endpoint it was stored for.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import type { SecretBox } from '../secret-box.ts';
import { createConfigVersion, createVersionedCache } from '../config-version.ts';

export type Transport = 'streamable_http' | 'sse' | 'auto';
export type Credential = { type: 'bearer'; token: string } | { type: 'header'; name: string; value: string };

export interface CatalogTool {
  name: string;
  prefixedName: string;
  description: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface Installation {
  id: string;
  orgId: string;
  kind: 'mcp' | 'http';
  slug: string;
  displayName: string;
  description: string;
  url: string;
  transport: Transport;
  resolvedTransport: 'streamable_http' | 'sse' | null;
  credentialType: 'bearer' | 'header' | null;
  credentialHeaderName: string | null;
  /** Changes whenever the stored credential changes (a hash of its ciphertext); never the credential. */
  credentialVersion: string | null;
  timeoutMs: number | null;
  toolAllowlist: string[] | null;
  toolRateLimits: Record<string, { points: number; durationSeconds: number }>;
  status: 'active' | 'disabled';
  catalog: CatalogTool[];
  skippedTools: Array<{ name: string; reason: string }>;
  catalogFetchedAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string; org_id: string; kind: 'mcp' | 'http'; slug: string; display_name: string; description: string; url: string;
  transport: Transport; resolved_transport: 'streamable_http' | 'sse' | null; credential_type: 'bearer' | 'header' | null;
  credential_header_name: string | null; credential_sealed: string | null; timeout_ms: number | null; tool_allowlist: string | null;
  tool_rate_limits: string; status: 'active' | 'disabled'; catalog: string; skipped_tools: string; catalog_fetched_at: number | null;
  last_success_at: number | null; last_error: string | null; last_error_at: number | null; created_at: number; updated_at: number;
}

const toInstallation = (r: Row): Installation => ({
  id: r.id, orgId: r.org_id, kind: r.kind, slug: r.slug, displayName: r.display_name, description: r.description, url: r.url,
  transport: r.transport, resolvedTransport: r.resolved_transport, credentialType: r.credential_type, credentialHeaderName: r.credential_header_name,
  credentialVersion: r.credential_sealed ? crypto.createHash('sha256').update(r.credential_sealed).digest('hex').slice(0, 16) : null,
  timeoutMs: r.timeout_ms, toolAllowlist: r.tool_allowlist === null ? null : (JSON.parse(r.tool_allowlist) as string[]),
  toolRateLimits: JSON.parse(r.tool_rate_limits) as Installation['toolRateLimits'], status: r.status,
  catalog: JSON.parse(r.catalog) as CatalogTool[], skippedTools: JSON.parse(r.skipped_tools) as Installation['skippedTools'],
  catalogFetchedAt: r.catalog_fetched_at, lastSuccessAt: r.last_success_at, lastError: r.last_error, lastErrorAt: r.last_error_at,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export interface NewInstallation {
  slug: string;
  displayName: string;
  description: string;
  url: string;
  transport: Transport;
  credential: Credential | null;
  timeoutMs: number | null;
  toolAllowlist: string[] | null;
  toolRateLimits: Installation['toolRateLimits'];
}

const aad = (orgId: string, id: string): string => `plugin_installations|credential_sealed|${orgId}|${id}`;

export function createInstallationsRepo(db: Db, box: SecretBox) {
  const stmts = {
    insert: db.prepare(
      `INSERT INTO plugin_installations (id, org_id, kind, slug, display_name, description, url, transport, credential_type,
        credential_header_name, credential_sealed, timeout_ms, tool_allowlist, tool_rate_limits, created_at, updated_at)
       VALUES (?, ?, 'mcp', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare('SELECT * FROM plugin_installations WHERE org_id = ? AND id = ?'),
    bySlug: db.prepare('SELECT * FROM plugin_installations WHERE org_id = ? AND slug = ?'),
    list: db.prepare('SELECT * FROM plugin_installations WHERE org_id = ? ORDER BY slug'),
    listActive: db.prepare("SELECT * FROM plugin_installations WHERE org_id = ? AND status = 'active' ORDER BY slug"),
    countActive: db.prepare("SELECT COUNT(*) FROM plugin_installations WHERE org_id = ? AND status = 'active'").pluck(),
    sealed: db.prepare('SELECT credential_sealed FROM plugin_installations WHERE org_id = ? AND id = ?').pluck(),
    del: db.prepare('DELETE FROM plugin_installations WHERE org_id = ? AND id = ?'),
    catalog: db.prepare(
      `UPDATE plugin_installations SET catalog = ?, skipped_tools = ?, catalog_fetched_at = ?, resolved_transport = ?,
        last_success_at = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
    ),
    health: db.prepare('UPDATE plugin_installations SET last_success_at = COALESCE(?, last_success_at), last_error = ?, last_error_at = ? WHERE org_id = ? AND id = ?'),
  };
  // The request path reads active installations (with parsed catalogs) on every injected request:
  // cached per organisation until the configuration version moves (any write, any connection).
  const activeCache = createVersionedCache<string, Installation[]>(createConfigVersion(db));
  const invalidate = (): void => activeCache.clear();
  const self = {
    create(orgId: string, input: NewInstallation, now = Date.now()): Installation {
      const id = crypto.randomUUID();
      stmts.insert.run(
        id, orgId, input.slug, input.displayName, input.description, input.url, input.transport, input.credential?.type ?? null,
        input.credential?.type === 'header' ? input.credential.name : null,
        input.credential ? box.seal(JSON.stringify(input.credential), aad(orgId, id)) : null,
        input.timeoutMs, input.toolAllowlist === null ? null : JSON.stringify(input.toolAllowlist), JSON.stringify(input.toolRateLimits), now, now,
      );
      invalidate();
      return self.get(orgId, id)!;
    },
    get(orgId: string, id: string): Installation | null {
      const r = stmts.get.get(orgId, id) as Row | undefined;
      return r ? toInstallation(r) : null;
    },
    getBySlug(orgId: string, slug: string): Installation | null {
      const r = stmts.bySlug.get(orgId, slug) as Row | undefined;
      return r ? toInstallation(r) : null;
    },
    list(orgId: string): Installation[] {
      return (stmts.list.all(orgId) as Row[]).map(toInstallation);
    },
    /** Active installations of an organisation, cached; treat the result as read-only. */
    listActive(orgId: string): Installation[] {
      return activeCache.get(orgId, () => (stmts.listActive.all(orgId) as Row[]).map(toInstallation));
    },
    countActive(orgId: string): number {
      return stmts.countActive.get(orgId) as number;
    },
    /** Opens the stored credential. Only the plugin runtime calls this. */
    credential(orgId: string, id: string): Credential | null {
      const sealed = stmts.sealed.get(orgId, id) as string | null | undefined;
      return sealed ? (JSON.parse(box.open(sealed, aad(orgId, id))) as Credential) : null;
    },
    update(orgId: string, id: string, patch: Partial<Omit<NewInstallation, 'credential'>> & { credential?: Credential | null; status?: 'active' | 'disabled' }, now = Date.now()): Installation | null {
      const cur = self.get(orgId, id);
      if (!cur) return null;
      const sets: string[] = [];
      const args: unknown[] = [];
      const put = (col: string, v: unknown): void => {
        sets.push(`${col} = ?`);
        args.push(v);
      };
      if (patch.slug !== undefined) put('slug', patch.slug);
      if (patch.displayName !== undefined) put('display_name', patch.displayName);
      if (patch.description !== undefined) put('description', patch.description);
      if (patch.url !== undefined) put('url', patch.url);
      if (patch.transport !== undefined) {
        put('transport', patch.transport);
        put('resolved_transport', null);
      }
      if (patch.timeoutMs !== undefined) put('timeout_ms', patch.timeoutMs);
      if (patch.toolAllowlist !== undefined) put('tool_allowlist', patch.toolAllowlist === null ? null : JSON.stringify(patch.toolAllowlist));
      if (patch.toolRateLimits !== undefined) put('tool_rate_limits', JSON.stringify(patch.toolRateLimits));
      if (patch.status !== undefined) put('status', patch.status);
      if (patch.credential !== undefined) {
        put('credential_type', patch.credential?.type ?? null);
        put('credential_header_name', patch.credential?.type === 'header' ? patch.credential.name : null);
        put('credential_sealed', patch.credential ? box.seal(JSON.stringify(patch.credential), aad(orgId, id)) : null);
      }
      put('updated_at', now);
      invalidate();
      db.prepare(`UPDATE plugin_installations SET ${sets.join(', ')} WHERE org_id = ? AND id = ?`).run(...(args as [unknown]), orgId, id);
      return self.get(orgId, id);
    },
    saveCatalog(orgId: string, id: string, c: { tools: CatalogTool[]; skipped: Installation['skippedTools']; transport: 'streamable_http' | 'sse' | null }, now = Date.now()): void {
      stmts.catalog.run(JSON.stringify(c.tools), JSON.stringify(c.skipped), now, c.transport, now, now, orgId, id);
      invalidate();
    },
    recordHealth(orgId: string, id: string, h: { successAt?: number | null; error: string | null; errorAt: number | null }): void {
      stmts.health.run(h.successAt ?? null, h.error, h.errorAt, orgId, id);
    },
    delete(orgId: string, id: string): boolean {
      invalidate();
      return stmts.del.run(orgId, id).changes > 0;
    },
  };
  return self;
}
export type InstallationsRepo = ReturnType<typeof createInstallationsRepo>;
