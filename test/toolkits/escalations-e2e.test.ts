/**
 * Human handoff end to end, through signed inbound WhatsApp messages, the scripted model (the fake
 * upstream's request log is the proof the model was or was not asked), the Twilio fake reached by
 * the real SDK, and the control API: the agent hands over → the customer gets exactly one
 * acknowledgement → the conversation is in the inbox and further messages never reach the model →
 * an operator's answer reaches Twilio (exactly once per clientMessageId) → resolve hands it back and
 * the bot answers again. Then the queue timeout hands a waiting conversation back with a message,
 * and a reply after the 24-hour window needs a template.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, sleep, assertWireError } from '../helpers/factories.ts';
import { ALICE, BOB, offeredTools, setupWhatsApp, type WhatsAppSetup } from '../channels/whatsapp-setup.ts';
import { calls, dynamic, lastResult, say } from './commerce-setup.ts';
import { DEFAULT_ESCALATION_SETTINGS } from '../../src/toolkits/escalations/index.ts';

const ACK = DEFAULT_ESCALATION_SETTINGS.acknowledgementText;
const TEMPLATE_SID = `HX${'cd34'.repeat(8)}`;

async function setup(): Promise<WhatsAppSetup & { owner: (m: string, p: string, b?: unknown) => Promise<{ status: number; json: any; text: string }>; org: string }> {
  const s = await setupWhatsApp();
  await s.grant(['first_party:escalations']);
  const org = `/organizations/${s.tenant.orgId}`;
  const owner = async (method: string, path: string, body?: unknown) => {
    const r = await s.t.api(method, `${org}${path}`, { token: s.tenant.ownerToken, body });
    return { status: r.status, json: r.json, text: r.text };
  };
  return Object.assign(s, { owner, org });
}

/** The model's side of "I want a person": hand over, then a closing line that must never be sent. */
function handOverScript(priority = 'high') {
  return [
    {
      json: calls({ name: 'escalations__hand_over', arguments: { reason: 'The customer asks for a person.', summary: 'Wants to talk about a damaged delivery.', priority } }),
      expect(req: any) {
        assert.ok(offeredTools(req.body).includes('escalations__hand_over'), 'hand_over is offered once granted');
      },
    },
    dynamic((req) => {
      const r = lastResult(req);
      assert.equal(r.status, 'ok', r.text);
      assert.equal(r.body.handedOver, true);
      return say('NOT SENT: the model\'s own closing words after handing over.');
    }),
  ];
}

test('handoff: one acknowledgement, the model is never called while a person holds the conversation, the operator answers through Twilio, resolve hands back', async () => {
  await using s = await setup();
  const events: Array<Record<string, any>> = [];
  const unsubscribe = s.t.app.bus.subscribe(s.tenant.orgId, (e) => void (e.type.startsWith('escalation.') && events.push(e)));

  s.upstream.script(...handOverScript());
  assert.equal((await s.send('I want to talk to a human please, my delivery arrived broken.')).status, 200);
  const [ack] = await s.waitForSent(1);
  assert.equal(ack.body, ACK);
  assert.equal(ack.to, ALICE);
  const modelCalls = s.upstream.requests.length;
  assert.equal(modelCalls, 2, 'the handover turn: the tool call and the closing words');

  const inbox = await s.owner('GET', '/escalations?status=active');
  assert.equal(inbox.status, 200, inbox.text);
  assert.equal(inbox.json.data.length, 1);
  const esc = inbox.json.data[0];
  assert.deepEqual([esc.status, esc.priority, esc.openedBy, esc.instanceId, esc.reason], ['pending', 'high', 'agent', s.instance.id, 'The customer asks for a person.']);
  assert.equal(esc.phoneMasked, '+1415•••0123');
  assert.ok(!JSON.stringify(inbox.json).includes('14155550123'), 'never the raw number');
  assert.ok(esc.timeoutAt);

  // While held: messages are stored and shown, the model is not asked, nothing is sent.
  assert.equal((await s.send('Hello? Is anyone there?')).status, 200);
  assert.equal((await s.send('Order #12, the box was crushed.')).status, 200);
  await waitFor('both held messages on the escalation', async () => (await s.owner('GET', `/escalations/${esc.id}`)).json.customerMessagesWhileHeld === 2, 5000);
  await sleep(200);
  assert.equal(s.upstream.requests.length, modelCalls, 'the model was not called for the held conversation');
  assert.deepEqual(s.upstream.unexpected, []);
  assert.equal(s.twilio.messages.length, 1, 'exactly one acknowledgement, nothing else');
  const replyJobs = s.t.app.queue.list(s.tenant.orgId, { kind: 'whatsapp.reply' });
  assert.ok(replyJobs.length === 3 && replyJobs.every((j) => j.status === 'done'), 'the held messages\' reply jobs finished without an answer');

  // Another customer of the same number is still answered by the bot.
  s.upstream.script({ json: say('Hi Bob!') });
  await s.send('Hi', { from: BOB });
  const sent = await s.waitForSent(2);
  assert.equal(sent[1].body, 'Hi Bob!');
  assert.equal(sent[1].to, BOB);

  const detail = await s.owner('GET', `/escalations/${esc.id}`);
  assert.equal(detail.status, 200, detail.text);
  assert.deepEqual(detail.json.messages.map((m: any) => [m.direction, m.body]), [
    ['in', 'I want to talk to a human please, my delivery arrived broken.'],
    ['out', ACK],
    ['in', 'Hello? Is anyone there?'],
    ['in', 'Order #12, the box was crushed.'],
  ], 'the whole history, oldest first, without the unsent closing words');
  assert.deepEqual(detail.json.timeline.map((t: any) => t.type).sort(), ['acknowledged', 'customer_message', 'customer_message', 'opened']);
  assert.equal(detail.json.historyTruncated, false);
  assert.equal(detail.json.summary, 'Wants to talk about a damaged delivery.');

  // The operator answers: through Twilio; the waiting conversation is now theirs.
  const reply = await s.owner('POST', `/escalations/${esc.id}/reply`, { text: 'Hi, this is Sam from Acme. I am sorry! We will send a new one today.', clientMessageId: 'reply-1' });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual([reply.json.status, reply.json.duplicate, reply.json.usedTemplate, reply.json.escalation.status, reply.json.escalation.assigneeUserId, reply.json.escalation.timeoutAt],
    ['sent', false, false, 'assigned', s.tenant.ownerUserId, null]);
  const [, , answer] = await s.waitForSent(3);
  assert.equal(answer.body, 'Hi, this is Sam from Acme. I am sorry! We will send a new one today.');
  assert.equal(answer.to, ALICE);
  assert.deepEqual(reply.json.messageSids, [answer.sid]);
  // A retry of the same reply (a lost answer, a double click) never sends twice.
  const again = await s.owner('POST', `/escalations/${esc.id}/reply`, { text: 'Hi, this is Sam from Acme. I am sorry! We will send a new one today.', clientMessageId: 'reply-1' });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.duplicate, true);
  assert.equal(again.json.escalation.replyCount, 1);
  await sleep(100);
  assert.equal(s.twilio.messages.length, 3);

  // The customer answers the person: still not the model.
  await s.send('Thank you Sam!');
  await waitFor('the third held message', async () => (await s.owner('GET', `/escalations/${esc.id}`)).json.customerMessagesWhileHeld === 3, 5000);
  assert.equal(s.upstream.requests.length, modelCalls + 1, 'only Bob\'s turn reached the model');

  // Resolve hands back to the bot: the next message is answered by the model, with the person's answer in its history.
  const resolved = await s.owner('POST', `/escalations/${esc.id}/resolve`, { note: 'Replacement sent.' });
  assert.equal(resolved.status, 200, resolved.text);
  assert.equal(resolved.json.status, 'resolved');
  assertWireError(await s.owner('POST', `/escalations/${esc.id}/resolve`), 409, 'escalation_closed');
  assertWireError(await s.owner('POST', `/escalations/${esc.id}/reply`, { text: 'late' }), 409, 'escalation_closed');
  s.upstream.script({
    json: say('Glad Sam could help! Anything else?'),
    expect(req) {
      const history = JSON.stringify(req.body?.messages);
      assert.ok(history.includes('Hi, this is Sam from Acme'), 'the operator\'s answer is in the model\'s history');
    },
  });
  await s.send('One more question about my order');
  const last = await s.waitForSent(4);
  assert.equal(last[3].body, 'Glad Sam could help! Anything else?');
  assert.equal(s.upstream.requests.length, modelCalls + 2);
  assert.deepEqual(s.upstream.unexpected, []);

  unsubscribe();
  assert.deepEqual(events.map((e) => e.type), [
    'escalation.created', 'escalation.customer_message', 'escalation.customer_message', 'escalation.assigned', 'escalation.replied',
    'escalation.customer_message', 'escalation.resolved',
  ]);
  assert.ok(events.every((e) => e.escalationId === esc.id && e.customerRef === esc.customerRef && !('body' in e) && !('text' in e)), 'ids only on the live stream');
});

test('queue timeout: a waiting conversation is handed back automatically with a message, once; the bot answers again', async () => {
  await using s = await setup();
  const set = await s.owner('PUT', '/escalation-settings', { queueTimeoutSeconds: 1, timeoutText: 'Nobody is free right now; the assistant is back.' });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.json.queueTimeoutSeconds, 1);
  assert.equal(set.json.acknowledgementText, ACK, 'fields left out keep their value');

  s.upstream.script(...handOverScript('normal'));
  await s.send('Agent please');
  await s.waitForSent(1);
  const [esc] = (await s.owner('GET', '/escalations')).json.data;
  const sent = await s.waitForSent(2, 10_000);
  assert.equal(sent[1].body, 'Nobody is free right now; the assistant is back.');
  const after = (await s.owner('GET', `/escalations/${esc.id}`)).json;
  assert.equal(after.status, 'expired');
  assert.ok(after.closedAt);
  assert.deepEqual(after.timeline.map((t: any) => t.type), ['opened', 'acknowledged', 'expired', 'timeout_message']);
  // Re-running the timeout job (a retry, a restart) changes nothing and sends nothing.
  const job = s.t.app.queue.list(s.tenant.orgId, { kind: 'escalations.timeout' })[0];
  await s.t.app.escalations.handlers['escalations.timeout'](job, { signal: new AbortController().signal, heartbeat: () => true });
  assert.equal(s.twilio.messages.length, 2);
  assertWireError(await s.owner('POST', `/escalations/${esc.id}/assign`), 409, 'escalation_closed');

  s.upstream.script({ json: say('I am back. How can I help?') });
  await s.send('Hello?');
  assert.equal((await s.waitForSent(3))[2].body, 'I am back. How can I help?');
  assert.deepEqual(s.upstream.unexpected, []);
});

test('an operator takes a conversation over by hand; a reply after the 24-hour window needs a template; assign checks the assignee', async () => {
  await using s = await setup();
  s.upstream.script({ json: say('Hello!') });
  await s.send('Hi');
  await s.waitForSent(1);
  const conv = (await s.t.api('GET', `${s.org}/whatsapp-instances/${s.instance.id}/conversations`, { token: s.tenant.ownerToken })).json.data[0];

  const opened = await s.owner('POST', '/escalations', { instanceId: s.instance.id, customerRef: conv.customerRef, reason: 'VIP customer', priority: 'urgent' });
  assert.equal(opened.status, 201, opened.text);
  assert.deepEqual([opened.json.openedBy, opened.json.status, opened.json.priority], ['operator', 'pending', 'urgent']);
  assertWireError(await s.owner('POST', '/escalations', { instanceId: s.instance.id, customerRef: conv.customerRef, reason: 'again' }), 409, 'conversation_escalated');
  await sleep(150);
  assert.equal(s.twilio.messages.length, 1, 'no acknowledgement when a person takes over by hand');

  const member = s.t.member(s.tenant.orgId, 'member');
  const admin = s.t.member(s.tenant.orgId, 'admin');
  assertWireError(await s.owner('POST', `/escalations/${opened.json.id}/assign`, { userId: member.userId }), 400, 'invalid_assignee', 'userId');
  assertWireError(await s.owner('POST', `/escalations/${opened.json.id}/assign`, { userId: 'usr_nobody' }), 400, 'invalid_assignee', 'userId');
  const assigned = await s.owner('POST', `/escalations/${opened.json.id}/assign`, { userId: admin.userId });
  assert.equal(assigned.status, 200, assigned.text);
  assert.deepEqual([assigned.json.status, assigned.json.assigneeUserId], ['assigned', admin.userId]);
  const mine = await s.t.api('GET', `${s.org}/escalations?assignee=me`, { token: admin.token });
  assert.deepEqual(mine.json.data.map((e: any) => e.id), [opened.json.id]);

  // The window closes: free text is refused (nothing sent, nothing stored), a template goes out.
  s.t.app.db.prepare('UPDATE whatsapp_customers SET last_inbound_at = last_inbound_at - ? WHERE org_id = ?').run(25 * 3600_000, s.tenant.orgId);
  const before = s.t.app.db.prepare('SELECT COUNT(*) AS n FROM whatsapp_messages').get() as { n: number };
  assertWireError(await s.owner('POST', `/escalations/${opened.json.id}/reply`, { text: 'Are you still there?' }), 409, 'outside_window');
  assert.equal((s.t.app.db.prepare('SELECT COUNT(*) AS n FROM whatsapp_messages').get() as { n: number }).n, before.n);
  const tpl = await s.owner('POST', `/escalations/${opened.json.id}/reply`, { text: 'Are you still there?', template: { contentSid: TEMPLATE_SID, variables: { 1: 'Acme' } }, clientMessageId: 'tpl-1' });
  assert.equal(tpl.status, 200, tpl.text);
  assert.equal(tpl.json.usedTemplate, true);
  const sent = await s.waitForSent(2);
  assert.equal(sent[1].contentSid, TEMPLATE_SID);
  assert.equal(s.twilio.messages.length, 2);

  // Twilio refusing for good is a 502 with Twilio's reason, not a 500; a transient failure is a 503 to retry with the same id.
  s.twilio.failNext({ match: 'create', status: 400, code: 21211, message: 'Invalid To phone number' });
  assertWireError(await s.owner('POST', `/escalations/${opened.json.id}/reply`, { text: 'x', template: { contentSid: TEMPLATE_SID }, clientMessageId: 'bad-1' }), 502, 'twilio_refused');
  s.twilio.failNext({ match: 'create', status: 503, code: 20500, message: 'Service unavailable' });
  assertWireError(await s.owner('POST', `/escalations/${opened.json.id}/reply`, { text: 'y', template: { contentSid: TEMPLATE_SID }, clientMessageId: 'retry-1' }), 503, 'twilio_unavailable');
  const retried = await s.owner('POST', `/escalations/${opened.json.id}/reply`, { text: 'y', template: { contentSid: TEMPLATE_SID }, clientMessageId: 'retry-1' });
  assert.equal(retried.status, 200, retried.text);
  await s.waitForSent(3);
  assert.equal(s.twilio.messages.length, 3);
});
