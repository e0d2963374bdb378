/**
 * Authored plugins, versions, directory entries and review items → API JSON (shared/api-custom-plugins.ts).
 * The signing secret appears only in the register and rotate answers, passed in by the route that
 * just created it. Presenters never read storage.
 */
import type * as Api from '../../shared/api.ts';
import type { AuthoredPlugin, PluginVersion } from '../../plugins/kinds/custom/plugin-store.ts';
import type { ManifestConfigField, PluginManifest, UpgradeDiff } from '../../plugins/kinds/custom/manifest.ts';
import type { DirectoryEntry } from '../../control/plugin-directory.ts';
import type { Review } from '../../control/plugin-reviews.ts';
import { highestVersion } from '../../plugins/kinds/custom/semver.ts';
import { iso } from './common.ts';

export function presentVersion(v: PluginVersion): Api.CustomPluginVersion {
  return {
    id: v.id, object: 'custom_plugin_version', pluginId: v.pluginId, version: v.version, status: v.status, name: v.name, description: v.description,
    baseUrl: v.manifest.baseUrl, manifestUrl: v.manifestUrl, manifestSha256: v.manifestSha256, toolCount: v.manifest.tools.length, reviewNote: v.reviewNote,
    submittedAt: iso(v.submittedAt), reviewedAt: iso(v.reviewedAt), publishedAt: iso(v.publishedAt), deprecatedAt: iso(v.deprecatedAt),
    withdrawnAt: iso(v.withdrawnAt), createdAt: iso(v.createdAt),
  };
}

export function presentVersionDetail(v: PluginVersion): Api.CustomPluginVersionDetail {
  return { ...presentVersion(v), manifest: v.manifest as unknown as Record<string, unknown> };
}

export function presentAuthoredPlugin(p: AuthoredPlugin, versions: PluginVersion[]): Api.CustomPlugin {
  const latest = highestVersion(versions, (v) => v.version) ?? versions[versions.length - 1];
  const published = highestVersion(versions.filter((v) => v.status === 'published'), (v) => v.version);
  return {
    id: p.id, object: 'custom_plugin', slug: p.slug, name: latest?.name ?? p.slug, description: latest?.description ?? '',
    latestVersion: latest?.version ?? '', latestPublishedVersion: published?.version ?? null, versions: versions.map(presentVersion),
    secretRotation: { rotatedAt: iso(p.secretRotatedAt), previousSecretExpiresAt: p.previousSecretExpiresAt !== null && p.previousSecretExpiresAt > Date.now() ? iso(p.previousSecretExpiresAt) : null },
    createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt),
  };
}

export function presentRegistered(p: AuthoredPlugin, versions: PluginVersion[], version: PluginVersion, signingSecret: string): Api.RegisteredCustomPlugin {
  return { ...presentAuthoredPlugin(p, versions), version: version.version, signingSecret };
}

export function presentRotated(p: AuthoredPlugin, r: { signingSecret: string; previousSecretExpiresAt: number | null }): Api.RotatedPluginSecret {
  return { object: 'signing_secret', pluginId: p.id, signingSecret: r.signingSecret, previousSecretExpiresAt: iso(r.previousSecretExpiresAt) };
}

export function presentPermissions(m: PluginManifest): Api.PluginPermission[] {
  return m.permissions.map((p) => ({ key: p.key, label: p.label, description: p.description, default: p.default === true }));
}

export function presentTools(m: PluginManifest): Api.PluginToolSummary[] {
  return m.tools.map((t) => ({
    name: t.name, prefixedName: `${m.slug}__${t.name}`, description: t.description, effect: t.effect, confirmation: t.confirmation, idempotent: t.idempotent,
    timeoutMs: t.timeoutMs, permissions: t.permissions, inputSchema: t.inputSchema, outputSchema: t.outputSchema ?? null,
  }));
}

const presentField = (f: ManifestConfigField): Api.PluginConfigField => ({
  key: f.key, label: f.label, description: f.description ?? null, type: f.type, required: f.required, default: f.default ?? null, pattern: f.pattern ?? null,
  maxLength: f.maxLength ?? null, minimum: f.minimum ?? null, maximum: f.maximum ?? null, options: f.options ?? null,
});

export function presentRequires(m: PluginManifest): { toolkits: Api.PluginToolkitRequirement[] } {
  return { toolkits: (m.requires?.toolkits ?? []).map((r) => ({ any: [...r.any], reason: r.reason })) };
}

export function presentContact(m: PluginManifest): Api.PluginContact {
  const c = m.contact;
  return { email: c.email, name: c.name ?? null, url: c.url ?? null, privacyPolicyUrl: c.privacyPolicyUrl ?? null, termsUrl: c.termsUrl ?? null };
}

export function presentChanges(c: UpgradeDiff): Api.PluginChanges {
  return { needsConsent: c.needsConsent, reasons: c.reasons, notes: c.notes };
}

export function presentDirectoryEntry(e: DirectoryEntry, state: (inst: NonNullable<DirectoryEntry['installation']>) => Api.PluginInstallationState): Api.DirectoryPlugin {
  const m = e.shown.manifest;
  return {
    id: e.plugin.id, object: 'directory_plugin', slug: e.plugin.slug, name: m.name, description: m.description, contact: presentContact(m),
    latestVersion: e.latest?.version ?? null,
    versions: e.versions.map((v) => ({ version: v.version, status: v.status, publishedAt: iso(v.publishedAt), createdAt: iso(v.createdAt) })),
    ownPlugin: e.ownPlugin,
    installation: e.installation ? { id: e.installation.id, version: e.versions.find((v) => v.id === e.installation!.versionId)?.version ?? '', state: state(e.installation) } : null,
  };
}

export function presentDirectoryDetail(
  e: DirectoryEntry & { selected: PluginVersion; installable: boolean }, state: (inst: NonNullable<DirectoryEntry['installation']>) => Api.PluginInstallationState,
): Api.DirectoryPluginDetail {
  const m = e.selected.manifest;
  return {
    ...presentDirectoryEntry(e, state),
    version: {
      version: e.selected.version, status: e.selected.status, baseUrl: m.baseUrl, mode: e.selected.status === 'published' || e.selected.status === 'deprecated' ? 'live' : 'sandbox',
      installable: e.installable, permissions: presentPermissions(m), tools: presentTools(m), config: m.config.map(presentField), requires: presentRequires(m),
    },
  };
}

export function presentReview(r: Review): Api.PluginReview {
  const m = r.version.manifest;
  return {
    id: r.version.id, object: 'plugin_review', pluginId: r.plugin.id, slug: r.plugin.slug, version: r.version.version, name: m.name, description: m.description,
    organizationId: r.version.orgId, organizationName: r.organizationName, baseUrl: m.baseUrl, contact: presentContact(m), permissions: presentPermissions(m),
    tools: presentTools(m), requires: presentRequires(m), previousPublishedVersion: r.previous?.version ?? null,
    changes: r.changes ? presentChanges(r.changes) : null, submittedAt: iso(r.version.submittedAt), manifest: m as unknown as Record<string, unknown>,
  };
}
