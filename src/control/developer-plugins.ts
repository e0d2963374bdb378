/**
 * The developer area (owners and admins of the authoring organisation): register a plugin from a
 * manifest (uploaded or fetched) with its signing secret shown once, add versions, submit one for
 * review, rotate the signing secret with an overlap, deprecate and withdraw versions, and read the
 * plugin's call log across its installations. A withdrawn version's installations stop at once;
 * a deprecated one's keep working but nobody installs it any more. Must never know about HTTP,
 * and never return the signing secret except from registration and rotation.
 */
import { conflict, notFound } from '../errors.ts';
import type { CustomKind } from '../plugins/kinds/custom/kind.ts';
import type { AuthoredPlugin, PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import type { StoredPluginLogEntry } from '../plugins/kinds/custom/plugin-log.ts';
import { takePage, type Page } from './page.ts';
import { manifestFromRequest, problemsError, wrongStatus, type ManifestSourceDeps } from './plugin-versions.ts';

/** Default overlap of a secret rotation: both secrets sign for a day (Shopify takes up to an hour; Standard Webhooks receivers check any `v1,` entry). */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 86_400;
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 86_400;

export interface DeveloperDeps extends ManifestSourceDeps {
  custom: Pick<CustomKind, 'store' | 'installs' | 'pluginLog'>;
}

export interface ManifestInput {
  /** Anything: the manifest validator reports what is wrong with it. */
  manifest?: unknown;
  manifestUrl?: string;
}

export function listAuthoredPlugins(d: DeveloperDeps, orgId: string): AuthoredPlugin[] {
  return d.custom.store.listForOrg(orgId);
}

export function getAuthoredPlugin(d: DeveloperDeps, orgId: string, id: string): AuthoredPlugin {
  const p = d.custom.store.pluginOf(orgId, id);
  if (!p) throw notFound('plugin', 'pluginId');
  return p;
}

export function versionsOf(d: DeveloperDeps, plugin: AuthoredPlugin): PluginVersion[] {
  return d.custom.store.versions(plugin.id);
}

export function getAuthoredVersion(d: DeveloperDeps, plugin: AuthoredPlugin, version: string): PluginVersion {
  const v = d.custom.store.versionOf(plugin.id, version);
  if (!v) throw notFound('plugin_version', 'version');
  return v;
}

/** Registers a plugin and its first version (private); the signing secret is returned only here. */
export async function registerPlugin(d: DeveloperDeps, orgId: string, input: ManifestInput): Promise<{ plugin: AuthoredPlugin; version: PluginVersion; signingSecret: string }> {
  const { manifest, manifestUrl } = await manifestFromRequest(d, input);
  const existing = d.custom.store.bySlug(orgId, manifest.slug);
  if (existing) {
    throw conflict(`This organization already has a plugin with the slug "${manifest.slug}" (${existing.id}); add a version with POST …/developer/plugins/${existing.id}/versions.`, 'plugin_exists', 'manifest');
  }
  return d.custom.store.create(orgId, manifest, manifestUrl);
}

/** A new private version from an updated manifest (same slug, a version number not used before). */
export async function addPluginVersion(d: DeveloperDeps, plugin: AuthoredPlugin, input: ManifestInput): Promise<PluginVersion> {
  const { manifest, manifestUrl } = await manifestFromRequest(d, input);
  if (manifest.slug !== plugin.slug) {
    throw problemsError('invalid_manifest', 'The manifest', [{ path: '/slug', message: `must be "${plugin.slug}", the slug this plugin was registered with` }], input.manifest ? 'manifest' : 'manifestUrl');
  }
  const existing = d.custom.store.versionOf(plugin.id, manifest.version);
  if (existing) {
    throw conflict(
      `Version ${manifest.version} exists already (${existing.status}); a version never changes once created: give the manifest a new version number (e.g. ${manifest.version}-dev.2 for a draft).`,
      'version_exists', 'version',
    );
  }
  return d.custom.store.addVersion(plugin, manifest, manifestUrl);
}

/** Submits a private version for the operator's review; from then on it can never change. */
export function submitVersion(d: DeveloperDeps, v: PluginVersion): PluginVersion {
  const moved = d.custom.store.setStatus(v.id, ['private'], 'submitted', { submittedAt: Date.now(), reviewNote: null });
  if (!moved) throw wrongStatus(d.custom.store.version(v.id) ?? v, 'submitting for review', 'private');
  return moved;
}

/** Deprecates a published version: its installations keep working, nobody installs it any more. */
export function deprecateVersion(d: Pick<DeveloperDeps, 'custom'>, v: PluginVersion): PluginVersion {
  const moved = d.custom.store.setStatus(v.id, ['published'], 'deprecated', { deprecatedAt: Date.now() });
  if (!moved) throw wrongStatus(d.custom.store.version(v.id) ?? v, 'deprecating', 'published');
  return moved;
}

/** Withdraws a version: its installations stop at once (their tools are no longer offered) and it is installed no more. */
export function withdrawVersion(d: Pick<DeveloperDeps, 'custom'>, v: PluginVersion): PluginVersion {
  const moved = d.custom.store.setStatus(v.id, ['private', 'submitted', 'published', 'rejected', 'deprecated'], 'withdrawn', { withdrawnAt: Date.now() });
  if (!moved) throw wrongStatus(d.custom.store.version(v.id) ?? v, 'withdrawing', 'not withdrawn already');
  for (const inst of d.custom.installs.listForPlugin(v.pluginId)) {
    if (inst.pendingVersionId === v.id) d.custom.installs.setPending(inst.id, null);
    if (inst.versionId === v.id) d.custom.installs.syncStatus(inst.orgId, inst.id);
  }
  return moved;
}

/** A new signing secret (shown once); the old one keeps signing for `overlapSeconds`. */
export function rotateSigningSecret(d: DeveloperDeps, plugin: AuthoredPlugin, overlapSeconds = DEFAULT_SECRET_OVERLAP_SECONDS): { signingSecret: string; previousSecretExpiresAt: number | null } {
  return d.custom.store.rotateSecret(plugin, overlapSeconds * 1000);
}

/** The plugin's calls from every installation, newest first (bodies only where the installation is in sandbox mode). */
export function authoredPluginLogs(d: DeveloperDeps, plugin: AuthoredPlugin, q: { limit: number; cursor?: string }): Page<StoredPluginLogEntry> {
  const rows = d.custom.pluginLog.list({ pluginId: plugin.id, beforeId: q.cursor ? Number(q.cursor) : undefined, limit: q.limit });
  return takePage(rows, q.limit, (r) => String(r.id));
}
