/**
 * Storage of the Scheduling toolkit (migration 0008): scheduled messages and the organisation's
 * reminder template. `scheduled → sending` (the job starts) and `scheduled → cancelled` (an
 * operator or the agent) are the same guarded UPDATE on `status = 'scheduled'`, so a cancel and a
 * send can never both win. Must never await, call Twilio, or know about HTTP.
 */
import crypto from 'node:crypto';
import type { Db } from '../../storage/db.ts';
import type { MessageTemplate, ScheduledMessageStatus } from '../../shared/api-escalations.ts';

export type { ScheduledMessageStatus };

export interface ScheduledMessage {
  id: string;
  orgId: string;
  instanceId: string;
  customerRef: string;
  text: string;
  template: MessageTemplate | null;
  sendAt: number;
  status: ScheduledMessageStatus;
  createdBy: 'agent' | 'operator';
  createdByUserId: string | null;
  outsideWindow: boolean;
  usedTemplate: boolean | null;
  sids: string[];
  failureReason: string | null;
  cancelReason: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  cancelledAt: number | null;
}

interface Row {
  id: string;
  org_id: string;
  instance_id: string;
  customer_ref: string;
  text: string;
  template: string | null;
  send_at: number;
  status: ScheduledMessageStatus;
  created_by: 'agent' | 'operator';
  created_by_user_id: string | null;
  outside_window: number;
  used_template: number | null;
  message_sids: string;
  failure_reason: string | null;
  cancel_reason: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  cancelled_at: number | null;
}

const toMessage = (r: Row): ScheduledMessage => ({
  id: r.id, orgId: r.org_id, instanceId: r.instance_id, customerRef: r.customer_ref, text: r.text,
  template: r.template ? (JSON.parse(r.template) as MessageTemplate) : null, sendAt: r.send_at, status: r.status, createdBy: r.created_by,
  createdByUserId: r.created_by_user_id, outsideWindow: r.outside_window === 1, usedTemplate: r.used_template === null ? null : r.used_template === 1,
  sids: JSON.parse(r.message_sids) as string[], failureReason: r.failure_reason, cancelReason: r.cancel_reason,
  createdAt: r.created_at, updatedAt: r.updated_at, sentAt: r.sent_at, cancelledAt: r.cancelled_at,
});

/** What the agent or an operator asks for (the toolkit checks it and fills the rest in). */
export interface ScheduleInput {
  orgId: string;
  instanceId: string;
  customerRef: string;
  text: string;
  sendAt: number;
  template?: MessageTemplate | null;
  createdBy: 'agent' | 'operator';
  userId: string | null;
  idempotencyKey: string | null;
}

export interface NewScheduledMessage {
  orgId: string;
  instanceId: string;
  customerRef: string;
  text: string;
  template: MessageTemplate | null;
  sendAt: number;
  createdBy: 'agent' | 'operator';
  createdByUserId: string | null;
  idempotencyKey: string | null;
  outsideWindow: boolean;
  at: number;
}

export interface ScheduledListQuery {
  instanceId?: string;
  customerRef?: string;
  status?: ScheduledMessageStatus;
  limit: number;
  cursor?: { at: number; id: string };
}

export function createScheduleStore(db: Db) {
  const stmts = {
    insert: db.prepare(`
      INSERT INTO scheduled_messages (id, org_id, instance_id, customer_ref, text, template, send_at, status, created_by, created_by_user_id, idempotency_key,
        outside_window, created_at, updated_at)
      VALUES (@id, @orgId, @instanceId, @customerRef, @text, @template, @sendAt, 'scheduled', @createdBy, @createdByUserId, @idempotencyKey,
        @outsideWindow, @at, @at)
      ON CONFLICT (org_id, idempotency_key) DO NOTHING`),
    get: db.prepare('SELECT * FROM scheduled_messages WHERE org_id = ? AND id = ?'),
    byKey: db.prepare('SELECT * FROM scheduled_messages WHERE org_id = ? AND idempotency_key = ?'),
    list: db.prepare(`
      SELECT * FROM scheduled_messages WHERE org_id = @orgId
        AND (@instanceId IS NULL OR instance_id = @instanceId)
        AND (@customerRef IS NULL OR customer_ref = @customerRef)
        AND (@status IS NULL OR status = @status)
        AND (@before IS NULL OR (send_at, id) < (@beforeAt, @before))
      ORDER BY send_at DESC, id DESC LIMIT @limit`),
    startSending: db.prepare("UPDATE scheduled_messages SET status = 'sending', updated_at = @at WHERE org_id = @orgId AND id = @id AND status = 'scheduled'"),
    cancel: db.prepare(`
      UPDATE scheduled_messages SET status = 'cancelled', cancel_reason = @reason, cancelled_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status = 'scheduled'`),
    sent: db.prepare(`
      UPDATE scheduled_messages SET status = 'sent', used_template = @usedTemplate, message_sids = @sids, sent_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status = 'sending'`),
    failed: db.prepare(`
      UPDATE scheduled_messages SET status = 'failed', failure_reason = @reason, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status = 'sending'`),
    settings: db.prepare('SELECT reminder_template FROM scheduling_settings WHERE org_id = ?'),
    putSettings: db.prepare(`
      INSERT INTO scheduling_settings (org_id, reminder_template, updated_at) VALUES (@orgId, @template, @at)
      ON CONFLICT (org_id) DO UPDATE SET reminder_template = excluded.reminder_template, updated_at = excluded.updated_at`),
  };
  const one = (r: unknown): ScheduledMessage | null => (r ? toMessage(r as Row) : null);
  return {
    /** The first message stored under the same idempotency key is returned again (`created: false`). */
    insert(input: NewScheduledMessage): { message: ScheduledMessage; created: boolean } {
      const id = `sch_${crypto.randomUUID().replace(/-/g, '')}`;
      const changes = stmts.insert.run({
        id, ...input, template: input.template ? JSON.stringify(input.template) : null, outsideWindow: input.outsideWindow ? 1 : 0,
      }).changes;
      if (changes === 1) return { message: one(stmts.get.get(input.orgId, id)) as ScheduledMessage, created: true };
      return { message: one(stmts.byKey.get(input.orgId, input.idempotencyKey)) as ScheduledMessage, created: false };
    },
    get: (orgId: string, id: string): ScheduledMessage | null => one(stmts.get.get(orgId, id)),
    list(orgId: string, q: ScheduledListQuery): ScheduledMessage[] {
      return (stmts.list.all({
        orgId, instanceId: q.instanceId ?? null, customerRef: q.customerRef ?? null, status: q.status ?? null,
        before: q.cursor?.id ?? null, beforeAt: q.cursor?.at ?? null, limit: q.limit,
      }) as Row[]).map(toMessage);
    },
    startSending: (m: ScheduledMessage, at: number): boolean => stmts.startSending.run({ orgId: m.orgId, id: m.id, at }).changes === 1,
    cancel: (m: ScheduledMessage, reason: string | null, at: number): boolean => stmts.cancel.run({ orgId: m.orgId, id: m.id, reason, at }).changes === 1,
    markSent: (m: ScheduledMessage, sids: string[], usedTemplate: boolean, at: number): boolean =>
      stmts.sent.run({ orgId: m.orgId, id: m.id, sids: JSON.stringify(sids), usedTemplate: usedTemplate ? 1 : 0, at }).changes === 1,
    markFailed: (m: ScheduledMessage, reason: string, at: number): boolean => stmts.failed.run({ orgId: m.orgId, id: m.id, reason, at }).changes === 1,
    reminderTemplate(orgId: string): MessageTemplate | null {
      const r = stmts.settings.get(orgId) as { reminder_template: string | null } | undefined;
      return r?.reminder_template ? (JSON.parse(r.reminder_template) as MessageTemplate) : null;
    },
    setReminderTemplate(orgId: string, template: MessageTemplate | null, at: number): void {
      stmts.putSettings.run({ orgId, template: template ? JSON.stringify(template) : null, at });
    },
  };
}
export type ScheduleStore = ReturnType<typeof createScheduleStore>;
