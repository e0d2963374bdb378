/**
 * Exactly-once sending of one outbound part (a reply part or a plugin send), shared by the reply
 * worker and the WhatsApp plugin, plus the per-instance Twilio clients they share.
 *
 * The protocol: the part is already stored as an intent; `send_attempted_at` is committed before
 * the Twilio call and the SID right after it. A part that was attempted but has no SID has an
 * unknown outcome (the process died, or the call timed out), so it is first reconciled against
 * Twilio's Messages list; only when Twilio has no such message is it sent again. Must never send
 * a part blindly a second time, never log a raw phone number, and never retry on its own (the
 * caller decides: the job queue retries, a tool call reports).
 */
import { classifyTwilioError, createTwilioClient, type TwilioErrorClass, type TwilioMessageRecord, type TwilioMessaging } from './twilio.ts';
import type { WhatsAppInstance } from '../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppInstancesRepo } from '../../storage/repos/whatsapp-instances.ts';
import type { WhatsAppMessage, WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';

/** How far before the recorded attempt a Twilio `DateSent` may lie (clock skew between us and Twilio). */
const RECONCILE_SLACK_MS = 10 * 60_000;
/** Records read per reconciliation query: a customer gets few messages in the window. */
const RECONCILE_LIMIT = 50;
/** Newest messages read without a date filter: a just-queued message may still have no date_sent. */
const RECONCILE_NEWEST = 20;

/** Per-instance Twilio clients, built once and rebuilt only when the instance's settings change. */
export interface TwilioClients {
  forInstance(instance: WhatsAppInstance): TwilioMessaging;
  /** Forget an instance's client (deleted instance). */
  drop(instanceId: string): void;
}

/** Builds the client cache; a client is keyed by the instance's `updatedAt`, so a rotated token takes effect at once. */
export function createTwilioClients(deps: { instances: WhatsAppInstancesRepo; apiBaseUrl: string; timeoutMs: number }): TwilioClients {
  const cache = new Map<string, { version: number; client: TwilioMessaging }>();
  return {
    forInstance(instance) {
      const hit = cache.get(instance.id);
      if (hit && hit.version === instance.updatedAt) return hit.client;
      const creds = deps.instances.credentials(instance.orgId, instance.id);
      if (!creds) throw new Error('The WhatsApp instance no longer exists.');
      const client = createTwilioClient({ accountSid: creds.accountSid, authToken: creds.authToken, apiBaseUrl: deps.apiBaseUrl, timeoutMs: deps.timeoutMs });
      cache.set(instance.id, { version: instance.updatedAt, client });
      return client;
    },
    drop(instanceId) {
      cache.delete(instanceId);
    },
  };
}

/** The result of one exactly-once send attempt. */
export type PartOutcome =
  | { kind: 'sent'; sid: string; status: string; reconciled: boolean }
  /** Twilio accepted the part, but its SID could not be stored (`cause`): sent, and never sent again, but untracked. */
  | { kind: 'sent_unrecorded'; sid: string; status: string; cause: unknown }
  /** `sid` is null for a part accepted earlier whose SID could not be stored. */
  | { kind: 'already_sent'; sid: string | null }
  | { kind: 'failed'; error: TwilioErrorClass; permanent: boolean };

/** One part to send, with the instance, client and customer address it goes through. */
export interface SendPartInput {
  instance: WhatsAppInstance;
  client: TwilioMessaging;
  messages: WhatsAppMessagesRepo;
  part: WhatsAppMessage;
  /** `whatsapp:+E164` of the customer. */
  to: string;
  statusCallback: string;
  signal: AbortSignal;
  now?: () => number;
  /** Called once a SID is stored (applies a status callback that arrived before the SID). */
  onSid?: (part: WhatsAppMessage, sid: string) => void;
}

/** Thrown when the caller's signal is aborted before the Twilio call. */
export class SendAborted extends Error {
  constructor() {
    super('The send was aborted before it reached Twilio.');
    this.name = 'SendAborted';
  }
}

/**
 * Sends `part` at most once overall: skips it when it has a SID, reconciles it when an earlier
 * attempt's outcome is unknown, otherwise marks the attempt and sends. A permanent Twilio refusal
 * marks the part failed; a transient one leaves it attempted (so the next try reconciles first).
 * Throws only for reconciliation failures (outcome still unknown) and aborts.
 */
export async function sendPartOnce(input: SendPartInput): Promise<PartOutcome> {
  const now = input.now ?? Date.now;
  const { part, instance, messages } = input;
  if (part.twilioSid) return { kind: 'already_sent', sid: part.twilioSid };
  if (part.sentAt !== null) return { kind: 'already_sent', sid: null };
  if (part.sendAttemptedAt !== null) {
    const found = await reconcile(input, part.sendAttemptedAt);
    if (found) {
      const unrecorded = storeSid(input, found, now());
      if (unrecorded) return unrecorded;
      return { kind: 'sent', sid: found.sid, status: found.status, reconciled: true };
    }
  }
  if (input.signal.aborted) throw new SendAborted();
  messages.markSendAttempt(instance.orgId, part.id, now());
  let sent: { sid: string; status: string };
  try {
    sent = await input.client.sendMessage({
      to: input.to,
      ...(instance.messagingServiceSid ? { messagingServiceSid: instance.messagingServiceSid } : { from: instance.sender }),
      ...(part.contentSid
        ? { contentSid: part.contentSid, ...(part.contentVariables ? { contentVariables: part.contentVariables } : {}) }
        : { body: part.body, ...(part.media.length > 0 ? { mediaUrls: part.media.map((m) => m.url) } : {}) }),
      statusCallback: input.statusCallback,
    });
  } catch (err) {
    const error = classifyTwilioError(err);
    if (!error.retryable) messages.markFailed(instance.orgId, part.id, error.code, now());
    return { kind: 'failed', error, permanent: !error.retryable };
  }
  const unrecorded = storeSid(input, sent, now());
  if (unrecorded) return unrecorded;
  return { kind: 'sent', sid: sent.sid, status: sent.status, reconciled: false };
}

/**
 * Stores the SID of a part Twilio accepted. When that fails (the SID is already stored for another
 * part: a Twilio-compatible server repeating SIDs), the acceptance is still recorded so the part is
 * never sent again, and the failure is handed back for the caller to log and report — not thrown,
 * which would read as "outcome unknown" and lead to a second send.
 */
function storeSid(input: SendPartInput, sent: { sid: string; status: string }, at: number): Extract<PartOutcome, { kind: 'sent_unrecorded' }> | null {
  const { instance, part, messages } = input;
  try {
    messages.recordSent(instance.orgId, part.id, { twilioSid: sent.sid, status: sent.status }, at);
  } catch (cause) {
    try {
      messages.recordAcceptedUnrecorded(instance.orgId, part.id, sent.status, at);
    } catch {
      // The database refuses writes altogether; the caller logs the first cause.
    }
    return { kind: 'sent_unrecorded', sid: sent.sid, status: sent.status, cause };
  }
  input.onSid?.(part, sent.sid);
  return null;
}

/**
 * Looks for the message Twilio may have created for `part` during an attempt whose answer was
 * lost: same recipient (and sender unless a Messaging Service picks it), same body or template,
 * and a SID this instance has not already stored for another part. Checks messages sent since
 * shortly before the attempt and, because a just-queued message can have no date_sent yet, the
 * newest few without a date filter.
 */
async function reconcile(input: SendPartInput, attemptedAt: number): Promise<TwilioMessageRecord | null> {
  const from = input.instance.messagingServiceSid ? undefined : input.instance.sender;
  const base = { to: input.to, ...(from !== undefined && { from }) };
  const [recent, newest] = await Promise.all([
    input.client.listMessages({ ...base, dateSentAfter: new Date(attemptedAt - RECONCILE_SLACK_MS), limit: RECONCILE_LIMIT }),
    input.client.listMessages({ ...base, limit: RECONCILE_NEWEST }),
  ]);
  const seen = new Set<string>();
  const expected = input.part.contentSid ? null : input.part.body.trim();
  for (const m of [...newest, ...recent]) {
    if (seen.has(m.sid)) continue;
    seen.add(m.sid);
    if (m.direction && !m.direction.startsWith('outbound')) continue;
    // A template renders server-side, so its body cannot be compared: the window and SID set decide.
    if (expected !== null && m.body.trim() !== expected) continue;
    if (m.dateCreated && m.dateCreated.getTime() < attemptedAt - RECONCILE_SLACK_MS) continue;
    if (input.messages.getBySid(input.instance.orgId, input.instance.id, m.sid)) continue;
    return m;
  }
  return null;
}
