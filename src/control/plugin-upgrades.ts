/**
 * Moving a custom installation to another version of its plugin. When the move asks for nothing
 * new (diffManifests: no added or reworded permission, no new tool or changed tool definition, no
 * new toolkit requirement, no new origin for the config's secrets, no new required field), an admin
 * applies it at once. Otherwise the version becomes the installation's pending one (`needs_consent`)
 * and the installation keeps running the version it has until an owner accepts — with every
 * permission of the new version, the config it needs, and the toolkits it requires granted wherever
 * the installation is. Publishing a version marks it pending on every older installation
 * (plugin-reviews.ts). Must never move an installation to a version its organisation may not install.
 */
import { AppError, ErrorType, conflict, notFound } from '../errors.ts';
import { resolveConfig } from '../plugins/kinds/custom/config-values.ts';
import type { CustomInstallation } from '../plugins/kinds/custom/installation-store.ts';
import type { PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import type { Grant } from '../storage/repos/grants.ts';
import { assertAcceptedPermissions, visiblePlugin, type InstallationDeps } from './plugin-installations.ts';
import { changesBetween, installableBy, latestInstallable, modeOf, newerThan, problemsError } from './plugin-versions.ts';

export interface UpgradeDeps extends InstallationDeps {
  /** Every grant of the organisation (to check toolkit requirements wherever the installation is granted). */
  grantsOf(orgId: string): Grant[];
}

function move(d: UpgradeDeps, cur: CustomInstallation, target: PluginVersion, config: ReturnType<typeof resolveConfig> & { ok: true }, accepted: string[]): CustomInstallation {
  const prepared = d.custom.prepared(target.id);
  if (!prepared) throw new Error('version manifest unreadable');
  const pending = cur.pendingVersionId ? d.custom.store.version(cur.pendingVersionId) : null;
  // A pending version newer than the target stays pending; anything else is settled by this move.
  const keepPending = pending && newerThan(pending, target) && installableBy(pending, cur.orgId) ? undefined : null;
  const inst = d.custom.installs.update(cur.orgId, cur.id, {
    versionId: target.id, pendingVersionId: keepPending, mode: modeOf(target), config: config.config, acceptedPermissions: accepted,
    catalog: prepared.catalog, displayName: target.manifest.name, description: target.manifest.description,
  });
  if (!inst) throw notFound('plugin_installation', 'id');
  d.onChange();
  return inst;
}

function targetVersion(d: UpgradeDeps, cur: CustomInstallation, version: string | undefined): PluginVersion {
  const { versions, all } = visiblePlugin(d, cur.orgId, cur.pluginId);
  const pending = cur.pendingVersionId ? d.custom.store.version(cur.pendingVersionId) : null;
  const target = version !== undefined ? versions.find((v) => v.version === version) : (pending ?? latestInstallable(all, cur.orgId));
  if (version !== undefined && !target) throw notFound('plugin_version', 'version');
  if (!target || target.id === cur.versionId) throw conflict('The installation runs that version already; name another one with "version".', 'already_on_version', 'version');
  if (!installableBy(target, cur.orgId)) throw conflict(`Version ${target.version} is ${target.status} and cannot be installed.`, 'version_not_installable', 'version');
  return target;
}

/**
 * Upgrades (or moves back) to `version` (default: the pending one, else the latest installable):
 * applied now when it needs no consent, otherwise left pending for an owner (`accept-upgrade`).
 */
export function upgradeInstallation(d: UpgradeDeps, cur: CustomInstallation, input: { version?: string }): CustomInstallation {
  const target = targetVersion(d, cur, input.version);
  const current = d.custom.store.version(cur.versionId)!;
  const changes = changesBetween(current, target);
  if (changes.needsConsent) {
    d.custom.installs.setPending(cur.id, target.id);
    return d.custom.installs.get(cur.orgId, cur.id)!;
  }
  const config = resolveConfig(target.manifest.config, {}, cur.config);
  if (!config.ok) {
    d.custom.installs.setPending(cur.id, target.id);
    throw problemsError('invalid_config', `The stored config does not fit version ${target.version} (it is now pending: accept it with the config)`, config.problems, 'config');
  }
  const accepted = target.manifest.permissions.map((p) => p.key);
  return move(d, cur, target, config, accepted);
}

/** An owner's consent to the pending version: every permission accepted, the config it needs, its toolkits granted where the installation is. */
export function acceptUpgrade(d: UpgradeDeps, cur: CustomInstallation, input: { version: string; acceptedPermissions: string[]; config?: Record<string, unknown> }): CustomInstallation {
  const pending = cur.pendingVersionId ? d.custom.store.version(cur.pendingVersionId) : null;
  if (!pending) throw conflict('This installation has no pending version; ask for one with POST …/upgrade first.', 'no_pending_version', 'version');
  if (pending.version !== input.version) throw conflict(`The pending version is ${pending.version}, not ${input.version}.`, 'pending_version_mismatch', 'version');
  if (!installableBy(pending, cur.orgId)) throw conflict(`Version ${pending.version} is ${pending.status} and cannot be installed any more.`, 'version_not_installable', 'version');
  assertAcceptedPermissions(pending.manifest, input.acceptedPermissions, 'acceptedPermissions');
  const config = resolveConfig(pending.manifest.config, input.config ?? {}, cur.config);
  if (!config.ok) throw problemsError('invalid_config', 'The config', config.problems, 'config');
  // The new version's toolkit requirements must hold wherever this installation is granted.
  const bySubject = new Map<string, string[]>();
  for (const g of d.grantsOf(cur.orgId)) bySubject.set(`${g.subject.type}:${g.subject.id}`, [...(bySubject.get(`${g.subject.type}:${g.subject.id}`) ?? []), g.pluginId]);
  const required = pending.manifest.requires?.toolkits ?? [];
  const missing: Array<{ subject: string; any: string[] }> = [];
  for (const [subject, ids] of bySubject) {
    if (!ids.includes(cur.id)) continue;
    for (const r of required) if (!r.any.some((slug) => ids.includes(`first_party:${slug}`))) missing.push({ subject, any: r.any });
  }
  if (missing.length) {
    throw new AppError({
      code: 'missing_toolkit', status: 409, type: ErrorType.conflict, param: 'version',
      message: `Version ${pending.version} requires toolkits that are not granted where this installation is: ${missing.map((m) => `${m.subject} needs one of ${m.any.map((s) => `first_party:${s}`).join(', ')}`).join('; ')}. Grant them first.`,
    });
  }
  return move(d, cur, pending, config, [...input.acceptedPermissions]);
}
