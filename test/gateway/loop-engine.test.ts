/**
 * The one loop engine behaves the same in both modes. It refreshes the tool set before every later
 * turn in BOTH modes: a grant revoked
 * while a turn's tools run takes effect on the very next model turn for a streaming run as it does
 * for a JSON one (before the engine was shared, only the JSON loop asked again). Real pieces
 * throughout: the app's plugin runtime, usage recorder and event bus, a real MCP server, the pooled
 * upstream client against the scripted fake upstream, and for the stream the HTTP layer's own sink
 * on a loopback server read by a real HTTP client. The grant is the in-process caller's contract:
 * a function asked again before every turn (the reply worker's reads the grants table).
 * And a failed turn leaves the same records in both modes, through the real gateway: one
 * model_turn error row, the completion's error row and one `request_failed` live event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startApp } from '../helpers/app.ts';
import type { LiveEvent } from '../../src/usage/bus.ts';
import { waitFor } from '../helpers/factories.ts';
import { chatCompletion, contentChunks, startFakeUpstream, toolCallChunks, toolNames } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { createUpstreamPool } from '../../src/gateway/upstream-pool.ts';
import { createLoopEngine, type LoopRequest } from '../../src/gateway/loop/engine.ts';
import { NodeSink } from '../../src/http/node-sink.ts';
import { createErrorWriter } from '../../src/http/error-writer.ts';

/** Serves one request whose answer `answer` writes into the HTTP layer's sink; returns the body the client read. */
async function streamedThroughHttp(answer: (sink: NodeSink) => Promise<unknown>, errors: ReturnType<typeof createErrorWriter>): Promise<{ status: number; text: string }> {
  let done: Promise<unknown> = Promise.resolve();
  const server = http.createServer((_req, res) => {
    done = answer(new NodeSink(res, 'req_loop_refresh_stream', errors));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const text = await res.text();
    await done;
    return { status: res.status, text };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('a grant revoked while the tools run takes effect on the next turn, streaming as well as JSON', async () => {
  await using upstream = await startFakeUpstream();
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const installed = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'crm', displayName: 'CRM', url: mcp.url },
  });
  assert.equal(installed.status, 201, installed.text);
  const crmId: string = installed.json.id;

  const pool = createUpstreamPool({ baseUrl: upstream.url, apiKey: 'sk-upstream-test-key', timeoutMs: 10_000, connections: 2 });
  const { runtime, recorder, bus } = t.app;
  const engine = createLoopEngine({ pool, runtime, recorder, bus, toolConcurrency: 4, toolTimeoutMs: 5_000, keepAliveMs: 50 });
  const errors = createErrorWriter({ log: t.app.log, secrets: t.app.secrets });
  let granted: string[] = [];
  const toolSetNow = () => runtime.buildToolSet(runtime.usablePlugins(tenant.orgId, { narrowTo: granted }));
  const request = (requestId: string): LoopRequest => ({
    orgId: tenant.orgId, keyId: null, instanceId: null, customerRef: null, requestId, loopCap: 4, signal: new AbortController().signal,
    body: { model: 'gpt-test', messages: [{ role: 'user', content: 'slow please' }] }, toolSet: toolSetNow(), refreshToolSet: toolSetNow,
  });
  const secondTurnHasNoTools = (req: { body: Record<string, unknown> | null }): void => {
    assert.equal(req.body!.tools, undefined, 'the grant was revoked during the tool call: no tools on the next turn');
    assert.equal(req.body!.tool_choice, undefined);
  };
  /** Revokes the grant as soon as the MCP server has the slow call (it runs for 400 ms more). */
  const revokeDuringCall = async (callsBefore: number): Promise<void> => {
    await waitFor('the slow tool call to start', () => mcp.calls.length === callsBefore + 1);
    granted = [];
  };
  const slow = [{ id: 'call_slow', name: 'crm__slow', arguments: { ms: 400 } }];

  try {
    // Streaming.
    granted = [crmId];
    upstream.script(
      { expect: (req) => assert.ok(toolNames(req).includes('crm__slow'), 'the first turn offers the granted tools'), sse: toolCallChunks(slow) },
      { expect: secondTurnHasNoTools, sse: contentChunks(['done ', 'without tools']) },
    );
    const streamRevoked = revokeDuringCall(mcp.calls.length);
    const streamed = await streamedThroughHttp((sink) => engine.stream(request('req_loop_refresh_stream'), sink, false), errors);
    await streamRevoked;
    assert.equal(streamed.status, 200);
    const events = streamed.text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
    assert.equal(events.at(-1), '[DONE]');
    const text = events.slice(0, -1).map((e) => JSON.parse(e).choices?.[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'done without tools');
    assert.ok(!streamed.text.includes('tool_calls'), 'the caller never sees the injected tool calls');

    // JSON: the same engine, the same refresh.
    granted = [crmId];
    upstream.script(
      { expect: (req) => assert.ok(toolNames(req).includes('crm__slow')), json: chatCompletion({ toolCalls: slow }) },
      { expect: secondTurnHasNoTools, json: chatCompletion({ content: 'done without tools' }) },
    );
    const jsonRevoked = revokeDuringCall(mcp.calls.length);
    const answer = await engine.json(request('req_loop_refresh_json'));
    await jsonRevoked;
    assert.equal(answer.completion.choices[0].message.content, 'done without tools');
    assert.equal(answer.turns, 2);

    assert.equal(upstream.remaining, 0);
    assert.deepEqual(upstream.unexpected, []);
    // Both modes wrote the same rows: two model turns (the stream's flagged so) and the tool call.
    recorder.flush();
    for (const [requestId, stream] of [['req_loop_refresh_stream', 1], ['req_loop_refresh_json', 0]] as const) {
      const rows = t.app.db.prepare('SELECT kind, stream FROM usage_events WHERE request_id = ? ORDER BY kind').all(requestId) as Array<{ kind: string; stream: number | null }>;
      assert.deepEqual(rows.map((r) => r.kind), ['model_turn', 'model_turn', 'tool_call'], requestId);
      assert.deepEqual(rows.filter((r) => r.kind === 'model_turn').map((r) => r.stream), [stream, stream], requestId);
    }
  } finally {
    await pool.close();
  }
});

test('a turn that fails leaves the same records in both modes: a model_turn error row, the error completion and one request_failed event', async () => {
  await using upstream = await startFakeUpstream();
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const installed = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'crm', displayName: 'CRM', url: mcp.url },
  });
  assert.equal(installed.status, 201, installed.text);
  const key = t.key(tenant.orgId).secret;
  const events: LiveEvent[] = [];
  const unsubscribe = t.app.bus.subscribe(tenant.orgId, (e) => events.push(e));
  const echo = [{ id: 'call_1', name: 'crm__echo', arguments: { text: 'ran' } }];
  const chat = async (stream: boolean) => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }], stream }),
    });
    return { status: res.status, requestId: res.headers.get('x-request-id')!, text: await res.text() };
  };
  try {
    // JSON: the second turn is refused by the upstream; the caller gets the mapped error.
    upstream.script({ json: chatCompletion({ toolCalls: echo }) }, { status: 500, json: { error: { message: 'exploded' } } });
    const json = await chat(false);
    assert.equal(json.status, 502, json.text);
    assert.equal(JSON.parse(json.text).error.code, 'upstream_error');

    // Streaming: the second turn breaks in the middle; the caller's stream ends with the error event.
    upstream.script({ sse: toolCallChunks(echo) }, { sse: contentChunks(['half ', 'an ', 'answer']), destroyAfterEvents: 2, chunkDelayMs: 20 });
    const sse = await chat(true);
    assert.equal(sse.status, 200);
    const last = sse.text.split('\n\n').filter((e) => e.startsWith('data: ')).at(-1)!;
    assert.equal(JSON.parse(last.slice(6)).error.code, 'upstream_unreachable');

    t.app.recorder.flush();
    for (const [label, r, errorClass] of [['json', json, 'upstream_error'], ['stream', sse, 'upstream_unreachable']] as const) {
      const rows = t.app.db.prepare('SELECT kind, status, error_class FROM usage_events WHERE request_id = ? ORDER BY kind, status').all(r.requestId) as Array<{ kind: string; status: string; error_class: string | null }>;
      assert.deepEqual(rows.map((x) => `${x.kind}:${x.status}`), ['completion:error', 'model_turn:error', 'model_turn:ok', 'tool_call:ok'], label);
      assert.equal(rows.find((x) => x.kind === 'model_turn' && x.status === 'error')!.error_class, errorClass, label);
      const failed = events.filter((e) => e.requestId === r.requestId && e.type === 'request_failed');
      assert.equal(failed.length, 1, `${label}: one request_failed event`);
      assert.equal(failed[0].errorClass, errorClass, label);
      assert.ok(!events.some((e) => e.requestId === r.requestId && e.type === 'final_answer'), `${label}: no final_answer`);
    }
  } finally {
    unsubscribe();
  }
});
