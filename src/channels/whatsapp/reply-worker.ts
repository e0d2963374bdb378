/**
 * The reply job: answers one inbound WhatsApp message exactly once.
 *
 * It builds the conversation (the instance's system prompt plus this customer's recent history),
 * asks the model in-process with only the instance's granted plugins, records the split answer
 * as intents before sending anything, and sends each part through `sendPartOnce`, which
 * reconciles with Twilio before any resend. A job that runs again (retry, crash, requeue) picks
 * up where the records say it stopped: the model is asked only while no intent exists, and a
 * part with a SID is never sent again. While a person holds the conversation (an active escalation,
 * asked through `handoff`), the model is not called at all, and an answer whose own turn handed over
 * is dropped (the Escalations toolkit sends the one acknowledgement). Must never run inside the
 * webhook, never send a part without its intent, never log a phone number or message text, and
 * never swallow an error: failures become retryable or permanent JobErrors the queue records.
 */
import type { JobContext, JobHandler } from '../../jobs/worker.ts';
import { JobError } from '../../jobs/worker.ts';
import type { Job } from '../../jobs/queue.ts';
import type { Logger } from '../../log.ts';
import type { InProcessRequest, InProcessResult } from '../../gateway/types.ts';
import type { WhatsAppInstance, WhatsAppInstancesRepo } from '../../storage/repos/whatsapp-instances.ts';
import { whatsappInstanceSubject, type GrantsRepo } from '../../storage/repos/grants.ts';
import type { WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import type { WhatsAppMessage, WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';
import { maskPhone, maskPhonesIn, toWhatsAppAddress } from '../../toolkits/whatsapp/customer-ref.ts';
import { splitForWhatsApp } from '../../toolkits/whatsapp/split.ts';
import { WHATSAPP_PART_LIMIT } from '../../toolkits/whatsapp/twilio.ts';
import { SendAborted, sendPartOnce, type PartOutcome, type TwilioClients } from '../../toolkits/whatsapp/outbound.ts';
import type { ConversationHandoff } from '../../toolkits/escalations/index.ts';

/** Job kind of a reply to one inbound message. */
export const REPLY_JOB_KIND = 'whatsapp.reply';
/** Most parts one answer is sent in (the messages repo's intent limit); the rest is cut. */
const MAX_REPLY_PARTS = 50;
/** History messages longer than this are cut before they reach the model (inbound WhatsApp text is ≤ 4,096). */
const MAX_HISTORY_CHARS = 4096;
/** Extra history rows read so messages stored in the same millisecond after this one can be dropped. */
const HISTORY_SLACK = 10;

/** What a reply job carries: ids only, never a phone number or text. */
export interface ReplyPayload {
  instanceId: string;
  messageId: string;
}

/** What the reply handler needs (one deps object). */
export interface ReplyWorkerDeps {
  instances: WhatsAppInstancesRepo;
  grants: GrantsRepo;
  customers: WhatsAppCustomersRepo;
  messages: WhatsAppMessagesRepo;
  clients: TwilioClients;
  /** The gateway's in-process completion (same decision table and tool loop as /v1). */
  complete(request: InProcessRequest): Promise<InProcessResult>;
  statusCallbackUrl(instanceId: string): string;
  onSid(part: WhatsAppMessage, sid: string): void;
  historyMessages: number;
  /** Wait before retrying after Twilio answered 429 (it sends no Retry-After). */
  rateLimitDelayMs: number;
  log: Logger;
  now?: () => number;
  /**
   * Escalations' gate (issue 12): while a person holds the conversation the model is not called,
   * and an answer whose turn handed over is not sent (the customer gets the toolkit's one
   * acknowledgement instead).
   */
  handoff?: ConversationHandoff;
}

type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

function clip(text: string): string {
  return text.length > MAX_HISTORY_CHARS ? `${text.slice(0, MAX_HISTORY_CHARS)}…` : text;
}

/** One stored message as the model reads it: inbound as user, sent outbound as assistant. */
function toChat(m: WhatsAppMessage): ChatMessage {
  if (m.direction === 'out') return { role: 'assistant', content: clip(m.body || (m.contentSid ? `[template ${m.contentSid}]` : '')) };
  const media = m.media.length ? `[The customer sent ${m.media.length} attachment(s): ${m.media.map((x) => x.contentType ?? 'unknown type').join(', ')}]` : '';
  const text = [m.body, media].filter(Boolean).join('\n');
  return { role: 'user', content: clip(text || '[empty message]') };
}

/**
 * The model's input: the system prompt, then at most `limit` messages of the customer's history
 * ending with `inbound` (messages stored after it, even in the same millisecond, are left out).
 */
export function buildConversation(instance: WhatsAppInstance, history: WhatsAppMessage[], inbound: WhatsAppMessage, limit: number): ChatMessage[] {
  const upTo = history.findIndex((m) => m.id === inbound.id);
  const before = upTo === -1 ? history : history.slice(0, upTo);
  // Unsent or failed outbound parts never reached the customer, so the model must not think they did.
  const visible = before.filter((m) => m.direction === 'in' || m.twilioSid !== null || m.sentAt !== null).slice(-Math.max(0, limit - 1));
  const system: ChatMessage[] = instance.systemPrompt.trim() ? [{ role: 'system', content: instance.systemPrompt }] : [];
  return [...system, ...visible.map(toChat), toChat(inbound)];
}

/** Turns a failure of the model call into a JobError: 4xx other than 408/409/429 will not heal by waiting. */
function completionFailure(err: unknown): JobError {
  if (err instanceof JobError) return err;
  const e = err as { status?: unknown; message?: unknown; code?: unknown; headers?: Record<string, string> };
  const status = typeof e?.status === 'number' ? e.status : null;
  const permanent = status !== null && status >= 400 && status < 500 && ![408, 409, 429].includes(status);
  const retryAfter = Number(e?.headers?.['retry-after']);
  const message = status !== null && typeof e.message === 'string'
    ? `Model call failed (${status}${typeof e.code === 'string' ? `, ${e.code}` : ''}): ${maskPhonesIn(e.message).slice(0, 300)}`
    : 'Model call failed (no answer from the upstream).';
  return new JobError(message, { retryable: !permanent, ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }), cause: err });
}

/** The request id of the reply to one inbound message: stable across attempts (usage rows and live events carry it). */
export function replyRequestId(inboundMessageId: string): string {
  return `wa_${inboundMessageId.replace(/-/g, '')}`;
}

/** Builds the job handler for REPLY_JOB_KIND. */
export function createReplyHandler(deps: ReplyWorkerDeps): JobHandler {
  const now = deps.now ?? Date.now;

  /** Stable across attempts, so idempotent tool sends of a re-run loop find their first try. */
  const requestIdOf = (inbound: WhatsAppMessage): string => replyRequestId(inbound.id);
  const heldByPerson = (job: Job, instance: WhatsAppInstance, inbound: WhatsAppMessage): boolean =>
    deps.handoff?.holds({ orgId: job.orgId, instanceId: instance.id, customerRef: inbound.customerRef, messageId: inbound.id, requestId: requestIdOf(inbound) }) ?? false;

  async function answer(job: Job, instance: WhatsAppInstance, inbound: WhatsAppMessage, signal: AbortSignal): Promise<WhatsAppMessage[] | 'held'> {
    const history = deps.messages.conversation(job.orgId, instance.id, inbound.customerRef, {
      limit: deps.historyMessages + HISTORY_SLACK, until: inbound.createdAt,
    });
    const messages = buildConversation(instance, history, inbound, deps.historyMessages);
    let result: InProcessResult;
    try {
      result = await deps.complete({
        orgId: job.orgId, instanceId: instance.id, customerRef: inbound.customerRef,
        requestId: requestIdOf(inbound),
        model: instance.model, messages, enabledPluginIds: () => deps.grants.pluginIds(job.orgId, whatsappInstanceSubject(instance.id)),
        ...(instance.loopCap !== null && { loopCap: instance.loopCap }), signal,
      });
    } catch (err) {
      throw completionFailure(err);
    }
    // The agent handed over during this turn: its closing words are not sent (the acknowledgement is).
    if (heldByPerson(job, instance, inbound)) return 'held';
    const parts = splitForWhatsApp(result.content ?? '', WHATSAPP_PART_LIMIT);
    if (parts.length === 0) return [];
    if (parts.length > MAX_REPLY_PARTS) deps.log.warn({ instanceId: instance.id, messageId: inbound.id, parts: parts.length }, 'whatsapp answer cut to the part limit');
    return deps.messages.recordIntents({
      orgId: job.orgId, instanceId: instance.id, customerRef: inbound.customerRef, replyToMessageId: inbound.id, at: now(),
      parts: parts.slice(0, MAX_REPLY_PARTS).map((body) => ({ body })),
    });
  }

  return async function replyToWhatsAppMessage(job: Job, ctx: JobContext): Promise<void> {
    const payload = job.payload as Partial<ReplyPayload> | null;
    if (!payload || typeof payload.instanceId !== 'string' || typeof payload.messageId !== 'string') {
      throw new JobError('Malformed reply job payload.', { retryable: false });
    }
    const instance = deps.instances.get(job.orgId, payload.instanceId);
    const inbound = deps.messages.get(job.orgId, payload.messageId);
    // Deleted since (cascade): nothing left to answer, and nobody to answer it for.
    if (!instance || !inbound || inbound.direction !== 'in' || inbound.instanceId !== instance.id) return;
    if (instance.status !== 'active') {
      throw new JobError('The WhatsApp instance is paused: not answered. Requeue this job after resuming the instance.', { retryable: false });
    }
    let parts = deps.messages.replyParts(job.orgId, inbound.id);
    if (parts.length === 0) {
      // A person holds the conversation: stored for the inbox, never sent to the model.
      if (heldByPerson(job, instance, inbound)) {
        deps.log.info({ instanceId: instance.id, messageId: inbound.id, jobId: job.id }, 'whatsapp message held for a person: model not called');
        return;
      }
      const answered = await answer(job, instance, inbound, ctx.signal);
      if (answered === 'held') {
        deps.log.info({ instanceId: instance.id, messageId: inbound.id, jobId: job.id }, 'conversation handed over during this turn: the model\'s answer is not sent');
        return;
      }
      parts = answered;
      if (parts.length === 0) {
        deps.log.warn({ instanceId: instance.id, messageId: inbound.id, jobId: job.id }, 'whatsapp model answer was empty: nothing sent');
        return;
      }
    }
    const phone = deps.customers.phone(job.orgId, instance.id, inbound.customerRef);
    if (!phone) throw new JobError('The customer record is missing.', { retryable: false });
    const client = deps.clients.forInstance(instance);
    for (const part of parts) {
      let outcome: PartOutcome;
      try {
        outcome = await sendPartOnce({
          instance, client, messages: deps.messages, part, to: toWhatsAppAddress(phone), statusCallback: deps.statusCallbackUrl(instance.id),
          signal: ctx.signal, now, onSid: deps.onSid,
        });
      } catch (err) {
        if (err instanceof SendAborted) throw new JobError(err.message, { retryable: true });
        // Reconciliation failed: the part's fate is unknown, so never send; try again later.
        const detail = err instanceof Error ? maskPhonesIn(err.message).slice(0, 200) : 'unknown error';
        throw new JobError(`Could not check with Twilio whether part ${part.partIndex} was already sent: ${detail}`, { retryable: true, cause: err });
      }
      if (outcome.kind === 'sent_unrecorded') {
        // Sent, and marked so it is never sent again; only its delivery status cannot be tracked.
        deps.log.error({
          instanceId: instance.id, messageId: inbound.id, jobId: job.id, part: part.partIndex, messageSid: outcome.sid,
          err: { message: maskPhonesIn(outcome.cause instanceof Error ? outcome.cause.message : String(outcome.cause)) },
        }, 'whatsapp reply part accepted by Twilio, but its SID could not be stored');
      }
      if (outcome.kind === 'failed') {
        const { error } = outcome;
        deps.log.warn({ instanceId: instance.id, messageId: inbound.id, jobId: job.id, part: part.partIndex, to: maskPhone(phone), twilioCode: error.code, httpStatus: error.status }, 'whatsapp send failed');
        throw new JobError(error.message, {
          retryable: !outcome.permanent,
          ...(error.status === 429 && { retryAfterMs: deps.rateLimitDelayMs }),
        });
      }
      ctx.heartbeat();
    }
    deps.log.info({ instanceId: instance.id, messageId: inbound.id, jobId: job.id, parts: parts.length, to: maskPhone(phone) }, 'whatsapp reply sent');
  };
}
