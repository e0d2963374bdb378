/**
 * Control panel: the plugin directory and custom plugin installations (members read; owners and
 * admins install, configure, upgrade and uninstall; owners accept an upgrade that needs consent),
 * with each installation's call log. Pipelines: auth and policy → find (another organisation's
 * installation or unpublished plugin is a 404) → validate → use case → presenter. Must never hold
 * business rules (src/control/plugin-installations.ts, plugin-upgrades.ts, plugin-directory.ts have
 * them) and never return a secret config value.
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson, readOptionalJson } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import {
  deleteInstallation, getInstallation, installationLogs, installationView, installPlugin, listInstallations, updateInstallation,
} from '../../../control/plugin-installations.ts';
import { acceptUpgrade, upgradeInstallation, type UpgradeDeps } from '../../../control/plugin-upgrades.ts';
import { directoryEntry, listDirectory, type DirectoryDeps } from '../../../control/plugin-directory.ts';
import type { CustomInstallation } from '../../../plugins/kinds/custom/installation-store.ts';
import { deleted, listOf, pageOf } from '../../presenters/common.ts';
import { presentDirectoryDetail, presentDirectoryEntry } from '../../presenters/custom-plugins.ts';
import { installationState, presentInstallation, presentLogEntry } from '../../presenters/plugin-installations.ts';
import { AcceptPluginUpgrade, DirectoryQuery, InstallPlugin, PageQuery, UpdatePluginInstallation, UpgradePluginInstallation } from './custom-plugins.schema.ts';

const DEFAULT_PAGE = 50;

export function pluginInstallationRoutes(deps: ControlAuthDeps & UpgradeDeps & DirectoryDeps): Router {
  const router = new Router();
  const base = '/organizations/:organizationId/plugin-installations';
  const dir = '/organizations/:organizationId/plugin-directory';
  const present = (inst: CustomInstallation) => presentInstallation(installationView(deps, inst));
  const state = (inst: CustomInstallation) => {
    const v = installationView(deps, inst);
    return installationState(v.inst, v.version, v.pending ? v.pending.changes.needsConsent : null);
  };

  router.get(dir, requireOrgAction(deps, 'directory:read'), async function listPluginDirectory(ctx) {
    ctx.body = listOf(listDirectory(deps, actorOf(ctx).orgId).map((e) => presentDirectoryEntry(e, state)));
  });

  router.get(`${dir}/:pluginId`, requireOrgAction(deps, 'directory:read'), async function getDirectoryPlugin(ctx) {
    const q = validate(DirectoryQuery, singleQuery(ctx.request.query));
    ctx.body = presentDirectoryDetail(directoryEntry(deps, actorOf(ctx).orgId, ctx.params.pluginId, q.version), state);
  });

  router.get(base, requireOrgAction(deps, 'plugin-installations:read'), async function listPluginInstallations(ctx) {
    ctx.body = listOf(listInstallations(deps, actorOf(ctx).orgId).map(present));
  });

  router.post(base, requireOrgAction(deps, 'plugin-installations:write'), async function installCustomPlugin(ctx) {
    const input = validate(InstallPlugin, await readJson(ctx));
    const inst = installPlugin(deps, actorOf(ctx).orgId, input);
    ctx.status = 201;
    ctx.body = present(inst);
  });

  router.get(`${base}/:id`, requireOrgAction(deps, 'plugin-installations:read'), async function getPluginInstallation(ctx) {
    ctx.body = present(getInstallation(deps, actorOf(ctx).orgId, ctx.params.id));
  });

  router.patch(`${base}/:id`, requireOrgAction(deps, 'plugin-installations:write'), async function updatePluginInstallation(ctx) {
    const cur = getInstallation(deps, actorOf(ctx).orgId, ctx.params.id);
    const input = validate(UpdatePluginInstallation, await readJson(ctx));
    ctx.body = present(await updateInstallation(deps, cur, input));
  });

  router.delete(`${base}/:id`, requireOrgAction(deps, 'plugin-installations:write'), async function deletePluginInstallation(ctx) {
    const inst = getInstallation(deps, actorOf(ctx).orgId, ctx.params.id);
    await deleteInstallation(deps, inst);
    ctx.body = deleted(inst.id, 'plugin_installation');
  });

  router.post(`${base}/:id/upgrade`, requireOrgAction(deps, 'plugin-installations:write'), async function upgradePluginInstallation(ctx) {
    const cur = getInstallation(deps, actorOf(ctx).orgId, ctx.params.id);
    const input = validate(UpgradePluginInstallation, await readOptionalJson(ctx));
    ctx.body = present(upgradeInstallation(deps, cur, input));
  });

  router.post(`${base}/:id/accept-upgrade`, requireOrgAction(deps, 'plugin-installations:consent'), async function acceptPluginUpgrade(ctx) {
    const cur = getInstallation(deps, actorOf(ctx).orgId, ctx.params.id);
    const input = validate(AcceptPluginUpgrade, await readJson(ctx));
    ctx.body = present(acceptUpgrade(deps, cur, input));
  });

  router.get(`${base}/:id/logs`, requireOrgAction(deps, 'plugin-installations:read'), async function pluginInstallationLogs(ctx) {
    const inst = getInstallation(deps, actorOf(ctx).orgId, ctx.params.id);
    const q = validate(PageQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(installationLogs(deps, inst, { limit: q.limit ?? DEFAULT_PAGE, cursor: q.cursor }), presentLogEntry);
  });

  return router;
}
