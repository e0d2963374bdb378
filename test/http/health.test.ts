/**
 * Liveness, readiness and request ids: /healthz and /readyz answer with their checks, /readyz
 * turns 503 once shutdown has begun (seen on a connection that is still open), every response
 * carries x-request-id and a valid incoming one is echoed. Also what a graceful close owes the
 * requests still in flight: their answers, their usage events, and no connection left hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, type TestApp } from '../helpers/app.ts';
import { chatCompletion, contentChunks, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { sleep, tryConnect, waitFor } from '../helpers/factories.ts';
import { openDb } from '../../src/storage/db.ts';
import { defaultRequestId } from '../../src/http/request-context.ts';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];

/** A raw loopback socket to the app that collects everything the server sends. */
async function rawSocket(t: TestApp): Promise<{ sock: net.Socket; received(): string; closed: Promise<void> }> {
  const sock = net.connect({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
  let got = '';
  sock.on('data', (c: Buffer) => (got += c.toString('utf8')));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  return { sock, received: () => got, closed };
}

function chatRequest(key: string, extra = ''): string {
  const body = JSON.stringify({ model: 'gpt-test', messages: MESSAGES });
  return `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

test('/healthz and /readyz answer 200 with their checks', async () => {
  await using t = await startApp();
  const h = await t.api('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.deepEqual(h.json, { status: 'ok' });
  const r = await t.api('GET', '/readyz');
  assert.equal(r.status, 200);
  const { database, storage, usageDropped, shuttingDown } = r.json.checks;
  assert.deepEqual({ status: r.json.status, checks: { database, storage, usageDropped, shuttingDown } }, { status: 'ready', checks: { database: 'ok', storage: 'ok', usageDropped: 0, shuttingDown: false } });
  assert.deepEqual(Object.keys(r.json.checks).sort(), ['database', 'publicBaseUrl', 'queue', 'shuttingDown', 'storage', 'upstream', 'usageDropped', 'worker'], 'the rest: test/http/readiness.test.ts');
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  // No credentials needed, and none looked at.
  assert.equal((await t.api('GET', '/healthz', { headers: { authorization: 'Bearer garbage' } })).status, 200);
});

test('/readyz turns 503 as soon as shutdown begins, on a connection still open for an in-flight request', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const key = t.key(t.tenant().orgId);
  upstream.script({ json: chatCompletion({ content: 'slow answer' }), delayMs: 600 });
  const conn = await rawSocket(t);
  conn.sock.write(chatRequest(key.secret));
  await waitFor('the slow request to reach the upstream', () => upstream.requests.length === 1);
  const closing = t.app.close();
  // Pipelined behind the in-flight request on the same connection, which close() must not cut.
  conn.sock.write('GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  await Promise.race([conn.closed, sleep(5000)]);
  conn.sock.destroy();
  await closing;
  const got = conn.received();
  assert.match(got, /^HTTP\/1\.1 200 OK/, 'the in-flight request was answered');
  assert.match(got, /slow answer/);
  const readyz = got.slice(got.indexOf('HTTP/1.1', 10));
  assert.match(readyz, /^HTTP\/1\.1 503 /, readyz);
  assert.match(readyz, /x-request-id: req_/i);
  const body = JSON.parse(readyz.slice(readyz.indexOf('\r\n\r\n') + 4));
  const { database, storage, usageDropped, shuttingDown } = body.checks;
  assert.deepEqual({ status: body.status, checks: { database, storage, usageDropped, shuttingDown } }, { status: 'not_ready', checks: { database: 'ok', storage: 'ok', usageDropped: 0, shuttingDown: true } });
  assert.equal(await tryConnect(Number(new URL(t.url).port)), 'ECONNREFUSED', 'new connections are refused');
});

test('every response carries x-request-id, fresh and distinct unless a valid one came in', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MAX_BODY_BYTES: '1024' });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  upstream.script(
    { json: chatCompletion({ content: 'x' }) },
    { sse: contentChunks(['a']) },
    { status: 500, json: { error: { message: 'boom' } } },
  );
  const auth = { authorization: `Bearer ${key.secret}` };
  const chat = { model: 'gpt-test', messages: MESSAGES };
  const responses = [
    await t.api('GET', '/healthz'),
    await t.api('GET', '/readyz'),
    await t.api('GET', '/nope'),
    await t.api('DELETE', '/healthz'),
    await t.api('GET', '/me'),
    await t.api('GET', '/me', { token: tenant.ownerToken }),
    await t.api('GET', `/organizations/${tenant.orgId}/keys`, { token: tenant.ownerToken }),
    await t.api('POST', '/v1/chat/completions', { body: chat }),
    await t.api('POST', '/v1/chat/completions', { headers: auth, body: chat }),
    await t.api('POST', '/v1/chat/completions', { headers: auth, body: { ...chat, stream: true } }),
    await t.api('POST', '/v1/chat/completions', { headers: auth, body: chat }),
    await t.api('POST', '/v1/chat/completions', { headers: auth, rawBody: '{' }),
    await t.api('POST', '/v1/chat/completions', { headers: auth, body: { ...chat, pad: 'x'.repeat(2000) } }),
  ];
  assert.deepEqual(responses.map((r) => r.status), [200, 200, 404, 405, 401, 200, 200, 401, 200, 200, 502, 400, 413]);
  const ids = responses.map((r) => r.headers.get('x-request-id'));
  for (const [i, id] of ids.entries()) assert.match(id ?? '', /^req_[A-Za-z0-9]{16,}$/, `response ${i}`);
  assert.equal(new Set(ids).size, ids.length, 'every request gets its own id');
});

test('generated request ids sort by time (usage rows append to their index) and stay unique within a millisecond', async () => {
  const first = Array.from({ length: 1_000 }, () => defaultRequestId());
  assert.equal(new Set(first).size, first.length);
  await sleep(5);
  const later = defaultRequestId();
  assert.ok(first.every((id) => id < later), `${first[0]} < ${later}`);
  assert.match(later, /^req_[0-9a-f]{32}$/);
});

test('a valid incoming x-request-id is echoed (and used for the usage event); an invalid one is replaced', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'x' }) }));
  for (const id of ['abcdefgh', 'trace-1234.5678:span_9', 'A'.repeat(128), '0af7651916cd43dd8448eb211c80319c']) {
    for (const [method, path, token] of [['GET', '/healthz'], ['GET', '/nope'], ['GET', `/organizations/${tenant.orgId}`, tenant.ownerToken]] as const) {
      const res = await t.api(method, path, { token, headers: { 'x-request-id': id } });
      assert.equal(res.headers.get('x-request-id'), id, `${method} ${path} echoes ${id}`);
    }
  }
  const res = await t.api('POST', '/v1/chat/completions', {
    headers: { authorization: `Bearer ${key.secret}`, 'x-request-id': 'client-trace-0001' },
    body: { model: 'gpt-test', messages: MESSAGES },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), 'client-trace-0001');
  const events = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?requestId=client-trace-0001`, { token: tenant.ownerToken });
  assert.equal(events.json.data.length, 1, 'the usage event carries the caller\'s id');

  for (const bad of ['short', 'has space inside', 'A'.repeat(129), 'slash/inside/id', 'quote"inside1', '<script>alert(1)</script>']) {
    const r = await t.api('GET', '/healthz', { headers: { 'x-request-id': bad } });
    const echoed = r.headers.get('x-request-id') ?? '';
    assert.match(echoed, /^req_[A-Za-z0-9]{16,}$/, `${JSON.stringify(bad)} is replaced`);
  }
});

test('close(): a stream in flight completes and its usage event is stored, not lost', async () => {
  await using upstream = await startFakeUpstream();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const dbFile = t.config.dbFile;
  try {
    const tenant = t.tenant();
    const key = t.key(tenant.orgId);
    // Held after the first event; the rest (and the upstream's end) follow back to back.
    upstream.script({ sse: contentChunks(Array.from({ length: 6 }, (_, i) => `c${i} `)), holdAfterFirstMs: 400 });
    const stream = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES, stream: true });
    let text = '';
    let closing: Promise<void> | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      closing ??= t.app.close();
    }
    assert.equal(text, 'c0 c1 c2 c3 c4 c5 ');
    await closing;
  } finally {
    await t.close();
  }
  const db = openDb({ file: dbFile, readonly: true });
  try {
    const rows = db.prepare('SELECT status, stream, completion_tokens FROM usage_events').all();
    assert.deepEqual(rows, [{ status: 'ok', stream: 1, completion_tokens: 6 }], 'the in-flight request was recorded before the database closed');
  } finally {
    db.close();
  }
});

test('close(): a keep-alive connection left open is closed by PLUGBOARD_SHUTDOWN_TIMEOUT_MS, and close() waits for that', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '500' });
  const key = t.key(t.tenant().orgId);
  upstream.script({ json: chatCompletion({ content: 'slow' }), delayMs: 300 });
  const conn = await rawSocket(t);
  conn.sock.write(chatRequest(key.secret));
  await waitFor('the request to reach the upstream', () => upstream.requests.length === 1);
  const started = Date.now();
  let closedAt = 0;
  const closing = t.app.close().then(() => void (closedAt = Date.now()));
  // The client keeps its connection open after the answer (keep-alive) and sends nothing more.
  const gone = await Promise.race([conn.closed.then(() => true), sleep(3000).then(() => false)]);
  conn.sock.destroy();
  await closing;
  assert.match(conn.received(), /^HTTP\/1\.1 200 OK/);
  assert.ok(gone, 'the server closed the idle keep-alive connection within the shutdown timeout');
  assert.ok(closedAt - started >= 250, `close() resolved after ${closedAt - started} ms, before the in-flight answer was even sent`);
});

test('close(): a stream that outlasts PLUGBOARD_SHUTDOWN_TIMEOUT_MS is cut at the timeout, so shutdown is bounded', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '500' });
  const key = t.key(t.tenant().orgId);
  // About 4 s of stream: far longer than the 500 ms grace period.
  upstream.script({ sse: contentChunks(Array.from({ length: 10 }, (_, i) => `slow${i} `)), chunkDelayMs: 400 });
  const stream = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES, stream: true });
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  const started = Date.now();
  const closed = t.app.close().then(() => Date.now() - started);
  const drained = (async () => {
    // Bounded: the stream has a fixed number of events, or the server cuts it.
    try {
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) { /* keep reading */ }
      return 'completed';
    } catch {
      return 'cut';
    }
  })();
  const took = await Promise.race([closed, sleep(3000).then(() => -1)]);
  assert.ok(took >= 0, 'close() did not resolve within 3 s although the shutdown timeout is 500 ms');
  assert.ok(took >= 400, `close() waited for the grace period (${took} ms)`);
  assert.equal(await drained, 'cut', 'the stream was cut at the timeout');
  await waitFor('the upstream request to be cancelled', () => upstream.requests[0]?.aborted, 3000);
});
