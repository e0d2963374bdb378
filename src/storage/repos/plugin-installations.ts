/**
 * Plugin installations of every kind (MCP servers now, custom HTTP plugins next): what all kinds
 * share — identity, slug, status, tool allowlist and rate limits, the cached catalog and health.
 * A kind keeps its own settings in its own table (MCP: mcp_endpoints, see plugins/kinds/mcp/settings.ts),
 * keyed by the installation id and deleted with it. Every query is scoped by organisation.
 * Must never know a kind's settings, open a credential, or know about HTTP.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import { createConfigVersion, createVersionedCache } from '../config-version.ts';

/** The kinds the schema accepts (migration 0005). The plugin runtime drives only the kinds it was built with. */
export type InstallationKind = 'mcp' | 'custom';

export interface CatalogTool {
  name: string;
  prefixedName: string;
  description: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export type ToolRateLimitSettings = Record<string, { points: number; durationSeconds: number }>;

export interface Installation {
  id: string;
  orgId: string;
  kind: InstallationKind;
  slug: string;
  displayName: string;
  description: string;
  toolAllowlist: string[] | null;
  toolRateLimits: ToolRateLimitSettings;
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
  id: string; org_id: string; kind: InstallationKind; slug: string; display_name: string; description: string;
  tool_allowlist: string | null; tool_rate_limits: string; status: 'active' | 'disabled'; catalog: string; skipped_tools: string;
  catalog_fetched_at: number | null; last_success_at: number | null; last_error: string | null; last_error_at: number | null;
  created_at: number; updated_at: number;
}

const toInstallation = (r: Row): Installation => ({
  id: r.id, orgId: r.org_id, kind: r.kind, slug: r.slug, displayName: r.display_name, description: r.description,
  toolAllowlist: r.tool_allowlist === null ? null : (JSON.parse(r.tool_allowlist) as string[]),
  toolRateLimits: JSON.parse(r.tool_rate_limits) as ToolRateLimitSettings, status: r.status,
  catalog: JSON.parse(r.catalog) as CatalogTool[], skippedTools: JSON.parse(r.skipped_tools) as Installation['skippedTools'],
  catalogFetchedAt: r.catalog_fetched_at, lastSuccessAt: r.last_success_at, lastError: r.last_error, lastErrorAt: r.last_error_at,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export interface NewInstallation {
  kind: InstallationKind;
  slug: string;
  displayName: string;
  description: string;
  toolAllowlist: string[] | null;
  toolRateLimits: ToolRateLimitSettings;
}

/** What every kind's update may change of the shared columns. */
export type InstallationPatch = Partial<Omit<NewInstallation, 'kind'>> & { status?: 'active' | 'disabled' };

export function createInstallationsRepo(db: Db) {
  const stmts = {
    insert: db.prepare(
      `INSERT INTO plugin_installations (id, org_id, kind, slug, display_name, description, tool_allowlist, tool_rate_limits, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare('SELECT * FROM plugin_installations WHERE org_id = ? AND id = ?'),
    bySlug: db.prepare('SELECT * FROM plugin_installations WHERE org_id = ? AND slug = ?'),
    list: db.prepare('SELECT * FROM plugin_installations WHERE org_id = ? ORDER BY slug'),
    listActive: db.prepare("SELECT * FROM plugin_installations WHERE org_id = ? AND status = 'active' ORDER BY slug"),
    countActive: db.prepare("SELECT COUNT(*) FROM plugin_installations WHERE org_id = ? AND status = 'active'").pluck(),
    del: db.prepare('DELETE FROM plugin_installations WHERE org_id = ? AND id = ?'),
    catalog: db.prepare(
      'UPDATE plugin_installations SET catalog = ?, skipped_tools = ?, catalog_fetched_at = ?, last_success_at = ?, updated_at = ? WHERE org_id = ? AND id = ?',
    ),
    health: db.prepare('UPDATE plugin_installations SET last_success_at = COALESCE(?, last_success_at), last_error = ?, last_error_at = ? WHERE org_id = ? AND id = ?'),
  };
  // The request path reads active installations (with parsed catalogs) on every injected request:
  // cached per organisation until the configuration version moves (any write, any connection).
  const activeCache = createVersionedCache<string, Installation[]>(createConfigVersion(db));
  const invalidate = (): void => activeCache.clear();
  const self = {
    /** Inserts the shared row; a kind writes its own settings in the same transaction. */
    create(orgId: string, input: NewInstallation, now = Date.now()): Installation {
      const id = crypto.randomUUID();
      stmts.insert.run(
        id, orgId, input.kind, input.slug, input.displayName, input.description,
        input.toolAllowlist === null ? null : JSON.stringify(input.toolAllowlist), JSON.stringify(input.toolRateLimits), now, now,
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
    /** Every installation of the organisation, of every kind and status. */
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
    /** Changes the shared columns (and always `updated_at`); null when the installation is not in this org. */
    update(orgId: string, id: string, patch: InstallationPatch, now = Date.now()): Installation | null {
      if (!stmts.get.get(orgId, id)) return null;
      const sets: string[] = [];
      const args: unknown[] = [];
      const put = (col: string, v: unknown): void => {
        sets.push(`${col} = ?`);
        args.push(v);
      };
      if (patch.slug !== undefined) put('slug', patch.slug);
      if (patch.displayName !== undefined) put('display_name', patch.displayName);
      if (patch.description !== undefined) put('description', patch.description);
      if (patch.toolAllowlist !== undefined) put('tool_allowlist', patch.toolAllowlist === null ? null : JSON.stringify(patch.toolAllowlist));
      if (patch.toolRateLimits !== undefined) put('tool_rate_limits', JSON.stringify(patch.toolRateLimits));
      if (patch.status !== undefined) put('status', patch.status);
      put('updated_at', now);
      invalidate();
      db.prepare(`UPDATE plugin_installations SET ${sets.join(', ')} WHERE org_id = ? AND id = ?`).run(...(args as [unknown]), orgId, id);
      return self.get(orgId, id);
    },
    saveCatalog(orgId: string, id: string, c: { tools: CatalogTool[]; skipped: Installation['skippedTools'] }, now = Date.now()): void {
      stmts.catalog.run(JSON.stringify(c.tools), JSON.stringify(c.skipped), now, now, now, orgId, id);
      invalidate();
    },
    recordHealth(orgId: string, id: string, h: { successAt?: number | null; error: string | null; errorAt: number | null }): void {
      stmts.health.run(h.successAt ?? null, h.error, h.errorAt, orgId, id);
    },
    /** Deletes the installation; its kind's settings and its grants go with it (migration 0005). */
    delete(orgId: string, id: string): boolean {
      invalidate();
      return stmts.del.run(orgId, id).changes > 0;
    },
  };
  return self;
}
export type InstallationsRepo = ReturnType<typeof createInstallationsRepo>;
