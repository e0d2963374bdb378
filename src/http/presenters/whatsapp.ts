/**
 * Row → API JSON for WhatsApp instances, conversations and messages. Never includes the Twilio
 * auth token, a sealed value or a customer's raw phone number (only the masked form).
 */
import type * as Api from '../../shared/api.ts';
import type { WhatsAppInstance } from '../../storage/repos/whatsapp-instances.ts';
import type { ConversationSummary } from '../../storage/repos/whatsapp-customers.ts';
import type { WhatsAppMessage } from '../../storage/repos/whatsapp-messages.ts';
import { iso } from './common.ts';

/** An instance with the two URLs the operator pastes into Twilio. */
export function presentInstance(i: WhatsAppInstance, urls: { webhookUrl: string; statusCallbackUrl: string }): Api.WhatsAppInstance {
  return {
    id: i.id,
    object: 'whatsapp_instance',
    name: i.name,
    sender: i.sender,
    messagingServiceSid: i.messagingServiceSid,
    twilioAccountSid: i.twilioAccountSid,
    twilioAuthTokenConfigured: true,
    systemPrompt: i.systemPrompt,
    model: i.model,
    loopCap: i.loopCap,
    status: i.status,
    webhookUrl: urls.webhookUrl,
    statusCallbackUrl: urls.statusCallbackUrl,
    createdAt: iso(i.createdAt),
    updatedAt: iso(i.updatedAt),
  };
}

/** One conversation of an instance: who (ref and masked number) and when. */
export function presentConversation(c: ConversationSummary): Api.WhatsAppConversation {
  return {
    object: 'whatsapp_conversation',
    customerRef: c.customerRef,
    phoneMasked: c.phoneMasked,
    lastInboundAt: iso(c.lastInboundAt),
    lastMessageAt: iso(c.lastMessageAt),
    messageCount: c.messageCount,
  };
}

/** One stored message, either direction; bodies are shown to operators, numbers never. */
export function presentMessage(m: WhatsAppMessage): Api.WhatsAppMessage {
  return {
    id: m.id,
    object: 'whatsapp_message',
    direction: m.direction,
    body: m.body,
    media: m.media,
    contentSid: m.contentSid,
    status: m.status,
    errorCode: m.errorCode,
    twilioSid: m.twilioSid,
    replyToMessageId: m.replyToMessageId,
    partIndex: m.partIndex,
    createdAt: iso(m.createdAt),
    sentAt: iso(m.sentAt),
  };
}

/** The grants answer (also the body of the replace request). */
export function presentGrants(enabledPluginIds: string[]): Api.InstancePlugins {
  return { enabledPluginIds };
}
