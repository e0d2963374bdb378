/**
 * The plugin directory an organisation installs from: every plugin with a published (or
 * deprecated) version, and the organisation's own plugins with all their versions. One entry
 * shows what an installer must see before consenting: permissions with labels and descriptions,
 * tools and their effects, config fields, required toolkits, the base URL the config goes to, and
 * the mode an install would have. Must never know about HTTP, and never list or show another
 * organisation's unpublished plugin or version (a 404, like one that does not exist).
 */
import { notFound } from '../errors.ts';
import type { CustomKind } from '../plugins/kinds/custom/kind.ts';
import type { AuthoredPlugin, PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import type { CustomInstallation } from '../plugins/kinds/custom/installation-store.ts';
import { highestVersion } from '../plugins/kinds/custom/semver.ts';
import { installableBy, latestInstallable, visibleVersions } from './plugin-versions.ts';

export interface DirectoryDeps {
  custom: Pick<CustomKind, 'store' | 'installs'>;
}

export interface DirectoryEntry {
  plugin: AuthoredPlugin;
  versions: PluginVersion[];
  latest: PluginVersion | null;
  /** The newest version shown (latest installable, else the newest visible). */
  shown: PluginVersion;
  ownPlugin: boolean;
  installation: CustomInstallation | null;
}

function entry(d: DirectoryDeps, orgId: string, plugin: AuthoredPlugin, installs: CustomInstallation[]): DirectoryEntry | null {
  const all = d.custom.store.versions(plugin.id);
  const versions = visibleVersions(all, orgId);
  if (versions.length === 0) return null;
  const latest = latestInstallable(all, orgId);
  return {
    plugin, versions, latest, shown: latest ?? highestVersion(versions, (v) => v.version)!, ownPlugin: plugin.orgId === orgId,
    installation: installs.find((i) => i.pluginId === plugin.id) ?? null,
  };
}

export function listDirectory(d: DirectoryDeps, orgId: string): DirectoryEntry[] {
  const installs = d.custom.installs.list(orgId);
  return d.custom.store.visibleTo(orgId).map((p) => entry(d, orgId, p, installs)).filter((e): e is DirectoryEntry => e !== null);
}

/** One plugin as `orgId` sees it, with `version` (default: the one an install would get) selected. */
export function directoryEntry(d: DirectoryDeps, orgId: string, pluginId: string, version?: string): DirectoryEntry & { selected: PluginVersion; installable: boolean } {
  const plugin = d.custom.store.plugin(pluginId);
  const e = plugin ? entry(d, orgId, plugin, d.custom.installs.list(orgId)) : null;
  if (!e) throw notFound('plugin', 'pluginId');
  const selected = version === undefined ? e.shown : e.versions.find((v) => v.version === version);
  if (!selected) throw notFound('plugin_version', 'version');
  return { ...e, selected, installable: installableBy(selected, orgId) };
}
