/**
 * The organisation's plugins as the control panel sees them (the list and one plugin's tools, from
 * the plugin runtime), and the one check of plugin ids that an owner names in a key's
 * `allowedPluginIds` or a WhatsApp instance's grants: each must be a plugin of the organisation,
 * as listed by the plugin runtime (`pluginIdsOf`), so a typo or another organisation's id is a
 * clear 400 instead of a silent "no plugins". New plugin kinds extend that listing, never this
 * check. Never stores anything and never knows about HTTP.
 */
import { invalidRequest, notFound } from '../errors.ts';
import type { OpenAiFunctionTool, PluginRuntime, PluginSummary } from '../plugins/runtime.ts';

/** Every id an organisation's keys and grants may name (installations of any status, first-party plugins). */
export type PluginIdLister = (orgId: string) => readonly string[];

/** Throws a 400 `unknown_plugin` naming the first id that is not a plugin of the organisation, with its index in `param`. */
export function assertKnownPluginIds(list: PluginIdLister, orgId: string, ids: readonly string[], param: string): void {
  if (ids.length === 0) return;
  const known = new Set(list(orgId));
  const bad = ids.findIndex((id) => !known.has(id));
  if (bad < 0) return;
  const firstParty = [...known].filter((id) => id.startsWith('first_party:')).sort();
  const choices = ['an MCP integration id of this organization', ...firstParty].join(', ');
  throw invalidRequest(
    `${param}[${bad}]: ${JSON.stringify(ids[bad])} is not a plugin of this organization (expected ${choices}; GET /organizations/{id}/plugins lists them).`,
    `${param}.${bad}`,
    'unknown_plugin',
  );
}

/** What the plugin listing needs: the runtime's view of an organisation's plugins. */
export interface PluginCatalogDeps {
  runtime: Pick<PluginRuntime, 'listPlugins' | 'buildToolSet'>;
}

/** Every plugin of the organisation that the runtime would offer (first-party where usable, active installations). */
export function listPlugins(d: PluginCatalogDeps, orgId: string): PluginSummary[] {
  return d.runtime.listPlugins(orgId);
}

/** The tools one plugin (by id or slug) offers, as the model sees them; an unknown plugin is a 404. */
export function pluginTools(d: PluginCatalogDeps, orgId: string, idOrSlug: string): readonly OpenAiFunctionTool[] {
  const p = d.runtime.listPlugins(orgId).find((x) => x.handle.id === idOrSlug || x.handle.slug === idOrSlug);
  if (!p) throw notFound('plugin', 'pluginId');
  return d.runtime.buildToolSet([p]).tools;
}
