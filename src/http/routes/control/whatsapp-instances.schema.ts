/**
 * Request schemas of the WhatsApp instance routes (routes/control/whatsapp-instances.ts): instance
 * bodies, the grants body and the conversation/message page queries, checked against the shared
 * request types. Must never hold a rule that needs storage (uniqueness, plugin ids and cursors
 * of conversations are the use cases').
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';

const MAX_GRANTS = 200;
const MAX_PAGE = 200;

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
export const CreateInstance = z.strictObject({
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
export const UpdateInstance = z.strictObject({
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
export const Grants = z.strictObject({ enabledPluginIds: z.array(z.string().min(1).max(200)).max(MAX_GRANTS) });

const limit = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE));
export const ConversationsQuery = z.strictObject({ limit: limit.optional(), cursor: z.string().max(200).optional() });
export const MessagesQuery = z.strictObject({ limit: limit.optional(), cursor: z.string().regex(/^\d{1,15}$/, 'must be a cursor from a previous page').optional() });

export type CreateInstanceAccepts = Accepts<typeof CreateInstance, Api.CreateWhatsAppInstanceRequest>;
export type UpdateInstanceAccepts = Accepts<typeof UpdateInstance, Api.UpdateWhatsAppInstanceRequest>;
export type GrantsAccepts = Accepts<typeof Grants, Api.InstancePlugins>;
