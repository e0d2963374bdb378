/**
 * Grant use cases: which plugins a WhatsApp number instance's agent may use (nothing by default).
 * Replacing the set checks every id against the organisation's plugins (the plugin runtime's
 * `pluginIdsOf`, the same check as a key's `allowedPluginIds`) before anything is written, and
 * writes the whole set in one transaction. The grants store is called from this module only
 * (`pluginIds`, `replace`), so changing where grants live changes this file and app.ts's wiring.
 * Must never know about HTTP or Koa.
 */
import { AppError, ErrorType, notFound } from '../errors.ts';
import { whatsappInstanceSubject, type GrantsRepo } from '../storage/repos/grants.ts';
import { assertKnownPluginIds, type PluginIdLister } from './plugins.ts';

export interface GrantDeps {
  grants: Pick<GrantsRepo, 'pluginIds' | 'replace'>;
  /** Every plugin id a grant may name (the plugin runtime's `pluginIdsOf`). */
  pluginIds: PluginIdLister;
  /** Toolkit requirements of the set's plugins that the set does not meet (the custom kind's `missingToolkits`). */
  missingToolkits?: (orgId: string, pluginIds: readonly string[]) => Array<{ pluginId: string; slug: string; any: string[]; reason: string }>;
}

/** The subject of grants: an instance found in its organisation. */
export interface GrantSubject {
  orgId: string;
  id: string;
}

export function grantedPluginIds(d: Pick<GrantDeps, 'grants'>, instance: GrantSubject): string[] {
  return d.grants.pluginIds(instance.orgId, whatsappInstanceSubject(instance.id));
}

/** Replaces the instance's grants with `enabledPluginIds` (duplicates collapse); returns the stored set. */
export function replaceGrants(d: GrantDeps, instance: GrantSubject, enabledPluginIds: readonly string[]): string[] {
  assertKnownPluginIds(d.pluginIds, instance.orgId, enabledPluginIds, 'enabledPluginIds');
  const missing = d.missingToolkits?.(instance.orgId, enabledPluginIds) ?? [];
  if (missing.length > 0) {
    const what = missing.map((m) => `${m.slug} (${m.pluginId}) needs one of ${m.any.map((s) => `first_party:${s}`).join(', ')}: ${m.reason}`).join('; ');
    throw new AppError({
      code: 'missing_toolkit', status: 400, type: ErrorType.invalidRequest, param: 'enabledPluginIds',
      message: `Grant the toolkits these plugins require to the same instance: ${what}.`,
      problems: missing.map((m) => ({ path: `/enabledPluginIds/${enabledPluginIds.indexOf(m.pluginId)}`, message: `requires one of ${m.any.map((s) => `first_party:${s}`).join(', ')}` })),
    });
  }
  const stored = d.grants.replace(instance.orgId, whatsappInstanceSubject(instance.id), [...new Set(enabledPluginIds)]);
  if (stored === null) throw notFound('whatsapp_instance', 'id');
  return stored;
}
