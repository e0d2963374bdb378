/**
 * End to end through the real app: a signed inbound WhatsApp message is stored and answered at
 * once with empty TwiML, the reply worker asks the scripted upstream (which calls a granted MCP
 * tool) and the answer reaches the Twilio fake through the real SDK; ungranted plugins are never
 * offered; revoking applies to the next reply; history, splitting, media and status callbacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { waitFor } from '../helpers/factories.ts';
import { ALICE, PUBLIC_BASE, SENDER, lastUserText, offeredTools, setupWhatsApp } from './whatsapp-setup.ts';

const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

async function install(s: Awaited<ReturnType<typeof setupWhatsApp>>, slug: string, url: string) {
  const res = await s.t.api('POST', `/organizations/${s.tenant.orgId}/mcp-integrations`, {
    token: s.tenant.ownerToken, orgId: s.tenant.orgId, body: { slug, displayName: slug.toUpperCase(), url },
  });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

test('inbound → granted MCP tool → reply at the fake Twilio; ungranted plugins are never offered', async () => {
  await using s = await setupWhatsApp();
  await using crmServer = await startMcpTestServer();
  await using billingServer = await startMcpTestServer();
  const crm = await install(s, 'crm', crmServer.url);
  await install(s, 'billing', billingServer.url);
  await s.grant([crm.id]);

  s.upstream.script(
    {
      expect(req) {
        assert.deepEqual(offeredTools(req.body).filter((n) => !n.startsWith('crm__')), [], 'only the granted plugin is offered');
        assert.ok(offeredTools(req.body).includes('crm__echo'));
        const msgs = req.body!.messages as Array<{ role: string; content: string }>;
        assert.equal(msgs[0].role, 'system');
        assert.equal(msgs[0].content, 'You are the helpful assistant of Acme Bikes.');
        assert.equal(lastUserText(req.body), 'Where is my order 42?');
        assert.equal(req.body!.model, 'gpt-test');
        assert.doesNotMatch(JSON.stringify(req.body), /4155550123/, 'the model never sees the raw number');
      },
      json: chatCompletion({ toolCalls: [{ id: 'call_1', name: 'crm__echo', arguments: { text: 'order 42: shipped' } }] }),
    },
    {
      expect(req) {
        const tool = (req.body!.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'tool');
        assert.match(tool!.content, /order 42: shipped/);
      },
      json: chatCompletion({ content: 'Your order 42 has shipped.' }),
    },
  );
  const res = await s.send('Where is my order 42?');
  assert.equal(res.status, 200);
  assert.equal(res.text, TWIML);
  assert.match(res.contentType ?? '', /^text\/xml/);

  const [sent] = await s.waitForSent(1);
  assert.equal(sent.to, ALICE);
  assert.equal(sent.from, SENDER);
  assert.equal(sent.body, 'Your order 42 has shipped.');
  assert.equal(sent.statusCallback, `${PUBLIC_BASE}/webhooks/twilio/status?instanceId=${s.instance.id}`);
  assert.equal(s.upstream.remaining, 0);
  assert.deepEqual(s.upstream.unexpected, []);
  assert.equal(crmServer.calls.length, 1);
  assert.equal(billingServer.calls.length, 0);

  // Status callbacks move the stored status forward only.
  assert.equal((await s.status(sent.sid, 'delivered')).status, 200);
  assert.equal((await s.status(sent.sid, 'sent')).status, 200);
  const base = `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}`;
  const convs = await s.t.api('GET', `${base}/conversations`, { token: s.tenant.ownerToken });
  assert.equal(convs.status, 200);
  assert.equal(convs.json.data.length, 1);
  assert.equal(convs.json.data[0].phoneMasked, '+1415•••0123');
  assert.match(convs.json.data[0].customerRef, /^wcr_/);
  const msgs = await s.t.api('GET', `${base}/conversations/${convs.json.data[0].customerRef}/messages`, { token: s.tenant.ownerToken });
  assert.deepEqual(msgs.json.data.map((m: any) => [m.direction, m.status]), [['out', 'delivered'], ['in', 'received']]);

  // Usage events and logs carry the instance, never the number.
  await waitFor('the job to complete', async () => (await s.t.api('GET', `/organizations/${s.tenant.orgId}/jobs?status=done`, { token: s.tenant.ownerToken })).json.data.length === 1);
  const usage = await s.t.api('GET', `/organizations/${s.tenant.orgId}/usage-events?instanceId=${s.instance.id}`, { token: s.tenant.ownerToken });
  assert.ok(usage.json.data.some((e: any) => e.kind === 'tool_call' && e.tool === 'echo'));
  assert.doesNotMatch(JSON.stringify(usage.json) + s.t.logs.join('\n'), /4155550123/);
});

test('revoking a grant applies to the next reply; with nothing granted no tools are sent at all', async () => {
  await using s = await setupWhatsApp();
  await using crmServer = await startMcpTestServer();
  const crm = await install(s, 'crm', crmServer.url);
  await s.grant([crm.id, 'first_party:whatsapp']);
  s.upstream.script({
    expect(req) {
      assert.ok(offeredTools(req.body).includes('crm__echo'));
      assert.ok(offeredTools(req.body).includes('whatsapp__send_message'));
    },
    json: chatCompletion({ content: 'first' }),
  });
  await s.send('one');
  await s.waitForSent(1);
  await s.grant([]);
  s.upstream.script({
    expect(req) {
      assert.equal(req.body!.tools, undefined, 'no plugin granted: plain completion');
    },
    json: chatCompletion({ content: 'second' }),
  });
  await s.send('two');
  await s.waitForSent(2);
  assert.deepEqual(s.upstream.unexpected, []);
});

test('history is this customer\'s recent messages; long answers are split; media is noted', async () => {
  await using s = await setupWhatsApp();
  s.upstream.script({ json: chatCompletion({ content: 'Hello Ana!' }) });
  await s.send('Hi, I am Ana');
  await s.waitForSent(1);
  s.upstream.script({ json: chatCompletion({ content: 'Hi Bob' }) });
  await s.send('I am Bob', { from: 'whatsapp:+14155550199' });
  await s.waitForSent(2);

  const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} of a long answer about bikes.`).join(' ').repeat(2);
  s.upstream.script({
    expect(req) {
      const msgs = (req.body!.messages as Array<{ role: string; content: string }>).filter((m) => m.role !== 'system');
      assert.deepEqual(msgs.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(msgs[0].content, 'Hi, I am Ana');
      assert.equal(msgs[1].content, 'Hello Ana!');
      assert.match(msgs[2].content, /^What about this one\?\n\[The customer sent 1 attachment\(s\): image\/jpeg\]$/);
    },
    json: chatCompletion({ content: long }),
  });
  await s.send('What about this one?', { media: [{ url: 'https://media.example.com/bike.jpg', contentType: 'image/jpeg' }] });
  await waitFor('all three replies to finish', () => s.t.app.queue.stats(s.tenant.orgId).done === 3);
  const all = s.twilio.messages;
  const parts = all.filter((m) => m.to === ALICE).slice(1);
  assert.ok(parts.length >= 2, `split into ${parts.length}`);
  for (const p of parts) assert.ok(p.body.length <= 1500);
  assert.equal(parts.map((p) => p.body).join(' ').replace(/\s+/g, ' '), long.replace(/\s+/g, ' ').trim());
  assert.deepEqual(s.upstream.unexpected, []);
});

test('revoking a grant while a reply is in its tool loop takes effect on the very next model turn', async () => {
  await using s = await setupWhatsApp();
  await using crmServer = await startMcpTestServer();
  const crm = await install(s, 'crm', crmServer.url);
  await s.grant([crm.id]);
  s.upstream.script(
    {
      expect: (req) => assert.ok(offeredTools(req.body).includes('crm__slow')),
      json: chatCompletion({ toolCalls: [{ id: 'call_slow', name: 'crm__slow', arguments: { ms: 600 } }] }),
    },
    {
      expect(req) {
        assert.equal(req.body!.tools, undefined, 'the grant was revoked during the tool call: no tools on the next turn');
        assert.equal(req.body!.tool_choice, undefined);
      },
      json: chatCompletion({ content: 'done without tools' }),
    },
  );
  await s.send('slow please');
  await waitFor('the slow tool call to start', async () => crmServer.calls.length === 1);
  await s.grant([]);
  const [sent] = await s.waitForSent(1);
  assert.equal(sent.body, 'done without tools');
  assert.equal(s.upstream.remaining, 0);
  assert.deepEqual(s.upstream.unexpected, []);
});
