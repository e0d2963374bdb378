/**
 * Row → API JSON for WhatsApp instances, conversations, messages and jobs. Never includes the
 * Twilio auth token, a sealed value or a customer's raw phone number (only the masked form).
 */
import type { WhatsAppInstance } from '../../storage/repos/whatsapp-instances.ts';
import type { ConversationSummary } from '../../storage/repos/whatsapp-customers.ts';
import type { WhatsAppMessage } from '../../storage/repos/whatsapp-messages.ts';
import type { Job } from '../../jobs/queue.ts';
import { iso } from './control.ts';

/** An instance with the two URLs the operator pastes into Twilio. */
export function presentInstance(i: WhatsAppInstance, urls: { webhookUrl: string; statusCallbackUrl: string }) {
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
export function presentConversation(c: ConversationSummary) {
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
export function presentMessage(m: WhatsAppMessage) {
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

/** A job for the dead-letter view. Payloads of Plugboard's job kinds hold ids only, never text or numbers. */
export function presentJob(j: Job) {
  const p = (j.payload ?? {}) as Record<string, unknown>;
  return {
    id: String(j.id),
    object: 'job',
    kind: j.kind,
    status: j.status,
    attempts: j.attempts,
    maxAttempts: j.maxAttempts,
    instanceId: typeof p.instanceId === 'string' ? p.instanceId : null,
    messageId: typeof p.messageId === 'string' ? p.messageId : null,
    lastError: j.lastError,
    runAt: iso(j.runAt),
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
  };
}
