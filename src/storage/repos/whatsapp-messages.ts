/**
 * The WhatsApp conversation log: inbound messages (deduped by MessageSid per instance) and
 * outbound parts written as intents before they are sent.
 *
 * Exactly-once sending rests on this module: intents are recorded once per reply (or per caller
 * idempotency key) and never replaced, `send_attempted_at` is committed before each Twilio call,
 * and `twilio_sid` is set once after it. A part with an attempt but no SID has an unknown
 * outcome and must be reconciled against Twilio before it is sent again. Statuses only move
 * forward. Every query is scoped by organisation except `findForStatusCallback`. Must never
 * call the network or know about HTTP.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';

export interface MediaItem {
  url: string;
  contentType: string | null;
}

export interface WhatsAppMessage {
  id: string;
  orgId: string;
  instanceId: string;
  customerRef: string;
  direction: 'in' | 'out';
  twilioSid: string | null;
  body: string;
  numMedia: number;
  media: MediaItem[];
  contentSid: string | null;
  contentVariables: string | null;
  status: string;
  errorCode: number | null;
  replyToMessageId: string | null;
  partIndex: number | null;
  idempotencyKey: string | null;
  intentRecordedAt: number | null;
  sendAttemptedAt: number | null;
  sentAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Forward order of outbound statuses; a callback may only raise the rank. */
export const OUTBOUND_STATUS_RANK: Readonly<Record<string, number>> = {
  pending: 0, accepted: 1, scheduled: 1, queued: 2, sending: 3, sent: 4, delivered: 5, read: 6,
};
/** Terminal failures: they win over anything below `delivered`, and nothing moves them. */
export const TERMINAL_FAILURES: readonly string[] = ['failed', 'undelivered', 'canceled'];

const RANK_SQL = `CASE status ${Object.entries(OUTBOUND_STATUS_RANK).map(([s, r]) => `WHEN '${s}' THEN ${r}`).join(' ')} ELSE 0 END`;

export interface InboundInput {
  orgId: string;
  instanceId: string;
  customerRef: string;
  twilioSid: string;
  body: string;
  media: MediaItem[];
  at: number;
}

/** One outbound part: text, or media, or a template. */
export interface OutboundPart {
  body?: string;
  media?: MediaItem[];
  contentSid?: string;
  contentVariables?: string;
}

export type IntentInput = {
  orgId: string;
  instanceId: string;
  customerRef: string;
  parts: OutboundPart[];
  at: number;
} & ({ replyToMessageId: string; idempotencyKey?: undefined } | { idempotencyKey: string; replyToMessageId?: undefined });

interface Row {
  id: string; org_id: string; instance_id: string; customer_ref: string; direction: 'in' | 'out'; twilio_sid: string | null;
  body: string; num_media: number; media: string; content_sid: string | null; content_variables: string | null; status: string;
  error_code: number | null; reply_to_message_id: string | null; part_index: number | null; idempotency_key: string | null;
  intent_recorded_at: number | null; send_attempted_at: number | null; sent_at: number | null; created_at: number; updated_at: number;
}

const toMessage = (r: Row): WhatsAppMessage => ({
  id: r.id, orgId: r.org_id, instanceId: r.instance_id, customerRef: r.customer_ref, direction: r.direction,
  twilioSid: r.twilio_sid, body: r.body, numMedia: r.num_media, media: JSON.parse(r.media) as MediaItem[],
  contentSid: r.content_sid, contentVariables: r.content_variables, status: r.status, errorCode: r.error_code,
  replyToMessageId: r.reply_to_message_id, partIndex: r.part_index, idempotencyKey: r.idempotency_key,
  intentRecordedAt: r.intent_recorded_at, sendAttemptedAt: r.send_attempted_at, sentAt: r.sent_at,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

/** Most outbound parts one intent may hold (a split answer); more is a caller bug. */
const MAX_PARTS = 50;

export function createWhatsAppMessagesRepo(db: Db) {
  const stmts = {
    insertInbound: db.prepare(`
      INSERT INTO whatsapp_messages (id, org_id, instance_id, customer_ref, direction, twilio_sid, body, num_media, media, status, created_at, updated_at)
      VALUES (@id, @orgId, @instanceId, @customerRef, 'in', @twilioSid, @body, @numMedia, @media, 'received', @at, @at)
      ON CONFLICT (instance_id, twilio_sid) DO NOTHING`),
    bySid: db.prepare('SELECT * FROM whatsapp_messages WHERE org_id = ? AND instance_id = ? AND twilio_sid = ?'),
    get: db.prepare('SELECT * FROM whatsapp_messages WHERE org_id = ? AND id = ?'),
    insertOut: db.prepare(`
      INSERT INTO whatsapp_messages (id, org_id, instance_id, customer_ref, direction, body, num_media, media, content_sid, content_variables,
        status, reply_to_message_id, part_index, idempotency_key, intent_recorded_at, created_at, updated_at)
      VALUES (@id, @orgId, @instanceId, @customerRef, 'out', @body, @numMedia, @media, @contentSid, @contentVariables,
        'pending', @replyTo, @partIndex, @idempotencyKey, @at, @at, @at)`),
    partsOfReply: db.prepare("SELECT * FROM whatsapp_messages WHERE org_id = ? AND reply_to_message_id = ? AND direction = 'out' ORDER BY part_index"),
    partsOfKey: db.prepare(
      "SELECT * FROM whatsapp_messages WHERE org_id = ? AND instance_id = ? AND idempotency_key = ? AND direction = 'out' ORDER BY part_index",
    ),
    markAttempt: db.prepare('UPDATE whatsapp_messages SET send_attempted_at = @at, updated_at = @at WHERE org_id = @orgId AND id = @id AND twilio_sid IS NULL'),
    recordSent: db.prepare(`
      UPDATE whatsapp_messages SET twilio_sid = @twilioSid, status = @status, sent_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND direction = 'out' AND twilio_sid IS NULL`),
    recordAcceptedUnrecorded: db.prepare(`
      UPDATE whatsapp_messages SET status = @status, sent_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND direction = 'out' AND twilio_sid IS NULL`),
    markFailed: db.prepare(`
      UPDATE whatsapp_messages SET status = 'failed', error_code = @errorCode, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND direction = 'out' AND twilio_sid IS NULL AND status = 'pending'`),
    advance: db.prepare(`
      UPDATE whatsapp_messages SET status = @status, error_code = COALESCE(@errorCode, error_code), updated_at = @at
      WHERE org_id = @orgId AND id = @id AND direction = 'out' AND twilio_sid IS NOT NULL
        AND status NOT IN (${TERMINAL_FAILURES.map((s) => `'${s}'`).join(', ')})
        AND (${RANK_SQL}) < @rank`),
    forCallback: db.prepare("SELECT id, org_id, instance_id FROM whatsapp_messages WHERE twilio_sid = ? AND direction = 'out'"),
    conversation: db.prepare(`
      SELECT * FROM (
        SELECT *, rowid AS seq FROM whatsapp_messages WHERE org_id = ? AND instance_id = ? AND customer_ref = ? AND created_at <= ?
        ORDER BY created_at DESC, rowid DESC LIMIT ?)
      ORDER BY created_at, seq`),
    // Operator view: newest first, keyset-paged on rowid (insertion order).
    page: db.prepare(`
      SELECT *, rowid AS seq FROM whatsapp_messages
      WHERE org_id = @orgId AND instance_id = @instanceId AND customer_ref = @customerRef AND (@before IS NULL OR rowid < @before)
      ORDER BY rowid DESC LIMIT @limit`),
  };

  const recordIntents = db.transaction((input: IntentInput): WhatsAppMessage[] => {
    const existing = existingParts(input);
    // The first recorded answer wins: after a crash the model may answer differently, and mixing
    // two answers' parts would send a garbled reply.
    if (existing.length > 0) return existing;
    if (input.replyToMessageId !== undefined) {
      const inbound = stmts.get.get(input.orgId, input.replyToMessageId) as Row | undefined;
      if (!inbound || inbound.direction !== 'in' || inbound.instance_id !== input.instanceId || inbound.customer_ref !== input.customerRef) {
        throw new Error('A reply must answer an inbound message of the same instance and customer.');
      }
    }
    input.parts.forEach((p, partIndex) => {
      const media = p.media ?? [];
      stmts.insertOut.run({
        id: crypto.randomUUID(), orgId: input.orgId, instanceId: input.instanceId, customerRef: input.customerRef,
        body: p.body ?? '', numMedia: media.length, media: JSON.stringify(media), contentSid: p.contentSid ?? null,
        contentVariables: p.contentVariables ?? null, replyTo: input.replyToMessageId ?? null, partIndex,
        idempotencyKey: input.idempotencyKey ?? null, at: input.at,
      });
    });
    return existingParts(input);
  });

  function existingParts(input: IntentInput): WhatsAppMessage[] {
    const rows = input.replyToMessageId !== undefined
      ? stmts.partsOfReply.all(input.orgId, input.replyToMessageId)
      : stmts.partsOfKey.all(input.orgId, input.instanceId, input.idempotencyKey);
    return (rows as Row[]).map(toMessage);
  }

  return {
    /** Stores an inbound message unless its MessageSid is already known for this instance. */
    insertInbound(input: InboundInput): { message: WhatsAppMessage; created: boolean } {
      const created = stmts.insertInbound.run({
        id: crypto.randomUUID(), orgId: input.orgId, instanceId: input.instanceId, customerRef: input.customerRef,
        twilioSid: input.twilioSid, body: input.body, numMedia: input.media.length, media: JSON.stringify(input.media), at: input.at,
      }).changes === 1;
      const row = stmts.bySid.get(input.orgId, input.instanceId, input.twilioSid) as Row | undefined;
      // (A wrong orgId for the instance already failed the foreign key above.)
      if (!row) throw new Error('The inbound message row is missing after its insert.');
      return { message: toMessage(row), created };
    },
    get(orgId: string, id: string): WhatsAppMessage | null {
      const r = stmts.get.get(orgId, id) as Row | undefined;
      return r ? toMessage(r) : null;
    },
    getBySid(orgId: string, instanceId: string, twilioSid: string): WhatsAppMessage | null {
      const r = stmts.bySid.get(orgId, instanceId, twilioSid) as Row | undefined;
      return r ? toMessage(r) : null;
    },
    /**
     * Records the outbound parts of a reply (or of an idempotent send) as 'pending' intents, once.
     * Returns all parts in order; when intents already exist they are returned unchanged.
     */
    recordIntents(input: IntentInput): WhatsAppMessage[] {
      if (input.parts.length === 0 || input.parts.length > MAX_PARTS) throw new RangeError(`An intent needs 1..${MAX_PARTS} parts.`);
      return recordIntents.immediate(input);
    },
    replyParts(orgId: string, replyToMessageId: string): WhatsAppMessage[] {
      return (stmts.partsOfReply.all(orgId, replyToMessageId) as Row[]).map(toMessage);
    },
    idempotentParts(orgId: string, instanceId: string, idempotencyKey: string): WhatsAppMessage[] {
      return (stmts.partsOfKey.all(orgId, instanceId, idempotencyKey) as Row[]).map(toMessage);
    },
    /** Commit this before calling Twilio: from now on the part's outcome is unknown until a SID is recorded. */
    markSendAttempt(orgId: string, id: string, at = Date.now()): boolean {
      return stmts.markAttempt.run({ orgId, id, at }).changes === 1;
    },
    /** Records Twilio's SID once; false when the part already has one. */
    recordSent(orgId: string, id: string, sent: { twilioSid: string; status: string }, at = Date.now()): boolean {
      return stmts.recordSent.run({ orgId, id, twilioSid: sent.twilioSid, status: sent.status, at }).changes === 1;
    },
    /**
     * Twilio accepted the part but its SID could not be stored (a Twilio-compatible server that
     * returned a SID already stored): `sent_at` records the acceptance, so the part is never sent again.
     */
    recordAcceptedUnrecorded(orgId: string, id: string, status: string, at = Date.now()): boolean {
      return stmts.recordAcceptedUnrecorded.run({ orgId, id, status, at }).changes === 1;
    },
    /** A send Twilio refused for good (e.g. 63016): the part is failed, with no SID. */
    markFailed(orgId: string, id: string, errorCode: number | null, at = Date.now()): boolean {
      return stmts.markFailed.run({ orgId, id, errorCode, at }).changes === 1;
    },
    /** Applies a status callback if it moves the status forward; false otherwise (late or repeated). */
    advanceStatus(orgId: string, id: string, status: string, errorCode: number | null = null, at = Date.now()): boolean {
      const rank = TERMINAL_FAILURES.includes(status) ? OUTBOUND_STATUS_RANK.delivered : OUTBOUND_STATUS_RANK[status];
      if (rank === undefined) return false;
      return stmts.advance.run({ orgId, id, status, errorCode, rank, at }).changes === 1;
    },
    /**
     * Outbound messages with this SID, across organisations: status callbacks carry only the SID.
     * The caller must verify the callback's signature with each candidate instance's token.
     */
    findForStatusCallback(twilioSid: string): Array<{ id: string; orgId: string; instanceId: string }> {
      return (stmts.forCallback.all(twilioSid) as Array<{ id: string; org_id: string; instance_id: string }>).map((r) => ({
        id: r.id, orgId: r.org_id, instanceId: r.instance_id,
      }));
    },
    /**
     * One page of a conversation for operators, newest first. `seq` is the cursor: pass the last
     * row's seq as `before` for the next (older) page.
     */
    page(orgId: string, instanceId: string, customerRef: string, opts: { limit: number; before?: number }): Array<WhatsAppMessage & { seq: number }> {
      const rows = stmts.page.all({ orgId, instanceId, customerRef, before: opts.before ?? null, limit: Math.min(Math.max(1, opts.limit), 500) }) as Array<Row & { seq: number }>;
      return rows.map((r) => ({ ...toMessage(r), seq: r.seq }));
    },
    /** The last `limit` messages with a customer up to `until`, oldest first (model context). */
    conversation(orgId: string, instanceId: string, customerRef: string, opts: { limit?: number; until?: number } = {}): WhatsAppMessage[] {
      const limit = Math.min(Math.max(1, opts.limit ?? 20), 200);
      return (stmts.conversation.all(orgId, instanceId, customerRef, opts.until ?? Number.MAX_SAFE_INTEGER, limit) as Row[]).map(toMessage);
    },
  };
}
export type WhatsAppMessagesRepo = ReturnType<typeof createWhatsAppMessagesRepo>;
