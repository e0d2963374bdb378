/**
 * The upstream is not trusted with what it sends: error bodies are read only up to a bound, an
 * answer or a stream event beyond its bound is a clear 502 (never a process that buffers without
 * end), `code`/`type`/`param` of a 4xx pass only when they look like identifiers and carry no
 * secret, and every fault after the SSE headers — passthrough and tool loop — is logged with the
 * request id (the caller only ever sees the final error event).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../helpers/app.ts';
import { contentChunks, startFakeUpstream, toolCallChunks, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { startMcpTestServer, type McpTestServer } from '../fakes/mcp/test-server.ts';

const MESSAGES = [{ role: 'user', content: 'hi' }];
const UPSTREAM_KEY = 'sk-upstream-test-key';

async function rawChat(t: TestApp, key: string, body: Record<string, unknown>) {
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: MESSAGES, ...body }),
  });
  return { status: res.status, requestId: res.headers.get('x-request-id') ?? '', text: await res.text() };
}

/** The `data:` payloads of an SSE body. */
function dataEvents(text: string): string[] {
  return text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
}

/** Log lines (parsed) that carry this request id. */
function logsOf(t: TestApp, requestId: string): Array<Record<string, any>> {
  return t.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.requestId === requestId && l.msg !== 'request');
}

interface ToolSetup extends AsyncDisposable {
  t: TestApp;
  upstream: FakeUpstream;
  mcp: McpTestServer;
  key: string;
}

/** An organisation with one MCP plugin, so completions run the tool loop. */
async function toolSetup(): Promise<ToolSetup> {
  const upstream = await startFakeUpstream();
  const mcp = await startMcpTestServer();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const res = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'crm', displayName: 'CRM', url: mcp.url },
  });
  assert.equal(res.status, 201, res.text);
  return {
    t, upstream, mcp, key: t.key(tenant.orgId).secret,
    async [Symbol.asyncDispose]() {
      await t.close();
      await mcp.close();
      await upstream.close();
    },
  };
}

test('a 4xx code, type or param that is not an identifier, or that holds a known secret, is replaced by a default', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId).secret;
  const cases: Array<[Record<string, unknown>, { code: string; type: string; param: string | null }]> = [
    [{ code: 'context_length_exceeded', type: 'invalid_request_error', param: 'messages[0].content' }, { code: 'context_length_exceeded', type: 'invalid_request_error', param: 'messages[0].content' }],
    [{ code: 'has spaces <b>', type: '{"x":1}', param: 'a b' }, { code: 'upstream_rejected', type: 'invalid_request_error', param: null }],
    [{ code: UPSTREAM_KEY, type: UPSTREAM_KEY, param: UPSTREAM_KEY }, { code: 'upstream_rejected', type: 'invalid_request_error', param: null }],
    [{ code: 42, type: ['x'], param: { p: 1 } }, { code: 'upstream_rejected', type: 'invalid_request_error', param: null }],
    [{ code: 'x'.repeat(65) }, { code: 'upstream_rejected', type: 'invalid_request_error', param: null }],
  ];
  for (const [fields, want] of cases) {
    upstream.script({ status: 400, json: { error: { message: `bad request for ${UPSTREAM_KEY}`, ...fields } } });
    const res = await rawChat(t, key, {});
    assert.equal(res.status, 400);
    const { error } = JSON.parse(res.text);
    assert.deepEqual({ code: error.code, type: error.type, param: error.param }, want, JSON.stringify(fields));
    assert.equal(error.message, 'bad request for [redacted]');
  }
});

test('an upstream error body is read only up to its bound: a 40 MB 4xx is answered at once, the rest never read', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId).secret;
  upstream.script({ status: 400, json: { error: { message: 'first' } }, padBytes: 40 * 1024 * 1024 });
  const started = performance.now();
  const res = await rawChat(t, key, {});
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(res.text).error.code, 'upstream_rejected');
  assert.ok(performance.now() - started < 5_000);
  assert.equal(upstream.requests[0].finished, false, 'the gateway hung up instead of reading 40 MB');
});

test('a model list beyond its bound is a 502 upstream_response_too_large', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId).secret;
  upstream.script({ json: { object: 'list', data: [] }, padBytes: 9 * 1024 * 1024 });
  const res = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 502);
  assert.equal(((await res.json()) as any).error.code, 'upstream_response_too_large');
});

test('passthrough: a stream event that never ends is cut at its bound with an error event, and logged with the request id', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId).secret;
  upstream.script({ sse: [contentChunks(['hello'])[0], { choices: [{ index: 0, delta: { content: 'x'.repeat(5 * 1024 * 1024) } }] }] });
  const res = await rawChat(t, key, { stream: true });
  assert.equal(res.status, 200);
  const events = dataEvents(res.text);
  assert.ok(!events.includes('[DONE]'));
  const last = JSON.parse(events.at(-1)!);
  assert.equal(last.error.code, 'upstream_invalid_response');
  assert.match(last.error.message, /stream event longer than \d+ bytes/);
  const lines = logsOf(t, res.requestId);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0].level, 'warn');
  assert.equal(lines[0].code, 'upstream_invalid_response');
});

test('passthrough: a stream that breaks after its headers is logged with the request id and the cause', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId).secret;
  upstream.script({ sse: contentChunks(['one', 'two', 'three']), destroyAfterEvents: 2, chunkDelayMs: 20 });
  const res = await rawChat(t, key, { stream: true });
  assert.equal(JSON.parse(dataEvents(res.text).at(-1)!).error.code, 'upstream_unreachable');
  const lines = logsOf(t, res.requestId);
  assert.equal(lines.length, 1, JSON.stringify(t.logs));
  assert.equal(lines[0].level, 'warn');
  assert.match(lines[0].msg, /passthrough: stream ended with an error after its headers/);
  assert.ok(lines[0].err.message, 'the cause is logged');
  assert.ok(lines[0].err.stack, 'with its stack');
});

test('tool loop: an oversize stream event and a failure after the headers each end the stream with an error event and a log line', async () => {
  await using s = await toolSetup();
  s.upstream.script(
    { sse: toolCallChunks([{ id: 'c1', name: 'crm__echo', arguments: { text: 'ran' } }]) },
    { sse: [contentChunks(['fine'])[0], { choices: [{ index: 0, delta: { content: 'y'.repeat(5 * 1024 * 1024) } }] }] },
  );
  const big = await rawChat(s.t, s.key, { stream: true });
  assert.equal(big.status, 200);
  const last = JSON.parse(dataEvents(big.text).at(-1)!);
  assert.equal(last.error.code, 'upstream_invalid_response');
  assert.match(last.error.message, /stream event longer than \d+ characters/);
  const bigLines = logsOf(s.t, big.requestId).filter((l) => /tool loop/.test(l.msg));
  assert.equal(bigLines.length, 1, JSON.stringify(s.t.logs.slice(-5)));
  assert.equal(bigLines[0].code, 'upstream_invalid_response');

  s.upstream.script(
    { sse: toolCallChunks([{ id: 'c2', name: 'crm__echo', arguments: { text: 'ran' } }]) },
    { status: 500, json: { error: { message: 'exploded' } } },
  );
  const failed = await rawChat(s.t, s.key, { stream: true });
  assert.equal(JSON.parse(dataEvents(failed.text).at(-1)!).error.code, 'upstream_error');
  const lines = logsOf(s.t, failed.requestId).filter((l) => /tool loop/.test(l.msg));
  assert.equal(lines.length, 1, JSON.stringify(s.t.logs.slice(-5)));
  assert.equal(lines[0].level, 'warn');
  assert.equal(lines[0].status, 502);
});
