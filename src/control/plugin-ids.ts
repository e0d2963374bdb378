/**
 * The one check of plugin ids that an owner names in a key's `allowedPluginIds` or a WhatsApp
 * instance's grants: each must be a plugin of the organisation, as listed by the plugin runtime
 * (`pluginIdsOf`), so a typo or another organisation's id is a clear 400 instead of a silent
 * "no plugins". New plugin kinds extend that listing, never this check. Never stores anything.
 */
import { invalidRequest } from '../errors.ts';

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
