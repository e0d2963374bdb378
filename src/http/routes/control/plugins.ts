/**
 * Control panel: the organisation's plugins of every kind (what the runtime would offer) and one
 * plugin's tools as the model sees them. Read-only, for every member; no request body, so no
 * schema file. Must never hold business rules (src/control/plugins.ts has them).
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { listPlugins, pluginTools, type PluginCatalogDeps } from '../../../control/plugins.ts';
import { listOf } from '../../presenters/common.ts';
import { presentPlugin, presentPluginTool } from '../../presenters/plugins.ts';

export function pluginRoutes(deps: ControlAuthDeps & PluginCatalogDeps): Router {
  const router = new Router();

  router.get('/organizations/:organizationId/plugins', requireOrgAction(deps, 'plugins:read'), async function listOrgPlugins(ctx) {
    // The plugin list has always been answered without `object: 'list'`; kept as it is.
    ctx.body = { data: listPlugins(deps, actorOf(ctx).orgId).map(presentPlugin) };
  });

  router.get('/organizations/:organizationId/plugins/:pluginId/tools', requireOrgAction(deps, 'plugins:read'), async function listPluginTools(ctx) {
    ctx.body = listOf(pluginTools(deps, actorOf(ctx).orgId, ctx.params.pluginId).map(presentPluginTool));
  });

  return router;
}
