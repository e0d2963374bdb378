/**
 * Delivery statuses of outbound WhatsApp messages (queued → sent → delivered → read, or failed /
 * undelivered with Twilio's error code), as Twilio reports them for a SID.
 *
 * Reports arrive late, repeated and out of order, so a status only ever moves forward (the messages
 * repo ranks them). One can even arrive before the send's SID is stored (Twilio answers the create
 * and calls back at about the same time): such a status is held briefly in memory and applied when
 * the sender records the SID (`settleEarly`). The toolkit owns this because its senders (the plugin,
 * the reply worker) record SIDs; the channel's status-callback use case feeds it. Must never know
 * about HTTP or Twilio's form fields, never apply a status to another instance's message, and never
 * log phone numbers.
 */
import type { Logger } from '../../log.ts';
import type { WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';

/** Statuses held for SIDs not stored yet; bounded so a flood of unknown SIDs cannot grow memory. */
const MAX_EARLY = 1000;
/** How long an early status waits for its SID. */
const EARLY_TTL_MS = 5 * 60_000;
/** Distinct statuses kept per held SID (Twilio has fewer than this many). */
const MAX_STATUSES_PER_SID = 10;

/** What a reported status did. */
export type StatusOutcome = 'updated' | 'unchanged' | 'held' | 'ignored';

/** The instance a status was reported for (the webhook's, already authenticated). */
export interface StatusInstance {
  id: string;
  orgId: string;
}

export interface DeliveryStatus {
  /** Applies one status reported for `sid` of `instance`; held when the SID is not stored yet. */
  record(instance: StatusInstance, sid: string, status: string, errorCode: number | null): StatusOutcome;
  /** Applies a held status once the sender stored the SID (called by the send path). */
  settleEarly(orgId: string, instanceId: string, messageId: string, sid: string): void;
}

/** Builds the status ledger shared by the senders and the status-callback use case. */
export function createDeliveryStatus(deps: { messages: WhatsAppMessagesRepo; log: Logger; now?: () => number }): DeliveryStatus {
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
    record(instance, sid, status, errorCode) {
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
