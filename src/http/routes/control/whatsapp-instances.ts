/**
 * Control panel: WhatsApp number instances (members read; owners and admins write), their plugin
 * grants, and their conversations and messages (read-only, for the TUI).
 *
 * Every route is scoped by the organisation in the path: another organisation's instance is a
 * 404, like an unknown one. Validation happens before anything is written, so a 4xx leaves the
 * store unchanged. Must never return the Twilio auth token or a customer's raw number.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { conflict, invalidRequest, notFound } from '../../../errors.ts';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { validate } from '../../validate.ts';
import { readJson } from './organizations.ts';
import { assertKnownPluginIds, type PluginIdLister } from '../../../control/plugin-ids.ts';
import type { WhatsAppInstance } from '../../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppChannel } from '../../../channels/whatsapp/index.ts';
import { whatsappInstanceSubject } from '../../../storage/repos/grants.ts';
import { presentConversation, presentInstance, presentMessage } from '../../presenters/whatsapp.ts';

const MAX_GRANTS = 200;
const MAX_PAGE = 200;
const CUSTOMER_REF = /^wcr_[A-Za-z0-9_-]{22}$/;

const fields = {
  name: z.string().trim().min(1).max(100),
  sender: z.string().regex(/^whatsapp:\+[1-9]\d{1,14}$/, 'must be whatsapp:+E.164, e.g. whatsapp:+14155550100'),
  messagingServiceSid: z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'must be MG followed by 32 hex digits').nullable(),
  twilioAccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits'),
  twilioAuthToken: z.string().min(8).max(256).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  systemPrompt: z.string().max(20_000),
  model: z.string().trim().min(1).max(200),
  loopCap: z.number().int().min(1).max(64).nullable(),
  status: z.enum(['active', 'paused']),
};
const Create = z.strictObject({
  name: fields.name,
  sender: fields.sender,
  messagingServiceSid: fields.messagingServiceSid.optional(),
  twilioAccountSid: fields.twilioAccountSid,
  twilioAuthToken: fields.twilioAuthToken,
  systemPrompt: fields.systemPrompt.optional(),
  model: fields.model,
  loopCap: fields.loopCap.optional(),
  status: fields.status.optional(),
});
const Update = z.strictObject({
  name: fields.name.optional(),
  sender: fields.sender.optional(),
  messagingServiceSid: fields.messagingServiceSid.optional(),
  twilioAccountSid: fields.twilioAccountSid.optional(),
  twilioAuthToken: fields.twilioAuthToken.optional(),
  systemPrompt: fields.systemPrompt.optional(),
  model: fields.model.optional(),
  loopCap: fields.loopCap.optional(),
  status: fields.status.optional(),
});
const Grants = z.strictObject({ enabledPluginIds: z.array(z.string().min(1).max(200)).max(MAX_GRANTS) });
const limit = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE));
const ConversationsQuery = z.strictObject({ limit: limit.optional(), cursor: z.string().max(200).optional() });
const MessagesQuery = z.strictObject({ limit: limit.optional(), cursor: z.string().regex(/^\d{1,15}$/, 'must be a cursor from a previous page').optional() });

/** What the instance routes need: the channel's repositories and URLs, and the plugin ids grants may name. */
export interface WhatsAppInstanceRouteDeps extends ControlAuthDeps {
  channel: Pick<WhatsAppChannel, 'repos' | 'clients' | 'webhookUrl' | 'statusCallbackUrl'>;
  pluginIds: PluginIdLister;
}

/** Query parameters as single strings; a repeated one is a 400. */
export function singleQuery(ctx: Koa.Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.request.query)) {
    if (Array.isArray(v)) throw invalidRequest(`${k} may be given once.`, k, 'invalid_value');
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function decodeConversationCursor(cursor: string): { at: number; customerRef: string } {
  try {
    const [at, customerRef] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof at === 'number' && Number.isSafeInteger(at) && typeof customerRef === 'string' && CUSTOMER_REF.test(customerRef)) return { at, customerRef };
  } catch {
    // fall through to the 400
  }
  throw invalidRequest('cursor: must be a cursor from a previous page', 'cursor', 'invalid_value');
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** The instance, grant, conversation and message routes under `/organizations/{id}/whatsapp-instances`. */
export function whatsappInstanceRoutes(deps: WhatsAppInstanceRouteDeps): Router {
  const router = new Router();
  const { instances, grants, customers, messages } = deps.channel.repos;
  const base = '/organizations/:organizationId/whatsapp-instances';
  const present = (i: WhatsAppInstance) => presentInstance(i, { webhookUrl: deps.channel.webhookUrl(i.id), statusCallbackUrl: deps.channel.statusCallbackUrl(i.id) });
  const load = (orgId: string, id: string): WhatsAppInstance => {
    const inst = instances.get(orgId, id);
    if (!inst) throw notFound('whatsapp_instance', 'id');
    return inst;
  };
  /** Name and sender are unique per organisation: a clear 409 instead of a constraint error. */
  const checkUnique = (orgId: string, input: { name?: string; sender?: string }, selfId?: string): void => {
    for (const other of instances.list(orgId)) {
      if (other.id === selfId) continue;
      if (input.name !== undefined && other.name === input.name) throw conflict(`An instance named "${input.name}" already exists.`, 'instance_name_taken', 'name');
      if (input.sender !== undefined && other.sender === input.sender) throw conflict('Another instance already uses this sender.', 'sender_taken', 'sender');
    }
  };

  router.get(base, requireOrgAction(deps, 'instances:read'), async function listWhatsAppInstances(ctx) {
    ctx.body = { object: 'list', data: instances.list(actorOf(ctx).orgId).map(present) };
  });

  router.post(base, requireOrgAction(deps, 'instances:write'), async function createWhatsAppInstance(ctx) {
    const orgId = actorOf(ctx).orgId;
    const input = validate(Create, await readJson(ctx));
    checkUnique(orgId, input);
    let inst: WhatsAppInstance;
    try {
      inst = instances.create(orgId, input);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('An instance with this name or sender already exists.', 'instance_conflict');
      throw err;
    }
    ctx.status = 201;
    ctx.body = present(inst);
  });

  router.get(`${base}/:id`, requireOrgAction(deps, 'instances:read'), async function getWhatsAppInstance(ctx) {
    ctx.body = present(load(actorOf(ctx).orgId, ctx.params.id));
  });

  router.patch(`${base}/:id`, requireOrgAction(deps, 'instances:write'), async function updateWhatsAppInstance(ctx) {
    const orgId = actorOf(ctx).orgId;
    const cur = load(orgId, ctx.params.id);
    const input = validate(Update, await readJson(ctx));
    if (Object.keys(input).length === 0) {
      ctx.body = present(cur);
      return;
    }
    if (input.twilioAccountSid !== undefined && input.twilioAccountSid !== cur.twilioAccountSid && input.twilioAuthToken === undefined) {
      throw invalidRequest('twilioAuthToken is required when twilioAccountSid changes (the stored token belongs to the old account).', 'twilioAuthToken', 'missing_parameter');
    }
    checkUnique(orgId, input, cur.id);
    let inst: WhatsAppInstance | null;
    try {
      inst = instances.update(orgId, cur.id, input);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('An instance with this name or sender already exists.', 'instance_conflict');
      throw err;
    }
    if (!inst) throw notFound('whatsapp_instance', 'id');
    deps.channel.clients.drop(inst.id);
    ctx.body = present(inst);
  });

  router.delete(`${base}/:id`, requireOrgAction(deps, 'instances:write'), async function deleteWhatsAppInstance(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    instances.delete(orgId, inst.id);
    deps.channel.clients.drop(inst.id);
    ctx.body = { id: inst.id, object: 'whatsapp_instance', deleted: true };
  });

  router.get(`${base}/:id/plugins`, requireOrgAction(deps, 'instances:read'), async function getWhatsAppGrants(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    ctx.body = { enabledPluginIds: grants.pluginIds(orgId, whatsappInstanceSubject(inst.id)) };
  });

  router.put(`${base}/:id/plugins`, requireOrgAction(deps, 'instances:write'), async function setWhatsAppGrants(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    const input = validate(Grants, await readJson(ctx));
    const ids = [...new Set(input.enabledPluginIds)];
    assertKnownPluginIds(deps.pluginIds, orgId, input.enabledPluginIds, 'enabledPluginIds');
    const stored = grants.replace(orgId, whatsappInstanceSubject(inst.id), ids);
    if (stored === null) throw notFound('whatsapp_instance', 'id');
    ctx.body = { enabledPluginIds: stored };
  });

  router.get(`${base}/:id/conversations`, requireOrgAction(deps, 'instances:read'), async function listWhatsAppConversations(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    const q = validate(ConversationsQuery, singleQuery(ctx));
    const n = q.limit ?? 50;
    const rows = customers.conversations(orgId, inst.id, { limit: n + 1, ...(q.cursor !== undefined && { after: decodeConversationCursor(q.cursor) }) });
    const page = rows.slice(0, n);
    const hasMore = rows.length > n;
    const last = page[page.length - 1];
    const nextCursor = hasMore ? Buffer.from(JSON.stringify([last.lastMessageAt, last.customerRef])).toString('base64url') : null;
    ctx.body = { object: 'list', data: page.map(presentConversation), hasMore, nextCursor };
  });

  router.get(`${base}/:id/conversations/:customerRef/messages`, requireOrgAction(deps, 'instances:read'), async function listWhatsAppMessages(ctx) {
    const orgId = actorOf(ctx).orgId;
    const inst = load(orgId, ctx.params.id);
    const ref = ctx.params.customerRef;
    if (!CUSTOMER_REF.test(ref) || !customers.get(orgId, inst.id, ref)) throw notFound('conversation', 'customerRef');
    const q = validate(MessagesQuery, singleQuery(ctx));
    const n = q.limit ?? 50;
    const rows = messages.page(orgId, inst.id, ref, { limit: n + 1, ...(q.cursor !== undefined && { before: Number(q.cursor) }) });
    const page = rows.slice(0, n);
    const hasMore = rows.length > n;
    ctx.body = { object: 'list', data: page.map(presentMessage), hasMore, nextCursor: hasMore ? String(page[page.length - 1].seq) : null };
  });

  return router;
}
