/**
 * Control panel: MCP integrations (members read; owners write). Each route is a pipeline:
 * auth and policy → (find the integration in the organisation) → validate → use case → presenter.
 * Must never hold business rules (install and its compensation, update, delete and refresh are
 * src/control/mcp-integrations.ts's), and never return a credential.
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { validate } from '../../validate.ts';
import {
  deleteMcpIntegration, getMcpIntegration, installMcpIntegration, listMcpIntegrations, mcpIntegrationHealth, refreshMcpIntegration,
  updateMcpIntegration, type McpIntegrationDeps,
} from '../../../control/mcp-integrations.ts';
import type { McpInstallation as Installation } from '../../../plugins/kinds/mcp/settings.ts';
import { deleted, listOf } from '../../presenters/common.ts';
import { presentMcpIntegration } from '../../presenters/mcp-integrations.ts';
import { CreateMcpIntegration, UpdateMcpIntegration } from './mcp-integrations.schema.ts';

export interface McpRouteDeps extends ControlAuthDeps, McpIntegrationDeps {}

export function mcpIntegrationRoutes(deps: McpRouteDeps): Router {
  const router = new Router();
  const base = '/organizations/:organizationId/mcp-integrations';
  const present = (i: Installation) => presentMcpIntegration(i, mcpIntegrationHealth(deps, i));

  router.get(base, requireOrgAction(deps, 'mcp:read'), async function listIntegrations(ctx) {
    ctx.body = listOf(listMcpIntegrations(deps, actorOf(ctx).orgId).map(present));
  });

  router.post(base, requireOrgAction(deps, 'mcp:write'), async function createIntegration(ctx) {
    const input = validate(CreateMcpIntegration, await readJson(ctx));
    const inst = await installMcpIntegration(deps, actorOf(ctx).orgId, input);
    ctx.status = 201;
    ctx.body = present(inst);
  });

  router.get(`${base}/:id`, requireOrgAction(deps, 'mcp:read'), async function getIntegration(ctx) {
    ctx.body = present(getMcpIntegration(deps, actorOf(ctx).orgId, ctx.params.id));
  });

  router.patch(`${base}/:id`, requireOrgAction(deps, 'mcp:write'), async function updateIntegration(ctx) {
    const cur = getMcpIntegration(deps, actorOf(ctx).orgId, ctx.params.id);
    const input = validate(UpdateMcpIntegration, await readJson(ctx));
    ctx.body = present(await updateMcpIntegration(deps, cur, input));
  });

  router.delete(`${base}/:id`, requireOrgAction(deps, 'mcp:write'), async function deleteIntegration(ctx) {
    const inst = getMcpIntegration(deps, actorOf(ctx).orgId, ctx.params.id);
    await deleteMcpIntegration(deps, inst);
    ctx.body = deleted(inst.id, 'mcp_integration');
  });

  router.post(`${base}/:id/refresh`, requireOrgAction(deps, 'mcp:write'), async function refreshIntegration(ctx) {
    const inst = getMcpIntegration(deps, actorOf(ctx).orgId, ctx.params.id);
    ctx.body = present(await refreshMcpIntegration(deps, inst));
  });

  return router;
}
