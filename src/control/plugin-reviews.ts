/**
 * The appliance operator's review of custom plugins (operators are not organisation members; they
 * authenticate with an operator token): the queue of submitted versions with what each changes
 * against the last published one, approve (the version enters the directory; installations of older
 * versions get it as their pending upgrade; its author's sandbox installations of it go live) and
 * reject with a reason the developer reads. Two organisations' plugins never share a slug in the
 * directory. Used by the `/operator/…` routes and the `plugboard plugin review` CLI alike.
 * Must never know about HTTP.
 */
import { conflict, notFound } from '../errors.ts';
import type { CustomKind } from '../plugins/kinds/custom/kind.ts';
import type { AuthoredPlugin, PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import type { UpgradeDiff } from '../plugins/kinds/custom/manifest.ts';
import { changesBetween, installableBy, latestPublished, newerThan, wrongStatus } from './plugin-versions.ts';

export interface ReviewDeps {
  custom: Pick<CustomKind, 'store' | 'installs'>;
  orgName(orgId: string): string | null;
  onChange(): void;
}

export interface Review {
  version: PluginVersion;
  plugin: AuthoredPlugin;
  organizationName: string | null;
  previous: PluginVersion | null;
  changes: UpgradeDiff | null;
}

export function reviewOf(d: ReviewDeps, v: PluginVersion): Review {
  const plugin = d.custom.store.plugin(v.pluginId)!;
  const previous = latestPublished(d.custom.store.versions(v.pluginId).filter((x) => x.id !== v.id));
  return { version: v, plugin, organizationName: d.orgName(v.orgId), previous, changes: previous ? changesBetween(previous, v) : null };
}

/** Submitted versions, oldest submission first. */
export function listReviews(d: ReviewDeps): Review[] {
  return d.custom.store.withStatus('submitted').map((v) => reviewOf(d, v));
}

export function versionForOperator(d: Pick<ReviewDeps, 'custom'>, versionId: string): PluginVersion {
  const v = d.custom.store.version(versionId);
  if (!v) throw notFound('plugin_version', 'versionId');
  return v;
}

export function approveVersion(d: ReviewDeps, versionId: string, reviewer: string, note?: string): PluginVersion {
  const v = versionForOperator(d, versionId);
  if (v.status !== 'submitted') throw wrongStatus(v, 'approving', 'submitted');
  if (d.custom.store.slugPublishedElsewhere(v.manifest.slug, v.pluginId)) {
    throw conflict(`Another organization's plugin with the slug "${v.manifest.slug}" is in the directory already; reject this version and ask its author for another slug.`, 'slug_published_elsewhere', 'versionId');
  }
  const now = Date.now();
  const published = d.custom.store.setStatus(v.id, ['submitted'], 'published', { reviewedAt: now, reviewedBy: reviewer, publishedAt: now, reviewNote: note ?? null });
  if (!published) throw wrongStatus(versionForOperator(d, versionId), 'approving', 'submitted');
  for (const inst of d.custom.installs.listForPlugin(v.pluginId)) {
    if (inst.versionId === published.id) {
      d.custom.installs.update(inst.orgId, inst.id, { mode: 'live' });
      continue;
    }
    const current = d.custom.store.version(inst.versionId);
    const pending = inst.pendingVersionId ? d.custom.store.version(inst.pendingVersionId) : null;
    if (current && newerThan(published, current) && (!pending || !installableBy(pending, inst.orgId) || newerThan(published, pending))) {
      d.custom.installs.setPending(inst.id, published.id);
    }
  }
  d.onChange();
  return published;
}

export function rejectVersion(d: ReviewDeps, versionId: string, reviewer: string, reason: string): PluginVersion {
  const v = versionForOperator(d, versionId);
  const rejected = d.custom.store.setStatus(v.id, ['submitted'], 'rejected', { reviewedAt: Date.now(), reviewedBy: reviewer, reviewNote: reason });
  if (!rejected) throw wrongStatus(versionForOperator(d, versionId), 'rejecting', 'submitted');
  return rejected;
}
