/**
 * Control panel: gateway keys (create, list, update, revoke); the secret is returned once, by
 * create. Each route is a pipeline: auth and policy → validate → use case → presenter.
 * Must never hold business rules (those are src/control/keys.ts's).
 */
import Router from '@koa/router';
import type { TenancyRepos } from '../../../control/organizations.ts';
import { createKey, getKey, listKeys, revokeKey, updateKey, type KeyDeps } from '../../../control/keys.ts';
import type { PluginIdLister } from '../../../control/plugins.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { validate } from '../../validate.ts';
import { listOf } from '../../presenters/common.ts';
import { presentCreatedKey, presentKey } from '../../presenters/keys.ts';
import { CreateKey, UpdateKey } from './keys.schema.ts';

/** `pluginIds` lists the ids a key's `allowedPluginIds` may name (the plugin runtime's `pluginIdsOf`). */
export function keyRoutes(r: TenancyRepos, onChange: () => void, pluginIds: PluginIdLister): Router {
  const router = new Router();
  const auth = { orgs: r.orgs, tokens: r.tokens };
  const deps: KeyDeps = { keys: r.keys, pluginIds, onChange };
  const base = '/organizations/:organizationId/keys';

  router.get(base, requireOrgAction(auth, 'keys:read'), async function listGatewayKeys(ctx) {
    ctx.body = listOf(listKeys(deps, actorOf(ctx).orgId).map(presentKey));
  });

  router.post(base, requireOrgAction(auth, 'keys:write'), async function createGatewayKey(ctx) {
    const input = validate(CreateKey, await readJson(ctx));
    const { key, secret } = createKey(deps, actorOf(ctx), input);
    ctx.status = 201;
    ctx.body = presentCreatedKey(key, secret);
  });

  router.get(`${base}/:keyId`, requireOrgAction(auth, 'keys:read'), async function getGatewayKey(ctx) {
    ctx.body = presentKey(getKey(deps, actorOf(ctx).orgId, ctx.params.keyId));
  });

  router.patch(`${base}/:keyId`, requireOrgAction(auth, 'keys:write'), async function updateGatewayKey(ctx) {
    const input = validate(UpdateKey, await readJson(ctx));
    ctx.body = presentKey(updateKey(deps, actorOf(ctx).orgId, ctx.params.keyId, input));
  });

  router.delete(`${base}/:keyId`, requireOrgAction(auth, 'keys:write'), async function revokeGatewayKey(ctx) {
    ctx.body = presentKey(revokeKey(deps, actorOf(ctx).orgId, ctx.params.keyId));
  });

  return router;
}
