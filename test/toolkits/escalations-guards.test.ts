/**
 * The edges of the Escalations and Scheduling toolkits: listed as first-party plugins for
 * organisations with a WhatsApp number, granted per number and nothing by default, never injected
 * into a call without a conversation; the agent's tools refuse outside a conversation, once
 * revoked, and for another customer; roles on every action of a real conversation (members read,
 * admins and owners act) with nothing changed on a refusal; another organisation's ids are 404s;
 * and a barrage of bad input is answered with clear 400s in the error shape, nothing stored, sent
 * or queued.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertWireError, snapshotTables, waitFor } from '../helpers/factories.ts';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { offeredTools, setupWhatsApp, type WhatsAppSetup } from '../channels/whatsapp-setup.ts';
import { say } from './commerce-setup.ts';
import type { ToolCallContext } from '../../src/plugins/types.ts';

const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'] } };

/** Every table but `meta` (the configuration version moves with unrelated reads), after the usage recorder wrote its rows. */
function snapshot(s: WhatsAppSetup): Record<string, unknown[]> {
  s.t.app.recorder.flush();
  const { meta: _meta, ...rest } = snapshotTables(s.t.app.db, IGNORE_TOUCH);
  return rest;
}

async function conversation(s: WhatsAppSetup): Promise<string> {
  s.upstream.script({ json: say('Hello!') });
  await s.send('Hi');
  await s.waitForSent(1);
  return (await s.t.api('GET', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}/conversations`, { token: s.tenant.ownerToken })).json.data[0].customerRef;
}

const ctx = (over: Partial<ToolCallContext>): ToolCallContext => ({
  orgId: '', requestId: 'req_test', keyId: null, instanceId: null, customerRef: null, signal: new AbortController().signal, timeoutMs: 5000, ...over,
});

test('listed for organisations with a WhatsApp number, nothing granted by default, offered in a conversation only once granted, never on the API path', async () => {
  await using s = await setupWhatsApp();
  const o = `/organizations/${s.tenant.orgId}`;
  const list = await s.t.api('GET', `${o}/plugins`, { token: s.tenant.ownerToken });
  const byId = Object.fromEntries(list.json.data.map((p: any) => [p.id, p]));
  assert.deepEqual(byId['first_party:escalations'], { id: 'first_party:escalations', kind: 'first_party', slug: 'escalations', displayName: 'Escalations', description: byId['first_party:escalations'].description, toolCount: 1 });
  assert.deepEqual([byId['first_party:scheduling'].slug, byId['first_party:scheduling'].toolCount], ['scheduling', 3]);
  const other = s.t.tenant('No number');
  assert.deepEqual((await s.t.api('GET', `/organizations/${other.orgId}/plugins`, { token: other.ownerToken })).json.data, []);
  assert.deepEqual((await s.t.api('GET', `${o}/whatsapp-instances/${s.instance.id}/plugins`, { token: s.tenant.ownerToken })).json.enabledPluginIds, [], 'nothing granted by default');

  // Not granted: the model is offered neither toolkit in the conversation.
  s.upstream.script({ json: say('Hello!'), expect: (req) => assert.deepEqual(offeredTools(req.body), []) });
  await s.send('Hi');
  await s.waitForSent(1);
  await s.grant(['first_party:escalations', 'first_party:scheduling']);
  s.upstream.script({
    json: say('Hi again'),
    expect: (req) => assert.deepEqual(offeredTools(req.body), ['escalations__hand_over', 'scheduling__cancel_reminder', 'scheduling__list_my_reminders', 'scheduling__schedule_reminder']),
  });
  await s.send('Hello');
  await s.waitForSent(2);

  // The API path (a gateway key, no customer) never gets them, though the number has them granted.
  const key = s.t.key(s.tenant.orgId);
  s.upstream.script({ json: chatCompletion({ content: 'plain' }), expect: (req) => assert.ok(!offeredTools(req.body).some((n) => n.startsWith('escalations__') || n.startsWith('scheduling__')), offeredTools(req.body).join()) });
  await s.t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
  assert.deepEqual(s.upstream.unexpected, []);

  // Called without a conversation, or after a revoke, the tools refuse and do nothing.
  const esc = s.t.app.escalations.plugin.forOrg(s.tenant.orgId)!;
  const sch = s.t.app.scheduling.plugin.forOrg(s.tenant.orgId)!;
  const noCustomer = await esc.call('hand_over', { reason: 'x', summary: 'y' }, ctx({ orgId: s.tenant.orgId }));
  assert.deepEqual([noCustomer.isError, noCustomer.errorClass], [true, 'no_customer']);
  const ref = (await s.t.api('GET', `${o}/whatsapp-instances/${s.instance.id}/conversations`, { token: s.tenant.ownerToken })).json.data[0].customerRef;
  await s.grant(['first_party:scheduling']);
  const revoked = await esc.call('hand_over', { reason: 'x', summary: 'y' }, ctx({ orgId: s.tenant.orgId, instanceId: s.instance.id, customerRef: ref }));
  assert.deepEqual([revoked.isError, revoked.errorClass], [true, 'not_allowed']);
  assert.equal((await s.t.api('GET', `${o}/escalations`, { token: s.tenant.ownerToken })).json.data.length, 0);

  // Scheduling: one customer's reminder is invisible to another; outside the window without a template is a tool error.
  const inConv = ctx({ orgId: s.tenant.orgId, instanceId: s.instance.id, customerRef: ref });
  const made = await sch.call('schedule_reminder', { text: 'Pick up at 5', inMinutes: 60 }, inConv);
  assert.equal(made.isError, false, made.text);
  const id = JSON.parse(made.text).reminderId;
  const stranger = ctx({ orgId: s.tenant.orgId, instanceId: s.instance.id, customerRef: `wcr_${'z'.repeat(22)}` });
  const foreign = await sch.call('cancel_reminder', { reminderId: id }, stranger);
  assert.deepEqual([foreign.isError, foreign.errorClass], [true, 'reminder_not_found']);
  assert.equal(JSON.parse((await sch.call('list_my_reminders', {}, stranger)).text).count, 0);
  const late = await sch.call('schedule_reminder', { text: 'Tomorrow!', inMinutes: 26 * 60 }, { ...inConv, requestId: 'req_2' });
  assert.deepEqual([late.isError, late.errorClass], [true, 'outside_window']);
  const badTime = await sch.call('schedule_reminder', { text: 'x', sendAt: '2030-01-01T10:00:00' }, inConv);
  assert.deepEqual([badTime.isError, badTime.errorClass], [true, 'invalid_arguments']);
  const cancelled = await sch.call('cancel_reminder', { reminderId: id }, inConv);
  assert.equal(JSON.parse(cancelled.text).status, 'cancelled');
  assert.equal((await s.t.api('GET', `${o}/scheduled-messages`, { token: s.tenant.ownerToken })).json.data.length, 1);
});

test('roles: members read the inbox and reminders but cannot act (403, nothing changed); admins act; another organisation\'s ids are 404s', async () => {
  await using s = await setupWhatsApp();
  const ref = await conversation(s);
  const o = `/organizations/${s.tenant.orgId}`;
  const member = s.t.member(s.tenant.orgId, 'member');
  const admin = s.t.member(s.tenant.orgId, 'admin');
  const as = (token: string) => (method: string, path: string, body?: unknown) => s.t.api(method, `${o}${path}`, { token, body });
  const m = as(member.token);
  const a = as(admin.token);

  const e = await a('POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'Needs a person' });
  assert.equal(e.status, 201, e.text);
  const r = await a('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'Later', sendAt: new Date(Date.now() + 3600_000).toISOString() });
  assert.equal(r.status, 201, r.text);

  const before = snapshot(s);
  const writes: Array<[string, string, unknown?]> = [
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'x' }],
    ['POST', `/escalations/${e.json.id}/assign`],
    ['POST', `/escalations/${e.json.id}/reply`, { text: 'hi' }],
    ['POST', `/escalations/${e.json.id}/resolve`],
    ['PUT', '/escalation-settings', { queueTimeoutSeconds: 5 }],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: new Date(Date.now() + 60_000).toISOString() }],
    ['POST', `/scheduled-messages/${r.json.id}/cancel`],
    ['PUT', '/scheduling-settings', { reminderTemplate: null }],
  ];
  for (const [method, path, body] of writes) assertWireError(await m(method, path, body), 403, 'insufficient_permissions', null, `member ${method} ${path}`);
  for (const path of ['/escalations', `/escalations/${e.json.id}`, '/escalation-settings', '/scheduled-messages', `/scheduled-messages/${r.json.id}`, '/scheduling-settings']) {
    assert.equal((await m('GET', path)).status, 200, `member GET ${path}`);
  }
  assert.deepEqual(snapshot(s), before, 'the refused writes changed nothing');
  assert.equal(s.twilio.messages.length, 1);

  // Another organisation: its owner gets 404 on these ids through its own path, and the org check first through ours.
  const other = s.t.tenant('Other');
  for (const path of [`/escalations/${e.json.id}`, `/scheduled-messages/${r.json.id}`]) {
    const res = await s.t.api('GET', `/organizations/${other.orgId}${path}`, { token: other.ownerToken });
    assert.equal(res.status, 404, res.text);
    assert.match(res.json.error.code, /^(escalation|scheduled_message)_not_found$/);
    assertWireError(await s.t.api('GET', `${o}${path}`, { token: other.ownerToken }), 404, 'organization_not_found');
  }
  assertWireError(await s.t.api('POST', `/organizations/${other.orgId}/escalations/${e.json.id}/resolve`, { token: other.ownerToken }), 404, 'escalation_not_found');
  assertWireError(await s.t.api('POST', `/organizations/${other.orgId}/scheduled-messages/${r.json.id}/cancel`, { token: other.ownerToken }), 404, 'scheduled_message_not_found');

  // Admins act.
  assert.equal((await a('POST', `/escalations/${e.json.id}/assign`)).json.assigneeUserId, admin.userId);
  const reply = await a('POST', `/escalations/${e.json.id}/reply`, { text: 'Hello from the team' });
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.json.clientMessageId, /^[0-9a-f-]{36}$/);
  await s.waitForSent(2);
  assert.equal((await a('POST', `/escalations/${e.json.id}/resolve`)).json.status, 'resolved');
  assert.equal((await a('POST', `/scheduled-messages/${r.json.id}/cancel`)).json.status, 'cancelled');
});

test('bad input barrage on every escalation and scheduling endpoint: clear 400/404/409s in the error shape, nothing stored, sent or queued', async () => {
  await using s = await setupWhatsApp();
  const ref = await conversation(s);
  const o = `/organizations/${s.tenant.orgId}`;
  const owner = (method: string, path: string, body?: unknown, rawBody?: string) => s.t.api(method, `${o}${path}`, { token: s.tenant.ownerToken, body, rawBody });
  const e = await owner('POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'Barrage target' });
  assert.equal(e.status, 201, e.text);
  const sm = await owner('POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'Later', sendAt: new Date(Date.now() + 3600_000).toISOString() });
  assert.equal(sm.status, 201, sm.text);
  await waitFor('no running job', () => s.t.app.queue.list(s.tenant.orgId, { status: 'running' }).length === 0);
  const before = snapshot(s);
  const sentBefore = s.twilio.messages.length;
  const E = `/escalations/${e.json.id}`;
  const S = `/scheduled-messages/${sm.json.id}`;
  const tpl = { contentSid: `HX${'a'.repeat(32)}` };
  const soon = new Date(Date.now() + 60_000).toISOString();
  const cases: Array<[string, string, unknown, number, string, string | null, string?]> = [
    // [method, path, body, status, code, param, rawBody]
    ['GET', '/escalations?status=open', undefined, 400, 'invalid_value', 'status'],
    ['GET', '/escalations?limit=0', undefined, 400, 'invalid_value', 'limit'],
    ['GET', '/escalations?limit=abc', undefined, 400, 'invalid_value', 'limit'],
    ['GET', '/escalations?cursor=zzz', undefined, 400, 'invalid_value', 'cursor'],
    ['GET', '/escalations?customerRef=bob', undefined, 400, 'invalid_value', 'customerRef'],
    ['GET', '/escalations?status=active&status=pending', undefined, 400, 'invalid_value', 'status'],
    ['GET', '/escalations?sort=priority', undefined, 400, 'unknown_parameter', null],
    ['GET', `${E}?historyLimit=0`, undefined, 400, 'invalid_value', 'historyLimit'],
    ['GET', '/escalations/esc_nope', undefined, 404, 'escalation_not_found', 'escalationId'],
    ['GET', `/escalations/esc_${'f'.repeat(32)}`, undefined, 404, 'escalation_not_found', 'escalationId'],
    ['POST', '/escalations', {}, 400, 'invalid_type', 'instanceId'],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref }, 400, 'invalid_type', 'reason'],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: '   ' }, 400, 'invalid_value', 'reason'],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'x'.repeat(501) }, 400, 'invalid_value', 'reason'],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'x', priority: 'asap' }, 400, 'invalid_value', 'priority'],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'x', status: 'resolved' }, 400, 'unknown_parameter', null],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: `wcr_${'q'.repeat(22)}`, reason: 'x' }, 404, 'conversation_not_found', 'customerRef'],
    ['POST', '/escalations', { instanceId: 'nope', customerRef: ref, reason: 'x' }, 404, 'conversation_not_found', 'customerRef'],
    ['POST', '/escalations', { instanceId: s.instance.id, customerRef: ref, reason: 'again' }, 409, 'conversation_escalated', 'customerRef'],
    ['POST', '/escalations', undefined, 400, 'invalid_json', null, '{"reason":'],
    ['POST', '/escalations', undefined, 400, 'invalid_body', null, '[1,2]'],
    ['POST', `${E}/reply`, undefined, 413, 'request_too_large', null, JSON.stringify({ text: 'x'.repeat(1024 * 1024 + 10) })],
    ['POST', `${S}/cancel`, undefined, 400, 'invalid_json', null, '{"reason":"x"'],
    ['POST', `${E}/assign`, undefined, 400, 'invalid_body', null, '"me"'],
    ['POST', `${E}/assign`, { userId: 42 }, 400, 'invalid_type', 'userId'],
    ['POST', `${E}/assign`, { userId: 'usr_ghost' }, 400, 'invalid_assignee', 'userId'],
    ['POST', `${E}/assign`, { assignee: 'me' }, 400, 'unknown_parameter', null],
    ['POST', `${E}/reply`, {}, 400, 'invalid_type', 'text'],
    ['POST', `${E}/reply`, { text: '' }, 400, 'invalid_value', 'text'],
    ['POST', `${E}/reply`, { text: 'x'.repeat(1501) }, 400, 'invalid_value', 'text'],
    ['POST', `${E}/reply`, { text: 'x', clientMessageId: 'has space' }, 400, 'invalid_value', 'clientMessageId'],
    ['POST', `${E}/reply`, { text: 'x', template: { contentSid: 'HXnope' } }, 400, 'invalid_value', 'template.contentSid'],
    ['POST', `${E}/reply`, { text: 'x', template: { ...tpl, variables: { 1: '' } } }, 400, 'invalid_value', 'template.variables.1'],
    ['POST', `${E}/reply`, { text: 'x', mediaUrls: ['https://x'] }, 400, 'unknown_parameter', null],
    ['POST', `${E}/resolve`, { note: 5 }, 400, 'invalid_type', 'note'],
    ['POST', `${E}/resolve`, { resolution: 'x' }, 400, 'unknown_parameter', null],
    ['POST', '/escalations/esc_nope/resolve', {}, 404, 'escalation_not_found', 'escalationId'],
    ['PUT', '/escalation-settings', { queueTimeoutSeconds: 0 }, 400, 'invalid_value', 'queueTimeoutSeconds'],
    ['PUT', '/escalation-settings', { queueTimeoutSeconds: 1.5 }, 400, 'invalid_type', 'queueTimeoutSeconds'],
    ['PUT', '/escalation-settings', { queueTimeoutSeconds: 604_801 }, 400, 'invalid_value', 'queueTimeoutSeconds'],
    ['PUT', '/escalation-settings', { acknowledgementText: '' }, 400, 'invalid_value', 'acknowledgementText'],
    ['PUT', '/escalation-settings', { timeoutTemplate: { contentSid: 'x' } }, 400, 'invalid_value', 'timeoutTemplate.contentSid'],
    ['PUT', '/escalation-settings', { object: 'escalation_settings' }, 400, 'unknown_parameter', null],
    ['GET', '/scheduled-messages?status=queued', undefined, 400, 'invalid_value', 'status'],
    ['GET', `/scheduled-messages?customerRef=${ref}`, undefined, 400, 'invalid_value', 'customerRef'],
    ['GET', '/scheduled-messages?cursor=1.esc_00', undefined, 400, 'invalid_value', 'cursor'],
    ['GET', '/scheduled-messages/sch_nope', undefined, 404, 'scheduled_message_not_found', 'scheduledMessageId'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x' }, 400, 'invalid_type', 'sendAt'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: 'tomorrow' }, 400, 'invalid_value', 'sendAt'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: '2030-01-01T10:00:00' }, 400, 'invalid_value', 'sendAt'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: '2030-02-31T10:00:00Z' }, 400, 'invalid_value', 'sendAt'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: '2020-01-01T10:00:00Z' }, 400, 'invalid_value', 'sendAt'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: new Date(Date.now() + 91 * 86_400_000).toISOString() }, 400, 'invalid_value', 'sendAt'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: '', sendAt: soon }, 400, 'invalid_value', 'text'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x'.repeat(1501), sendAt: soon }, 400, 'invalid_value', 'text'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: soon, status: 'sent' }, 400, 'unknown_parameter', null],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: 'wcr_short', text: 'x', sendAt: soon }, 400, 'invalid_value', 'customerRef'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: `wcr_${'q'.repeat(22)}`, text: 'x', sendAt: soon }, 404, 'conversation_not_found', 'customerRef'],
    ['POST', '/scheduled-messages', { instanceId: s.instance.id, customerRef: ref, text: 'x', sendAt: new Date(Date.now() + 30 * 3600_000).toISOString() }, 409, 'outside_window', 'sendAt'],
    ['POST', `${S}/cancel`, { reason: '' }, 400, 'invalid_value', 'reason'],
    ['POST', `${S}/cancel`, { force: true }, 400, 'unknown_parameter', null],
    ['POST', '/scheduled-messages/sch_nope/cancel', {}, 404, 'scheduled_message_not_found', 'scheduledMessageId'],
    ['PUT', '/scheduling-settings', { reminderTemplate: 'HX1' }, 400, 'invalid_type', 'reminderTemplate'],
    ['PUT', '/scheduling-settings', { reminderTemplate: { contentSid: tpl.contentSid, variables: { 'bad name': '{text}' } } }, 400, 'invalid_value', 'reminderTemplate.variables.bad name'],
  ];
  for (const [method, path, body, status, code, param, rawBody] of cases) {
    const res = await owner(method, path, body, rawBody);
    assertWireError(res, status, code, param, `${method} ${path} ${rawBody ?? JSON.stringify(body)}`);
  }
  assert.deepEqual(snapshot(s), before, 'nothing stored or queued');
  assert.equal(s.twilio.messages.length, sentBefore, 'nothing sent');
});
