import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startApp, tempDir } from '../helpers/app.ts';
import { usageRows } from '../helpers/factories.ts';
import { chatCompletion, contentChunks, startFakeUpstream, toolCallChunks } from '../fakes/openai-upstream.ts';

test('non-streaming completion passes through via the openai SDK, with request id, usage event and untouched unknown fields', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({
    expect(req) {
      assert.equal(req.path, '/v1/chat/completions');
      assert.equal(req.headers.authorization, 'Bearer sk-upstream-test-key', 'the upstream gets the appliance key, never the gateway key');
      assert.equal((req.body as any).my_vendor_field, 'keep-me');
      assert.deepEqual((req.body as any).metadata, { nested: [1, 2] });
    },
    json: chatCompletion({ content: 'Hello there', usage: { prompt_tokens: 12, completion_tokens: 3 } }),
  });
  const client = t.openai(key.secret);
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], my_vendor_field: 'keep-me', metadata: { nested: [1, 2] } } as any)
    .withResponse();
  assert.equal(data.choices[0].message.content, 'Hello there');
  const requestId = response.headers.get('x-request-id');
  assert.match(requestId ?? '', /^req_/);
  assert.equal(upstream.remaining, 0);

  t.app.recorder.flush();
  const owner = t.app.repos.orgs.listMembers(orgId)[0];
  assert.ok(owner);
  const events = t.app.repos.db.prepare('SELECT * FROM usage_events WHERE org_id = ?').all(orgId) as any[];
  assert.equal(events.length, 1);
  assert.equal(events[0].request_id, requestId);
  assert.equal(events[0].key_id, key.id);
  assert.equal(events[0].model, 'gpt-test');
  assert.equal(events[0].prompt_tokens, 12);
  assert.equal(events[0].completion_tokens, 3);
  assert.equal(events[0].status, 'ok');
  assert.equal(events[0].kind, 'completion');
  for (const line of t.logs) {
    assert.ok(!line.includes(key.secret), 'logs never hold the gateway key');
    assert.ok(!line.includes('Hello there') && !line.includes('"hi"'), 'logs never hold message bodies');
  }
});

test('streaming: the first chunk reaches the client before the upstream finishes; [DONE] ends it', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  const HOLD = 600;
  upstream.script({ sse: contentChunks(['Hel', 'lo', ' world']), holdAfterFirstMs: HOLD });
  const started = Date.now();
  const stream = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let firstAt = 0;
  let text = '';
  let chunks = 0;
  for await (const c of stream) {
    if (!firstAt) firstAt = Date.now() - started;
    chunks++;
    text += c.choices[0]?.delta?.content ?? '';
  }
  const total = Date.now() - started;
  assert.equal(text, 'Hello world');
  assert.ok(firstAt < HOLD - 100, `first chunk after ${firstAt} ms, upstream held ${HOLD} ms`);
  assert.ok(total >= HOLD, 'the stream lasted as long as the upstream');
  assert.equal(chunks, 5, 'role chunk, three content chunks, stop chunk — the usage chunk the client did not ask for is dropped');
  const sent = upstream.requests[0].body as any;
  assert.deepEqual(sent.stream_options, { include_usage: true }, 'the gateway always asks the upstream for usage');
  t.app.recorder.flush();
  const ev = t.app.repos.db.prepare('SELECT * FROM usage_events').get() as any;
  assert.equal(ev.stream, 1);
  assert.equal(ev.completion_tokens, 3);
});

test('streaming: the answer ends with the upstream\'s [DONE], its usage row already safe, while the upstream is slow to end its body', async () => {
  await using upstream = await startFakeUpstream();
  const dataDir = tempDir();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_DATA_DIR: dataDir });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  const HOLD = 1500;
  const events = contentChunks(['Hel', 'lo'], { usage: { prompt_tokens: 7, completion_tokens: 2 } });
  // The upstream pauses after its [DONE] (the last event) before it ends the body.
  upstream.script({ sse: events, holdAfterEvent: events.length + 1, holdAfterFirstMs: HOLD }, { json: chatCompletion({ content: 'next' }) });
  const started = Date.now();
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true }),
  });
  const text = await res.text();
  const total = Date.now() - started;
  assert.equal(res.status, 200);
  assert.ok(text.endsWith('data: [DONE]\n\n'), 'the whole stream, [DONE] last');
  assert.ok(total < HOLD - 500, `the answer ended ${total} ms after the request, not when the upstream ended its body (${HOLD} ms)`);
  assert.equal(upstream.requests[0].finished, false, 'the upstream had not ended its body yet');
  const requestId = res.headers.get('x-request-id')!;
  const journaled = fs.readFileSync(path.join(dataDir, 'usage.journal'), 'utf8').includes(`"requestId":"${requestId}"`);
  assert.ok(journaled || usageRows(t.app.db, orgId).some((r) => r.request_id === requestId), 'the usage row was safe before the answer ended');
  // The rest of the upstream's body is read and dropped; the gateway goes on serving.
  const next = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'again' }] });
  assert.equal(next.choices[0].message.content, 'next');
  for (let i = 0; i < 100 && !upstream.requests[0].finished; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(upstream.requests[0].finished, true, 'the upstream ended its body later');
  t.app.recorder.flush();
  const row = usageRows(t.app.db, orgId).find((r) => r.request_id === requestId);
  assert.equal(row?.status, 'ok');
  assert.equal(row?.prompt_tokens, 7);
  assert.equal(row?.completion_tokens, 2);
});

test('streaming with stream_options.include_usage: the usage chunk reaches the client', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  upstream.script({ sse: contentChunks(['a', 'b'], { usage: { prompt_tokens: 7, completion_tokens: 2 } }) });
  const stream = await t.openai(key.secret).chat.completions.create({
    model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
  });
  let usage: unknown = null;
  for await (const c of stream) if (c.usage) usage = c.usage;
  assert.deepEqual(usage, { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
});

test('tool-call fields pass through untouched, streaming and not', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ id: 'call_abc', name: 'get_weather', arguments: { city: 'Paris' } }] }) },
    { sse: toolCallChunks([{ id: 'call_def', name: 'get_weather', arguments: { city: 'Oslo' } }]) },
  );
  const client = t.openai(key.secret);
  const r = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'weather?' }], tools, tool_choice: 'auto' });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(r.choices[0].message.tool_calls?.[0], { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
  assert.deepEqual((upstream.requests[0].body as any).tools, tools);

  const s = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'weather?' }], tools, stream: true });
  let args = '';
  let name = '';
  let finish = '';
  for await (const c of s) {
    const tc = c.choices[0]?.delta?.tool_calls?.[0];
    if (tc?.function?.name) name = tc.function.name;
    args += tc?.function?.arguments ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(name, 'get_weather');
  assert.equal(args, '{"city":"Oslo"}');
  assert.equal(finish, 'tool_calls');
});

test('model aliases are resolved and listed by /v1/models', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MODEL_ALIASES: 'fast=gpt-test,smart=gpt-big' });
  const key = t.key(t.tenant().orgId);
  upstream.script({ expect: (req) => assert.equal((req.body as any).model, 'gpt-big'), json: chatCompletion({ content: 'x', model: 'gpt-big' }) });
  const client = t.openai(key.secret);
  await client.chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] });
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['fast', 'gpt-test', 'smart']);
  assert.equal(upstream.remaining, 0);
});

test('a client that disconnects mid-stream aborts the upstream request', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  upstream.script({ sse: contentChunks(Array.from({ length: 50 }, (_, i) => `p${i} `)), chunkDelayMs: 100 });
  const ac = new AbortController();
  const stream = await t.openai(key.secret).chat.completions.create(
    { model: 'gpt-test', messages: [{ role: 'user', content: 'long' }], stream: true },
    { signal: ac.signal },
  );
  let n = 0;
  try {
    for await (const _ of stream) {
      if (++n === 2) ac.abort();
    }
  } catch {
    // aborted
  }
  const deadline = Date.now() + 3000;
  while (!upstream.requests[0]?.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(upstream.requests[0].aborted, true, 'the upstream saw the request cancelled');
  assert.equal(upstream.requests[0].finished, false);
});

test('a client that disconnects before a non-streaming answer aborts the upstream request', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  upstream.script({ hang: true });
  const ac = new AbortController();
  const p = t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
  const deadline = Date.now() + 3000;
  while (upstream.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  ac.abort();
  await assert.rejects(p);
  while (!upstream.requests[0]?.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(upstream.requests[0].aborted, true);
});
