/**
 * Fault handling of the server-side tool loop: every way a tool call can fail becomes a clear,
 * scrubbed `<tool_result … status="error">` message the model reads in the next turn, the caller
 * still gets a 200 with the final answer, and a `tool_call` usage event records the error class.
 * Upstream failures after a tool ran reach the caller as mapped errors (or an SSE error event).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { APIError } from 'openai';
import { startApp, type TestApp, type Tenant } from '../helpers/app.ts';
import { chatCompletion, contentChunks, startFakeUpstream, toolCallChunks, type FakeUpstream, type ReceivedRequest, type ToolCallSpec, toolNames, toolMessages } from '../fakes/openai-upstream.ts';
import { PLANTED_SECRET, PLANTED_TOKEN, startMcpTestServer, type McpTestServer } from '../fakes/mcp/test-server.ts';

const LOOPBACK = { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' };
/** Bound of every "shortly after" poll in this file. */
const POLL_ATTEMPTS = 100;
const POLL_INTERVAL_MS = 50;

interface Setup extends AsyncDisposable {
  upstream: FakeUpstream;
  mcpServer: McpTestServer;
  t: TestApp;
  tenant: Tenant;
  integration: { id: string; slug: string; [k: string]: unknown };
  key: { id: string; secret: string };
}

async function setup(env: Record<string, string> = {}, installExtra: Record<string, unknown> = {}): Promise<Setup> {
  const upstream = await startFakeUpstream();
  const mcpServer = await startMcpTestServer();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, ...LOOPBACK, ...env });
  const tenant = t.tenant();
  const res = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId,
    body: { slug: 'crm', displayName: 'Support CRM', description: 'Lookup customer records.', url: mcpServer.url, ...installExtra },
  });
  assert.equal(res.status, 201, res.text);
  const key = t.key(tenant.orgId);
  let closed = false;
  return {
    upstream, mcpServer, t, tenant, integration: res.json, key,
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      await t.close();
      await mcpServer.close();
      await upstream.close();
    },
  };
}

/** The one tool message of `callId` in the request the upstream received after the tool ran. */
function toolMessage(req: ReceivedRequest, callId: string): string {
  const msg = toolMessages(req).find((m) => m.tool_call_id === callId);
  assert.ok(msg, `a tool message for ${callId} in ${req.rawBody.slice(0, 2000)}`);
  return msg.content;
}

/** Asserts the `<tool_result>` envelope and returns its body. */
function errorBody(content: string, prefixedName: string): string {
  const m = /^<tool_result tool="([^"]+)" status="(ok|error)">\n([\s\S]*)\n<\/tool_result>$/.exec(content);
  assert.ok(m, `a tool_result envelope: ${content.slice(0, 500)}`);
  assert.equal(m[1], prefixedName);
  assert.equal(m[2], 'error', `status="error" in ${content.slice(0, 500)}`);
  assert.ok(m[3].trim().length > 0, 'the error says something');
  return m[3];
}

interface UsageEventView { kind: string; tool: string | null; pluginId: string | null; status: string; errorClass: string | null; requestId: string }

async function toolEvents(s: Setup): Promise<UsageEventView[]> {
  const res = await s.t.api('GET', `/organizations/${s.tenant.orgId}/usage-events?kind=tool_call&limit=100`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId });
  assert.equal(res.status, 200, res.text);
  return res.json.data as UsageEventView[];
}

/** One tool-call turn, then a final answer; returns the final completion and the 2nd upstream request. */
async function runOneToolTurn(s: Setup, calls: ToolCallSpec[], final = 'Final answer.') {
  const before = s.upstream.requests.length;
  s.upstream.script({ json: chatCompletion({ toolCalls: calls }) }, { json: chatCompletion({ content: final }) });
  const started = Date.now();
  const r = await s.t.openai(s.key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'use the crm' }] });
  const elapsedMs = Date.now() - started;
  assert.equal(r.choices[0].message.content, final);
  assert.equal(r.choices[0].message.tool_calls, undefined);
  assert.equal(s.upstream.remaining, 0);
  assert.deepEqual(s.upstream.unexpected, []);
  assert.equal(s.upstream.requests.length, before + 2);
  return { completion: r, second: s.upstream.requests[before + 1], elapsedMs };
}

/** Reads a raw streaming chat completion to its end. */
async function streamRaw(s: Setup, body: Record<string, unknown>): Promise<{ status: number; raw: string; events: string[] }> {
  const res = await fetch(`${s.t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', stream: true, ...body }),
  });
  const raw = await res.text();
  const events = raw.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  return { status: res.status, raw, events };
}

function streamedText(events: string[]): string {
  return events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e)).map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
}

function assertNoLeak(haystack: string, where: string): void {
  for (const needle of [PLANTED_SECRET, PLANTED_TOKEN, 'runQuery', '/srv/app', 'db.internal.svc', '10.1.2.3']) {
    assert.ok(!haystack.includes(needle), `${where} must not contain ${JSON.stringify(needle)}`);
  }
}

function usageRowsText(t: TestApp): string {
  t.app.recorder.flush();
  return JSON.stringify(t.app.repos.db.prepare('SELECT * FROM usage_events').all());
}

async function poll<T>(fn: () => Promise<T | null | undefined> | T | null | undefined, what: string): Promise<T> {
  for (let i = 0; i < POLL_ATTEMPTS; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(POLL_INTERVAL_MS);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('MCP server down at request time: transport tool error, the model answers, health shows lastError', async () => {
  await using s = await setup();
  await s.mcpServer.close();
  const { completion, second } = await runOneToolTurn(s, [{ id: 'c1', name: 'crm__echo', arguments: { text: 'hello' } }], 'The CRM is unavailable right now.');
  assert.equal(completion.choices[0].message.content, 'The CRM is unavailable right now.');
  const body = errorBody(toolMessage(second, 'c1'), 'crm__echo');
  assert.match(body, /could not be reached|broke|closed/i);
  assert.ok(!body.includes('127.0.0.1'), `loopback address scrubbed: ${body}`);

  const events = await toolEvents(s);
  assert.equal(events.length, 1);
  assert.deepEqual({ tool: events[0].tool, pluginId: events[0].pluginId, status: events[0].status, errorClass: events[0].errorClass }, { tool: 'echo', pluginId: s.integration.id, status: 'error', errorClass: 'transport' });

  const health = await s.t.api('GET', `/organizations/${s.tenant.orgId}/mcp-integrations/${s.integration.id}`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId });
  assert.equal(health.status, 200);
  assert.equal(typeof health.json.health.lastError, 'string');
  assert.ok(health.json.health.lastError.length > 0);
  assert.equal(typeof health.json.health.lastErrorAt, 'string');
  assert.ok(!health.json.health.lastError.includes('127.0.0.1'), 'health is scrubbed too');
});

test('the server dying mid-call is a transport error; the next call reconnects', async () => {
  await using s = await setup();
  const { second } = await runOneToolTurn(s, [{ id: 'd1', name: 'crm__die', arguments: {} }]);
  errorBody(toolMessage(second, 'd1'), 'crm__die');
  const events = await toolEvents(s);
  assert.equal(events.length, 1);
  assert.equal(events[0].errorClass, 'transport');
  assert.equal(events[0].status, 'error');

  const again = await runOneToolTurn(s, [{ id: 'e1', name: 'crm__echo', arguments: { text: 'back again' } }]);
  assert.equal(toolMessage(again.second, 'e1'), '<tool_result tool="crm__echo" status="ok">\nback again\n</tool_result>');
});

test('a tool slower than PLUGBOARD_TOOL_TIMEOUT_MS is a timeout error and the request still finishes quickly', async () => {
  await using s = await setup({ PLUGBOARD_TOOL_TIMEOUT_MS: '1000' });
  const { second, elapsedMs } = await runOneToolTurn(s, [{ id: 's1', name: 'crm__slow', arguments: { ms: 20_000 } }]);
  const body = errorBody(toolMessage(second, 's1'), 'crm__slow');
  assert.match(body, /did not answer within 1000 ms/);
  assert.ok(elapsedMs < 5_000, `finished in ${elapsedMs} ms`);
  const events = await toolEvents(s);
  assert.equal(events[0].errorClass, 'timeout');
});

test("the integration's timeoutMs bounds a slow tool (timeout error, fast request)", async () => {
  await using s = await setup();
  const patched = await s.t.api('PATCH', `/organizations/${s.tenant.orgId}/mcp-integrations/${s.integration.id}`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId, body: { timeoutMs: 400 } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.timeoutMs, 400);
  const { second, elapsedMs } = await runOneToolTurn(s, [{ id: 's2', name: 'crm__slow', arguments: { ms: 20_000 } }]);
  assert.match(errorBody(toolMessage(second, 's2'), 'crm__slow'), /did not answer within 400 ms/);
  assert.ok(elapsedMs < 4_000, `finished in ${elapsedMs} ms`);
  assert.equal((await toolEvents(s))[0].errorClass, 'timeout');
});

test('an isError result is a tool_error; the planted secret, token and stack trace never leave the gateway', async () => {
  await using s = await setup();
  const { completion, second } = await runOneToolTurn(s, [{ id: 'f1', name: 'crm__fail', arguments: {} }], 'The database refused.');
  const content = toolMessage(second, 'f1');
  const body = errorBody(content, 'crm__fail');
  assert.match(body, /Database rejected the query/, 'the useful part of the error reaches the model');
  assertNoLeak(content, 'the tool message');
  assertNoLeak(second.rawBody, 'the upstream request');
  assertNoLeak(JSON.stringify(completion), "the caller's response");
  const events = await toolEvents(s);
  assert.equal(events.length, 1);
  assert.deepEqual([events[0].tool, events[0].status, events[0].errorClass], ['fail', 'error', 'tool_error']);
  assertNoLeak(usageRowsText(s.t), 'usage_events');
  const usageApi = await s.t.api('GET', `/organizations/${s.tenant.orgId}/usage-events?limit=100`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId });
  assertNoLeak(usageApi.text, 'the usage API');
  const health = await s.t.api('GET', `/organizations/${s.tenant.orgId}/mcp-integrations/${s.integration.id}`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId });
  assertNoLeak(health.text, 'the integration (health)');
  await s[Symbol.asyncDispose]();
  assertNoLeak(s.t.logs.join('\n'), 'the logs');
});

test('a JSON-RPC error (a throwing tool) is a protocol error without the secret', async () => {
  await using s = await setup();
  const { completion, second } = await runOneToolTurn(s, [{ id: 'b1', name: 'crm__boom', arguments: {} }]);
  const content = toolMessage(second, 'b1');
  assert.match(errorBody(content, 'crm__boom'), /rejected the request \(JSON-RPC error/);
  assertNoLeak(second.rawBody, 'the upstream request');
  assertNoLeak(JSON.stringify(completion), "the caller's response");
  const events = await toolEvents(s);
  assert.deepEqual([events[0].tool, events[0].status, events[0].errorClass], ['boom', 'error', 'protocol']);
  assertNoLeak(usageRowsText(s.t), 'usage_events');
  await s[Symbol.asyncDispose]();
  assertNoLeak(s.t.logs.join('\n'), 'the logs');
});

test('a 5 MB result is truncated to PLUGBOARD_TOOL_RESULT_MAX_BYTES with a visible marker, quickly', async () => {
  const max = 4096;
  await using s = await setup({ PLUGBOARD_TOOL_RESULT_MAX_BYTES: String(max) });
  const { second, elapsedMs } = await runOneToolTurn(s, [{ id: 'g1', name: 'crm__big', arguments: { bytes: 5_000_000 } }]);
  const content = toolMessage(second, 'g1');
  const m = /^<tool_result tool="crm__big" status="ok">\n([\s\S]*)\n<\/tool_result>$/.exec(content);
  assert.ok(m, content.slice(0, 300));
  const body = m[1];
  const marker = /\n…\[truncated (\d+) bytes\]$/.exec(body);
  assert.ok(marker, `visible truncation marker at the end: ${body.slice(-80)}`);
  assert.ok(Buffer.byteLength(body) <= max + Buffer.byteLength(marker[0]), `${Buffer.byteLength(body)} bytes`);
  assert.ok(body.startsWith('aaaa'));
  assert.equal(Number(marker[1]) + Buffer.byteLength(body) - Buffer.byteLength(marker[0]), 5_000_000, 'the marker counts the dropped bytes');
  assert.ok(second.rawBody.length < 64 * 1024, 'the 5 MB never reach the upstream');
  assert.ok(elapsedMs < 10_000, `finished in ${elapsedMs} ms`);
  const events = await toolEvents(s);
  assert.equal(events[0].status, 'ok');
});

test('bad calls from the model never reach the MCP server: invalid JSON, schema failure, unknown tool, not allowed', async () => {
  await using s = await setup();
  const { t, tenant, integration, upstream, mcpServer } = s;
  const patched = await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { toolAllowlist: ['echo', 'add', 'slow'] },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.tools.find((x: { name: string }) => x.name === 'whoami').allowed, false);
  const listed = await t.api('GET', `/organizations/${tenant.orgId}/plugins/${integration.id}/tools`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.deepEqual(listed.json.data.map((x: { name: string }) => x.name).sort(), ['crm__add', 'crm__echo', 'crm__slow']);
  const plugins = await t.api('GET', `/organizations/${tenant.orgId}/plugins`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(plugins.json.data[0].toolCount, 3);

  upstream.script(
    {
      json: chatCompletion({
        toolCalls: [
          { id: 'bad_json', name: 'crm__echo', arguments: '{"text": "unterminated' },
          { id: 'bad_schema', name: 'crm__add', arguments: { a: 'two', b: 3 } },
          { id: 'not_object', name: 'crm__echo', arguments: '["x"]' },
          { id: 'unknown', name: 'crm__does_not_exist', arguments: {} },
          { id: 'other_plugin', name: 'billing__echo', arguments: { text: 'x' } },
          { id: 'excluded', name: 'crm__whoami', arguments: {} },
        ],
      }),
    },
    { json: chatCompletion({ content: 'Sorry, the tools refused.' }) },
  );
  const r = await t.openai(s.key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r.choices[0].message.content, 'Sorry, the tools refused.');
  assert.equal(upstream.remaining, 0);
  const [first, second] = upstream.requests;
  assert.deepEqual(toolNames(first), ['crm__add', 'crm__echo', 'crm__slow'], 'the excluded tools are not offered');
  assert.deepEqual(toolNames(second), ['crm__add', 'crm__echo', 'crm__slow']);

  assert.match(errorBody(toolMessage(second, 'bad_json'), 'crm__echo'), /not valid JSON/);
  const schemaBody = errorBody(toolMessage(second, 'bad_schema'), 'crm__add');
  assert.match(schemaBody, /Invalid arguments for crm__add/);
  assert.match(schemaBody, /\/a must be number/);
  assert.match(errorBody(toolMessage(second, 'not_object'), 'crm__echo'), /must be a JSON object/);
  const unknownBody = errorBody(toolMessage(second, 'unknown'), 'crm__does_not_exist');
  assert.match(unknownBody, /no tool named "crm__does_not_exist"/);
  assert.match(unknownBody, /crm__echo/, 'the model is told which tools exist');
  assert.ok(!unknownBody.includes('crm__whoami'), 'excluded tools are not advertised in the error');
  errorBody(toolMessage(second, 'other_plugin'), 'billing__echo');
  assert.match(errorBody(toolMessage(second, 'excluded'), 'crm__whoami'), /not allowed/);

  assert.deepEqual(mcpServer.calls, [], 'none of these calls reached the MCP server');

  const events = await toolEvents(s);
  const classes = events.map((e) => `${e.errorClass}`).sort();
  assert.deepEqual(classes, ['invalid_arguments', 'invalid_arguments', 'invalid_arguments', 'not_allowed', 'unknown_tool', 'unknown_tool']);
  assert.ok(events.every((e) => e.status === 'error'));
  for (const e of events.filter((x) => x.errorClass === 'invalid_arguments')) {
    assert.equal(e.pluginId, integration.id, `${e.tool} attributed to its plugin`);
    assert.ok(e.tool === 'echo' || e.tool === 'add', `own tool name, got ${e.tool}`);
  }
  assert.deepEqual(events.filter((x) => x.errorClass === 'unknown_tool').map((e) => [e.tool, e.pluginId]).sort(), [['billing__echo', null], ['crm__does_not_exist', null]]);
});

test('the offered tools follow allowlist edits and catalog refreshes made after requests were served', async () => {
  await using s = await setup();
  const { t, tenant, integration, upstream, mcpServer } = s;
  const ask = async (): Promise<string[]> => {
    upstream.script({ json: chatCompletion({ content: 'ok' }) });
    await t.openai(s.key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
    return toolNames(upstream.requests.at(-1)!);
  };
  const all = await ask();
  assert.ok(all.includes('crm__echo') && all.includes('crm__whoami'), all.join(','));
  assert.deepEqual(await ask(), all, 'a second request is offered the same (cached) set');

  const patched = await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { toolAllowlist: ['echo'] },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(await ask(), ['crm__echo'], 'the allowlist applies to the next request');

  await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { toolAllowlist: null } });
  mcpServer.addTool({ name: 'fresh', description: 'Added later.', inputSchema: { type: 'object', properties: {} }, handler: () => ({ content: [{ type: 'text', text: 'new' }] }) });
  const refreshed = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}/refresh`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.deepEqual(await ask(), [...all, 'crm__fresh'].sort(), 'a refreshed catalog applies to the next request');
});

test("a call to a tool outside the allowlist is recorded against its plugin and own tool name", async () => {
  await using s = await setup();
  const { t, tenant, integration, mcpServer } = s;
  const patched = await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { toolAllowlist: ['echo'] },
  });
  assert.equal(patched.status, 200, patched.text);
  const { second } = await runOneToolTurn(s, [{ id: 'na', name: 'crm__whoami', arguments: {} }]);
  assert.match(errorBody(toolMessage(second, 'na'), 'crm__whoami'), /not allowed/);
  assert.deepEqual(mcpServer.calls, []);
  const [event] = await toolEvents(s);
  assert.equal(event.errorClass, 'not_allowed');
  // Like every other refused call of a known tool (invalid_arguments, rate_limited), so that
  // `usage-events?pluginId=…&tool=whoami` finds the attempt.
  assert.deepEqual({ pluginId: event.pluginId, tool: event.tool }, { pluginId: integration.id, tool: 'whoami' });
});

test('a tool over its rate limit is rate_limited, within one turn and across turns, and never reaches the server', async () => {
  await using s = await setup();
  const { t, tenant, integration, mcpServer } = s;
  const patched = await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { toolRateLimits: { echo: { points: 1, durationSeconds: 60 } } },
  });
  assert.equal(patched.status, 200, patched.text);

  const one = await runOneToolTurn(s, [{ id: 'r1', name: 'crm__echo', arguments: { text: 'first' } }, { id: 'r2', name: 'crm__echo', arguments: { text: 'second' } }]);
  const contents = [toolMessage(one.second, 'r1'), toolMessage(one.second, 'r2')];
  const ok = contents.filter((c) => c.includes('status="ok"'));
  const limited = contents.filter((c) => c.includes('status="error"'));
  assert.equal(ok.length, 1, contents.join('\n'));
  assert.equal(limited.length, 1, contents.join('\n'));
  assert.match(errorBody(limited[0], 'crm__echo'), /rate limited; it may be called again in \d+s/);

  const across = await runOneToolTurn(s, [{ id: 'r3', name: 'crm__echo', arguments: { text: 'third' } }]);
  assert.match(errorBody(toolMessage(across.second, 'r3'), 'crm__echo'), /rate limited/);
  // Other tools have no limit.
  const add = await runOneToolTurn(s, [{ id: 'r4', name: 'crm__add', arguments: { a: 1, b: 2 } }]);
  assert.match(toolMessage(add.second, 'r4'), /status="ok"/);

  assert.deepEqual(mcpServer.calls.map((c) => c.tool), ['echo', 'add'], 'only the allowed calls reached the server');
  const events = await toolEvents(s);
  assert.deepEqual(events.map((e) => `${e.tool}:${e.status}:${e.errorClass}`).sort(), ['add:ok:null', 'echo:error:rate_limited', 'echo:error:rate_limited', 'echo:ok:null']);
});

test('streaming: with the server down, the tool error reaches the model and the final answer still streams', async () => {
  await using s = await setup();
  await s.mcpServer.close();
  s.upstream.script(
    { sse: toolCallChunks([{ id: 'sc1', name: 'crm__echo', arguments: { text: 'hi' } }]) },
    { sse: contentChunks(['The CRM ', 'is down.']) },
  );
  const { status, raw, events } = await streamRaw(s, { messages: [{ role: 'user', content: 'x' }] });
  assert.equal(status, 200);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(streamedText(events), 'The CRM is down.');
  assert.ok(!raw.includes('tool_calls'));
  assert.equal(s.upstream.remaining, 0);
  errorBody(toolMessage(s.upstream.requests[1], 'sc1'), 'crm__echo');
  const ev = await toolEvents(s);
  assert.deepEqual([ev[0].status, ev[0].errorClass], ['error', 'transport']);
});

test('streaming: an isError result reaches the model scrubbed and the final answer still streams', async () => {
  await using s = await setup();
  s.upstream.script(
    { sse: toolCallChunks([{ id: 'sf1', name: 'crm__fail', arguments: {} }]) },
    { sse: contentChunks(['It ', 'failed.']) },
  );
  const { status, raw, events } = await streamRaw(s, { messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } });
  assert.equal(status, 200);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(streamedText(events), 'It failed.');
  assertNoLeak(raw, 'the caller stream');
  const content = toolMessage(s.upstream.requests[1], 'sf1');
  assert.match(errorBody(content, 'crm__fail'), /Database rejected the query/);
  assertNoLeak(content, 'the tool message');
  const ev = await toolEvents(s);
  assert.deepEqual([ev[0].tool, ev[0].status, ev[0].errorClass], ['fail', 'error', 'tool_error']);
  assertNoLeak(usageRowsText(s.t), 'usage_events');
});

test('the upstream failing in the 2nd turn (after a tool ran) is the mapped upstream error', async () => {
  await using s = await setup();
  s.upstream.script(
    { json: chatCompletion({ toolCalls: [{ id: 'u1', name: 'crm__echo', arguments: { text: 'ran' } }] }) },
    { status: 500, json: { error: { message: `internal upstream trouble ${PLANTED_SECRET}`, type: 'server_error' } } },
  );
  await assert.rejects(
    s.t.openai(s.key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }),
    (err: unknown) => {
      assert.ok(err instanceof APIError, String(err));
      assert.equal(err.status, 502);
      assert.equal(err.code, 'upstream_error');
      assert.ok(!err.message.includes(PLANTED_SECRET));
      return true;
    },
  );
  assert.equal(s.upstream.remaining, 0);
  assert.equal(s.mcpServer.calls.length, 1, 'the tool did run');
  const completion = (await s.t.api('GET', `/organizations/${s.tenant.orgId}/usage-events?kind=completion`, { token: s.tenant.ownerToken, orgId: s.tenant.orgId })).json.data;
  assert.equal(completion.length, 1);
  assert.deepEqual([completion[0].status, completion[0].httpStatus], ['error', 502]);
});

test('streaming: the upstream failing in the 2nd turn ends the stream with an error event the SDK raises as APIError', async () => {
  await using s = await setup();
  s.upstream.script(
    { sse: toolCallChunks([{ id: 'u2', name: 'crm__echo', arguments: { text: 'ran' } }]) },
    { status: 500, json: { error: { message: 'upstream exploded', type: 'server_error' } } },
  );
  const stream = await s.t.openai(s.key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], stream: true });
  let chunks = 0;
  await assert.rejects(
    (async () => {
      for await (const _chunk of stream) chunks++;
    })(),
    (err: unknown) => {
      assert.ok(err instanceof APIError, `APIError, got ${String(err)}`);
      assert.match(err.message, /upstream model provider failed/);
      return true;
    },
  );
  assert.equal(chunks, 0, 'no content before the error');
  assert.equal(s.upstream.remaining, 0);
  assert.equal(s.mcpServer.calls.length, 1);

  // The same on the wire: an error data event and no [DONE].
  s.upstream.script(
    { sse: toolCallChunks([{ id: 'u3', name: 'crm__echo', arguments: { text: 'ran' } }]) },
    { status: 500, json: { error: { message: 'upstream exploded', type: 'server_error' } } },
  );
  const { status, events } = await streamRaw(s, { messages: [{ role: 'user', content: 'x' }] });
  assert.equal(status, 200);
  assert.ok(!events.includes('[DONE]'));
  const last = JSON.parse(events.at(-1)!);
  assert.equal(last.error.code, 'upstream_error');
});

test('session expiry between requests is transparent: the next tool call succeeds', async () => {
  await using s = await setup();
  const first = await runOneToolTurn(s, [{ id: 'x1', name: 'crm__echo', arguments: { text: 'before' } }]);
  assert.match(toolMessage(first.second, 'x1'), /status="ok">\nbefore\n/);
  const sessionsBefore = s.mcpServer.sessionsCreated;
  s.mcpServer.expireSessions();
  const second = await runOneToolTurn(s, [{ id: 'x2', name: 'crm__echo', arguments: { text: 'after' } }]);
  assert.equal(toolMessage(second.second, 'x2'), '<tool_result tool="crm__echo" status="ok">\nafter\n</tool_result>');
  assert.ok(s.mcpServer.sessionsCreated > sessionsBefore, 'a new session was initialised');
  assert.deepEqual(s.mcpServer.calls.map((c) => c.args.text), ['before', 'after'], 'the call ran exactly once');
  const events = await toolEvents(s);
  assert.deepEqual(events.map((e) => e.status), ['ok', 'ok']);
});

test('notifications/tools/list_changed refreshes the catalog and the next request offers the new tool', async () => {
  await using s = await setup();
  const { t, tenant, integration, mcpServer, upstream } = s;
  // A request first, so the connection the gateway holds is the one requests use.
  await runOneToolTurn(s, [{ id: 'l0', name: 'crm__echo', arguments: { text: 'warm' } }]);
  mcpServer.addTool({
    name: 'refund',
    description: 'Refunds an order.',
    inputSchema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
    handler: (args) => ({ content: [{ type: 'text', text: `refunded ${String(args.orderId)}` }] }),
  });
  const catalog = await poll(async () => {
    const res = await t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations/${integration.id}`, { token: tenant.ownerToken, orgId: tenant.orgId });
    return res.json.tools.some((x: { name: string }) => x.name === 'refund') ? res.json : null;
  }, 'the refund tool in the catalog');
  assert.equal(catalog.tools.find((x: { name: string }) => x.name === 'refund').prefixedName, 'crm__refund');

  const { second } = await runOneToolTurn(s, [{ id: 'l1', name: 'crm__refund', arguments: { orderId: 'A-17' } }]);
  assert.ok(toolNames(upstream.requests.at(-2)!).includes('crm__refund'), 'the new tool is offered');
  assert.equal(toolMessage(second, 'l1'), '<tool_result tool="crm__refund" status="ok">\nrefunded A-17\n</tool_result>');
});

test('a catalog refresh (tools/list_changed) while a tool call runs does not break that call', async () => {
  await using s = await setup();
  const { t, mcpServer, upstream } = s;
  // Answers by the request's content, since the two requests below overlap.
  upstream.setFallback((req) => {
    const messages = req.body!.messages as Array<{ role: string; content: string }>;
    if (messages.some((m) => m.role === 'tool')) return { json: chatCompletion({ content: 'final' }) };
    const user = messages.find((m) => m.role === 'user')!.content;
    return { json: chatCompletion({ toolCalls: [JSON.parse(user) as ToolCallSpec] }) };
  });
  const ask = (call: ToolCallSpec) => t.openai(s.key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: JSON.stringify(call) }] });
  await ask({ id: 'w', name: 'crm__echo', arguments: { text: 'warm' } });

  const slow = ask({ id: 'long', name: 'crm__slow', arguments: { ms: 1500 } });
  await poll(() => mcpServer.calls.some((c) => c.tool === 'slow'), 'the slow call to start');
  mcpServer.addTool({ name: 'refund', description: 'Refunds.', inputSchema: { type: 'object', properties: {} }, handler: () => ({ content: [{ type: 'text', text: 'ok' }] }) });
  await poll(() => (t.app.installations.get(s.tenant.orgId, s.integration.id)?.catalog.some((x) => x.name === 'refund') ? true : null), 'the refreshed catalog');
  // Other traffic while the slow call still runs.
  await ask({ id: 'during', name: 'crm__echo', arguments: { text: 'during' } });
  await slow;

  const longMessage = upstream.requests.flatMap((r) => toolMessages(r)).find((m) => m.tool_call_id === 'long');
  assert.equal(longMessage?.content, '<tool_result tool="crm__slow" status="ok">\nslept 1500 ms\n</tool_result>');
  const events = await toolEvents(s);
  assert.deepEqual(events.filter((e) => e.tool === 'slow').map((e) => [e.status, e.errorClass]), [['ok', null]]);
});
