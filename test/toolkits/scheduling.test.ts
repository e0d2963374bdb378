/**
 * Reminders end to end: scheduled by the agent (through a signed inbound WhatsApp message and the
 * scripted model) or an operator (control API), durable on the job table, sent exactly once to the
 * Twilio fake through the real SDK, cancellable until they start sending, visible per conversation;
 * a reminder past the 24-hour window needs a template; a send whose answer was lost, or a process
 * that died between the send and its record, never sends twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, sleep, assertWireError } from '../helpers/factories.ts';
import { ALICE, setupWhatsApp, type WhatsAppSetup } from '../channels/whatsapp-setup.ts';
import { calls, dynamic, lastResult, say } from './commerce-setup.ts';

const TEMPLATE_SID = `HX${'ef56'.repeat(8)}`;

type Setup = WhatsAppSetup & { owner: (m: string, p: string, b?: unknown) => Promise<{ status: number; json: any; text: string }>; org: string; customerRef(): Promise<string> };

async function setup(grant = ['first_party:scheduling']): Promise<Setup> {
  const s = await setupWhatsApp();
  await s.grant(grant);
  const org = `/organizations/${s.tenant.orgId}`;
  const owner = async (method: string, path: string, body?: unknown) => {
    const r = await s.t.api(method, `${org}${path}`, { token: s.tenant.ownerToken, body });
    return { status: r.status, json: r.json, text: r.text };
  };
  const customerRef = async () => (await s.t.api('GET', `${org}/whatsapp-instances/${s.instance.id}/conversations`, { token: s.tenant.ownerToken })).json.data[0].customerRef as string;
  return Object.assign(s, { owner, org, customerRef });
}

/** A conversation exists (the customer wrote, the bot answered). */
async function hello(s: Setup): Promise<string> {
  s.upstream.script({ json: say('Hello!') });
  await s.send('Hi');
  await s.waitForSent(s.twilio.messages.length + 1);
  return s.customerRef();
}

const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

test('the agent schedules a reminder for the current customer: sent once at its time, visible per conversation, listed by the agent', async () => {
  await using s = await setup();
  let scheduled: any;
  s.upstream.script(
    { json: calls({ name: 'scheduling__schedule_reminder', arguments: { text: 'Reminder: your bike is ready for pickup today.', inMinutes: 5, sendAt: soon(60_000) } }) },
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'error', 'both inMinutes and sendAt: a tool error');
      assert.match(r.text, /exactly one of inMinutes or sendAt/);
      return calls({ name: 'scheduling__schedule_reminder', arguments: { text: 'Reminder: your bike is ready for pickup today.', sendAt: soon(700) } });
    }),
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'ok', r.text);
      scheduled = r.body;
      return say('Done, I will remind you.');
    }),
  );
  await s.send('Please remind me to pick up my bike');
  const [confirm] = await s.waitForSent(1);
  assert.equal(confirm.body, 'Done, I will remind you.');
  assert.match(scheduled.reminderId, /^sch_[0-9a-f]{32}$/);
  assert.equal(scheduled.status, 'scheduled');

  const [, reminder] = await s.waitForSent(2, 10_000);
  assert.equal(reminder.body, 'Reminder: your bike is ready for pickup today.');
  assert.equal(reminder.to, ALICE);
  const ref = await s.customerRef();
  await waitFor('the reminder to be recorded as sent', async () => (await s.owner('GET', `/scheduled-messages/${scheduled.reminderId}`)).json.status === 'sent');
  const list = await s.owner('GET', `/scheduled-messages?instanceId=${s.instance.id}&customerRef=${ref}`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.data.length, 1);
  const m = list.json.data[0];
  assert.deepEqual([m.status, m.createdBy, m.usedTemplate, m.messageSids, m.outsideWindowAtCreation], ['sent', 'agent', false, [reminder.sid], false]);
  assertWireError(await s.owner('POST', `/scheduled-messages/${m.id}/cancel`), 409, 'not_cancellable');
  await sleep(300);
  assert.equal(s.twilio.messages.length, 2, 'sent exactly once');

  // The agent reads the customer's reminders back, and cannot cancel one that was sent.
  s.upstream.script(
    { json: calls({ name: 'scheduling__list_my_reminders', arguments: {} }) },
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'ok', r.text);
      assert.deepEqual(r.body.reminders.map((x: any) => [x.reminderId, x.status]), [[scheduled.reminderId, 'sent']]);
      return calls({ name: 'scheduling__cancel_reminder', arguments: { reminderId: scheduled.reminderId } });
    }),
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'error');
      assert.match(r.text, /only a scheduled one can be cancelled/);
      return say('That reminder was already sent.');
    }),
  );
  await s.send('Which reminders do I have? Cancel it.');
  await s.waitForSent(3);
  assert.deepEqual(s.upstream.unexpected, []);
});

test('operators schedule and cancel: a cancelled reminder is never sent, the other is sent once; the live stream says so', async () => {
  await using s = await setup();
  const ref = await hello(s);
  const events: string[] = [];
  const unsubscribe = s.t.app.bus.subscribe(s.tenant.orgId, (e) => void (e.type.startsWith('scheduled_message.') && events.push(e.type)));
  const keep = await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'Your appointment is in one hour.', sendAt: soon(900) });
  assert.equal(keep.status, 201, keep.text);
  assert.deepEqual([keep.json.status, keep.json.createdBy, keep.json.createdByUserId], ['scheduled', 'operator', s.tenant.ownerUserId]);
  const drop = await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'CANCELLED: never sent.', sendAt: soon(900) });
  assert.equal(drop.status, 201, drop.text);
  const cancelled = await s.owner('POST', `/scheduled-messages/${drop.json.id}/cancel`, { reason: 'Customer rescheduled.' });
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.status, 'cancelled');
  assertWireError(await s.owner('POST', `/scheduled-messages/${drop.json.id}/cancel`), 409, 'not_cancellable');

  const sent = await s.waitForSent(2, 10_000);
  assert.equal(sent[1].body, 'Your appointment is in one hour.');
  await waitFor('both jobs to finish', () => s.t.app.queue.list(s.tenant.orgId, { kind: 'scheduling.send' }).every((j) => j.status === 'done'), 5000);
  await sleep(200);
  assert.equal(s.twilio.messages.length, 2, 'the cancelled reminder was never sent');
  assert.equal((await s.owner('GET', `/scheduled-messages/${drop.json.id}`)).json.status, 'cancelled');
  const byStatus = await s.owner('GET', '/scheduled-messages?status=sent');
  assert.deepEqual(byStatus.json.data.map((m: any) => m.id), [keep.json.id]);
  unsubscribe();
  assert.deepEqual(events, ['scheduled_message.created', 'scheduled_message.created', 'scheduled_message.cancelled', 'scheduled_message.sent']);
});

test('a reminder past the 24-hour window needs a template: refused without one, sent as the template with {text} filled in', async () => {
  await using s = await setup();
  const ref = await hello(s);
  const tomorrow = soon(25 * 3600_000);
  const before = s.t.app.queue.list(s.tenant.orgId, {}).length;
  assertWireError(await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'See you tomorrow', sendAt: tomorrow }), 409, 'outside_window', 'sendAt');
  assert.equal(s.t.app.queue.list(s.tenant.orgId, {}).length, before, 'nothing queued');
  assert.equal((await s.owner('GET', '/scheduled-messages')).json.data.length, 0, 'nothing stored');

  const settings = await s.owner('PUT', '/scheduling-settings', { reminderTemplate: { contentSid: TEMPLATE_SID, variables: { 1: '{text}' } } });
  assert.equal(settings.status, 200, settings.text);
  const later = await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'See you tomorrow', sendAt: tomorrow });
  assert.equal(later.status, 201, later.text);
  assert.equal(later.json.outsideWindowAtCreation, true);
  assert.deepEqual(later.json.template, { contentSid: TEMPLATE_SID, variables: { 1: 'See you tomorrow' } });
  assert.equal((await s.owner('POST', `/scheduled-messages/${later.json.id}/cancel`)).status, 200);

  // The window has closed by the time a reminder goes out: the template is sent.
  const now = await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'Your order ships today', sendAt: soon(400) });
  assert.equal(now.status, 201, now.text);
  s.t.app.db.prepare('UPDATE whatsapp_customers SET last_inbound_at = last_inbound_at - ? WHERE org_id = ?').run(25 * 3600_000, s.tenant.orgId);
  const sent = await s.waitForSent(2, 10_000);
  assert.equal(sent[1].contentSid, TEMPLATE_SID);
  assert.equal(JSON.parse(sent[1].contentVariables!)['1'], 'Your order ships today');
  await waitFor('sent', async () => (await s.owner('GET', `/scheduled-messages/${now.json.id}`)).json.usedTemplate === true);
});

test('exactly once: a send whose answer was lost is reconciled on the retry, and a job re-run after the process died between the send and its record sends nothing', async () => {
  await using s = await setup();
  const ref = await hello(s);
  // 1. Twilio stores the message but the answer never arrives: the job retries, reconciles, sends nothing more.
  s.twilio.failNext({ match: 'create', afterCreate: true, drop: true });
  const lost = await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'Lost answer reminder', sendAt: soon(0) });
  assert.equal(lost.status, 201, lost.text);
  await waitFor('the retried job to record the reminder as sent', async () => (await s.owner('GET', `/scheduled-messages/${lost.json.id}`)).json.status === 'sent', 10_000);
  const job = s.t.app.queue.list(s.tenant.orgId, { kind: 'scheduling.send' })[0];
  assert.ok(job.attempts >= 2, `retried (attempts ${job.attempts})`);
  assert.equal(s.twilio.messages.filter((m) => m.body === 'Lost answer reminder').length, 1, 'at Twilio exactly once');

  // 2. A process that sent and died before recording it: the row is `sending`, the message is at Twilio.
  const app = s.t.app;
  const far = await s.owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'Died before recording', sendAt: soon(3600_000) });
  const row = app.scheduling.store.get(s.tenant.orgId, far.json.id)!;
  assert.ok(app.scheduling.store.startSending(row, Date.now()));
  const first = await app.whatsapp.toolkit.sendToCustomer({ orgId: row.orgId, instanceId: row.instanceId, customerRef: row.customerRef, message: { text: row.text }, idempotencyKey: `scheduled:${row.id}` });
  assert.equal(first.kind, 'sent');
  assertWireError(await s.owner('POST', `/scheduled-messages/${row.id}/cancel`), 409, 'not_cancellable', undefined, 'a sending reminder is past cancelling');
  const farJob = app.queue.list(s.tenant.orgId, { kind: 'scheduling.send', status: 'queued' }).find((j) => (j.payload as any).scheduledMessageId === row.id)!;
  await app.scheduling.handlers['scheduling.send'](farJob, { signal: new AbortController().signal, heartbeat: () => true });
  await app.scheduling.handlers['scheduling.send'](farJob, { signal: new AbortController().signal, heartbeat: () => true });
  const after = (await s.owner('GET', `/scheduled-messages/${row.id}`)).json;
  assert.equal(after.status, 'sent');
  assert.deepEqual(after.messageSids, first.kind === 'sent' ? first.sids : []);
  assert.equal(s.twilio.messages.filter((m) => m.body === 'Died before recording').length, 1, 'the re-run sent nothing');
});
