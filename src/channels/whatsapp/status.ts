/**
 * Twilio status callbacks for outbound WhatsApp messages (queued → sent → delivered → read, or
 * failed / undelivered with Twilio's error code), after the HTTP layer checked the signature.
 *
 * Callbacks arrive late, repeated and out of order, so a status only ever moves forward (the
 * messages repo ranks them). One can even arrive before the send's SID is stored (Twilio answers
 * the create and calls back at about the same time): such a status is held briefly in memory
 * and applied when the SID is recorded. Must never know about HTTP, never trust a callback that
 * names another instance's message, and never log phone numbers.
 */
import type { Logger } from '../../log.ts';
import type { WebhookInstance } from '../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';
import type { TwilioParams } from './twilio.ts';

/** Statuses held for SIDs not stored yet; bounded so a flood of unknown SIDs cannot grow memory. */
const MAX_EARLY = 1000;
/** How long an early status waits for its SID. */
const EARLY_TTL_MS = 5 * 60_000;
/** Distinct statuses kept per held SID (Twilio has fewer than this many). */
const MAX_STATUSES_PER_SID = 10;
const SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const STATUS = /^[a-z_]{1,32}$/;

/** What a callback did. */
export type StatusOutcome = 'updated' | 'unchanged' | 'held' | 'ignored';

/** A status callback that the route could not accept: the message names the field. */
export class StatusCallbackError extends Error {
  readonly param: string;
  constructor(message: string, param: string) {
    super(message);
    this.name = 'StatusCallbackError';
    this.param = param;
  }
}

/** The status-callback use case the webhook route calls. */
export interface StatusCallbacks {
  /** Applies one signed callback for `instance`; throws StatusCallbackError for a malformed one. */
  handle(instance: WebhookInstance, params: TwilioParams): StatusOutcome;
  /** Applies a held status once the sender stored the SID (called by the send path). */
  settleEarly(orgId: string, instanceId: string, messageId: string, sid: string): void;
}

function one(params: TwilioParams, key: string): string | undefined {
  const v = params[key];
  return Array.isArray(v) ? undefined : v;
}

/** Builds the status-callback use case. */
export function createStatusCallbacks(deps: { messages: WhatsAppMessagesRepo; log: Logger; now?: () => number }): StatusCallbacks {
  const now = deps.now ?? Date.now;
  // Every status seen for the SID: advanceStatus only moves forward, so applying them all in
  // arrival order ends where the furthest one says, whatever order Twilio sent them in.
  const early = new Map<string, { statuses: string[]; errorCode: number | null; at: number }>();

  function hold(instanceId: string, sid: string, status: string, errorCode: number | null): void {
    const at = now();
    for (const [k, v] of early) if (at - v.at > EARLY_TTL_MS) early.delete(k);
    if (early.size >= MAX_EARLY) early.delete(early.keys().next().value as string);
    const key = `${instanceId}:${sid}`;
    const prev = early.get(key);
    if (!prev) early.set(key, { statuses: [status], errorCode, at });
    else if (!prev.statuses.includes(status) && prev.statuses.length < MAX_STATUSES_PER_SID) {
      prev.statuses.push(status);
      prev.errorCode = errorCode ?? prev.errorCode;
    }
  }

  return {
    handle(instance, params) {
      const sid = one(params, 'MessageSid');
      const status = (one(params, 'MessageStatus') ?? one(params, 'SmsStatus'))?.toLowerCase();
      if (!sid || !SID.test(sid)) throw new StatusCallbackError('MessageSid is missing or malformed.', 'MessageSid');
      if (!status || !STATUS.test(status)) throw new StatusCallbackError('MessageStatus is missing or malformed.', 'MessageStatus');
      const rawCode = one(params, 'ErrorCode');
      const errorCode = rawCode && /^\d{1,6}$/.test(rawCode) ? Number(rawCode) : null;
      const msg = deps.messages.getBySid(instance.orgId, instance.id, sid);
      if (!msg) {
        hold(instance.id, sid, status, errorCode);
        return 'held';
      }
      if (msg.direction !== 'out') return 'ignored';
      const changed = deps.messages.advanceStatus(instance.orgId, msg.id, status, errorCode, now());
      if (changed && errorCode !== null) deps.log.warn({ instanceId: instance.id, messageId: msg.id, status, errorCode }, 'whatsapp message not delivered');
      return changed ? 'updated' : 'unchanged';
    },
    settleEarly(orgId, instanceId, messageId, sid) {
      const key = `${instanceId}:${sid}`;
      const held = early.get(key);
      if (!held) return;
      early.delete(key);
      for (const status of held.statuses) deps.messages.advanceStatus(orgId, messageId, status, held.errorCode, now());
    },
  };
}
