/**
 * Control panel: gateway keys (create, list, update, revoke). The secret is returned once.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { notFound } from '../../../errors.ts';
import type { TenancyRepos } from '../../../control/organizations.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { validate } from '../../validate.ts';
import { presentKey } from '../../presenters/control.ts';
import { readJson } from './organizations.ts';
import { assertKnownPluginIds, type PluginIdLister } from '../../../control/plugin-ids.ts';

const pluginIds = z.array(z.string().min(1).max(200)).max(500).nullable();
const CreateKey = z.strictObject({
  name: z.string().trim().max(200).optional(),
  rateLimitRpm: z.number().int().min(0).max(10_000_000).nullable().optional(),
  allowedPluginIds: pluginIds.optional(),
});
const UpdateKey = CreateKey;

/** `pluginIds` lists the ids a key's `allowedPluginIds` may name (the plugin runtime's `pluginIdsOf`). */
export function keyRoutes(r: TenancyRepos, onChange: () => void, pluginIds: PluginIdLister): Router {
  const router = new Router();
  const auth = { orgs: r.orgs, tokens: r.tokens };

  router.get('/organizations/:organizationId/keys', requireOrgAction(auth, 'keys:read'), async function listKeys(ctx) {
    ctx.body = { object: 'list', data: r.keys.list(actorOf(ctx).orgId).map(presentKey) };
  });

  router.post('/organizations/:organizationId/keys', requireOrgAction(auth, 'keys:write'), async function createKey(ctx) {
    const actor = actorOf(ctx);
    const input = validate(CreateKey, await readJson(ctx));
    if (input.allowedPluginIds) assertKnownPluginIds(pluginIds, actor.orgId, input.allowedPluginIds, 'allowedPluginIds');
    const { key, secret } = r.keys.create(actor.orgId, { ...input, createdBy: actor.userId });
    ctx.status = 201;
    ctx.body = { ...presentKey(key), key: secret };
  });

  router.get('/organizations/:organizationId/keys/:keyId', requireOrgAction(auth, 'keys:read'), async function getKey(ctx) {
    const key = r.keys.get(actorOf(ctx).orgId, ctx.params.keyId);
    if (!key) throw notFound('key', 'keyId');
    ctx.body = presentKey(key);
  });

  router.patch('/organizations/:organizationId/keys/:keyId', requireOrgAction(auth, 'keys:write'), async function updateKey(ctx) {
    const actor = actorOf(ctx);
    const input = validate(UpdateKey, await readJson(ctx));
    if (!r.keys.get(actor.orgId, ctx.params.keyId)) throw notFound('key', 'keyId');
    if (input.allowedPluginIds) assertKnownPluginIds(pluginIds, actor.orgId, input.allowedPluginIds, 'allowedPluginIds');
    const key = r.keys.update(actor.orgId, ctx.params.keyId, input);
    if (!key) throw notFound('key', 'keyId');
    onChange();
    ctx.body = presentKey(key);
  });

  router.delete('/organizations/:organizationId/keys/:keyId', requireOrgAction(auth, 'keys:write'), async function revokeKey(ctx) {
    const actor = actorOf(ctx);
    const existing = r.keys.get(actor.orgId, ctx.params.keyId);
    if (!existing) throw notFound('key', 'keyId');
    r.keys.revoke(actor.orgId, existing.id);
    onChange();
    ctx.body = presentKey(r.keys.get(actor.orgId, existing.id)!);
  });

  return router;
}
