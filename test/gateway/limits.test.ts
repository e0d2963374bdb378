/**
 * Gateway guards that run before the upstream is involved: the per-key rate limit (with OpenAI's
 * x-ratelimit-* headers and Retry-After), the request-body size limit (declared and chunked) and
 * request validation. Refused requests never reach the upstream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatCompletion, contentChunks, startFakeUpstream, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { assertWireError } from '../helpers/factories.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { toolMessages } from '../fakes/openai-upstream.ts';
import { MAX_JSON_DEPTH } from '../../src/net/json-depth.ts';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];

function answerEverything(upstream: FakeUpstream): void {
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
}

interface RawAnswer { status: number; headers: http.IncomingHttpHeaders; json: any; text: string }

/** A raw HTTP request to the gateway; `chunks` are written one by one (chunked unless `contentLength`). */
function rawHttp(t: TestApp, opts: { path?: string; key?: string; headers?: Record<string, string>; chunks: Array<string | Buffer>; contentLength?: boolean }): Promise<RawAnswer> {
  const url = new URL(opts.path ?? '/v1/chat/completions', t.url);
  const body = Buffer.concat(opts.chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.contentLength) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: any = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
      });
      res.on('error', reject);
    });
    // The server may answer (413) and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    for (const c of opts.chunks) req.write(c);
    req.end();
  });
}

function post(t: TestApp, key: string, body: string) {
  return t.api('POST', '/v1/chat/completions', { headers: { authorization: `Bearer ${key}` }, rawBody: body });
}

test('PLUGBOARD_RATE_LIMIT_RPM=2: the third request in a minute is a 429 with Retry-After and x-ratelimit-* headers', async () => {
  await using upstream = await startFakeUpstream();
  answerEverything(upstream);
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_RATE_LIMIT_RPM: '2' });
  const key = t.key(t.tenant().orgId);
  const client = t.openai(key.secret, { maxRetries: 0 });

  const first = await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).withResponse();
  assert.equal(first.response.headers.get('x-ratelimit-limit-requests'), '2');
  assert.equal(first.response.headers.get('x-ratelimit-remaining-requests'), '1');
  assert.match(first.response.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+s$/);
  const second = await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).withResponse();
  assert.equal(second.response.headers.get('x-ratelimit-remaining-requests'), '0');

  let err: unknown;
  try {
    await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof OpenAI.RateLimitError, String(err));
  assert.equal(err.status, 429);
  assert.equal(err.code, 'rate_limit_exceeded');

  const raw = await post(t, key.secret, JSON.stringify({ model: 'gpt-test', messages: MESSAGES }));
  assertWireError(raw, 429, 'rate_limit_exceeded', null);
  const retryAfter = raw.headers.get('retry-after') ?? '';
  assert.match(retryAfter, /^\d+$/, 'Retry-After is whole seconds');
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, retryAfter);
  assert.equal(raw.headers.get('x-ratelimit-limit-requests'), '2');
  assert.equal(raw.headers.get('x-ratelimit-remaining-requests'), '0');
  assert.match(raw.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+s$/);
  assert.match(raw.headers.get('x-request-id') ?? '', /^req_/);

  // /v1/models is behind the same limit.
  const models = await t.api('GET', '/v1/models', { headers: { authorization: `Bearer ${key.secret}` } });
  assertWireError(models, 429, 'rate_limit_exceeded');
  assert.equal(upstream.requests.length, 2, 'refused requests never reach the upstream');
});

test('limits are per key: another key of the same or another organisation is unaffected', async () => {
  await using upstream = await startFakeUpstream();
  answerEverything(upstream);
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_RATE_LIMIT_RPM: '2' });
  const orgA = t.tenant('A').orgId;
  const orgB = t.tenant('B').orgId;
  const a1 = t.key(orgA);
  const a2 = t.key(orgA);
  const b1 = t.key(orgB);
  const body = JSON.stringify({ model: 'gpt-test', messages: MESSAGES });
  for (let i = 0; i < 2; i++) assert.equal((await post(t, a1.secret, body)).status, 200);
  assertWireError(await post(t, a1.secret, body), 429, 'rate_limit_exceeded');
  for (const other of [a2, b1]) {
    const r1 = await post(t, other.secret, body);
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('x-ratelimit-remaining-requests'), '1', 'a fresh budget');
    assert.equal((await post(t, other.secret, body)).status, 200);
    assertWireError(await post(t, other.secret, body), 429, 'rate_limit_exceeded');
  }
  assert.equal(upstream.requests.length, 6);
});

test('a key\'s own rateLimitRpm overrides the default (lower, higher, 0 = unlimited) and a PATCH applies at once', async () => {
  await using upstream = await startFakeUpstream();
  answerEverything(upstream);
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_RATE_LIMIT_RPM: '2' });
  const tenant = t.tenant();
  const body = JSON.stringify({ model: 'gpt-test', messages: MESSAGES });

  const strict = t.key(tenant.orgId, { rateLimitRpm: 1 });
  const ok = await post(t, strict.secret, body);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('x-ratelimit-limit-requests'), '1');
  const refused = await post(t, strict.secret, body);
  assertWireError(refused, 429, 'rate_limit_exceeded');
  assert.equal(refused.headers.get('x-ratelimit-limit-requests'), '1');

  const generous = t.key(tenant.orgId, { rateLimitRpm: 5 });
  for (let i = 0; i < 5; i++) assert.equal((await post(t, generous.secret, body)).status, 200, `request ${i + 1} of 5`);
  assertWireError(await post(t, generous.secret, body), 429, 'rate_limit_exceeded');

  const unlimited = t.key(tenant.orgId, { rateLimitRpm: 0 });
  for (let i = 0; i < 4; i++) {
    const r = await post(t, unlimited.secret, body);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), null, 'no limit, no limit headers');
  }

  // Lower the default key's limit through the control panel: the next request already obeys it.
  const plain = t.key(tenant.orgId);
  assert.equal((await post(t, plain.secret, body)).status, 200);
  const patched = await t.api('PATCH', `/organizations/${tenant.orgId}/keys/${plain.id}`, { token: tenant.ownerToken, body: { rateLimitRpm: 1 } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.rateLimitRpm, 1);
  const afterPatch = await post(t, plain.secret, body);
  assert.equal(afterPatch.headers.get('x-ratelimit-limit-requests'), '1', afterPatch.text);
  assertWireError(await post(t, plain.secret, body), 429, 'rate_limit_exceeded');
});

test('a body over PLUGBOARD_MAX_BODY_BYTES is a 413 request_too_large, with Content-Length and chunked', async () => {
  await using upstream = await startFakeUpstream();
  answerEverything(upstream);
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MAX_BODY_BYTES: '2048' });
  const key = t.key(t.tenant().orgId);
  const big = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'x'.repeat(3000) }] });

  const declared = await rawHttp(t, { key: key.secret, chunks: [big], contentLength: true });
  assertWireError(declared, 413, 'request_too_large', null, 'declared length');
  assert.equal(declared.json.error.type, 'invalid_request_error');
  assert.match(String(declared.headers['x-request-id']), /^req_/);

  const chunks = [big.slice(0, 1000), big.slice(1000, 2000), big.slice(2000)];
  const chunked = await rawHttp(t, { key: key.secret, chunks });
  assertWireError(chunked, 413, 'request_too_large', null, 'chunked');

  const sdkErr = await t.openai(key.secret).chat.completions
    .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'y'.repeat(5000) }] })
    .then(() => null, (e: unknown) => e);
  assert.ok(sdkErr instanceof OpenAI.APIError);
  assert.equal(sdkErr.status, 413);
  assert.equal(sdkErr.code, 'request_too_large');
  assert.equal(upstream.requests.length, 0, 'the upstream was never called');

  // A body of exactly the limit is accepted.
  const base = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: '' }] });
  const exact = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'z'.repeat(2048 - base.length) }] });
  assert.equal(Buffer.byteLength(exact), 2048);
  const accepted = await rawHttp(t, { key: key.secret, chunks: [exact], contentLength: true });
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(upstream.requests.length, 1);
});

test('malformed, non-object and mistyped bodies are 400s naming the param; the upstream is never called', async () => {
  await using upstream = await startFakeUpstream();
  answerEverything(upstream);
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const { orgId } = t.tenant();
  const key = t.key(orgId);
  const cases: Array<[label: string, body: string, code: string, param: string | null]> = [
    ['malformed JSON', '{"model": "gpt-test", "messages": [', 'invalid_json', null],
    ['trailing garbage', '{"model":"gpt-test","messages":[]} x', 'invalid_json', null],
    ['empty body', '', 'missing_body', null],
    ['array body', '[{"model":"gpt-test"}]', 'invalid_body', null],
    ['string body', '"hello"', 'invalid_body', null],
    ['number body', '42', 'invalid_body', null],
    ['null body', 'null', 'invalid_body', null],
    ['missing model', JSON.stringify({ messages: MESSAGES }), 'missing_required_parameter', 'model'],
    ['model: 5', JSON.stringify({ model: 5, messages: MESSAGES }), 'invalid_type', 'model'],
    ['model: ""', JSON.stringify({ model: '', messages: MESSAGES }), 'invalid_type', 'model'],
    ['missing messages', JSON.stringify({ model: 'gpt-test' }), 'missing_required_parameter', 'messages'],
    ['messages: "x"', JSON.stringify({ model: 'gpt-test', messages: 'x' }), 'invalid_type', 'messages'],
    ['messages: []', JSON.stringify({ model: 'gpt-test', messages: [] }), 'empty_array', 'messages'],
    ['messages: [5]', JSON.stringify({ model: 'gpt-test', messages: [5] }), 'invalid_type', 'messages[0]'],
    ['message without role', JSON.stringify({ model: 'gpt-test', messages: [...MESSAGES, { content: 'x' }] }), 'invalid_type', 'messages[1]'],
    ['stream: "yes"', JSON.stringify({ model: 'gpt-test', messages: MESSAGES, stream: 'yes' }), 'invalid_type', 'stream'],
    ['tools: {}', JSON.stringify({ model: 'gpt-test', messages: MESSAGES, tools: {} }), 'invalid_type', 'tools'],
  ];
  for (const [label, body, code, param] of cases) {
    const res = await post(t, key.secret, body);
    assertWireError(res, 400, code, param, label);
    assert.equal(res.json.error.type, 'invalid_request_error', label);
  }

  // The same through the SDK: BadRequestError with .param.
  for (const [body, param] of [
    [{ model: 5, messages: MESSAGES }, 'model'],
    [{ model: 'gpt-test', messages: 'x' }, 'messages'],
    [{ model: 'gpt-test', messages: MESSAGES, stream: 'yes' }, 'stream'],
  ] as const) {
    const err = await t.openai(key.secret).chat.completions.create(body as any).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.param, param);
  }
  assert.equal(upstream.requests.length, 0, 'the upstream was never called');
  t.app.recorder.flush();
  const failures = t.app.db.prepare("SELECT status, http_status FROM usage_events WHERE org_id = ? AND status = 'ok'").all(orgId);
  assert.deepEqual(failures, [], 'a refused request is never recorded as a success');
});

/** A chat body whose `metadata` nests `depth` levels in all (the body object counts as 1). */
function nestedChat(depth: number, extra: Record<string, unknown> = {}): string {
  const head = JSON.stringify({ model: 'gpt-test', messages: MESSAGES, ...extra }).slice(0, -1);
  return `${head},"metadata":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

test(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is a 400 json_too_deep on every gateway path (passthrough, streaming, plugins); at the limit it passes`, async () => {
  await using upstream = await startFakeUpstream();
  answerEverything(upstream);
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const plain = t.tenant('Plain');
  const withPlugin = t.tenant('With plugin');
  const installed = await t.api('POST', `/organizations/${withPlugin.orgId}/mcp-integrations`, { token: withPlugin.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(installed.status, 201, installed.text);
  const keys = { passthrough: t.key(plain.orgId).secret, plugins: t.key(withPlugin.orgId).secret };
  // Under the 8 MiB body limit; the old code overflowed JSON.stringify's stack on these (500) or passed them on (200).
  for (const depth of [MAX_JSON_DEPTH + 1, 5_000, 1_000_000]) {
    for (const [path, key] of Object.entries(keys)) {
      for (const stream of [false, true]) {
        const label = `${path}, ${stream ? 'streaming' : 'JSON'}, depth ${depth}`;
        const res = await post(t, key, nestedChat(depth, stream ? { stream: true } : {}));
        assertWireError(res, 400, 'json_too_deep', null, label);
        assert.equal(res.json.error.type, 'invalid_request_error', label);
      }
    }
  }
  assert.equal(upstream.requests.length, 0, 'the upstream was never called');
  assert.ok(t.logs.every((l) => !l.includes('"level":"error"')), 'nothing was logged as an error');

  for (const [path, key] of Object.entries(keys)) {
    for (const stream of [false, true]) {
      if (stream) upstream.script({ sse: contentChunks(['ok']) });
      const res = await post(t, key, nestedChat(MAX_JSON_DEPTH, stream ? { stream: true } : {}));
      assert.equal(res.status, 200, `${path}, ${stream ? 'streaming' : 'JSON'} at the limit: ${res.text.slice(0, 200)}`);
    }
  }
  assert.equal(upstream.requests.length, 4);
  assert.ok(upstream.requests.every((r) => JSON.stringify(r.body).includes('['.repeat(MAX_JSON_DEPTH - 1))), 'the nested field reached the upstream as sent');
});

test(`tool-call arguments nested deeper than ${MAX_JSON_DEPTH} levels are refused to the model as invalid_arguments, never run`, async () => {
  await using upstream = await startFakeUpstream();
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const installed = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(installed.status, 201, installed.text);
  const deep = `{"text":"x","extra":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ id: 'call_deep', name: 'crm__echo', arguments: deep }] }) },
    {
      expect(req) {
        const [msg] = toolMessages(req);
        assert.match(msg.content, /status="error"/);
        assert.match(msg.content, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
      },
      json: chatCompletion({ content: 'done' }),
    },
  );
  const r = await t.openai(t.key(tenant.orgId).secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  assert.equal(r.choices[0].message.content, 'done');
  assert.equal(upstream.remaining, 0);
  assert.equal(mcp.calls.length, 0, 'the tool never ran');
});
