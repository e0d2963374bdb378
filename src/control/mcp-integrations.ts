/**
 * MCP integration use cases (owner-only writes): install, update, delete and refresh.
 *
 * Installing checks the slug and the URL (the SSRF guard: the address the name resolves to must be
 * public or in PLUGBOARD_MCP_ALLOWED_NETWORKS), stores the installation, connects and lists every
 * tool page; a server that cannot be reached or listed is refused with a scrubbed reason and the
 * stored row is deleted again (the compensating step), so nothing remains. Updating re-lists the
 * catalog when the endpoint changed and drops the connection when the integration is disabled.
 * Every write calls `onChange`. Must never know about HTTP or Koa, and never return a credential.
 */
import { AppError, ErrorType, conflict, invalidRequest, notFound } from '../errors.ts';
import { assertUrlAllowed, SsrfError, type NetworkPolicy } from '../net/ssrf.ts';
import type { McpManager } from '../plugins/kinds/mcp/manager.ts';
import type { Credential, McpInstallation as Installation, McpInstallationsRepo as InstallationsRepo, Transport } from '../plugins/kinds/mcp/settings.ts';

export interface McpIntegrationDeps {
  installations: InstallationsRepo;
  /** The MCP kind: connects and lists (refresh), forgets a connection (drop), reports live health. */
  mcp: Pick<McpManager, 'refresh' | 'drop' | 'health'>;
  /** Where an MCP server may live (the SSRF guard's policy). */
  policy: NetworkPolicy;
  /** Drops cached gateway state that depends on the organisation's plugins. */
  onChange(): void;
  /** Whether the appliance operator paused the installation (then only the operator resumes it). */
  pausedByOperator?(installationId: string): boolean;
}

export interface InstallInput {
  slug: string;
  displayName: string;
  description?: string;
  url: string;
  transport?: Transport;
  credential?: Credential | null;
  timeoutMs?: number | null;
  toolAllowlist?: string[] | null;
  toolRateLimits?: Installation['toolRateLimits'];
}

export type UpdateInput = Partial<InstallInput> & { status?: 'active' | 'disabled' };

export type McpHealthState = ReturnType<McpManager['health']>;

export function listMcpIntegrations(d: Pick<McpIntegrationDeps, 'installations'>, orgId: string): Installation[] {
  return d.installations.list(orgId);
}

export function getMcpIntegration(d: Pick<McpIntegrationDeps, 'installations'>, orgId: string, id: string): Installation {
  const inst = d.installations.get(orgId, id);
  if (!inst) throw notFound('mcp_integration', 'id');
  return inst;
}

/** Health as the live connection sees it (falls back to what is stored). */
export function mcpIntegrationHealth(d: Pick<McpIntegrationDeps, 'mcp'>, inst: Installation): McpHealthState {
  return d.mcp.health(inst);
}

/** Installs and lists the server's tools; on any failure to connect or list, nothing stays stored (422). */
export async function installMcpIntegration(d: McpIntegrationDeps, orgId: string, input: InstallInput): Promise<Installation> {
  assertSlugFree(d, orgId, input.slug);
  await checkUrl(input.url, d.policy);
  const inst = d.installations.create(orgId, {
    slug: input.slug, displayName: input.displayName, description: input.description ?? '', url: input.url, transport: input.transport ?? 'auto',
    credential: input.credential ?? null, timeoutMs: input.timeoutMs ?? null, toolAllowlist: input.toolAllowlist ?? null, toolRateLimits: input.toolRateLimits ?? {},
  });
  let refreshed: Installation;
  try {
    refreshed = await d.mcp.refresh(inst);
  } catch (err) {
    // Compensation: the row was stored only so the refresh could use it.
    await d.mcp.drop(inst.id);
    d.installations.delete(orgId, inst.id);
    throw connectFailed(err);
  }
  d.onChange();
  return refreshed;
}

/**
 * Applies `input` to `cur` (found by the caller in its organisation). A changed endpoint (URL,
 * transport, credential or slug) of an active integration re-lists the catalog; a failure there
 * keeps the update and shows in the health fields. A disabled integration loses its connection.
 */
export async function updateMcpIntegration(d: McpIntegrationDeps, cur: Installation, input: UpdateInput): Promise<Installation> {
  if (input.status === 'active' && d.pausedByOperator?.(cur.id)) {
    throw conflict('The appliance operator paused this integration; only the operator can resume it.', 'paused_by_operator', 'status');
  }
  if (input.slug && input.slug !== cur.slug) assertSlugFree(d, cur.orgId, input.slug);
  if (input.url) await checkUrl(input.url, d.policy);
  let inst = d.installations.update(cur.orgId, cur.id, input);
  if (!inst) throw notFound('mcp_integration', 'id');
  const endpointChanged = input.url !== undefined || input.transport !== undefined || input.credential !== undefined || (input.slug !== undefined && input.slug !== cur.slug);
  if (endpointChanged && inst.status === 'active') {
    try {
      inst = await d.mcp.refresh(inst);
    } catch {
      inst = getMcpIntegration(d, cur.orgId, cur.id);
    }
  }
  if (inst.status === 'disabled') await d.mcp.drop(inst.id);
  d.onChange();
  return inst;
}

export async function deleteMcpIntegration(d: McpIntegrationDeps, inst: Installation): Promise<void> {
  await d.mcp.drop(inst.id);
  d.installations.delete(inst.orgId, inst.id);
  d.onChange();
}

/** Reconnects and re-lists the catalog now; a server that cannot be reached or listed is a 422. */
export async function refreshMcpIntegration(d: McpIntegrationDeps, inst: Installation): Promise<Installation> {
  try {
    return await d.mcp.refresh(inst);
  } catch (err) {
    throw connectFailed(err);
  }
}

function assertSlugFree(d: Pick<McpIntegrationDeps, 'installations'>, orgId: string, slug: string): void {
  if (d.installations.getBySlug(orgId, slug)) throw conflict(`The slug "${slug}" is already used in this organization.`, 'slug_taken', 'slug');
}

async function checkUrl(url: string, policy: NetworkPolicy): Promise<void> {
  try {
    await assertUrlAllowed(url, policy);
  } catch (err) {
    if (err instanceof SsrfError) throw invalidRequest(err.message, 'url', 'url_not_allowed');
    throw invalidRequest('The URL could not be checked: its host name does not resolve.', 'url', 'url_unresolvable');
  }
}

function connectFailed(err: unknown): AppError {
  return new AppError({
    code: 'mcp_connect_failed', status: 422, type: ErrorType.invalidRequest, param: 'url',
    message: `The MCP server could not be reached or listed: ${(err as Error)?.message ?? 'unknown error'}`,
  });
}
