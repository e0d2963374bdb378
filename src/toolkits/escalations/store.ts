/**
 * Storage of the Escalations toolkit (migration 0008): escalations, their timeline, and the
 * organisation's escalation settings. Every state change is one guarded UPDATE (`WHERE status IN
 * …`), so two operators, or an operator and the queue timeout, can never both win a transition;
 * the caller learns from the return value whether it did. Must never await, call Twilio, or know
 * about HTTP.
 */
import crypto from 'node:crypto';
import type { Db } from '../../storage/db.ts';
import type { EscalationPriority, EscalationStatus, EscalationTimelineType, MessageTemplate } from '../../shared/api-escalations.ts';

export type { EscalationPriority, EscalationStatus, EscalationTimelineType, MessageTemplate };

export const ESCALATION_PRIORITIES: readonly EscalationPriority[] = ['low', 'normal', 'high', 'urgent'];
export const ACTIVE_STATUSES: readonly EscalationStatus[] = ['pending', 'assigned'];

export interface Escalation {
  id: string;
  orgId: string;
  instanceId: string;
  customerRef: string;
  status: EscalationStatus;
  priority: EscalationPriority;
  reason: string;
  summary: string;
  openedBy: 'agent' | 'operator';
  openedByUserId: string | null;
  openedRequestId: string | null;
  assigneeUserId: string | null;
  timeoutAt: number | null;
  heldMessages: number;
  replyCount: number;
  resolutionNote: string | null;
  resolvedBy: string | null;
  createdAt: number;
  updatedAt: number;
  assignedAt: number | null;
  closedAt: number | null;
}

export interface TimelineEntry {
  type: EscalationTimelineType;
  userId: string | null;
  messageId: string | null;
  note: string | null;
  at: number;
}

export interface EscalationSettings {
  queueTimeoutSeconds: number;
  acknowledgementText: string;
  timeoutText: string;
  timeoutTemplate: MessageTemplate | null;
}

export const DEFAULT_ESCALATION_SETTINGS: EscalationSettings = {
  queueTimeoutSeconds: 1800,
  acknowledgementText: 'Thank you — I have passed your conversation to a member of our team. A person will answer you here as soon as possible.',
  timeoutText: 'Sorry, nobody from our team is available right now. The assistant will keep helping you here; write "agent" again later if you still need a person.',
  timeoutTemplate: null,
};

interface Row {
  id: string;
  org_id: string;
  instance_id: string;
  customer_ref: string;
  status: EscalationStatus;
  priority: EscalationPriority;
  reason: string;
  summary: string;
  opened_by: 'agent' | 'operator';
  opened_by_user_id: string | null;
  opened_request_id: string | null;
  assignee_user_id: string | null;
  timeout_at: number | null;
  held_messages: number;
  reply_count: number;
  resolution_note: string | null;
  resolved_by: string | null;
  created_at: number;
  updated_at: number;
  assigned_at: number | null;
  closed_at: number | null;
}

const toEscalation = (r: Row): Escalation => ({
  id: r.id, orgId: r.org_id, instanceId: r.instance_id, customerRef: r.customer_ref, status: r.status, priority: r.priority,
  reason: r.reason, summary: r.summary, openedBy: r.opened_by, openedByUserId: r.opened_by_user_id, openedRequestId: r.opened_request_id,
  assigneeUserId: r.assignee_user_id, timeoutAt: r.timeout_at, heldMessages: r.held_messages, replyCount: r.reply_count,
  resolutionNote: r.resolution_note, resolvedBy: r.resolved_by, createdAt: r.created_at, updatedAt: r.updated_at,
  assignedAt: r.assigned_at, closedAt: r.closed_at,
});

export interface NewEscalation {
  orgId: string;
  instanceId: string;
  customerRef: string;
  priority: EscalationPriority;
  reason: string;
  summary: string;
  openedBy: 'agent' | 'operator';
  openedByUserId: string | null;
  openedRequestId: string | null;
  idempotencyKey: string | null;
  timeoutAt: number;
  at: number;
}

export interface EscalationListQuery {
  statuses?: readonly EscalationStatus[];
  instanceId?: string;
  customerRef?: string;
  assignee?: string;
  limit: number;
  cursor?: { at: number; id: string };
}

export const newEscalationId = (): string => `esc_${crypto.randomUUID().replace(/-/g, '')}`;

export function createEscalationStore(db: Db) {
  const stmts = {
    insert: db.prepare(`
      INSERT INTO escalations (id, org_id, instance_id, customer_ref, status, priority, reason, summary, opened_by, opened_by_user_id, opened_request_id,
        idempotency_key, timeout_at, created_at, updated_at)
      VALUES (@id, @orgId, @instanceId, @customerRef, 'pending', @priority, @reason, @summary, @openedBy, @openedByUserId, @openedRequestId,
        @idempotencyKey, @timeoutAt, @at, @at)
      ON CONFLICT DO NOTHING`),
    get: db.prepare('SELECT * FROM escalations WHERE org_id = ? AND id = ?'),
    byKey: db.prepare('SELECT * FROM escalations WHERE org_id = ? AND idempotency_key = ?'),
    active: db.prepare("SELECT * FROM escalations WHERE org_id = ? AND instance_id = ? AND customer_ref = ? AND status IN ('pending', 'assigned')"),
    list: db.prepare(`
      SELECT * FROM escalations WHERE org_id = @orgId
        AND (@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses)))
        AND (@instanceId IS NULL OR instance_id = @instanceId)
        AND (@customerRef IS NULL OR customer_ref = @customerRef)
        AND (@assignee IS NULL OR assignee_user_id = @assignee)
        AND (@before IS NULL OR (created_at, id) < (@beforeAt, @before))
      ORDER BY created_at DESC, id DESC LIMIT @limit`),
    assign: db.prepare(`
      UPDATE escalations SET status = 'assigned', assignee_user_id = @userId, timeout_at = NULL, assigned_at = COALESCE(assigned_at, @at), updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status IN ('pending', 'assigned')`),
    assignIfPending: db.prepare(`
      UPDATE escalations SET status = 'assigned', assignee_user_id = @userId, timeout_at = NULL, assigned_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status = 'pending'`),
    resolve: db.prepare(`
      UPDATE escalations SET status = 'resolved', resolution_note = @note, resolved_by = @userId, timeout_at = NULL, closed_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status IN ('pending', 'assigned')`),
    expire: db.prepare(`
      UPDATE escalations SET status = 'expired', timeout_at = NULL, closed_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status = 'pending'`),
    countHeld: db.prepare('UPDATE escalations SET held_messages = held_messages + 1, updated_at = @at WHERE id = @id'),
    countReply: db.prepare('UPDATE escalations SET reply_count = reply_count + 1, updated_at = @at WHERE id = @id'),
    addEvent: db.prepare(`
      INSERT INTO escalation_events (escalation_id, org_id, type, user_id, message_id, note, at) VALUES (@escalationId, @orgId, @type, @userId, @messageId, @note, @at)
      ON CONFLICT DO NOTHING`),
    hasEvent: db.prepare('SELECT 1 FROM escalation_events WHERE escalation_id = ? AND type = ? LIMIT 1'),
    timeline: db.prepare('SELECT type, user_id, message_id, note, at FROM escalation_events WHERE escalation_id = ? ORDER BY id LIMIT 1000'),
    settings: db.prepare('SELECT * FROM escalation_settings WHERE org_id = ?'),
    putSettings: db.prepare(`
      INSERT INTO escalation_settings (org_id, queue_timeout_s, acknowledgement_text, timeout_text, timeout_template, updated_at)
      VALUES (@orgId, @queueTimeoutSeconds, @acknowledgementText, @timeoutText, @timeoutTemplate, @at)
      ON CONFLICT (org_id) DO UPDATE SET queue_timeout_s = excluded.queue_timeout_s, acknowledgement_text = excluded.acknowledgement_text,
        timeout_text = excluded.timeout_text, timeout_template = excluded.timeout_template, updated_at = excluded.updated_at`),
  };
  const one = (r: unknown): Escalation | null => (r ? toEscalation(r as Row) : null);

  function addEvent(e: Escalation, type: EscalationTimelineType, at: number, extra: { userId?: string | null; messageId?: string | null; note?: string | null } = {}): boolean {
    return stmts.addEvent.run({ escalationId: e.id, orgId: e.orgId, type, userId: extra.userId ?? null, messageId: extra.messageId ?? null, note: extra.note ?? null, at }).changes === 1;
  }

  return {
    /**
     * Inserts a pending escalation. Returns the conversation's active one instead when there is
     * one (`created: false`), and the first one under the same idempotency key.
     */
    insert(input: NewEscalation): { escalation: Escalation; created: boolean } {
      if (input.idempotencyKey) {
        const known = one(stmts.byKey.get(input.orgId, input.idempotencyKey));
        if (known) return { escalation: known, created: false };
      }
      const id = newEscalationId();
      const changes = stmts.insert.run({ id, ...input }).changes;
      if (changes === 1) return { escalation: one(stmts.get.get(input.orgId, id)) as Escalation, created: true };
      const active = one(stmts.active.get(input.orgId, input.instanceId, input.customerRef));
      if (active) return { escalation: active, created: false };
      // Only the idempotency key can have conflicted (a concurrent insert under it).
      return { escalation: one(stmts.byKey.get(input.orgId, input.idempotencyKey)) as Escalation, created: false };
    },
    get: (orgId: string, id: string): Escalation | null => one(stmts.get.get(orgId, id)),
    /** The conversation's pending or assigned escalation: while there is one, a person holds the conversation. */
    active: (orgId: string, instanceId: string, customerRef: string): Escalation | null => one(stmts.active.get(orgId, instanceId, customerRef)),
    list(orgId: string, q: EscalationListQuery): Escalation[] {
      return (stmts.list.all({
        orgId, statuses: q.statuses ? JSON.stringify(q.statuses) : null, instanceId: q.instanceId ?? null, customerRef: q.customerRef ?? null,
        assignee: q.assignee ?? null, before: q.cursor?.id ?? null, beforeAt: q.cursor?.at ?? null, limit: q.limit,
      }) as Row[]).map(toEscalation);
    },
    assign: (e: Escalation, userId: string, at: number): boolean => stmts.assign.run({ orgId: e.orgId, id: e.id, userId, at }).changes === 1,
    assignIfPending: (e: Escalation, userId: string, at: number): boolean => stmts.assignIfPending.run({ orgId: e.orgId, id: e.id, userId, at }).changes === 1,
    resolve: (e: Escalation, userId: string | null, note: string | null, at: number): boolean => stmts.resolve.run({ orgId: e.orgId, id: e.id, userId, note, at }).changes === 1,
    expire: (e: Escalation, at: number): boolean => stmts.expire.run({ orgId: e.orgId, id: e.id, at }).changes === 1,
    /** Records a customer message received while held; false when it was recorded before (a re-run). */
    recordHeldMessage(e: Escalation, messageId: string, at: number): boolean {
      if (!addEvent(e, 'customer_message', at, { messageId })) return false;
      stmts.countHeld.run({ id: e.id, at });
      return true;
    },
    /** Records an operator reply; false when this message was recorded before. */
    recordReply(e: Escalation, userId: string, messageId: string, at: number): boolean {
      if (!addEvent(e, 'replied', at, { userId, messageId })) return false;
      stmts.countReply.run({ id: e.id, at });
      return true;
    },
    addEvent,
    hasEvent: (e: Escalation, type: EscalationTimelineType): boolean => stmts.hasEvent.get(e.id, type) !== undefined,
    timeline(e: Escalation): TimelineEntry[] {
      return (stmts.timeline.all(e.id) as Array<{ type: EscalationTimelineType; user_id: string | null; message_id: string | null; note: string | null; at: number }>)
        .map((r) => ({ type: r.type, userId: r.user_id, messageId: r.message_id, note: r.note, at: r.at }));
    },
    settings(orgId: string): EscalationSettings {
      const r = stmts.settings.get(orgId) as { queue_timeout_s: number; acknowledgement_text: string; timeout_text: string; timeout_template: string | null } | undefined;
      if (!r) return { ...DEFAULT_ESCALATION_SETTINGS };
      return {
        queueTimeoutSeconds: r.queue_timeout_s, acknowledgementText: r.acknowledgement_text, timeoutText: r.timeout_text,
        timeoutTemplate: r.timeout_template ? (JSON.parse(r.timeout_template) as MessageTemplate) : null,
      };
    },
    putSettings(orgId: string, s: EscalationSettings, at: number): void {
      stmts.putSettings.run({ orgId, ...s, timeoutTemplate: s.timeoutTemplate ? JSON.stringify(s.timeoutTemplate) : null, at });
    },
  };
}
export type EscalationStore = ReturnType<typeof createEscalationStore>;
