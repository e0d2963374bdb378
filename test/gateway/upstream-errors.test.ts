/**
 * Upstream failures of every kind, seen through the real `openai` SDK: 4xx passed on with the
 * provider's message, 429 keeping Retry-After, 5xx/garbage → 502 with a safe message, the
 * appliance's own upstream credentials refused → 502, hangs → 504, unreachable → 502, and a
 * stream that breaks after its headers → a final SSE error event. Every failure is a usage event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startApp, type TestApp } from '../helpers/app.ts';
import { contentChunks, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { assertWireError, freePort, usageRows } from '../helpers/factories.ts';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];
/** Text the upstream puts in its 5xx answers; it must never reach the caller. */
const UPSTREAM_SECRET_TEXT = 'db-primary-7 stack trace: NullPointerException at secret.internal';

async function failureOf(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request was expected to fail');
}

/** The single usage event of the organisation, after a flush. */
function onlyUsage(t: TestApp, orgId: string): Record<string, any> {
  t.app.recorder.flush();
  const rows = usageRows(t.app.db, orgId);
  assert.equal(rows.length, 1, `exactly one usage event expected, got ${JSON.stringify(rows)}`);
  return rows[0];
}

async function rawChat(t: TestApp, key: string, body: unknown = { model: 'gpt-test', messages: MESSAGES }) {
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

test('upstream 400 with an OpenAI error body is passed on with its message, type, code and param', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({
    status: 400,
    json: { error: { message: "Invalid value for 'temperature': must be at most 2.", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } },
  });
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES, temperature: 9 }));
  assert.ok(err instanceof OpenAI.BadRequestError);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'invalid_value');
  assert.equal(err.param, 'temperature');
  assert.equal(err.type, 'invalid_request_error');
  assert.match(err.message, /Invalid value for 'temperature': must be at most 2\./);
  assert.match(err.requestID ?? '', /^req_/, 'error answers carry x-request-id too');

  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.http_status, 400);
  assert.equal(ev.error_class, 'invalid_value');
  assert.equal(ev.key_id, key.id);
  assert.equal(upstream.remaining, 0);
});

test('an upstream 4xx message is bounded in length', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  upstream.script({ status: 422, json: { error: { message: 'x'.repeat(50_000), type: 'invalid_request_error', code: 'too_long' } } });
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.UnprocessableEntityError);
  assert.equal(err.code, 'too_long');
  assert.ok(err.message.length <= 1100, `message of ${err.message.length} characters`);
});

test('upstream 404 model_not_found is passed on as a 404', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({
    status: 404,
    json: { error: { message: 'The model `gpt-nope` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' } },
  });
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-nope', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.NotFoundError);
  assert.equal(err.status, 404);
  assert.equal(err.code, 'model_not_found');
  assert.match(err.message, /gpt-nope/);
  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.http_status, 404);
  assert.equal(ev.model, 'gpt-nope');
});

test('other upstream 4xx bodies: a bare string error is passed on; a non-JSON body gets a generic message', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script(
    // Ollama and some proxies answer `{"error": "<text>"}`.
    { status: 404, json: { error: 'model "llama9" not found, try pulling it first' } },
    { status: 400, text: 'Bad Request: <b>nope</b>' },
  );
  const client = t.openai(key.secret);
  const bare = await failureOf(client.chat.completions.create({ model: 'llama9', messages: MESSAGES }));
  assert.ok(bare instanceof OpenAI.NotFoundError);
  assert.match(bare.message, /model "llama9" not found/);
  assert.equal(bare.code, 'upstream_rejected');

  const raw = await rawChat(t, key.secret);
  assertWireError(raw, 400, 'upstream_rejected', null);
  assert.match(raw.json.error.message, /HTTP 400/);
  assert.ok(!raw.text.includes('<b>'), 'a non-JSON body is not relayed');
  assert.equal(upstream.remaining, 0);
  t.app.recorder.flush();
  assert.deepEqual(usageRows(t.app.db, orgId).map((r) => [r.status, r.http_status]), [['error', 404], ['error', 400]]);
});

test('upstream 429 stays a 429 and keeps Retry-After and the provider rate-limit headers', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  const body = { error: { message: 'Rate limit reached for gpt-test on tokens per min.', type: 'tokens', param: null, code: 'rate_limit_exceeded' } };
  const headers = { 'retry-after': '7', 'x-ratelimit-remaining-tokens': '0', 'x-upstream-internal': 'must-not-leak' };
  upstream.script({ status: 429, json: body, headers }, { status: 429, json: body, headers });

  const err = await failureOf(t.openai(key.secret, { maxRetries: 0 }).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.RateLimitError);
  assert.equal(err.status, 429);
  assert.equal(err.code, 'rate_limit_exceeded');
  assert.match(err.message, /Rate limit reached for gpt-test/);
  assert.equal(err.headers?.get('retry-after'), '7');

  const raw = await rawChat(t, key.secret);
  assertWireError(raw, 429, 'rate_limit_exceeded');
  assert.equal(raw.headers.get('retry-after'), '7');
  assert.equal(raw.headers.get('x-ratelimit-remaining-tokens'), '0');
  assert.equal(raw.headers.get('x-upstream-internal'), null, 'only rate-limit headers are passed on');
  assert.equal(upstream.remaining, 0);

  t.app.recorder.flush();
  const rows = usageRows(t.app.db, orgId);
  assert.equal(rows.length, 2);
  for (const r of rows) {
    assert.equal(r.status, 'error');
    assert.equal(r.http_status, 429);
  }
});

for (const status of [500, 503]) {
  test(`upstream ${status} becomes 502 with a safe message that hides the upstream's text`, async () => {
    await using upstream = await startFakeUpstream();
    await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
    const { orgId } = t.tenant();
    const key = t.key(orgId);
    const answer = { status, json: { error: { message: UPSTREAM_SECRET_TEXT, type: 'server_error', code: 'internal' } }, headers: { 'retry-after': '1' } };
    upstream.script(answer, answer);
    const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
    assert.ok(err instanceof OpenAI.InternalServerError);
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_error');
    assert.ok(!err.message.includes('NullPointerException') && !err.message.includes('db-primary-7'), err.message);

    const raw = await rawChat(t, key.secret);
    assertWireError(raw, 502, 'upstream_error', null);
    assert.ok(!raw.text.includes('secret.internal'));
    assert.equal(raw.json.error.type, 'upstream_error');

    t.app.recorder.flush();
    const rows = usageRows(t.app.db, orgId);
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.status === 'error' && r.http_status === 502 && r.error_class === 'upstream_error'), JSON.stringify(rows));
    for (const line of t.logs) assert.ok(!line.includes('NullPointerException'), 'the upstream body is not logged either');
  });
}

test('a streaming request whose upstream fails before any byte gets a plain 502, not a stream', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({ status: 500, json: { error: { message: UPSTREAM_SECRET_TEXT } } });
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES, stream: true }));
  assert.ok(err instanceof OpenAI.InternalServerError);
  assert.equal(err.status, 502);
  assert.ok(!err.message.includes('NullPointerException'));
  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.stream, 1);
});

test('an upstream 502 HTML page becomes a 502 in the OpenAI error shape', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  const page = '<html><head><title>502 Bad Gateway</title></head><body><center>nginx/1.25.3 upstream-host-42</center></body></html>';
  upstream.script({ status: 502, text: page, headers: { 'content-type': 'text/html' } }, { status: 502, text: page, headers: { 'content-type': 'text/html' } });
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.InternalServerError);
  assert.equal(err.status, 502);
  assert.equal(err.code, 'upstream_error');
  const raw = await rawChat(t, key.secret);
  assertWireError(raw, 502, 'upstream_error');
  assert.match(raw.headers.get('content-type') ?? '', /application\/json/);
  assert.ok(!raw.text.includes('nginx') && !raw.text.includes('upstream-host-42'));
  t.app.recorder.flush();
  assert.ok(usageRows(t.app.db, orgId).every((r) => r.status === 'error' && r.http_status === 502));
});

for (const status of [401, 403]) {
  test(`upstream ${status} is the appliance's own upstream key failing: 502 upstream_auth_failed, not the caller's 401`, async () => {
    await using upstream = await startFakeUpstream();
    await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
    const { orgId } = t.tenant();
    const key = t.key(orgId);
    upstream.script({ status, json: { error: { message: 'Incorrect API key provided: sk-upstr*****-key.', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
    assert.ok(!(err instanceof OpenAI.AuthenticationError), 'the caller\'s key is fine; it must not look like it is not');
    assert.ok(err instanceof OpenAI.InternalServerError);
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_auth_failed');
    assert.ok(!err.message.includes('sk-upstr'), err.message);
    const ev = onlyUsage(t, orgId);
    assert.equal(ev.status, 'error');
    assert.equal(ev.error_class, 'upstream_auth_failed');
  });
}

test('an upstream that never answers gives 504 upstream_timeout after PLUGBOARD_UPSTREAM_TIMEOUT_MS', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_UPSTREAM_TIMEOUT_MS: '300' });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({ hang: true });
  const started = Date.now();
  const err = await failureOf(t.openai(key.secret, { timeout: 10_000 }).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  const took = Date.now() - started;
  assert.equal(err.status, 504);
  assert.equal(err.code, 'upstream_timeout');
  assert.ok(took >= 250 && took < 5000, `answered after ${took} ms`);
  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.http_status, 504);
  assert.equal(ev.error_class, 'upstream_timeout');
});

test('an upstream that stalls mid-stream ends the stream with a timeout error event', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_UPSTREAM_TIMEOUT_MS: '300' });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({ sse: contentChunks(['a', 'b']), holdAfterFirstMs: 3000 });
  const stream = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES, stream: true });
  let chunks = 0;
  const err = await failureOf((async () => {
    for await (const _ of stream) chunks++;
  })());
  assert.equal(chunks, 1);
  assert.equal(err.code, 'upstream_timeout');
  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.http_status, 504);
});

test('an unreachable upstream (closed port) gives 502 upstream_unreachable', async () => {
  const port = await freePort();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: `http://127.0.0.1:${port}/v1` });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.InternalServerError);
  assert.equal(err.status, 502);
  assert.equal(err.code, 'upstream_unreachable');
  assert.ok(!err.message.includes('ECONNREFUSED') && !err.message.includes(String(port)), `no transport detail leaks: ${err.message}`);
  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.error_class, 'upstream_unreachable');

  const models = await failureOf(t.openai(key.secret).models.list());
  assert.equal(models.status, 502);
  assert.equal(models.code, 'upstream_unreachable');
});

test('an upstream that destroys the socket without answering gives 502', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({ destroy: true });
  const err = await failureOf(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.equal(err.status, 502);
  assert.equal(err.code, 'upstream_unreachable');
  assert.equal(upstream.requests.length, 1, 'a POST is not retried against the upstream');
  const ev = onlyUsage(t, orgId);
  assert.equal(ev.status, 'error');
  assert.equal(ev.http_status, 502);
});

test('a stream that breaks after its headers ends with a final error event the SDK raises as an APIError', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  upstream.script({ sse: contentChunks(['one', 'two', 'three', 'four']), destroyAfterEvents: 2, chunkDelayMs: 10 });
  const stream = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES, stream: true });
  let text = '';
  let chunks = 0;
  const err = await failureOf((async () => {
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta?.content ?? '';
    }
  })());
  assert.equal(chunks, 2, 'the chunks before the break reached the client');
  assert.equal(text, 'one');
  assert.equal(err.code, 'upstream_unreachable');
  assert.equal(err.type, 'upstream_error');
  assert.ok(err.message.length > 0);

  // The same through raw SSE: the last event is the error, and no [DONE] follows it.
  // (A small gap between events lets the fake flush them before it destroys the socket.)
  upstream.script({ sse: contentChunks(['one', 'two']), destroyAfterEvents: 2, chunkDelayMs: 10 });
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-test', messages: MESSAGES, stream: true }),
  });
  const body = await res.text();
  assert.equal(res.status, 200);
  const events = body.split('\n\n').filter(Boolean);
  const last = JSON.parse(events[events.length - 1].replace(/^data: /, '')) as { error?: { code?: string; type?: string; message?: string; param?: unknown } };
  assert.equal(last.error?.code, 'upstream_unreachable');
  assert.deepEqual(Object.keys(last.error ?? {}).sort(), ['code', 'message', 'param', 'type']);
  assert.ok(!body.includes('[DONE]'));

  t.app.recorder.flush();
  const rows = usageRows(t.app.db, orgId);
  assert.equal(rows.length, 2);
  for (const r of rows) {
    assert.equal(r.status, 'error');
    assert.equal(r.stream, 1);
    assert.equal(r.http_status, 502);
    assert.equal(r.error_class, 'upstream_unreachable');
  }
});
