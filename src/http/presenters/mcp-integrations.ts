/**
 * Installation → API JSON for MCP integrations: settings, the cached catalog with each tool's
 * allowlist state, and health. Never includes the credential (only its type, header name and
 * that one is configured).
 */
import type * as Api from '../../shared/api.ts';
import type { McpInstallation as Installation } from '../../plugins/kinds/mcp/settings.ts';
import type { McpHealthState } from '../../control/mcp-integrations.ts';
import { iso } from './common.ts';

export function presentMcpIntegration(i: Installation, h: McpHealthState): Api.McpIntegration {
  const allowed = (name: string): boolean => i.toolAllowlist === null || i.toolAllowlist.includes(name);
  return {
    id: i.id,
    object: 'mcp_integration',
    kind: 'mcp',
    slug: i.slug,
    displayName: i.displayName,
    description: i.description,
    url: i.url,
    transport: i.transport,
    resolvedTransport: i.resolvedTransport,
    credential: i.credentialType ? { type: i.credentialType, ...(i.credentialHeaderName ? { name: i.credentialHeaderName } : {}), configured: true } : null,
    timeoutMs: i.timeoutMs,
    toolAllowlist: i.toolAllowlist,
    toolRateLimits: i.toolRateLimits,
    status: i.status,
    toolCount: i.catalog.filter((t) => allowed(t.name)).length,
    tools: i.catalog.map((t) => ({ name: t.name, prefixedName: t.prefixedName, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations ?? null, allowed: allowed(t.name) })),
    skippedTools: i.skippedTools,
    catalogFetchedAt: iso(i.catalogFetchedAt),
    health: { transport: h.transport, connected: h.connected, lastSuccessAt: iso(h.lastSuccessAt), lastError: h.lastError, lastErrorAt: iso(h.lastErrorAt) },
    createdAt: iso(i.createdAt),
    updatedAt: iso(i.updatedAt),
  };
}
