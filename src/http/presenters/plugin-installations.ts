/**
 * Custom installations, plugin log entries and the operator's installation list → API JSON.
 * Secret config values never appear: secret fields are masked (`••••••••`) or null. Presenters
 * never read storage: the use cases hand over everything shown here.
 */
import type * as Api from '../../shared/api.ts';
import type { InstallationView } from '../../control/plugin-installations.ts';
import type { OperatorInstallationView } from '../../control/operator.ts';
import type { CustomInstallation } from '../../plugins/kinds/custom/installation-store.ts';
import type { PluginVersion } from '../../plugins/kinds/custom/plugin-store.ts';
import type { StoredPluginLogEntry } from '../../plugins/kinds/custom/plugin-log.ts';
import { maskedConfig } from '../../plugins/kinds/custom/config-values.ts';
import { iso } from './common.ts';
import { presentChanges, presentPermissions, presentRequires } from './custom-plugins.ts';

/** One word for what the installation is doing, most pressing first. */
export function installationState(inst: CustomInstallation, version: PluginVersion | null, pendingNeedsConsent: boolean | null): Api.PluginInstallationState {
  if (inst.pause) return 'paused';
  if (version?.status === 'withdrawn') return 'withdrawn';
  if (!inst.enabled) return 'disabled';
  if (pendingNeedsConsent !== null) return pendingNeedsConsent ? 'needs_consent' : 'update_available';
  return 'active';
}

export function presentInstallation(v: InstallationView): Api.PluginInstallation {
  const { inst, version, pending, health } = v;
  const m = version.manifest;
  const allowed = (name: string): boolean => inst.toolAllowlist === null || inst.toolAllowlist.includes(name);
  return {
    id: inst.id, object: 'plugin_installation', kind: 'custom', pluginId: inst.pluginId, slug: inst.slug, displayName: inst.displayName, description: inst.description,
    version: version.version, versionStatus: version.status, mode: inst.mode, status: inst.status,
    state: installationState(inst, version, pending ? pending.changes.needsConsent : null), enabled: inst.enabled,
    pausedByOperator: inst.pause ? { reason: inst.pause.reason, pausedAt: iso(inst.pause.pausedAt) } : null,
    pendingVersion: pending ? { version: pending.version.version, ...presentChanges(pending.changes), permissions: presentPermissions(pending.version.manifest) } : null,
    config: maskedConfig(m.config, inst.config), acceptedPermissions: inst.acceptedPermissions, permissions: presentPermissions(m), requires: presentRequires(m),
    toolAllowlist: inst.toolAllowlist, toolRateLimits: inst.toolRateLimits, toolCount: inst.catalog.filter((t) => allowed(t.name)).length,
    tools: inst.catalog.map((t) => ({ name: t.name, prefixedName: t.prefixedName, description: t.description, allowed: allowed(t.name) })),
    health: {
      connected: health.connected, lastSuccessAt: iso(health.lastSuccessAt), lastError: health.lastError, lastErrorAt: iso(health.lastErrorAt),
      consecutiveFailures: health.consecutiveFailures,
    },
    createdAt: iso(inst.createdAt), updatedAt: iso(inst.updatedAt),
  };
}

export function presentLogEntry(e: StoredPluginLogEntry): Api.PluginLogEntry {
  return {
    id: String(e.id), object: 'plugin_log_entry', pluginId: e.pluginId, version: e.version, installationId: e.installationId, organizationId: e.orgId,
    instanceId: e.instanceId, requestId: e.requestId, webhookId: e.webhookId, tool: e.tool, mode: e.mode, status: e.status, httpStatus: e.httpStatus,
    errorClass: e.errorClass, error: e.error, latencyMs: e.latencyMs, attempts: e.attempts, requestBody: e.requestBody, responseBody: e.responseBody,
    createdAt: iso(e.createdAt),
  };
}

export function presentOperatorInstallation(v: OperatorInstallationView): Api.OperatorInstallation {
  const { inst, pause, custom, version } = v;
  return {
    id: inst.id, object: 'operator_installation', organizationId: inst.orgId, kind: inst.kind, slug: inst.slug, displayName: inst.displayName, status: inst.status,
    pluginId: custom?.pluginId ?? null, version: version?.version ?? null, mode: custom?.mode ?? null,
    pausedByOperator: pause ? { reason: pause.reason, pausedAt: iso(pause.pausedAt), pausedBy: pause.pausedBy } : null,
    health: { lastSuccessAt: iso(inst.lastSuccessAt), lastError: inst.lastError, lastErrorAt: iso(inst.lastErrorAt) },
  };
}
