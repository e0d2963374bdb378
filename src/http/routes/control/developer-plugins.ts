/**
 * Control panel: the developer area of custom plugins (owners and admins of the authoring
 * organisation): register, versions, submit for review, deprecate, withdraw, rotate the signing
 * secret, and the plugin's call log. Each route is a pipeline: auth and policy → find the plugin
 * (another organisation's is a 404) → validate → use case → presenter. Must never hold business
 * rules (src/control/developer-plugins.ts has them) and never return the signing secret except in
 * the answers that create one. Also serves the manifest's JSON Schema (public, for editors).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson, readOptionalJson } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import {
  addPluginVersion, authoredPluginLogs, deprecateVersion, getAuthoredPlugin, getAuthoredVersion, listAuthoredPlugins, registerPlugin, rotateSigningSecret,
  submitVersion, versionsOf, withdrawVersion, type DeveloperDeps,
} from '../../../control/developer-plugins.ts';
import type { AuthoredPlugin } from '../../../plugins/kinds/custom/plugin-store.ts';
import { manifestJsonSchema } from '../../../plugins/kinds/custom/manifest.ts';
import { listOf, pageOf } from '../../presenters/common.ts';
import { presentAuthoredPlugin, presentRegistered, presentRotated, presentVersion, presentVersionDetail } from '../../presenters/custom-plugins.ts';
import { presentLogEntry } from '../../presenters/plugin-installations.ts';
import { ManifestSource, NoFields, PageQuery, RotateSecret } from './custom-plugins.schema.ts';

const DEFAULT_PAGE = 50;

export function developerPluginRoutes(deps: ControlAuthDeps & DeveloperDeps): Router {
  const router = new Router();
  const base = '/organizations/:organizationId/developer/plugins';
  const present = (p: AuthoredPlugin) => presentAuthoredPlugin(p, versionsOf(deps, p));
  const plugin = (ctx: Koa.Context & { params: Record<string, string> }) => getAuthoredPlugin(deps, actorOf(ctx).orgId, ctx.params.pluginId);

  // The published manifest schema, for authors' editors (`"$schema": "<appliance>/schemas/plugboard-plugin.schema.json"`): public, like the file in the repository.
  router.get('/schemas/plugboard-plugin.schema.json', async function manifestSchema(ctx) {
    ctx.type = 'application/schema+json';
    ctx.body = manifestJsonSchema();
  });

  router.get(base, requireOrgAction(deps, 'developer:read'), async function listDeveloperPlugins(ctx) {
    ctx.body = listOf(listAuthoredPlugins(deps, actorOf(ctx).orgId).map(present));
  });

  router.post(base, requireOrgAction(deps, 'developer:write'), async function registerDeveloperPlugin(ctx) {
    const input = validate(ManifestSource, await readJson(ctx));
    const created = await registerPlugin(deps, actorOf(ctx).orgId, input);
    ctx.status = 201;
    ctx.body = presentRegistered(created.plugin, versionsOf(deps, created.plugin), created.version, created.signingSecret);
  });

  router.get(`${base}/:pluginId`, requireOrgAction(deps, 'developer:read'), async function getDeveloperPlugin(ctx) {
    ctx.body = present(plugin(ctx));
  });

  router.get(`${base}/:pluginId/versions`, requireOrgAction(deps, 'developer:read'), async function listDeveloperPluginVersions(ctx) {
    ctx.body = listOf(versionsOf(deps, plugin(ctx)).map(presentVersion));
  });

  router.post(`${base}/:pluginId/versions`, requireOrgAction(deps, 'developer:write'), async function addDeveloperPluginVersion(ctx) {
    const p = plugin(ctx);
    const input = validate(ManifestSource, await readJson(ctx));
    const v = await addPluginVersion(deps, p, input);
    ctx.status = 201;
    ctx.body = presentVersionDetail(v);
  });

  router.get(`${base}/:pluginId/versions/:version`, requireOrgAction(deps, 'developer:read'), async function getDeveloperPluginVersion(ctx) {
    ctx.body = presentVersionDetail(getAuthoredVersion(deps, plugin(ctx), ctx.params.version));
  });

  const action = (name: string, run: typeof submitVersion) =>
    router.post(`${base}/:pluginId/versions/:version/${name}`, requireOrgAction(deps, 'developer:write'), async function developerVersionAction(ctx) {
      const v = getAuthoredVersion(deps, plugin(ctx), ctx.params.version);
      validate(NoFields, await readOptionalJson(ctx));
      ctx.body = presentVersion(run(deps, v));
    });
  action('submit', submitVersion);
  action('deprecate', deprecateVersion);
  action('withdraw', withdrawVersion);

  router.post(`${base}/:pluginId/rotate-secret`, requireOrgAction(deps, 'developer:write'), async function rotateDeveloperPluginSecret(ctx) {
    const p = plugin(ctx);
    const input = validate(RotateSecret, await readOptionalJson(ctx));
    ctx.body = presentRotated(p, rotateSigningSecret(deps, p, input.overlapSeconds));
  });

  router.get(`${base}/:pluginId/logs`, requireOrgAction(deps, 'developer:read'), async function developerPluginLogs(ctx) {
    const p = plugin(ctx);
    const q = validate(PageQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(authoredPluginLogs(deps, p, { limit: q.limit ?? DEFAULT_PAGE, cursor: q.cursor }), presentLogEntry);
  });

  return router;
}
