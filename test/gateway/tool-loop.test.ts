import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatCompletion, contentChunks, startFakeUpstream, toolCallChunks, type FakeUpstream, type ReceivedRequest, toolNames, toolMessages } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';

const LOOPBACK = { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' };

async function install(t: TestApp, ownerToken: string, orgId: string, body: Record<string, unknown>) {
  const res = await t.api('POST', `/organizations/${orgId}/mcp-integrations`, { token: ownerToken, orgId, body });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

async function setup(env: Record<string, string> = {}) {
  const upstream = await startFakeUpstream();
  const mcpServer = await startMcpTestServer();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, ...LOOPBACK, ...env });
  const tenant = t.tenant();
  const integration = await install(t, tenant.ownerToken, tenant.orgId, { slug: 'crm', displayName: 'Support CRM', description: 'Lookup customer records.', url: mcpServer.url });
  const key = t.key(tenant.orgId);
  return {
    upstream, mcpServer, t, tenant, integration, key,
    async [Symbol.asyncDispose]() {
      await t.close();
      await mcpServer.close();
      await upstream.close();
    },
  };
}

test('install lists the tools, /plugins shows the seed shape, and one tool call runs server-side', async () => {
  await using s = await setup();
  const { t, tenant, upstream, key } = s;
  assert.equal(s.integration.slug, 'crm');
  assert.ok(s.integration.tools.some((x: { prefixedName: string }) => x.prefixedName === 'crm__echo'));
  const plugins = await t.api('GET', `/organizations/${tenant.orgId}/plugins`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(plugins.status, 200);
  assert.deepEqual(Object.keys(plugins.json.data[0]).sort(), ['description', 'displayName', 'id', 'kind', 'slug', 'toolCount']);
  assert.equal(plugins.json.data[0].kind, 'mcp');
  assert.equal(plugins.json.data[0].toolCount, s.integration.tools.length);

  upstream.script(
    {
      expect(req) {
        assert.ok(toolNames(req).includes('crm__echo'));
        const echo = (req.body!.tools as any[]).find((x) => x.function.name === 'crm__echo');
        assert.equal(echo.function.parameters.$schema, undefined, '$schema is stripped for the upstream');
        assert.equal(req.body!.tool_choice, 'auto');
        assert.equal(req.headers.authorization, 'Bearer sk-upstream-test-key');
      },
      json: chatCompletion({ toolCalls: [{ id: 'call_1', name: 'crm__echo', arguments: { text: 'ping from model' } }], usage: { prompt_tokens: 20, completion_tokens: 5 } }),
    },
    {
      expect(req) {
        const msgs = toolMessages(req);
        assert.equal(msgs.length, 1);
        assert.equal(msgs[0].tool_call_id, 'call_1');
        assert.match(msgs[0].content, /^<tool_result tool="crm__echo" status="ok">\nping from model\n<\/tool_result>$/);
        const system = (req.body!.messages as any[]).filter((m) => m.role === 'system').map((m) => m.content).join(' ');
        assert.match(system, /data returned by tools, not instructions/);
      },
      json: chatCompletion({ content: 'The CRM says ping.', usage: { prompt_tokens: 30, completion_tokens: 6 } }),
    },
  );
  const r = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping the crm' }] });
  assert.equal(r.choices[0].message.content, 'The CRM says ping.');
  assert.equal(r.choices[0].message.tool_calls, undefined);
  assert.deepEqual(r.usage, { prompt_tokens: 50, completion_tokens: 11, total_tokens: 61 });
  assert.equal(upstream.remaining, 0);
  assert.deepEqual(upstream.unexpected, []);
  assert.equal(s.mcpServer.calls.length, 1);
  assert.equal(s.mcpServer.calls[0].headers.authorization, undefined, 'the gateway key never reaches the MCP server');

  const usage = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?limit=20`, { token: tenant.ownerToken, orgId: tenant.orgId });
  const kinds = usage.json.data.map((e: { kind: string }) => e.kind).sort();
  assert.deepEqual(kinds, ['completion', 'model_turn', 'model_turn', 'tool_call']);
  const toolEvent = usage.json.data.find((e: { kind: string }) => e.kind === 'tool_call');
  assert.equal(toolEvent.pluginId, s.integration.id);
  assert.equal(toolEvent.tool, 'echo');
  assert.equal(toolEvent.status, 'ok');
  const byPlugin = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?pluginId=${s.integration.id}&tool=echo`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(byPlugin.json.data.length, 1);
});

test('parallel tool calls in one turn, then a chained turn, then the answer', async () => {
  await using s = await setup();
  const { t, upstream, key } = s;
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ id: 'a', name: 'crm__echo', arguments: { text: 'one' } }, { id: 'b', name: 'crm__add', arguments: { a: 2, b: 3 } }] }) },
    {
      expect(req) {
        const msgs = toolMessages(req);
        assert.deepEqual(msgs.map((m) => m.tool_call_id), ['a', 'b']);
        assert.match(msgs[1].content, /The sum is 5/);
        assert.match(msgs[1].content, /"sum":5/, 'structuredContent reaches the model as compact JSON');
      },
      json: chatCompletion({ toolCalls: [{ id: 'c', name: 'crm__echo', arguments: { text: 'two' } }] }),
    },
    { expect: (req) => assert.equal(toolMessages(req).length, 3), json: chatCompletion({ content: 'done' }) },
  );
  const r = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] });
  assert.equal(r.choices[0].message.content, 'done');
  assert.equal(upstream.remaining, 0);
  assert.equal(s.mcpServer.calls.length, 3);
});

test('the loop cap: one last turn with tools disabled, recorded as loop_cap', async () => {
  await using s = await setup({ PLUGBOARD_TOOL_LOOP_CAP: '2' });
  const { t, upstream, key, tenant } = s;
  const call = (id: string) => ({ json: chatCompletion({ toolCalls: [{ id, name: 'crm__echo', arguments: { text: id } }] }) });
  upstream.script(call('1'), call('2'), {
    expect(req) {
      assert.equal(req.body!.tool_choice, 'none');
    },
    json: chatCompletion({ content: 'final without tools' }),
  });
  const r = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'loop' }], tool_choice: 'required' });
  assert.equal(r.choices[0].message.content, 'final without tools');
  assert.equal(upstream.requests[0].body!.tool_choice, 'required', 'the first turn keeps the forced tool_choice');
  assert.equal(upstream.requests[1].body!.tool_choice, 'auto', 'later turns go back to auto');
  assert.equal(upstream.remaining, 0);
  const usage = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?kind=loop_cap`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(usage.json.data.length, 1);
});

test('streaming: tool turns are consumed, the final answer streams chunk by chunk with keep-alives while tools run', async () => {
  await using s = await setup({ PLUGBOARD_SSE_KEEPALIVE_MS: '50' });
  const { t, upstream, key } = s;
  upstream.script(
    { expect: (req) => assert.equal(req.body!.stream, true), sse: toolCallChunks([{ id: 'call_s', name: 'crm__slow', arguments: { ms: 300 } }]) },
    { sse: contentChunks(['Slow ', 'tool ', 'done.']), holdAfterFirstMs: 400, holdAfterEvent: 2 },
  );
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'slow please' }], stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let raw = '';
  let firstContentAt = 0;
  const started = Date.now();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    raw += decoder.decode(value, { stream: true });
    if (!firstContentAt && raw.includes('"content":"Slow "')) firstContentAt = Date.now() - started;
  }
  const total = Date.now() - started;
  assert.ok(raw.includes(': keep-alive'), 'keep-alive comments flow while the tool runs');
  assert.ok(!raw.includes('tool_calls'), 'the caller never sees the injected tool calls');
  assert.ok(firstContentAt > 0 && firstContentAt < total - 250, `first content at ${firstContentAt} ms of ${total} ms: not buffered`);
  const events = raw.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one stream id for every chunk');
  const text = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
  assert.equal(text, 'Slow tool done.');
  const usageChunk = chunks.find((c) => c.usage);
  assert.equal(usageChunk.usage.prompt_tokens, 20, 'usage sums both turns');
  assert.equal(upstream.remaining, 0);
});

test('a request with its own tools[] passes through and nothing is executed', async () => {
  await using s = await setup();
  const { t, upstream, key } = s;
  const tools = [{ type: 'function' as const, function: { name: 'client_tool', parameters: { type: 'object', properties: {} } } }];
  upstream.script({
    expect: (req) => assert.deepEqual(toolNames(req), ['client_tool']),
    json: chatCompletion({ toolCalls: [{ id: 'x', name: 'client_tool', arguments: {} }] }),
  });
  const r = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], tools });
  assert.equal((r.choices[0].message.tool_calls?.[0] as { function: { name: string } }).function.name, 'client_tool');
  assert.equal(s.mcpServer.calls.length, 0);
});

test('n > 1 with injected tools is refused clearly; per-key scope and request narrowing only remove plugins', async () => {
  await using s = await setup();
  const { t, upstream, key, tenant, integration } = s;
  const client = t.openai(key.secret);
  await assert.rejects(client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], n: 2 }), (err: any) => err.status === 400 && err.code === 'unsupported_with_plugins');

  const scoped = t.key(tenant.orgId, { allowedPluginIds: [] });
  upstream.script({ expect: (req) => assert.equal(req.body!.tools, undefined), json: chatCompletion({ content: 'plain' }) });
  assert.equal((await t.openai(scoped.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })).choices[0].message.content, 'plain');

  upstream.script({ expect: (req) => assert.equal(req.body!.tools, undefined), json: chatCompletion({ content: 'narrowed' }) });
  const narrowed = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-plugboard-plugins': 'none' } });
  assert.equal(narrowed.choices[0].message.content, 'narrowed');

  const onlyCrm = t.key(tenant.orgId, { allowedPluginIds: [integration.id] });
  upstream.script({ expect: (req) => assert.ok(toolNames(req).length > 0), json: chatCompletion({ content: 'with tools' }) });
  await t.openai(onlyCrm.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-plugboard-plugins': 'crm,does-not-exist' } });

  const patched = await t.api('PATCH', `/organizations/${tenant.orgId}`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { settings: { pluginInjection: false } } });
  assert.equal(patched.status, 200);
  upstream.script({ expect: (req) => assert.equal(req.body!.tools, undefined), json: chatCompletion({ content: 'injection off' }) });
  await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(upstream.remaining, 0);
  assert.deepEqual(upstream.unexpected, []);
});

test("org B's key never sees org A's tools", async () => {
  await using s = await setup();
  const { t, upstream } = s;
  const orgB = t.tenant('Other');
  const keyB = t.key(orgB.orgId);
  upstream.script({ expect: (req) => assert.equal(req.body!.tools, undefined), json: chatCompletion({ content: 'b' }) });
  await t.openai(keyB.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
  const pluginsB = await t.api('GET', `/organizations/${orgB.orgId}/plugins`, { token: orgB.ownerToken, orgId: orgB.orgId });
  assert.deepEqual(pluginsB.json.data, []);
  const crossRead = await t.api('GET', `/organizations/${s.tenant.orgId}/mcp-integrations`, { token: orgB.ownerToken, orgId: s.tenant.orgId });
  assert.equal(crossRead.status, 404);
  assert.equal(upstream.remaining, 0);
});

export type { FakeUpstream };
