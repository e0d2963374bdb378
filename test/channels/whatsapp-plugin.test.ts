/**
 * The first-party WhatsApp plugin through the real gateway and tool loop: listing, sender choice
 * (conversation instance, X-Plugboard-WhatsApp-Instance, the only active instance, or a tool
 * error naming the choices), recipient guards (must have written; 24-hour window for free-form
 * text, not for templates), strict schemas, idempotent sends per (request, arguments), Twilio
 * errors as clear tool errors, and default per-tool rate limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatCompletion, type ToolCallSpec } from '../fakes/openai-upstream.ts';
import { fakeSid } from '../fakes/twilio-api.ts';
import { waitFor } from '../helpers/factories.ts';
import { ALICE, BOB, SENDER, setupWhatsApp, type WhatsAppSetup } from './whatsapp-setup.ts';

const ALICE_E164 = '+14155550123';

/** One request on the API path: the model makes `calls`, then answers; returns the tool results it read. */
async function toolTurn(s: WhatsAppSetup, key: string, calls: ToolCallSpec[], headers: Record<string, string> = {}, expectTools?: (names: string[]) => void): Promise<string[]> {
  let results: string[] = [];
  s.upstream.script(
    {
      expect(req) {
        expectTools?.(((req.body!.tools as Array<{ function: { name: string } }>) ?? []).map((t) => t.function.name));
      },
      json: chatCompletion({ toolCalls: calls }),
    },
    {
      expect(req) {
        results = (req.body!.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'tool').map((m) => m.content);
      },
      json: chatCompletion({ content: 'done' }),
    },
  );
  const r = await s.t.openai(key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] }, { headers });
  assert.equal(r.choices[0].message.content, 'done');
  assert.deepEqual(s.upstream.unexpected, []);
  return results;
}

const send = (args: Record<string, unknown>, id?: string): ToolCallSpec => ({ id, name: 'whatsapp__send_message', arguments: args });

/** The setup with the worker off (no automatic replies), Alice known to the instance, and a gateway key. */
async function apiSetup(): Promise<WhatsAppSetup & { key: string }> {
  const s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  assert.equal((await s.send('hello')).status, 200);
  return Object.assign(s, { key: s.t.key(s.tenant.orgId).secret });
}

test('listed as first_party:whatsapp with 2 tools only for organisations with an instance', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const list = await s.t.api('GET', `/organizations/${s.tenant.orgId}/plugins`, { token: s.tenant.ownerToken });
  // The conversation toolkits (Escalations, Scheduling) are listed beside it: test/toolkits/escalations-guards.test.ts.
  assert.deepEqual(list.json.data.filter((p: any) => !['first_party:escalations', 'first_party:scheduling'].includes(p.id)), [{
    id: 'first_party:whatsapp', kind: 'first_party', slug: 'whatsapp', displayName: 'WhatsApp',
    description: 'Send WhatsApp messages and templates via Twilio.', toolCount: 2,
  }]);
  const other = s.t.tenant('Other');
  const none = await s.t.api('GET', `/organizations/${other.orgId}/plugins`, { token: other.ownerToken });
  assert.deepEqual(none.json.data, []);
  const tools = await s.t.api('GET', `/organizations/${s.tenant.orgId}/plugins/first_party:whatsapp/tools`, { token: s.tenant.ownerToken });
  const byName = Object.fromEntries(tools.json.data.map((t: any) => [t.name, t.parameters]));
  assert.deepEqual(Object.keys(byName).sort(), ['whatsapp__send_message', 'whatsapp__send_template']);
  assert.equal(byName.whatsapp__send_message.additionalProperties, false);
  assert.equal(byName.whatsapp__send_message.properties.text.maxLength, 1600);
  assert.equal(byName.whatsapp__send_message.properties.mediaUrls.maxItems, 10);
});

test('in a conversation, send_message without "to" writes to the current customer from the conversation\'s instance', async () => {
  await using s = await setupWhatsApp();
  await s.grant(['first_party:whatsapp']);
  let toolResult = '';
  s.upstream.script(
    { json: chatCompletion({ toolCalls: [send({ text: 'Here is the brochure.', mediaUrls: ['https://cdn.example.com/brochure.pdf'] })] }) },
    {
      expect(req) {
        toolResult = (req.body!.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'tool')!.content;
      },
      json: chatCompletion({ content: 'I sent you the brochure.' }),
    },
  );
  await s.send('Can I have the brochure?');
  const sent = await s.waitForSent(2);
  assert.deepEqual(sent.map((m) => [m.to, m.from, m.body]), [[ALICE, SENDER, 'Here is the brochure.'], [ALICE, SENDER, 'I sent you the brochure.']]);
  assert.deepEqual(sent[0].mediaUrls, ['https://cdn.example.com/brochure.pdf']);
  assert.match(toolResult, /status="ok"/);
  assert.match(toolResult, /\+1415•••0123/);
  assert.doesNotMatch(toolResult, /4155550123/, 'the model reads a masked number');
});

test('API path: the only active instance sends; recipients must have written; one send per identical call', async () => {
  await using s = await apiSetup();
  const results = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'Your bike is ready.' }), send({ to: ALICE_E164, text: 'Your bike is ready.' })], {}, (names) => {
    assert.deepEqual(names.sort(), ['whatsapp__send_message', 'whatsapp__send_template']);
  });
  assert.equal(results.length, 2);
  for (const r of results) assert.match(r, /status="ok"/);
  assert.equal(s.twilio.messages.length, 1, 'identical calls in one request send once');
  assert.equal(s.twilio.messages[0].from, SENDER);
  assert.equal(s.twilio.messages[0].to, ALICE);

  const stranger = await toolTurn(s, s.key, [send({ to: '+14155550188', text: 'Hi' })]);
  assert.match(stranger[0], /status="error"/);
  assert.match(stranger[0], /never written to the WhatsApp number "Support"/);
  const missingTo = await toolTurn(s, s.key, [send({ text: 'Hi' })]);
  assert.match(missingTo[0], /"to" is required outside a WhatsApp conversation/);
  assert.equal(s.twilio.messages.length, 1);
});

test('API path: with several instances the header chooses (id or name); otherwise the error names the choices', async () => {
  await using s = await apiSetup();
  const second = await s.createInstance({ name: 'Billing', sender: 'whatsapp:+14155550177' });
  assert.equal((await s.send('hello billing', { instanceId: second.id, from: BOB })).status, 200);
  const ambiguous = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'Hi' })]);
  assert.match(ambiguous[0], /Several WhatsApp instances could send this: "Support" \(id [0-9a-f-]{36}\), "Billing" \(id [0-9a-f-]{36}\)/);
  assert.match(ambiguous[0], /X-Plugboard-WhatsApp-Instance/);
  const unknown = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'Hi' })], { 'x-plugboard-whatsapp-instance': 'nope' });
  assert.match(unknown[0], /No WhatsApp instance "nope".*Choices: "Support"/);
  const byId = await toolTurn(s, s.key, [send({ to: '+14155550199', text: 'Your invoice' })], { 'x-plugboard-whatsapp-instance': second.id });
  assert.match(byId[0], /status="ok"/);
  const byName = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'Hello from support' })], { 'x-plugboard-whatsapp-instance': 'Support' });
  assert.match(byName[0], /status="ok"/);
  assert.deepEqual(s.twilio.messages.map((m) => [m.from, m.to]), [['whatsapp:+14155550177', BOB], [SENDER, ALICE]]);
  // Bob wrote to Billing, not to Support.
  const wrongInstance = await toolTurn(s, s.key, [send({ to: '+14155550199', text: 'x' })], { 'x-plugboard-whatsapp-instance': 'Support' });
  assert.match(wrongInstance[0], /never written/);
});

test('outside the 24-hour window free-form text is refused with a pointer to templates; templates still go', async () => {
  await using s = await apiSetup();
  s.t.app.db.prepare('UPDATE whatsapp_customers SET last_inbound_at = ?').run(Date.now() - 25 * 3600_000);
  const refused = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'Are you still there?' })]);
  assert.match(refused[0], /24-hour customer-service window/);
  assert.match(refused[0], /whatsapp__send_template/);
  assert.equal(s.twilio.messages.length, 0);
  const contentSid = fakeSid('HX');
  const ok = await toolTurn(s, s.key, [{ name: 'whatsapp__send_template', arguments: { to: ALICE_E164, contentSid, contentVariables: { 1: 'Ana', 2: 'Friday' } } }]);
  assert.match(ok[0], /status="ok"/);
  assert.equal(s.twilio.messages[0].contentSid, contentSid);
  assert.equal(s.twilio.messages[0].contentVariables, '{"1":"Ana","2":"Friday"}');
  assert.equal(s.twilio.messages[0].body, '');
});

test('strict schemas: unknown fields, long text, non-https or too many media, bad numbers and empty variables are refused before any send', async () => {
  await using s = await apiSetup();
  const bad = [
    send({ to: ALICE_E164, text: 'x', cc: ALICE_E164 }),
    send({ to: ALICE_E164, text: 'x'.repeat(1601) }),
    send({ to: ALICE_E164, text: '' }),
    send({ to: ALICE_E164, text: 'x', mediaUrls: ['http://cdn.example.com/a.jpg'] }),
    send({ to: ALICE_E164, text: 'x', mediaUrls: Array.from({ length: 11 }, (_, i) => `https://cdn.example.com/${i}.jpg`) }),
    send({ to: '004915123', text: 'x' }),
    { name: 'whatsapp__send_template', arguments: { to: ALICE_E164, contentSid: 'HX123' } },
    { name: 'whatsapp__send_template', arguments: { to: ALICE_E164, contentSid: fakeSid('HX'), contentVariables: { 1: '' } } },
  ];
  const results = await toolTurn(s, s.key, bad);
  assert.equal(results.length, bad.length);
  for (const r of results) assert.match(r, /status="error">\nInvalid arguments/, r);
  assert.equal(s.twilio.messages.length, 0);
});

test('Twilio errors become clear tool errors; an unconfirmed send is reconciled, never sent twice', async () => {
  await using s = await apiSetup();
  s.twilio.failNext({ match: 'create', status: 400, code: 21211, message: "The 'To' number +14155550123 is not a valid phone number." });
  const invalid = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'a' })]);
  assert.match(invalid[0], /Twilio refused the message: Twilio error \(HTTP 400, code 21211\)/);
  assert.doesNotMatch(invalid[0], /4155550123/);
  s.twilio.failNext({ match: 'create', status: 400, code: 63016, message: 'Failed to send freeform message because you are outside the allowed window.' });
  const window = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'b' })]);
  assert.match(window[0], /outside WhatsApp's 24-hour customer-service window \(63016\)\. Use whatsapp__send_template/);
  s.twilio.failNext({ match: 'create', status: 429 });
  const limited = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'c' })]);
  assert.match(limited[0], /temporarily unavailable/);
  assert.equal(s.twilio.messages.length, 0);

  // Twilio stores the message but the answer is a 503: the same call again in the same request
  // (the model retrying) finds it in the Messages list instead of sending again.
  s.twilio.failNext({ match: 'create', afterCreate: true, status: 503 });
  let secondResult = '';
  s.upstream.script(
    { json: chatCompletion({ toolCalls: [send({ to: ALICE_E164, text: 'd' }, 'call_a')] }) },
    { json: chatCompletion({ toolCalls: [send({ to: ALICE_E164, text: 'd' }, 'call_b')] }) },
    {
      expect(req) {
        secondResult = (req.body!.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'tool')[1].content;
      },
      json: chatCompletion({ content: 'done' }),
    },
  );
  await s.t.openai(s.key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] });
  assert.match(secondResult, /status="ok"/);
  assert.equal(s.twilio.messages.length, 1);
  assert.ok(s.twilio.requests.some((r) => r.method === 'GET'), 'reconciled through the Messages list');
});

test('a send Twilio accepted whose SID cannot be stored (a SID already stored) is logged, reported truthfully, and never sent again', async () => {
  await using s = await apiSetup();
  const first = await toolTurn(s, s.key, [send({ to: ALICE_E164, text: 'first' })]);
  assert.match(first[0], /status="ok"/);
  // A Twilio-compatible server that answers the next create with the SID of the first message.
  s.twilio.failNext({ match: 'create', reuseSid: true });
  let results: string[] = [];
  s.upstream.script(
    { json: chatCompletion({ toolCalls: [send({ to: ALICE_E164, text: 'second' }, 'call_1')] }) },
    { json: chatCompletion({ toolCalls: [send({ to: ALICE_E164, text: 'second' }, 'call_2')] }) },
    {
      expect(req) {
        results = (req.body!.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'tool').map((m) => m.content);
      },
      json: chatCompletion({ content: 'done' }),
    },
  );
  const r = await s.t.openai(s.key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] });
  assert.equal(r.choices[0].message.content, 'done');
  assert.equal(results.length, 2);
  assert.match(results[0], /status="ok"/, 'the send was accepted: not an error');
  assert.match(results[0], /Twilio accepted the message, but Plugboard could not record its SID/);
  assert.doesNotMatch(results[0], /Could not confirm/);
  assert.match(results[1], /status="ok"/);
  assert.equal(s.twilio.messages.length, 2, 'the model calling again in the same request sends nothing more');
  const logged = s.t.logs.map((l) => JSON.parse(l)).filter((l) => /SID could not be stored/.test(l.msg));
  assert.equal(logged.length, 1, 'logged once, at error level');
  assert.equal(logged[0].level, 'error');
  assert.match(logged[0].err.message, /UNIQUE/);
  const row = s.t.app.db.prepare("SELECT twilio_sid, sent_at FROM whatsapp_messages WHERE direction = 'out' AND body = 'second'").get() as { twilio_sid: string | null; sent_at: number | null };
  assert.equal(row.twilio_sid, null);
  assert.ok(row.sent_at, 'the acceptance is recorded');
});

test('default per-tool rate limits apply to the plugin like any other', async () => {
  await using s = await apiSetup();
  const calls = Array.from({ length: 31 }, () => send({ to: ALICE_E164, text: 'same' }));
  const results = await toolTurn(s, s.key, calls);
  assert.equal(results.filter((r) => /rate limited/.test(r)).length, 1);
  assert.equal(s.twilio.messages.length, 1);
  await waitFor('no stray sends', () => s.twilio.messages.length === 1);
});
