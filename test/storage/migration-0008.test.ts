/**
 * Migration 0008 (Escalations and Scheduling) as the database enforces it, whatever path a write
 * takes: at most one active escalation per conversation, escalation and reminder states that move
 * forward only (no reopening a closed escalation, no resending a sent or cancelled reminder by raw
 * SQL), a cancel and a send that cannot both win, and everything gone with its organisation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createEscalationStore } from '../../src/toolkits/escalations/store.ts';
import { createScheduleStore } from '../../src/toolkits/scheduling/store.ts';

function setup() {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'A', 0)").run();
  return { db, escalations: createEscalationStore(db), schedule: createScheduleStore(db) };
}

const conversation = { orgId: 'org_a', instanceId: 'inst_1', customerRef: `wcr_${'a'.repeat(22)}` };
const newEscalation = (over: Record<string, unknown> = {}) => ({
  ...conversation, priority: 'normal' as const, reason: 'r', summary: '', openedBy: 'agent' as const, openedByUserId: null,
  openedRequestId: 'req_1', idempotencyKey: null, timeoutAt: 1000, at: 1, ...over,
});

test('one active escalation per conversation; a closed one can never be reopened, even by raw SQL', () => {
  const { db, escalations } = setup();
  const first = escalations.insert(newEscalation());
  assert.equal(first.created, true);
  const second = escalations.insert(newEscalation({ reason: 'again' }));
  assert.deepEqual([second.created, second.escalation.id], [false, first.escalation.id], 'the active one is returned');
  assert.throws(() => db.prepare("INSERT INTO escalations (id, org_id, instance_id, customer_ref, reason, opened_by, created_at, updated_at) VALUES ('esc_x', 'org_a', 'inst_1', ?, 'x', 'agent', 0, 0)").run(conversation.customerRef), /UNIQUE/);
  // Another conversation of the same number is independent.
  assert.equal(escalations.insert(newEscalation({ customerRef: `wcr_${'b'.repeat(22)}` })).created, true);

  const e = first.escalation;
  assert.equal(escalations.assign(e, 'usr_1', 2), true);
  assert.equal(escalations.assign(e, 'usr_2', 3), true, 'reassigning is allowed');
  assert.equal(escalations.expire(e, 4), false, 'only a pending escalation times out');
  assert.equal(escalations.resolve(e, 'usr_2', 'done', 5), true);
  assert.equal(escalations.resolve(e, 'usr_2', 'again', 6), false);
  assert.equal(escalations.assign(e, 'usr_1', 7), false);
  for (const status of ['pending', 'assigned', 'expired']) {
    assert.throws(() => db.prepare('UPDATE escalations SET status = ? WHERE id = ?').run(status, e.id), /moves forward only/, status);
  }
  assert.throws(() => db.prepare("UPDATE escalations SET status = 'assigned', assignee_user_id = NULL WHERE id = ?").run(escalations.insert(newEscalation({ customerRef: `wcr_${'c'.repeat(22)}` })).escalation.id), /CHECK/);
  // Closed: the conversation may be escalated again.
  assert.equal(escalations.insert(newEscalation({ reason: 'new issue' })).created, true);

  // A customer message or a reply is counted once, whatever re-runs.
  const again = escalations.active(conversation.orgId, conversation.instanceId, conversation.customerRef)!;
  assert.equal(escalations.recordHeldMessage(again, 'msg_1', 10), true);
  assert.equal(escalations.recordHeldMessage(again, 'msg_1', 11), false);
  assert.equal(escalations.get('org_a', again.id)!.heldMessages, 1);
});

test('reminders: scheduled → sending | cancelled, sending → sent | failed, nothing back; a cancel and a send cannot both win', () => {
  const { db, schedule } = setup();
  const mk = (key: string | null) => schedule.insert({
    ...conversation, text: 'Hi', template: null, sendAt: 100, createdBy: 'operator', createdByUserId: 'usr_1', idempotencyKey: key, outsideWindow: false, at: 1,
  });
  const a = mk('k1');
  assert.equal(a.created, true);
  assert.deepEqual([mk('k1').created, mk('k1').message.id], [false, a.message.id], 'the same key finds the first');
  const m = a.message;
  assert.equal(schedule.startSending(m, 2), true);
  assert.equal(schedule.cancel(m, 'too late', 3), false, 'a sending reminder cannot be cancelled');
  assert.equal(schedule.startSending(m, 3), false);
  assert.equal(schedule.markSent(m, ['SM1'], false, 4), true);
  assert.equal(schedule.markFailed(m, 'x', 5), false);
  for (const status of ['scheduled', 'sending', 'cancelled', 'failed']) {
    assert.throws(() => db.prepare('UPDATE scheduled_messages SET status = ? WHERE id = ?').run(status, m.id), /moves forward only/, status);
  }
  const b = mk(null).message;
  assert.equal(schedule.cancel(b, null, 2), true);
  assert.equal(schedule.startSending(b, 3), false, 'a cancelled reminder is never sent');
  assert.throws(() => db.prepare("UPDATE scheduled_messages SET status = 'scheduled' WHERE id = ?").run(b.id), /moves forward only/);
  assert.throws(() => db.prepare("UPDATE scheduled_messages SET text = '' WHERE id = ?").run(b.id), /CHECK/);
});

test('everything goes with its organisation', () => {
  const { db, escalations, schedule } = setup();
  const e = escalations.insert(newEscalation()).escalation;
  escalations.addEvent(e, 'opened', 1);
  escalations.putSettings('org_a', { queueTimeoutSeconds: 60, acknowledgementText: 'a', timeoutText: 'b', timeoutTemplate: null }, 1);
  schedule.insert({ ...conversation, text: 'Hi', template: null, sendAt: 100, createdBy: 'agent', createdByUserId: null, idempotencyKey: null, outsideWindow: false, at: 1 });
  schedule.setReminderTemplate('org_a', { contentSid: `HX${'0'.repeat(32)}` }, 1);
  db.prepare("DELETE FROM organizations WHERE id = 'org_a'").run();
  for (const table of ['escalations', 'escalation_events', 'escalation_settings', 'scheduled_messages', 'scheduling_settings']) {
    assert.equal((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n, 0, table);
  }
});
