/**
 * The inbound WhatsApp use case, after the HTTP layer found the instance and checked Twilio's
 * signature: validate the form, then in ONE transaction record the customer, store the message
 * (deduped by MessageSid per instance) and enqueue its reply job (deduped by
 * `wa-in:{instance}:{MessageSid}`), then wake the worker.
 *
 * Either everything is stored or nothing is, so Twilio's redelivery of a webhook whose answer was
 * lost is a no-op, and a message is never stored without its job. Must never know about HTTP,
 * never call the model or Twilio (the webhook must answer at once), and never log a raw number.
 */
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { WebhookInstance } from '../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import type { MediaItem, WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';
import { customerRef, maskPhone, toE164 } from '../../toolkits/whatsapp/customer-ref.ts';
import type { TwilioParams } from '../../toolkits/whatsapp/twilio.ts';
import { REPLY_JOB_KIND, type ReplyPayload } from './reply-worker.ts';

const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
/** Twilio sends at most 10 media items per message. */
const MAX_MEDIA = 10;
const MAX_URL_CHARS = 2048;

/** A signed webhook whose content cannot be accepted; `mismatch` means it is not for this instance. */
export class InboundRejected extends Error {
  readonly reason: 'malformed' | 'mismatch';
  readonly param: string;
  constructor(reason: 'malformed' | 'mismatch', param: string, message: string) {
    super(message);
    this.name = 'InboundRejected';
    this.reason = reason;
    this.param = param;
  }
}

/** What `receive` stored. */
export interface InboundResult {
  /** False for a redelivery of a MessageSid already stored. */
  created: boolean;
  messageId: string;
  jobId: number | null;
}

/** What the inbound use case needs (one deps object). */
export interface InboundDeps {
  db: Db;
  customers: WhatsAppCustomersRepo;
  messages: WhatsAppMessagesRepo;
  queue: JobQueue;
  /** Key of the customer refs (deriveCustomerRefKey). */
  refKey: Buffer;
  /** Nudges the worker after a commit, so the reply does not wait for the next poll. */
  wake(): void;
  log: Logger;
  now?: () => number;
}

/** The inbound use case the webhook route calls. */
export interface Inbound {
  receive(instance: WebhookInstance, params: TwilioParams): InboundResult;
}

function single(params: TwilioParams, key: string, required: boolean): string | undefined {
  const v = params[key];
  if (Array.isArray(v)) throw new InboundRejected('malformed', key, `${key} must appear once.`);
  if (required && (v === undefined || v === '')) throw new InboundRejected('malformed', key, `${key} is missing.`);
  return v;
}

function mediaOf(params: TwilioParams): MediaItem[] {
  const raw = single(params, 'NumMedia', false) ?? '0';
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > MAX_MEDIA) throw new InboundRejected('malformed', 'NumMedia', `NumMedia must be 0..${MAX_MEDIA}.`);
  const out: MediaItem[] = [];
  for (let i = 0; i < Number(raw); i++) {
    const url = single(params, `MediaUrl${i}`, true) as string;
    if (url.length > MAX_URL_CHARS || !/^https?:\/\//.test(url)) throw new InboundRejected('malformed', `MediaUrl${i}`, `MediaUrl${i} is not a URL.`);
    out.push({ url, contentType: single(params, `MediaContentType${i}`, false) || null });
  }
  return out;
}

/** Builds the inbound use case. */
export function createInbound(deps: InboundDeps): Inbound {
  const now = deps.now ?? Date.now;

  const store = deps.db.transaction((instance: WebhookInstance, sid: string, phone: string, body: string, media: MediaItem[], at: number): InboundResult => {
    const ref = customerRef(deps.refKey, instance.orgId, phone);
    // A redelivery must not move the customer's 24-hour window: check before touching anything.
    const known = deps.messages.getBySid(instance.orgId, instance.id, sid);
    if (known) return { created: false, messageId: known.id, jobId: null };
    deps.customers.recordInbound({ orgId: instance.orgId, instanceId: instance.id, customerRef: ref, phoneE164: phone, phoneMasked: maskPhone(phone), at });
    const { message, created } = deps.messages.insertInbound({ orgId: instance.orgId, instanceId: instance.id, customerRef: ref, twilioSid: sid, body, media, at });
    if (!created) return { created: false, messageId: message.id, jobId: null };
    const payload: ReplyPayload = { instanceId: instance.id, messageId: message.id };
    const job = deps.queue.enqueue({
      orgId: instance.orgId, kind: REPLY_JOB_KIND, dedupeKey: `wa-in:${instance.id}:${sid}`, concurrencyKey: `${instance.id}:${ref}`, payload,
    });
    return { created: true, messageId: message.id, jobId: job.id };
  });

  return {
    /**
     * Validates a signed inbound form and stores it with its reply job. Throws InboundRejected
     * when the form is malformed or names another account or number; stores nothing then.
     */
    receive(instance, params) {
      const sid = single(params, 'MessageSid', true) as string;
      if (!MESSAGE_SID.test(sid)) throw new InboundRejected('malformed', 'MessageSid', 'MessageSid is malformed.');
      if (single(params, 'AccountSid', true) !== instance.twilioAccountSid) {
        throw new InboundRejected('mismatch', 'AccountSid', 'AccountSid does not match this instance.');
      }
      const to = single(params, 'To', true) as string;
      if (toE164(to) === null || toE164(to) !== toE164(instance.sender)) throw new InboundRejected('mismatch', 'To', 'To is not this instance\'s WhatsApp number.');
      const from = single(params, 'From', true) as string;
      const phone = from.startsWith('whatsapp:') ? toE164(from) : null;
      if (phone === null) throw new InboundRejected('malformed', 'From', 'From must be a WhatsApp address (whatsapp:+E.164).');
      const body = single(params, 'Body', false) ?? '';
      const media = mediaOf(params);
      const result = store.immediate(instance, sid, phone, body, media, now());
      if (result.created) deps.wake();
      deps.log.info({ instanceId: instance.id, messageId: result.messageId, from: maskPhone(phone), media: media.length, duplicate: !result.created }, 'whatsapp message received');
      return result;
    },
  };
}
