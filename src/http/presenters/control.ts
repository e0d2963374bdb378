/**
 * Row → API JSON for the foundation resources. Never includes hashes, ciphertext or secrets
 * (a secret is added only by the create handlers, once).
 */
import type { GatewayKey } from '../../storage/repos/gateway-keys.ts';
import type { Member, Organization, Role } from '../../storage/repos/organizations.ts';
import type { UsageEvent } from '../../storage/repos/usage-events.ts';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function presentOrganization(o: Organization, role?: Role) {
  return {
    id: o.id,
    object: 'organization',
    name: o.name,
    settings: { pluginInjection: o.settings.pluginInjection !== false },
    createdAt: iso(o.createdAt),
    ...(role ? { role } : {}),
  };
}

export function presentMember(m: Member) {
  return { userId: m.userId, object: 'member', name: m.name, role: m.role, createdAt: iso(m.createdAt) };
}

export function presentKey(k: GatewayKey) {
  return {
    id: k.id,
    object: 'gateway_key',
    name: k.name,
    prefix: k.prefix,
    last4: k.last4,
    rateLimitRpm: k.rateLimitRpm,
    allowedPluginIds: k.allowedPluginIds,
    createdBy: k.createdBy,
    createdAt: iso(k.createdAt),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
    status: k.revokedAt === null ? 'active' : 'revoked',
  };
}

export function presentUsageEvent(e: UsageEvent) {
  return {
    id: String(e.id),
    object: 'usage_event',
    kind: e.kind,
    requestId: e.requestId,
    keyId: e.keyId,
    instanceId: e.instanceId,
    pluginId: e.pluginId,
    tool: e.tool,
    model: e.model,
    status: e.status,
    httpStatus: e.httpStatus,
    errorClass: e.errorClass,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    latencyMs: e.latencyMs,
    stream: e.stream,
    createdAt: iso(e.createdAt),
  };
}
