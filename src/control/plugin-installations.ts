/**
 * Custom plugin installations (owners and admins write; members read): install a directory plugin
 * with its config and the installer's consent to every permission it declares, change config,
 * allowlist, rate limits and the on/off switch, uninstall, and read the installation's call log.
 * A version another organisation has not published is installable only by its author, and runs in
 * sandbox mode. Upgrades live in plugin-upgrades.ts. Must never know about HTTP, return a secret
 * config value, or let one organisation see or install another's unpublished plugin.
 */
import { AppError, ErrorType, conflict, invalidRequest, notFound } from '../errors.ts';
import type { CustomKind, CustomInstallationHealth } from '../plugins/kinds/custom/kind.ts';
import type { CustomInstallation } from '../plugins/kinds/custom/installation-store.ts';
import type { PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import type { ManifestProblem, PluginManifest, UpgradeDiff } from '../plugins/kinds/custom/manifest.ts';
import { resolveConfig } from '../plugins/kinds/custom/config-values.ts';
import type { StoredPluginLogEntry } from '../plugins/kinds/custom/plugin-log.ts';
import type { ToolRateLimitSettings } from '../storage/repos/plugin-installations.ts';
import { takePage, type Page } from './page.ts';
import { changesBetween, installableBy, latestInstallable, modeOf, problemsError, visibleVersions } from './plugin-versions.ts';

export interface InstallationDeps {
  custom: Pick<CustomKind, 'store' | 'installs' | 'pluginLog' | 'prepared' | 'drop' | 'health' | 'missingToolkits'>;
  /** Drops cached gateway state that depends on the organisation's plugins. */
  onChange(): void;
}

export interface InstallInput {
  pluginId: string;
  version?: string;
  config?: Record<string, unknown>;
  acceptedPermissions: string[];
  toolAllowlist?: string[] | null;
  toolRateLimits?: ToolRateLimitSettings;
}

export interface UpdateInput {
  config?: Record<string, unknown>;
  toolAllowlist?: string[] | null;
  toolRateLimits?: ToolRateLimitSettings;
  status?: 'active' | 'disabled';
}

/** An installation with what its presentation needs: pinned and pending versions, the change between them, health. */
export interface InstallationView {
  inst: CustomInstallation;
  version: PluginVersion;
  pending: { version: PluginVersion; changes: UpgradeDiff } | null;
  health: CustomInstallationHealth;
}

/**
 * The installer must have seen and accepted every permission the version declares: `accepted`
 * must be exactly that set (the manifest's `default` only pre-ticks a box in a consent screen).
 */
export function assertAcceptedPermissions(manifest: PluginManifest, accepted: readonly string[], param: string): void {
  const declared = new Map(manifest.permissions.map((p) => [p.key, p]));
  const problems: ManifestProblem[] = [];
  const seen = new Set<string>();
  accepted.forEach((key, i) => {
    if (seen.has(key)) problems.push({ path: `/${param}/${i}`, message: `repeats "${key}"` });
    else if (!declared.has(key)) problems.push({ path: `/${param}/${i}`, message: `"${key}" is not a permission of version ${manifest.version}` });
    seen.add(key);
  });
  manifest.permissions.forEach((p, i) => {
    if (!seen.has(p.key)) problems.push({ path: `/permissions/${i}`, message: `"${p.key}" (${p.label}: ${p.description}) was not accepted; every permission must be accepted` });
  });
  if (problems.length) throw problemsError('permissions_not_accepted', param, problems, param);
}

/** Tool names of an allowlist or rate-limit map that the version does not have. */
export function assertToolNames(manifest: PluginManifest, allowlist: readonly string[] | null | undefined, limits: ToolRateLimitSettings | undefined): void {
  const tools = new Set(manifest.tools.map((t) => t.name));
  const bad = (allowlist ?? []).findIndex((n) => !tools.has(n));
  if (bad >= 0) throw invalidRequest(`toolAllowlist[${bad}]: "${allowlist![bad]}" is not a tool of version ${manifest.version} (tools: ${[...tools].join(', ')}).`, `toolAllowlist.${bad}`, 'unknown_tool');
  const badLimit = Object.keys(limits ?? {}).find((n) => n !== '*' && !tools.has(n));
  if (badLimit) throw invalidRequest(`toolRateLimits: "${badLimit}" is not a tool of version ${manifest.version} (use a tool name or "*").`, `toolRateLimits.${badLimit}`, 'unknown_tool');
}

export function listInstallations(d: InstallationDeps, orgId: string): CustomInstallation[] {
  return d.custom.installs.list(orgId);
}

export function getInstallation(d: InstallationDeps, orgId: string, id: string): CustomInstallation {
  const inst = d.custom.installs.get(orgId, id);
  if (!inst) throw notFound('plugin_installation', 'id');
  return inst;
}

export function installationView(d: InstallationDeps, inst: CustomInstallation): InstallationView {
  const version = d.custom.store.version(inst.versionId)!;
  const pendingVersion = inst.pendingVersionId ? d.custom.store.version(inst.pendingVersionId) : null;
  return {
    inst, version, health: d.custom.health(inst),
    pending: pendingVersion ? { version: pendingVersion, changes: changesBetween(version, pendingVersion) } : null,
  };
}

/** A plugin as `orgId` may see it, with the versions it may see; 404 for another organisation's unpublished plugin. */
export function visiblePlugin(d: Pick<InstallationDeps, 'custom'>, orgId: string, pluginId: string): { versions: PluginVersion[]; all: PluginVersion[] } {
  const plugin = d.custom.store.plugin(pluginId);
  const all = plugin ? d.custom.store.versions(plugin.id) : [];
  const versions = visibleVersions(all, orgId);
  if (!plugin || versions.length === 0) throw notFound('plugin', 'pluginId');
  return { versions, all };
}

export function installPlugin(d: InstallationDeps, orgId: string, input: InstallInput): CustomInstallation {
  const { versions, all } = visiblePlugin(d, orgId, input.pluginId);
  const v = input.version !== undefined ? versions.find((x) => x.version === input.version) : latestInstallable(all, orgId);
  if (input.version !== undefined && !v) throw notFound('plugin_version', 'version');
  if (!v) throw conflict('This plugin has no version you can install (none is published).', 'no_installable_version', 'pluginId');
  if (!installableBy(v, orgId)) {
    throw conflict(`Version ${v.version} is ${v.status} and cannot be installed${v.status === 'deprecated' ? '; install a newer version' : ''}.`, 'version_not_installable', 'version');
  }
  const mine = d.custom.installs.list(orgId);
  const already = mine.find((i) => i.pluginId === v.pluginId);
  if (already) throw conflict(`This plugin is installed already (${already.id}); upgrade that installation instead.`, 'already_installed', 'pluginId');
  assertAcceptedPermissions(v.manifest, input.acceptedPermissions, 'acceptedPermissions');
  assertToolNames(v.manifest, input.toolAllowlist, input.toolRateLimits);
  const config = resolveConfig(v.manifest.config, input.config ?? {}, { values: {}, secretKeys: [] });
  if (!config.ok) throw problemsError('invalid_config', 'The config', config.problems, 'config');
  const prepared = d.custom.prepared(v.id);
  if (!prepared) throw new Error('version manifest unreadable');
  let inst: CustomInstallation;
  try {
    inst = d.custom.installs.create(orgId, {
      pluginId: v.pluginId, versionId: v.id, slug: v.manifest.slug, displayName: v.manifest.name, description: v.manifest.description, mode: modeOf(v),
      config: config.config, acceptedPermissions: [...input.acceptedPermissions], toolAllowlist: input.toolAllowlist ?? null, toolRateLimits: input.toolRateLimits ?? {},
      catalog: prepared.catalog,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw conflict(`The slug "${v.manifest.slug}" is already used by another plugin installation of this organization.`, 'slug_taken', 'pluginId');
    }
    throw err;
  }
  d.onChange();
  return inst;
}

export async function updateInstallation(d: InstallationDeps, cur: CustomInstallation, input: UpdateInput): Promise<CustomInstallation> {
  const version = d.custom.store.version(cur.versionId)!;
  assertToolNames(version.manifest, input.toolAllowlist, input.toolRateLimits);
  let config;
  if (input.config !== undefined) {
    const r = resolveConfig(version.manifest.config, input.config, cur.config);
    if (!r.ok) throw problemsError('invalid_config', 'The config', r.problems, 'config');
    config = r.config;
  }
  if (input.status === 'active' && cur.pause) {
    throw new AppError({ code: 'paused_by_operator', status: 409, type: ErrorType.conflict, param: 'status', message: `The appliance operator paused this installation${cur.pause.reason ? ` (${cur.pause.reason})` : ''}; only the operator can resume it.` });
  }
  const inst = d.custom.installs.update(cur.orgId, cur.id, {
    config, toolAllowlist: input.toolAllowlist, toolRateLimits: input.toolRateLimits, enabled: input.status === undefined ? undefined : input.status === 'active',
  });
  if (!inst) throw notFound('plugin_installation', 'id');
  if (inst.status === 'disabled') await d.custom.drop(inst.id);
  d.onChange();
  return inst;
}

export async function deleteInstallation(d: InstallationDeps, inst: CustomInstallation): Promise<void> {
  await d.custom.drop(inst.id);
  d.custom.installs.delete(inst.orgId, inst.id);
  d.onChange();
}

export function installationLogs(d: InstallationDeps, inst: CustomInstallation, q: { limit: number; cursor?: string }): Page<StoredPluginLogEntry> {
  const rows = d.custom.pluginLog.list({ installationId: inst.id, orgId: inst.orgId, beforeId: q.cursor ? Number(q.cursor) : undefined, limit: q.limit });
  return takePage(rows, q.limit, (r) => String(r.id));
}
