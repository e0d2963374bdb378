/**
 * Control panel: MCP integrations (owner-only writes) and the organisation's plugin list.
 * Installing connects, lists every tool page and stores the catalog; a server that cannot be
 * reached or listed is refused with a scrubbed reason and nothing is stored.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { AppError, ErrorType, conflict, invalidRequest, notFound } from '../../../errors.ts';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { validate } from '../../validate.ts';
import { readJson } from './organizations.ts';
import { slugProblem } from '../../../plugins/naming.ts';
import { assertUrlAllowed, SsrfError, type NetworkPolicy } from '../../../net/ssrf.ts';
import type { McpInstallationsRepo as InstallationsRepo, McpInstallation as Installation } from '../../../plugins/kinds/mcp/settings.ts';
import type { McpManager } from '../../../plugins/kinds/mcp/manager.ts';
import type { PluginRuntime } from '../../../plugins/runtime.ts';
import { iso } from '../../presenters/control.ts';
import { isReservedHeader } from '../../../net/reserved-headers.ts';


const slug = z.string().superRefine((s, ctx) => {
  const problem = slugProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const credential = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1).max(8192) }),
  z.strictObject({
    type: z.literal('header'),
    name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name').refine((n) => !isReservedHeader(n), 'is reserved and cannot carry a credential'),
    value: z.string().min(1).max(8192).regex(/^[^\r\n]*$/, 'must be one line'),
  }),
]);
const rateLimits = z.record(z.string().min(1).max(128), z.strictObject({ points: z.number().int().min(1).max(1_000_000), durationSeconds: z.number().int().min(1).max(86_400) }));
const fields = {
  displayName: z.string().trim().min(1).max(100),
  description: z.string().max(1000),
  url: z.string().max(2048).url(),
  transport: z.enum(['streamable_http', 'sse', 'auto']),
  credential: credential.nullable(),
  timeoutMs: z.number().int().min(100).max(600_000).nullable(),
  toolAllowlist: z.array(z.string().min(1).max(128)).max(1000).nullable(),
  toolRateLimits: rateLimits,
};
const Create = z.strictObject({
  slug,
  displayName: fields.displayName,
  description: fields.description.optional(),
  url: fields.url,
  transport: fields.transport.optional(),
  credential: fields.credential.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  toolAllowlist: fields.toolAllowlist.optional(),
  toolRateLimits: fields.toolRateLimits.optional(),
});
const Update = z.strictObject({
  slug: slug.optional(),
  displayName: fields.displayName.optional(),
  description: fields.description.optional(),
  url: fields.url.optional(),
  transport: fields.transport.optional(),
  credential: fields.credential.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  toolAllowlist: fields.toolAllowlist.optional(),
  toolRateLimits: fields.toolRateLimits.optional(),
  status: z.enum(['active', 'disabled']).optional(),
});

export interface McpRouteDeps extends ControlAuthDeps {
  installations: InstallationsRepo;
  mcp: McpManager;
  runtime: PluginRuntime;
  policy: NetworkPolicy;
  onChange: () => void;
}

function present(i: Installation, mcp: McpManager) {
  const allowed = (name: string): boolean => i.toolAllowlist === null || i.toolAllowlist.includes(name);
  const h = mcp.health(i);
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

export function mcpIntegrationRoutes(deps: McpRouteDeps): Router {
  const router = new Router();
  const base = '/organizations/:organizationId/mcp-integrations';
  const load = (orgId: string, id: string): Installation => {
    const inst = deps.installations.get(orgId, id);
    if (!inst) throw notFound('mcp_integration', 'id');
    return inst;
  };

  router.get(base, requireOrgAction(deps, 'mcp:read'), async function listIntegrations(ctx) {
    ctx.body = { object: 'list', data: deps.installations.list(actorOf(ctx).orgId).map((i) => present(i, deps.mcp)) };
  });

  router.post(base, requireOrgAction(deps, 'mcp:write'), async function createIntegration(ctx) {
    const orgId = actorOf(ctx).orgId;
    const input = validate(Create, await readJson(ctx));
    if (deps.installations.getBySlug(orgId, input.slug)) throw conflict(`The slug "${input.slug}" is already used in this organization.`, 'slug_taken', 'slug');
    await checkUrl(input.url, deps.policy);
    const inst = deps.installations.create(orgId, {
      slug: input.slug, displayName: input.displayName, description: input.description ?? '', url: input.url, transport: input.transport ?? 'auto',
      credential: input.credential ?? null, timeoutMs: input.timeoutMs ?? null, toolAllowlist: input.toolAllowlist ?? null, toolRateLimits: input.toolRateLimits ?? {},
    });
    let refreshed: Installation;
    try {
      refreshed = await deps.mcp.refresh(inst);
    } catch (err) {
      await deps.mcp.drop(inst.id);
      deps.installations.delete(orgId, inst.id);
      throw connectFailed(err);
    }
    deps.onChange();
    ctx.status = 201;
    ctx.body = present(refreshed, deps.mcp);
  });

  router.get(`${base}/:id`, requireOrgAction(deps, 'mcp:read'), async function getIntegration(ctx) {
    ctx.body = present(load(actorOf(ctx).orgId, ctx.params.id), deps.mcp);
  });

  router.patch(`${base}/:id`, requireOrgAction(deps, 'mcp:write'), async function updateIntegration(ctx) {
    const orgId = actorOf(ctx).orgId;
    const cur = load(orgId, ctx.params.id);
    const input = validate(Update, await readJson(ctx));
    if (input.slug && input.slug !== cur.slug && deps.installations.getBySlug(orgId, input.slug)) {
      throw conflict(`The slug "${input.slug}" is already used in this organization.`, 'slug_taken', 'slug');
    }
    if (input.url) await checkUrl(input.url, deps.policy);
    let inst = deps.installations.update(orgId, cur.id, input)!;
    const endpointChanged = input.url !== undefined || input.transport !== undefined || input.credential !== undefined || (input.slug !== undefined && input.slug !== cur.slug);
    if (endpointChanged && inst.status === 'active') {
      try {
        inst = await deps.mcp.refresh(inst);
      } catch {
        inst = deps.installations.get(orgId, cur.id)!;
      }
    }
    if (inst.status === 'disabled') await deps.mcp.drop(inst.id);
    deps.onChange();
    ctx.body = present(inst, deps.mcp);
  });

  router.delete(`${base}/:id`, requireOrgAction(deps, 'mcp:write'), async function deleteIntegration(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    await deps.mcp.drop(inst.id);
    deps.installations.delete(orgId, inst.id);
    deps.onChange();
    ctx.body = { id: inst.id, object: 'mcp_integration', deleted: true };
  });

  router.post(`${base}/:id/refresh`, requireOrgAction(deps, 'mcp:write'), async function refreshIntegration(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    try {
      ctx.body = present(await deps.mcp.refresh(inst), deps.mcp);
    } catch (err) {
      throw connectFailed(err);
    }
  });

  router.get('/organizations/:organizationId/plugins', requireOrgAction(deps, 'plugins:read'), async function listPlugins(ctx) {
    ctx.body = {
      data: deps.runtime.listPlugins(actorOf(ctx).orgId).map((p) => ({
        id: p.handle.id, kind: p.handle.kind, slug: p.handle.slug, displayName: p.handle.displayName, description: p.handle.description, toolCount: p.toolCount,
      })),
    };
  });

  router.get('/organizations/:organizationId/plugins/:pluginId/tools', requireOrgAction(deps, 'plugins:read'), async function listPluginTools(ctx) {
    const p = deps.runtime.listPlugins(actorOf(ctx).orgId).find((x) => x.handle.id === ctx.params.pluginId || x.handle.slug === ctx.params.pluginId);
    if (!p) throw notFound('plugin', 'pluginId');
    const set = deps.runtime.buildToolSet([p]);
    ctx.body = { object: 'list', data: set.tools.map((t) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters })) };
  });

  return router;
}
