/**
 * Authored custom plugins, their versions and their signing secret.
 *
 * A plugin belongs to the organisation that registered it (its slug is unique there); each version
 * keeps the validated manifest it was created with, never changed afterwards (migration 0006's
 * trigger), and moves through private → submitted → published | rejected, then deprecated and
 * withdrawn. Status moves are compare-and-set on the expected statuses, so two reviewers or a
 * developer racing an operator never both win. The signing secret is sealed with the secret box;
 * a rotation keeps the previous one, sealed, until its expiry. Must never return a secret except
 * from `create` and `rotateSecret` (to be shown once) and `signingSecrets` (for the signer).
 */
import crypto from 'node:crypto';
import type { Db } from '../../../storage/db.ts';
import type { SecretBox } from '../../../storage/secret-box.ts';
import { generateSigningSecret } from '../../../net/standard-webhooks.ts';
import { canonicalJson, type PluginManifest } from './manifest.ts';

export const VERSION_STATUSES = ['private', 'submitted', 'published', 'rejected', 'deprecated', 'withdrawn'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export interface AuthoredPlugin {
  id: string;
  orgId: string;
  slug: string;
  secretRotatedAt: number | null;
  previousSecretExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface PluginVersion {
  id: string;
  pluginId: string;
  /** The authoring organisation. */
  orgId: string;
  version: string;
  status: VersionStatus;
  manifest: PluginManifest;
  manifestSha256: string;
  manifestUrl: string | null;
  name: string;
  description: string;
  reviewNote: string | null;
  reviewedBy: string | null;
  submittedAt: number | null;
  reviewedAt: number | null;
  publishedAt: number | null;
  deprecatedAt: number | null;
  withdrawnAt: number | null;
  createdAt: number;
}

export interface SigningSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: number | null;
}

interface PluginRow {
  id: string; org_id: string; slug: string; signing_secret_sealed: string; previous_secret_sealed: string | null;
  previous_secret_expires_at: number | null; secret_rotated_at: number | null; created_at: number; updated_at: number;
}
interface VersionRow {
  id: string; plugin_id: string; org_id: string; version: string; status: VersionStatus; manifest: string; manifest_sha256: string;
  manifest_url: string | null; name: string; description: string; review_note: string | null; reviewed_by: string | null;
  submitted_at: number | null; reviewed_at: number | null; published_at: number | null; deprecated_at: number | null; withdrawn_at: number | null; created_at: number;
}

const toPlugin = (r: PluginRow): AuthoredPlugin => ({
  id: r.id, orgId: r.org_id, slug: r.slug, secretRotatedAt: r.secret_rotated_at, previousSecretExpiresAt: r.previous_secret_expires_at,
  createdAt: r.created_at, updatedAt: r.updated_at,
});
const toVersion = (r: VersionRow): PluginVersion => ({
  id: r.id, pluginId: r.plugin_id, orgId: r.org_id, version: r.version, status: r.status, manifest: JSON.parse(r.manifest) as PluginManifest,
  manifestSha256: r.manifest_sha256, manifestUrl: r.manifest_url, name: r.name, description: r.description, reviewNote: r.review_note,
  reviewedBy: r.reviewed_by, submittedAt: r.submitted_at, reviewedAt: r.reviewed_at, publishedAt: r.published_at,
  deprecatedAt: r.deprecated_at, withdrawnAt: r.withdrawn_at, createdAt: r.created_at,
});

const currentAad = (orgId: string, id: string): string => `custom_plugins|signing_secret|${orgId}|${id}`;
const previousAad = (orgId: string, id: string): string => `custom_plugins|previous_secret|${orgId}|${id}`;

/** Columns a status move may set besides `status`. */
export interface StatusFields {
  reviewNote?: string | null;
  reviewedBy?: string | null;
  submittedAt?: number;
  reviewedAt?: number;
  publishedAt?: number;
  deprecatedAt?: number;
  withdrawnAt?: number;
}
const FIELD_COLUMNS: Record<keyof StatusFields, string> = {
  reviewNote: 'review_note', reviewedBy: 'reviewed_by', submittedAt: 'submitted_at', reviewedAt: 'reviewed_at',
  publishedAt: 'published_at', deprecatedAt: 'deprecated_at', withdrawnAt: 'withdrawn_at',
};

export function createPluginStore(db: Db, box: SecretBox) {
  const stmts = {
    insertPlugin: db.prepare('INSERT INTO custom_plugins (id, org_id, slug, signing_secret_sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    insertVersion: db.prepare(
      `INSERT INTO custom_plugin_versions (id, plugin_id, org_id, version, status, manifest, manifest_sha256, manifest_url, name, description, created_at)
       VALUES (?, ?, ?, ?, 'private', ?, ?, ?, ?, ?, ?)`,
    ),
    plugin: db.prepare('SELECT * FROM custom_plugins WHERE id = ?'),
    bySlug: db.prepare('SELECT * FROM custom_plugins WHERE org_id = ? AND slug = ?'),
    listForOrg: db.prepare('SELECT * FROM custom_plugins WHERE org_id = ? ORDER BY slug'),
    version: db.prepare('SELECT * FROM custom_plugin_versions WHERE id = ?'),
    versionOf: db.prepare('SELECT * FROM custom_plugin_versions WHERE plugin_id = ? AND version = ?'),
    versions: db.prepare('SELECT * FROM custom_plugin_versions WHERE plugin_id = ? ORDER BY created_at, rowid'),
    byStatus: db.prepare('SELECT * FROM custom_plugin_versions WHERE status = ? ORDER BY submitted_at, created_at'),
    visibleTo: db.prepare(
      `SELECT DISTINCT p.* FROM custom_plugins p JOIN custom_plugin_versions v ON v.plugin_id = p.id
       WHERE p.org_id = ? OR v.status IN ('published', 'deprecated') ORDER BY p.slug, p.created_at`,
    ),
    publishedWithSlug: db.prepare(
      `SELECT 1 FROM custom_plugins p JOIN custom_plugin_versions v ON v.plugin_id = p.id
       WHERE p.slug = ? AND p.id <> ? AND v.status IN ('published', 'deprecated') LIMIT 1`,
    ),
    secrets: db.prepare('SELECT * FROM custom_plugins WHERE id = ?'),
    rotate: db.prepare(
      `UPDATE custom_plugins SET signing_secret_sealed = ?, previous_secret_sealed = ?, previous_secret_expires_at = ?, secret_rotated_at = ?, updated_at = ? WHERE id = ?`,
    ),
    touch: db.prepare('UPDATE custom_plugins SET updated_at = ? WHERE id = ?'),
  };

  function insertVersion(pluginId: string, orgId: string, manifest: PluginManifest, manifestUrl: string | null, now: number): PluginVersion {
    const id = crypto.randomUUID();
    const text = JSON.stringify(manifest);
    const sha = crypto.hash('sha256', canonicalJson(manifest), 'hex');
    stmts.insertVersion.run(id, pluginId, orgId, manifest.version, text, sha, manifestUrl, manifest.name, manifest.description, now);
    stmts.touch.run(now, pluginId);
    return toVersion(stmts.version.get(id) as VersionRow);
  }

  const create = db.transaction((orgId: string, manifest: PluginManifest, manifestUrl: string | null, now: number) => {
    const id = crypto.randomUUID();
    const signingSecret = generateSigningSecret();
    stmts.insertPlugin.run(id, orgId, manifest.slug, box.seal(signingSecret, currentAad(orgId, id)), now, now);
    const version = insertVersion(id, orgId, manifest, manifestUrl, now);
    return { plugin: toPlugin(stmts.plugin.get(id) as PluginRow), version, signingSecret };
  });

  const setStatus = db.transaction((versionId: string, from: readonly VersionStatus[], to: VersionStatus, fields: StatusFields): PluginVersion | null => {
    const cur = stmts.version.get(versionId) as VersionRow | undefined;
    if (!cur || !from.includes(cur.status)) return null;
    const sets = ['status = ?'];
    const args: unknown[] = [to];
    for (const [k, v] of Object.entries(fields)) {
      sets.push(`${FIELD_COLUMNS[k as keyof StatusFields]} = ?`);
      args.push(v);
    }
    db.prepare(`UPDATE custom_plugin_versions SET ${sets.join(', ')} WHERE id = ?`).run(...(args as [unknown]), versionId);
    return toVersion(stmts.version.get(versionId) as VersionRow);
  });

  return {
    /** Registers a plugin with its first (private) version; the signing secret is returned here only. */
    create(orgId: string, manifest: PluginManifest, manifestUrl: string | null, now = Date.now()): { plugin: AuthoredPlugin; version: PluginVersion; signingSecret: string } {
      return create.immediate(orgId, manifest, manifestUrl, now);
    },
    /** A new private version (the caller checked slug and uniqueness; the UNIQUE constraint backs it). */
    addVersion(plugin: AuthoredPlugin, manifest: PluginManifest, manifestUrl: string | null, now = Date.now()): PluginVersion {
      return db.transaction(() => insertVersion(plugin.id, plugin.orgId, manifest, manifestUrl, now)).immediate();
    },
    plugin(id: string): AuthoredPlugin | null {
      const r = stmts.plugin.get(id) as PluginRow | undefined;
      return r ? toPlugin(r) : null;
    },
    /** The organisation's own plugin (author's view); null for another organisation's. */
    pluginOf(orgId: string, id: string): AuthoredPlugin | null {
      const r = stmts.plugin.get(id) as PluginRow | undefined;
      return r && r.org_id === orgId ? toPlugin(r) : null;
    },
    bySlug(orgId: string, slug: string): AuthoredPlugin | null {
      const r = stmts.bySlug.get(orgId, slug) as PluginRow | undefined;
      return r ? toPlugin(r) : null;
    },
    listForOrg(orgId: string): AuthoredPlugin[] {
      return (stmts.listForOrg.all(orgId) as PluginRow[]).map(toPlugin);
    },
    /** Plugins an organisation may see in the directory: its own, and those with a published or deprecated version. */
    visibleTo(orgId: string): AuthoredPlugin[] {
      return (stmts.visibleTo.all(orgId) as PluginRow[]).map(toPlugin);
    },
    version(id: string): PluginVersion | null {
      const r = stmts.version.get(id) as VersionRow | undefined;
      return r ? toVersion(r) : null;
    },
    versionOf(pluginId: string, version: string): PluginVersion | null {
      const r = stmts.versionOf.get(pluginId, version) as VersionRow | undefined;
      return r ? toVersion(r) : null;
    },
    /** Every version of a plugin, oldest first. */
    versions(pluginId: string): PluginVersion[] {
      return (stmts.versions.all(pluginId) as VersionRow[]).map(toVersion);
    },
    withStatus(status: VersionStatus): PluginVersion[] {
      return (stmts.byStatus.all(status) as VersionRow[]).map(toVersion);
    },
    /** Whether another plugin with this slug is in the directory (published or deprecated). */
    slugPublishedElsewhere(slug: string, pluginId: string): boolean {
      return stmts.publishedWithSlug.get(slug, pluginId) !== undefined;
    },
    /** Moves a version to `to` when its status is one of `from`; null when it was not (nothing changed). */
    setStatus(versionId: string, from: readonly VersionStatus[], to: VersionStatus, fields: StatusFields = {}): PluginVersion | null {
      return setStatus.immediate(versionId, from, to, fields);
    },
    /** The secrets that sign this plugin's calls, opened (the box registers them as known secrets). */
    signingSecrets(pluginId: string): SigningSecrets | null {
      const r = stmts.secrets.get(pluginId) as PluginRow | undefined;
      if (!r) return null;
      return {
        current: box.open(r.signing_secret_sealed, currentAad(r.org_id, r.id)),
        previous: r.previous_secret_sealed ? box.open(r.previous_secret_sealed, previousAad(r.org_id, r.id)) : null,
        previousExpiresAt: r.previous_secret_expires_at,
      };
    },
    /**
     * A new signing secret, returned once. The current one becomes the previous one and keeps
     * signing until `now + overlapMs` (0: it stops at once); an older previous one is dropped.
     */
    rotateSecret(plugin: AuthoredPlugin, overlapMs: number, now = Date.now()): { signingSecret: string; previousSecretExpiresAt: number | null } {
      return db.transaction(() => {
        const r = stmts.secrets.get(plugin.id) as PluginRow;
        const old = box.open(r.signing_secret_sealed, currentAad(r.org_id, r.id));
        const fresh = generateSigningSecret();
        const expires = overlapMs > 0 ? now + overlapMs : null;
        stmts.rotate.run(
          box.seal(fresh, currentAad(r.org_id, r.id)), expires === null ? null : box.seal(old, previousAad(r.org_id, r.id)), expires, now, now, r.id,
        );
        return { signingSecret: fresh, previousSecretExpiresAt: expires };
      }).immediate();
    },
  };
}
export type PluginStore = ReturnType<typeof createPluginStore>;
