/**
 * The one use case that sends a WhatsApp message to a known customer, exactly once per caller key:
 * the WhatsApp plugin's tools call it, and so do other toolkits (payment confirmations, operator
 * replies, reminders). Sender and recipient are already chosen by the caller (`instanceId`,
 * `customerRef`); this module owns the sending rules.
 *
 * Rules: the instance must be active and the customer must have written to it. Inside WhatsApp's
 * 24-hour window the text is sent (split like replies, media on the first part), else the template;
 * outside it only the template, and without one the send is refused before anything is stored.
 * Every part is stored as an intent under the caller's `idempotencyKey` (one row per part,
 * `part_index`) before any Twilio call, and sent through `sendPartOnce`, which reconciles an
 * unknown outcome against Twilio's Messages list before it ever sends again; the first message
 * stored under a key is the one sent, and a retry with the key resumes its unsent parts.
 * Must never send without a stored intent, send a key's part twice, return or log a raw phone
 * number (masked only), throw for a refusal or a Twilio failure (they are results; it throws only
 * when the database refuses a write before the Twilio call, so nothing was sent), or retry on its
 * own (the caller decides when to try the same key again).
 */
import type { Logger } from '../../log.ts';
import type { WhatsAppInstance, WhatsAppInstancesRepo } from '../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import type { OutboundPart, WhatsAppMessage, WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';
import { maskPhone, maskPhonesIn, toWhatsAppAddress } from './customer-ref.ts';
import { splitForWhatsApp } from './split.ts';
import { TwilioErrorCode, WHATSAPP_PART_LIMIT } from './twilio.ts';
import { SendAborted, sendPartOnce, type TwilioClients } from './outbound.ts';

/** WhatsApp's customer-service window: free-form messages only within 24 h of the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 60 * 60_000;
/** Twilio accepts at most 10 media URLs per message. */
export const MAX_MEDIA_URLS = 10;
/** Most parts one text may be split into (about 15,000 characters). */
export const MAX_TEXT_PARTS = 10;
/** Longest idempotency key accepted. */
export const MAX_IDEMPOTENCY_KEY = 200;
const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;
const VARIABLE_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** What to send: text (with optional media) and/or an approved template. */
export interface CustomerMessage {
  /** Free-form text; split at about 1,500 characters; only inside the 24-hour window. */
  text?: string;
  /** Up to 10 public https URLs, sent with the text (on its first part); need `text`. */
  mediaUrls?: string[];
  /** An approved Content API template (`HX…`); the only thing that goes outside the window. */
  template?: { contentSid: string; variables?: Record<string, string> };
}

export interface SendToCustomerInput {
  orgId: string;
  instanceId: string;
  /** `wcr_…` of a customer who has written to the instance. */
  customerRef: string;
  message: CustomerMessage;
  /**
   * The caller's business key, scoped to the instance (e.g. `payment:<id>:paid`; the plugin's
   * are `tool:…`). The first message stored under it is the only one ever sent for it.
   */
  idempotencyKey: string;
  /** Aborts before the next Twilio call (never in the middle of one). */
  signal?: AbortSignal;
}

export type RefusalReason = 'outside_window' | 'recipient_unknown' | 'instance_inactive' | 'invalid_message' | 'twilio_permanent';

export type SendToCustomerResult =
  /** Every part is at Twilio. `duplicate`: this call created no message (all sent earlier, or found by reconciliation). */
  | { kind: 'sent'; sids: string[]; status: string; usedTemplate: boolean; duplicate: boolean; reconciled: boolean }
  /**
   * Every part is at Twilio, but the SID of at least one could not be stored, so its delivery
   * status is not tracked. Never resent. `unrecordedSids` are known only to the call that sent them.
   */
  | { kind: 'accepted_unrecorded'; sids: string[]; unrecordedSids: string[]; status: string; usedTemplate: boolean; duplicate: boolean; message: string }
  /**
   * Final for this key. Before an intent is stored (window, customer, instance, input), nothing is
   * recorded and the key may be used again later; a Twilio refusal is stored, and `duplicate` says
   * it was refused by an earlier call. `sids`: parts that went out before the refused one.
   */
  | { kind: 'refused'; reason: RefusalReason; message: string; twilioCode: number | null; duplicate: boolean; sids: string[] }
  /**
   * Not confirmed: Twilio 429/5xx/network (`twilio_transient`), an earlier attempt Twilio could not
   * be asked about (`unreconciled`), or the signal (`aborted`). Retry later with the SAME key.
   */
  | { kind: 'unavailable'; reason: 'twilio_transient' | 'unreconciled' | 'aborted'; message: string; twilioCode: number | null; httpStatus: number | null; sids: string[] };

export type SendToCustomer = (input: SendToCustomerInput) => Promise<SendToCustomerResult>;

export interface SendToCustomerDeps {
  instances: WhatsAppInstancesRepo;
  customers: WhatsAppCustomersRepo;
  messages: WhatsAppMessagesRepo;
  clients: TwilioClients;
  statusCallbackUrl(instanceId: string): string;
  onSid(part: WhatsAppMessage, sid: string): void;
  log: Logger;
  now?: () => number;
}

/** Canonical JSON (sorted keys), so equal values give equal strings (template variables, keys). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const refused = (reason: RefusalReason, message: string, extra: { twilioCode?: number | null; duplicate?: boolean; sids?: string[] } = {}): SendToCustomerResult => ({
  kind: 'refused', reason, message, twilioCode: extra.twilioCode ?? null, duplicate: extra.duplicate ?? false, sids: extra.sids ?? [],
});

const isHttpsUrl = (u: unknown): boolean => {
  if (typeof u !== 'string' || u.length > 2048) return false;
  try {
    return new URL(u).protocol === 'https:';
  } catch {
    return false;
  }
};

/** The parts to store for the text and for the template, or why the message is invalid. */
function planMessage(m: CustomerMessage): { text: OutboundPart[] | null; template: OutboundPart | null } | string {
  if (!m || typeof m !== 'object') return 'The message must be an object with text and/or a template.';
  let text: OutboundPart[] | null = null;
  if (m.text !== undefined) {
    if (typeof m.text !== 'string') return 'text must be a string.';
    const bodies = splitForWhatsApp(m.text, WHATSAPP_PART_LIMIT);
    if (bodies.length === 0) return 'text must not be blank.';
    if (bodies.length > MAX_TEXT_PARTS) return `text is too long: it would take more than ${MAX_TEXT_PARTS} WhatsApp messages.`;
    const urls = m.mediaUrls ?? [];
    if (!Array.isArray(urls) || urls.length > MAX_MEDIA_URLS || !urls.every(isHttpsUrl)) return `mediaUrls must be at most ${MAX_MEDIA_URLS} public https URLs.`;
    text = bodies.map((body, i) => ({ body, ...(i === 0 && urls.length > 0 && { media: urls.map((url) => ({ url, contentType: null })) }) }));
  } else if (m.mediaUrls !== undefined && (!Array.isArray(m.mediaUrls) || m.mediaUrls.length > 0)) {
    return 'mediaUrls are sent with text: give text too.';
  }
  let template: OutboundPart | null = null;
  if (m.template !== undefined) {
    const { contentSid, variables } = m.template ?? {};
    if (typeof contentSid !== 'string' || !CONTENT_SID.test(contentSid)) return 'template.contentSid must be a Content SID (HX + 32 hex digits).';
    if (variables !== undefined) {
      const entries = variables && typeof variables === 'object' && !Array.isArray(variables) ? Object.entries(variables) : null;
      if (!entries || entries.length > 100 || !entries.every(([k, v]) => VARIABLE_NAME.test(k) && typeof v === 'string' && v.length >= 1 && v.length <= 1024)) {
        return 'template.variables must map at most 100 names ([A-Za-z0-9_]) to non-empty strings of at most 1,024 characters.';
      }
    }
    template = { contentSid, ...(variables && Object.keys(variables).length > 0 && { contentVariables: canonicalJson(variables) }) };
  }
  if (!text && !template) return 'The message needs text or a template.';
  return { text, template };
}

/** Who a send goes to, once checked. */
interface Recipient {
  instance: WhatsAppInstance;
  /** E.164; only ever passed to Twilio, and masked for logs. */
  phone: string;
  key: string;
  signal: AbortSignal | undefined;
}

/** Builds the use case. In-process calls with the same key share one run. */
export function createSendToCustomer(deps: SendToCustomerDeps): SendToCustomer {
  const now = deps.now ?? Date.now;
  // The stored intent alone cannot stop two concurrent calls that both read it before either marked it.
  const inflight = new Map<string, Promise<SendToCustomerResult>>();

  /** Sends the stored parts in order; parts already at Twilio are skipped, unknown ones reconciled first. */
  async function deliver(to: Recipient, parts: WhatsAppMessage[]): Promise<SendToCustomerResult> {
    const { instance, phone, key } = to;
    const usedTemplate = parts[0].contentSid !== null;
    const signal = to.signal ?? new AbortController().signal;
    const logFields = { instanceId: instance.id, idempotencyKey: maskPhonesIn(key), to: maskPhone(phone) };
    const sids: string[] = [];
    const unrecordedSids: string[] = [];
    let unrecorded = false;
    let created = false;
    let reconciled = false;
    let status = parts[parts.length - 1].status;
    for (const part of parts) {
      if (part.twilioSid) {
        sids.push(part.twilioSid);
        continue;
      }
      if (part.sentAt !== null) {
        unrecorded = true;
        continue;
      }
      if (part.status === 'failed') {
        const reason = part.errorCode === TwilioErrorCode.outsideSessionWindow ? 'outside_window' : 'twilio_permanent';
        return refused(reason, `Twilio refused this message earlier (code ${part.errorCode ?? 'unknown'}); it is not sent again under this key.`, { twilioCode: part.errorCode, duplicate: true, sids });
      }
      let outcome;
      try {
        outcome = await sendPartOnce({
          instance, client: deps.clients.forInstance(instance), messages: deps.messages, part, to: toWhatsAppAddress(phone),
          statusCallback: deps.statusCallbackUrl(instance.id), signal, now, onSid: deps.onSid,
        });
      } catch (err) {
        if (err instanceof SendAborted) return { kind: 'unavailable', reason: 'aborted', message: 'Cancelled before the message was sent.', twilioCode: null, httpStatus: null, sids };
        // Only reconciliation throws here: an earlier attempt's outcome is unknown and Twilio could not be asked.
        deps.log.warn({ ...logFields, part: part.partIndex, err: { message: maskPhonesIn(err instanceof Error ? err.message : String(err)) } }, 'whatsapp send could not be reconciled with Twilio');
        return { kind: 'unavailable', reason: 'unreconciled', message: 'Could not confirm with Twilio whether an earlier attempt went through, so it was not sent again. Try again later with the same key.', twilioCode: null, httpStatus: null, sids };
      }
      if (outcome.kind === 'failed') {
        const e = outcome.error;
        deps.log.warn({ ...logFields, part: part.partIndex, twilioCode: e.code, httpStatus: e.status, permanent: outcome.permanent }, 'whatsapp send failed');
        if (!outcome.permanent) return { kind: 'unavailable', reason: 'twilio_transient', message: e.message, twilioCode: e.code, httpStatus: e.status, sids };
        return refused(e.code === TwilioErrorCode.outsideSessionWindow ? 'outside_window' : 'twilio_permanent', e.message, { twilioCode: e.code, sids });
      }
      if (outcome.kind === 'already_sent') {
        if (outcome.sid) sids.push(outcome.sid);
        else unrecorded = true;
        continue;
      }
      status = outcome.status;
      if (outcome.kind === 'sent_unrecorded') {
        created = unrecorded = true;
        unrecordedSids.push(outcome.sid);
        deps.log.error({ ...logFields, part: part.partIndex, messageSid: outcome.sid, err: { message: maskPhonesIn(outcome.cause instanceof Error ? outcome.cause.message : String(outcome.cause)) } },
          'whatsapp send accepted by Twilio, but its SID could not be stored');
        continue;
      }
      sids.push(outcome.sid);
      if (outcome.reconciled) reconciled = true;
      else created = true;
    }
    deps.log.info({ ...logFields, parts: parts.length, usedTemplate, duplicate: !created, reconciled }, 'whatsapp message to customer');
    if (unrecorded) {
      return {
        kind: 'accepted_unrecorded', sids, unrecordedSids, status, usedTemplate, duplicate: !created,
        message: 'Twilio accepted the message, but Plugboard could not record its SID, so its delivery status will not be tracked. It will not be sent again.',
      };
    }
    return { kind: 'sent', sids, status, usedTemplate, duplicate: !created, reconciled };
  }

  return async function sendToCustomer(input) {
    const key = input.idempotencyKey;
    // eslint-disable-next-line no-control-regex
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY || /[\u0000-\u001f\u007f]/.test(key)) {
      return refused('invalid_message', `idempotencyKey must be 1..${MAX_IDEMPOTENCY_KEY} printable characters.`);
    }
    const plan = planMessage(input.message);
    if (typeof plan === 'string') return refused('invalid_message', plan);
    const instance = deps.instances.get(input.orgId, input.instanceId);
    if (!instance) return refused('instance_inactive', 'No such WhatsApp instance in this organization; nothing was sent.');
    if (instance.status !== 'active') return refused('instance_inactive', `The WhatsApp instance "${instance.name}" is paused; nothing was sent.`);
    const customer = deps.customers.get(input.orgId, instance.id, input.customerRef);
    const phone = customer ? deps.customers.phone(input.orgId, instance.id, input.customerRef) : null;
    if (!customer || !phone) {
      return refused('recipient_unknown', `The customer has never written to the WhatsApp number "${instance.name}"; only customers who have messaged it can be contacted. Nothing was sent.`);
    }

    const flightKey = `${instance.id}\u0000${key}`;
    const running = inflight.get(flightKey);
    if (running) {
      const r = await running;
      return r.kind === 'sent' || r.kind === 'accepted_unrecorded' ? { ...r, duplicate: true } : r;
    }
    const work = (async (): Promise<SendToCustomerResult> => {
      let parts = deps.messages.idempotentParts(input.orgId, instance.id, key);
      if (parts.length > 0 && parts[0].customerRef !== input.customerRef) {
        return refused('invalid_message', 'This idempotencyKey was already used for another customer of this instance; nothing was sent.');
      }
      if (parts.length === 0) {
        const at = now();
        const inWindow = customer.lastInboundAt !== null && at - customer.lastInboundAt <= SERVICE_WINDOW_MS;
        const chosen = inWindow ? (plan.text ?? (plan.template && [plan.template])) : plan.template && [plan.template];
        if (!chosen) {
          return refused('outside_window', `Outside WhatsApp's 24-hour customer-service window: the customer (${customer.phoneMasked}) last wrote more than 24 hours ago, so free-form messages are refused; send an approved template instead. Nothing was sent.`);
        }
        parts = deps.messages.recordIntents({ orgId: input.orgId, instanceId: instance.id, customerRef: input.customerRef, parts: chosen, at, idempotencyKey: key });
      }
      return deliver({ instance, phone, key, signal: input.signal }, parts);
    })();

    inflight.set(flightKey, work);
    try {
      return await work;
    } finally {
      inflight.delete(flightKey);
    }
  };
}
