/**
 * Custom installations as the custom kind and its control use cases see them: the shared
 * installation row (storage/repos/plugin-installations.ts) joined with its settings in
 * `custom_installations` — the pinned version, a pending one, mode, the owner's on/off switch,
 * config values (secrets sealed one by one), accepted permissions, the customer-id key and the
 * count of consecutive failures. Writes touching both tables run in one transaction. The shared
 * `status` is derived here (`syncStatus`): active only when the owner has it on, the operator has
 * not paused it and its version is not withdrawn. Must never return a secret config value or the
 * customer key from get/list; only the kind opens them, for the plugin they belong to.
 */
import crypto from 'node:crypto';
import type { Db } from '../../../storage/db.ts';
import type { SecretBox } from '../../../storage/secret-box.ts';
import type { CatalogTool, Installation, InstallationPatch, InstallationsRepo } from '../../../storage/repos/plugin-installations.ts';
import type { ConfigValue, ResolvedConfig, StoredConfig } from './config-values.ts';

export type InstallationMode = 'sandbox' | 'live';

export interface CustomSettings {
  pluginId: string;
  versionId: string;
  pendingVersionId: string | null;
  mode: InstallationMode;
  enabled: boolean;
  config: StoredConfig;
  acceptedPermissions: string[];
  consecutiveFailures: number;
  /** The operator's pause, if any (any kind of installation may be paused; see installation_pauses). */
  pause: { reason: string; pausedBy: string; pausedAt: number } | null;
  settingsUpdatedAt: number;
}

export type CustomInstallation = Installation & CustomSettings & { kind: 'custom' };

interface Row {
  installation_id: string; org_id: string; plugin_id: string; version_id: string; pending_version_id: string | null; mode: InstallationMode;
  enabled: number; config_values: string; config_secrets: string; accepted_permissions: string; consecutive_failures: number; updated_at: number;
  pause_reason: string | null; paused_by: string | null; paused_at: number | null;
}

const SELECT = `SELECT ci.*, p.reason AS pause_reason, p.paused_by, p.paused_at FROM custom_installations ci
  LEFT JOIN installation_pauses p ON p.installation_id = ci.installation_id`;

const toSettings = (r: Row): CustomSettings => ({
  pluginId: r.plugin_id, versionId: r.version_id, pendingVersionId: r.pending_version_id, mode: r.mode, enabled: r.enabled === 1,
  config: { values: JSON.parse(r.config_values) as Record<string, ConfigValue>, secretKeys: Object.keys(JSON.parse(r.config_secrets) as object) },
  acceptedPermissions: JSON.parse(r.accepted_permissions) as string[], consecutiveFailures: r.consecutive_failures,
  pause: r.paused_at === null ? null : { reason: r.pause_reason ?? '', pausedBy: r.paused_by ?? '', pausedAt: r.paused_at }, settingsUpdatedAt: r.updated_at,
});

const secretAad = (orgId: string, id: string, key: string): string => `custom_installations|config|${orgId}|${id}|${key}`;
const customerKeyAad = (orgId: string, id: string): string => `custom_installations|customer_key|${orgId}|${id}`;

export interface NewCustomInstallation {
  pluginId: string;
  versionId: string;
  slug: string;
  displayName: string;
  description: string;
  mode: InstallationMode;
  config: ResolvedConfig;
  acceptedPermissions: string[];
  toolAllowlist: string[] | null;
  toolRateLimits: Installation['toolRateLimits'];
  catalog: CatalogTool[];
}

export function createCustomInstallationsRepo(db: Db, box: SecretBox, installations: InstallationsRepo) {
  const stmts = {
    insert: db.prepare(
      `INSERT INTO custom_installations (installation_id, org_id, plugin_id, version_id, mode, config_values, config_secrets, accepted_permissions, customer_key_sealed, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare(`${SELECT} WHERE ci.org_id = ? AND ci.installation_id = ?`),
    getAny: db.prepare(`${SELECT} WHERE ci.installation_id = ?`),
    listForOrg: db.prepare(`${SELECT} WHERE ci.org_id = ?`),
    listForPlugin: db.prepare(`${SELECT} WHERE ci.plugin_id = ? ORDER BY ci.created_at`),
    secrets: db.prepare('SELECT config_secrets FROM custom_installations WHERE org_id = ? AND installation_id = ?').pluck(),
    customerKey: db.prepare('SELECT customer_key_sealed FROM custom_installations WHERE org_id = ? AND installation_id = ?').pluck(),
    statusInputs: db.prepare(
      `SELECT ci.enabled, v.status AS version_status, EXISTS (SELECT 1 FROM installation_pauses p WHERE p.installation_id = ci.installation_id) AS paused
       FROM custom_installations ci JOIN custom_plugin_versions v ON v.id = ci.version_id WHERE ci.org_id = ? AND ci.installation_id = ?`,
    ),
    failures: db.prepare('UPDATE custom_installations SET consecutive_failures = ? WHERE org_id = ? AND installation_id = ?'),
    pending: db.prepare('UPDATE custom_installations SET pending_version_id = ? WHERE installation_id = ?'),
  };
  const join = (inst: Installation | null, row: Row | undefined): CustomInstallation | null =>
    inst && inst.kind === 'custom' && row ? { ...inst, ...toSettings(row), kind: 'custom' } : null;

  /** Seals the new secrets into the stored map and drops cleared ones. */
  function mergeSecrets(orgId: string, id: string, storedJson: string, config: ResolvedConfig): string {
    const sealed = JSON.parse(storedJson) as Record<string, string>;
    for (const key of config.dropSecrets) delete sealed[key];
    for (const [key, value] of Object.entries(config.setSecrets)) sealed[key] = box.seal(value, secretAad(orgId, id, key));
    return JSON.stringify(sealed);
  }

  function syncStatus(orgId: string, id: string, now: number): void {
    const r = stmts.statusInputs.get(orgId, id) as { enabled: number; version_status: string; paused: number } | undefined;
    const inst = installations.get(orgId, id);
    if (!r || !inst) return;
    const want = r.enabled === 1 && r.paused === 0 && r.version_status !== 'withdrawn' ? 'active' : 'disabled';
    if (inst.status !== want) installations.update(orgId, id, { status: want }, now);
  }

  const create = db.transaction((orgId: string, input: NewCustomInstallation, now: number): CustomInstallation => {
    const inst = installations.create(orgId, {
      kind: 'custom', slug: input.slug, displayName: input.displayName, description: input.description, toolAllowlist: input.toolAllowlist, toolRateLimits: input.toolRateLimits,
    }, now);
    const customerKey = crypto.randomBytes(32).toString('base64');
    stmts.insert.run(
      inst.id, orgId, input.pluginId, input.versionId, input.mode, JSON.stringify(input.config.values), mergeSecrets(orgId, inst.id, '{}', input.config),
      JSON.stringify(input.acceptedPermissions), box.seal(customerKey, customerKeyAad(orgId, inst.id)), now, now,
    );
    installations.saveCatalog(orgId, inst.id, { tools: input.catalog, skipped: [] }, now);
    syncStatus(orgId, inst.id, now);
    return self.get(orgId, inst.id)!;
  });

  const update = db.transaction((orgId: string, id: string, patch: CustomPatch, now: number): CustomInstallation | null => {
    if (!self.get(orgId, id)) return null;
    const { enabled, config, versionId, mode, acceptedPermissions, catalog, pendingVersionId, ...shared } = patch;
    if (Object.keys(shared).length > 0) installations.update(orgId, id, shared, now);
    const sets: string[] = ['updated_at = ?'];
    const args: unknown[] = [now];
    const put = (col: string, v: unknown): void => {
      sets.push(`${col} = ?`);
      args.push(v);
    };
    if (enabled !== undefined) put('enabled', enabled ? 1 : 0);
    if (config !== undefined) {
      put('config_values', JSON.stringify(config.values));
      put('config_secrets', mergeSecrets(orgId, id, stmts.secrets.get(orgId, id) as string, config));
    }
    if (versionId !== undefined) put('version_id', versionId);
    if (pendingVersionId !== undefined) put('pending_version_id', pendingVersionId);
    if (mode !== undefined) put('mode', mode);
    if (acceptedPermissions !== undefined) put('accepted_permissions', JSON.stringify(acceptedPermissions));
    db.prepare(`UPDATE custom_installations SET ${sets.join(', ')} WHERE org_id = ? AND installation_id = ?`).run(...(args as [unknown]), orgId, id);
    if (catalog !== undefined) installations.saveCatalog(orgId, id, { tools: catalog, skipped: [] }, now);
    syncStatus(orgId, id, now);
    return self.get(orgId, id);
  });

  const self = {
    create(orgId: string, input: NewCustomInstallation, now = Date.now()): CustomInstallation {
      return create.immediate(orgId, input, now);
    },
    /** The custom installation with its settings; null for another organisation's, another kind's, or none. */
    get(orgId: string, id: string): CustomInstallation | null {
      return join(installations.get(orgId, id), stmts.get.get(orgId, id) as Row | undefined);
    },
    /** Any organisation's custom installation (the operator's view). */
    getAny(id: string): CustomInstallation | null {
      const row = stmts.getAny.get(id) as Row | undefined;
      return row ? join(installations.get(row.org_id, id), row) : null;
    },
    list(orgId: string): CustomInstallation[] {
      const rows = new Map((stmts.listForOrg.all(orgId) as Row[]).map((r) => [r.installation_id, r]));
      return installations.list(orgId).map((i) => join(i, rows.get(i.id))).filter((i): i is CustomInstallation => i !== null);
    },
    /** Every installation of a plugin, in every organisation. */
    listForPlugin(pluginId: string): CustomInstallation[] {
      return (stmts.listForPlugin.all(pluginId) as Row[]).map((r) => join(installations.get(r.org_id, r.installation_id), r)).filter((i): i is CustomInstallation => i !== null);
    },
    update(orgId: string, id: string, patch: CustomPatch, now = Date.now()): CustomInstallation | null {
      return update.immediate(orgId, id, patch, now);
    },
    /** Re-derives the shared status (after a pause, a resume or a version's status change). */
    syncStatus(orgId: string, id: string, now = Date.now()): void {
      db.transaction(() => syncStatus(orgId, id, now)).immediate();
    },
    setPending(id: string, versionId: string | null): void {
      stmts.pending.run(versionId, id);
    },
    /** Opens the secret config values. Only the custom kind calls this, for the call to the plugin's own base URL. */
    openSecrets(orgId: string, id: string): Record<string, string> {
      const sealed = JSON.parse((stmts.secrets.get(orgId, id) as string | undefined) ?? '{}') as Record<string, string>;
      return Object.fromEntries(Object.entries(sealed).map(([key, s]) => [key, box.open(s, secretAad(orgId, id, key))]));
    },
    /** The key of this installation's customer and conversation pseudonyms. */
    customerKey(orgId: string, id: string): Buffer {
      return Buffer.from(box.open(stmts.customerKey.get(orgId, id) as string, customerKeyAad(orgId, id)), 'base64');
    },
    recordFailures(orgId: string, id: string, count: number): void {
      stmts.failures.run(count, orgId, id);
    },
    recordHealth(orgId: string, id: string, h: { successAt?: number | null; error: string | null; errorAt: number | null }): void {
      installations.recordHealth(orgId, id, h);
    },
    delete(orgId: string, id: string): boolean {
      return installations.delete(orgId, id);
    },
  };
  return self;
}
export type CustomInstallationsRepo = ReturnType<typeof createCustomInstallationsRepo>;

export type CustomPatch = InstallationPatch & {
  enabled?: boolean;
  config?: ResolvedConfig;
  versionId?: string;
  pendingVersionId?: string | null;
  mode?: InstallationMode;
  acceptedPermissions?: string[];
  catalog?: CatalogTool[];
};
