/**
 * Control panel: WhatsApp number instances (members read; owners and admins write), their plugin
 * grants, and their conversations and messages (read-only, for the TUI).
 *
 * Each route is a pipeline: auth and policy → find the instance in the organisation (another
 * organisation's instance is a 404, like an unknown one) → validate → use case → presenter.
 * Validation happens before anything is written, so a 4xx leaves the store unchanged. Must never
 * hold business rules (src/control/whatsapp-instances.ts, grants.ts, whatsapp-conversations.ts
 * have them), and never return the Twilio auth token or a customer's raw number.
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import type { PluginIdLister } from '../../../control/plugins.ts';
import {
  createWhatsAppInstance, deleteWhatsAppInstance, getWhatsAppInstance, listWhatsAppInstances, updateWhatsAppInstance, type WhatsAppInstanceDeps,
} from '../../../control/whatsapp-instances.ts';
import { grantedPluginIds, replaceGrants, type GrantDeps } from '../../../control/grants.ts';
import { assertConversation, listConversations, listMessages, type ConversationDeps } from '../../../control/whatsapp-conversations.ts';
import type { WhatsAppInstance } from '../../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppChannel } from '../../../channels/whatsapp/index.ts';
import { deleted, listOf, pageOf } from '../../presenters/common.ts';
import { presentConversation, presentGrants, presentInstance, presentMessage } from '../../presenters/whatsapp.ts';
import { ConversationsQuery, CreateInstance, Grants, MessagesQuery, UpdateInstance } from './whatsapp-instances.schema.ts';

const DEFAULT_PAGE = 50;

/** What the instance routes need: the channel's repositories, clients and URLs, and the plugin ids grants may name. */
export interface WhatsAppInstanceRouteDeps extends ControlAuthDeps {
  channel: Pick<WhatsAppChannel, 'repos' | 'clients' | 'webhookUrl' | 'statusCallbackUrl'>;
  pluginIds: PluginIdLister;
  /** Toolkit requirements a grant set leaves unmet (custom plugins). */
  missingToolkits?: GrantDeps['missingToolkits'];
}

/** The instance, grant, conversation and message routes under `/organizations/{id}/whatsapp-instances`. */
export function whatsappInstanceRoutes(deps: WhatsAppInstanceRouteDeps): Router {
  const router = new Router();
  const { instances, grants, customers, messages } = deps.channel.repos;
  const instanceDeps: WhatsAppInstanceDeps = { instances, dropClient: (id) => deps.channel.clients.drop(id) };
  const grantDeps: GrantDeps = { grants, pluginIds: deps.pluginIds, missingToolkits: deps.missingToolkits };
  const conversationDeps: ConversationDeps = { customers, messages };
  const base = '/organizations/:organizationId/whatsapp-instances';
  const present = (i: WhatsAppInstance) => presentInstance(i, { webhookUrl: deps.channel.webhookUrl(i.id), statusCallbackUrl: deps.channel.statusCallbackUrl(i.id) });
  const find = (orgId: string, id: string): WhatsAppInstance => getWhatsAppInstance(instanceDeps, orgId, id);

  router.get(base, requireOrgAction(deps, 'instances:read'), async function listInstances(ctx) {
    ctx.body = listOf(listWhatsAppInstances(instanceDeps, actorOf(ctx).orgId).map(present));
  });

  router.post(base, requireOrgAction(deps, 'instances:write'), async function createInstance(ctx) {
    const input = validate(CreateInstance, await readJson(ctx));
    const inst = createWhatsAppInstance(instanceDeps, actorOf(ctx).orgId, input);
    ctx.status = 201;
    ctx.body = present(inst);
  });

  router.get(`${base}/:id`, requireOrgAction(deps, 'instances:read'), async function getInstance(ctx) {
    ctx.body = present(find(actorOf(ctx).orgId, ctx.params.id));
  });

  router.patch(`${base}/:id`, requireOrgAction(deps, 'instances:write'), async function updateInstance(ctx) {
    const cur = find(actorOf(ctx).orgId, ctx.params.id);
    const input = validate(UpdateInstance, await readJson(ctx));
    ctx.body = present(updateWhatsAppInstance(instanceDeps, cur, input));
  });

  router.delete(`${base}/:id`, requireOrgAction(deps, 'instances:write'), async function deleteInstance(ctx) {
    const inst = find(actorOf(ctx).orgId, ctx.params.id);
    deleteWhatsAppInstance(instanceDeps, inst);
    ctx.body = deleted(inst.id, 'whatsapp_instance');
  });

  router.get(`${base}/:id/plugins`, requireOrgAction(deps, 'instances:read'), async function getInstanceGrants(ctx) {
    const inst = find(actorOf(ctx).orgId, ctx.params.id);
    ctx.body = presentGrants(grantedPluginIds(grantDeps, inst));
  });

  router.put(`${base}/:id/plugins`, requireOrgAction(deps, 'instances:write'), async function setInstanceGrants(ctx) {
    const inst = find(actorOf(ctx).orgId, ctx.params.id);
    const input = validate(Grants, await readJson(ctx));
    ctx.body = presentGrants(replaceGrants(grantDeps, inst, input.enabledPluginIds));
  });

  router.get(`${base}/:id/conversations`, requireOrgAction(deps, 'instances:read'), async function listInstanceConversations(ctx) {
    const inst = find(actorOf(ctx).orgId, ctx.params.id);
    const q = validate(ConversationsQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listConversations(conversationDeps, inst, { limit: q.limit ?? DEFAULT_PAGE, cursor: q.cursor }), presentConversation);
  });

  router.get(`${base}/:id/conversations/:customerRef/messages`, requireOrgAction(deps, 'instances:read'), async function listConversationMessages(ctx) {
    const inst = find(actorOf(ctx).orgId, ctx.params.id);
    assertConversation(conversationDeps, inst, ctx.params.customerRef);
    const q = validate(MessagesQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listMessages(conversationDeps, inst, ctx.params.customerRef, { limit: q.limit ?? DEFAULT_PAGE, cursor: q.cursor }), presentMessage);
  });

  return router;
}
