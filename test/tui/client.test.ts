/**
 * The TUI's API client against a tiny loopback server: JSON calls carry the bearer token and
 * X-Org-Id, errors become ApiError, the SSE reader parses events split anywhere (even inside a
 * UTF-8 character), reconnects with backoff, and cancellation stops requests and streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ApiError, backoffDelay, createApiClient, type StreamStatus } from '../../tui/client.ts';
import { createSseParser, type SseMessage } from '../../tui/sse.ts';
import { createScope, createSlot, isAbortError } from '../../tui/tasks.ts';
import type { LiveEvent } from '../../src/shared/api.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, check: () => T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline.
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void | Promise<void>;

async function startServer(handler: Handler) {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const closed: string[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    seen.push(s);
    res.once('close', () => closed.push(s.url));
    await handler(req, res, s);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, seen, closed,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

test('JSON calls send the bearer token, X-Org-Id on organisation calls, and JSON bodies', async () => {
  await using srv = await startServer((req, res, s) => {
    if (s.url === '/me') return json(res, 200, { id: 'u1', object: 'user', name: 'Ann', createdAt: null, organizations: [{ id: 'o 1', name: 'Acme' }] });
    if (s.url.startsWith('/organizations/o%201/usage-events')) return json(res, 200, { object: 'list', data: [], hasMore: false, nextCursor: null });
    if (s.method === 'POST') return json(res, 201, { id: 'k1', key: 'pb_live_x', echo: JSON.parse(s.body) });
    return json(res, 200, { object: 'list', data: [{ id: 'k1' }] });
  });
  const client = createApiClient({ url: `${srv.url}/`, token: 'pbc_secret' });
  const signal = createScope().signal;
  const me = await client.me(signal);
  assert.equal(me.organizations[0].name, 'Acme');
  assert.equal(srv.seen[0].headers.authorization, 'Bearer pbc_secret');
  assert.equal(srv.seen[0].headers['x-org-id'], undefined);

  const org = client.forOrg('o 1');
  assert.deepEqual(await org.keys(signal), [{ id: 'k1' }]);
  assert.equal(srv.seen[1].url, '/organizations/o%201/keys');
  assert.equal(srv.seen[1].headers['x-org-id'], 'o 1');
  assert.equal(srv.seen[1].headers.authorization, 'Bearer pbc_secret');

  const created = await org.createKey({ name: 'shop' }, signal);
  assert.equal(created.key, 'pb_live_x');
  assert.equal(srv.seen[2].headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(srv.seen[2].body), { name: 'shop' });

  await org.usage({ limit: 50, cursor: '17' }, signal);
  assert.equal(srv.seen[3].url, '/organizations/o%201/usage-events?limit=50&cursor=17');
  await org.setInstancePlugins('i/1', ['p1'], signal);
  assert.equal(srv.seen[4].method, 'PUT');
  assert.equal(srv.seen[4].url, '/organizations/o%201/whatsapp-instances/i%2F1/plugins');
  assert.deepEqual(JSON.parse(srv.seen[4].body), { enabledPluginIds: ['p1'] });
});

test('error answers become ApiError with status, code and message; non-JSON answers too', async () => {
  await using srv = await startServer((_req, res, s) => {
    if (s.url === '/me') return json(res, 403, { error: { message: 'Your role (member) does not allow keys:write.', type: 'permission_error', param: null, code: 'insufficient_permissions' } });
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>bad gateway</html>');
  });
  const client = createApiClient({ url: srv.url, token: 't' });
  const signal = createScope().signal;
  await assert.rejects(client.me(signal), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'insufficient_permissions');
    assert.equal(err.type, 'permission_error');
    assert.match(err.message, /does not allow/);
    return true;
  });
  await assert.rejects(client.forOrg('o').plugins(signal), (err: unknown) => err instanceof ApiError && err.status === 502 && /HTTP 502/.test(err.message));
});

test('cancelling a scope aborts its in-flight request and the server sees the connection close', async () => {
  await using srv = await startServer(() => undefined); // never answers
  const client = createApiClient({ url: srv.url, token: 't' });
  const root = createScope('root');
  const org = root.child('org');
  const pending = client.forOrg('o').integrations(org.child('load').signal);
  await waitFor('the request to arrive', () => srv.seen.length === 1);
  assert.deepEqual(root.active(), ['org', 'org/load']);
  const started = Date.now();
  root.cancel('quit');
  await assert.rejects(pending, (err: unknown) => isAbortError(err));
  assert.ok(Date.now() - started < 1000);
  await waitFor('the server to see the close', () => srv.closed.length === 1);
  assert.deepEqual(root.active(), []);
});

test('scopes: a cancelled child lets go of its parent; a slot keeps at most one child', () => {
  const root = createScope('root');
  const a = root.child('a');
  const b = a.child('b');
  a.cancel();
  assert.ok(b.cancelled);
  assert.ok(!root.cancelled);
  assert.deepEqual(root.active(), []);
  const slot = createSlot(root);
  const first = slot.next('tools:1');
  const second = slot.next('tools:2');
  assert.ok(first.cancelled);
  assert.ok(!second.cancelled);
  assert.deepEqual(root.active(), ['tools:2']);
  root.cancel();
  assert.ok(second.cancelled);
  assert.ok(root.child('late').cancelled, 'a child of a cancelled scope starts cancelled');
});

test('the SSE parser gives the same events wherever the chunks are cut (CRLF, CR, LF, comments, multi-line data)', () => {
  const stream = ': connected\r\n\r\nevent: tool_call_finished\r\ndata: {"a":1,\r\ndata: "b":"日本"}\r\n\r\n: keep-alive\n\nid: 7\rdata:x\r\rdata\n\nevent: empty\n\n';
  const run = (chunks: string[]) => {
    const msgs: SseMessage[] = [];
    const comments: string[] = [];
    const p = createSseParser({ onMessage: (m) => msgs.push(m), onComment: (c) => comments.push(c) });
    for (const c of chunks) p.push(c);
    return { msgs, comments };
  };
  const whole = run([stream]);
  assert.deepEqual(whole.comments, ['connected', 'keep-alive']);
  assert.deepEqual(whole.msgs, [
    { event: 'tool_call_finished', data: '{"a":1,\n"b":"日本"}', id: null },
    { event: 'message', data: 'x', id: '7' },
    { event: 'message', data: '', id: '7' },
  ]);
  for (let i = 1; i < stream.length; i++) assert.deepEqual(run([stream.slice(0, i), stream.slice(i)]), whole, `cut at ${i}`);
  assert.deepEqual(run([...stream]), whole, 'one character per chunk');
});

function sse(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(': connected\n\n');
}

test('the event stream parses events split inside UTF-8 characters, reconnects when dropped, and stops on abort', async () => {
  let connections = 0;
  await using srv = await startServer(async (_req, res, s) => {
    assert.equal(s.url, '/organizations/o1/events');
    connections++;
    sse(res);
    const event = (e: Partial<LiveEvent>) => Buffer.from(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`, 'utf8');
    if (connections === 1) {
      const bytes = event({ type: 'tool_call_finished', orgId: 'o1', requestId: 'req_1', at: 1, tool: 'crm__日本', status: 'ok', latencyMs: 5 });
      const cut = bytes.indexOf(Buffer.from('日', 'utf8')) + 1; // inside the three bytes of 日
      res.write(bytes.subarray(0, cut));
      await sleep(30);
      res.write(bytes.subarray(cut));
      res.write('event: junk\ndata: {not json\n\n');
      await sleep(30);
      res.end(); // the stream drops; the client must come back
      return;
    }
    res.write(event({ type: 'final_answer', orgId: 'o1', requestId: 'req_2', at: 2, turns: 1 }));
  });
  const client = createApiClient({ url: srv.url, token: 'pbc_t' });
  const scope = createScope('live');
  const events: LiveEvent[] = [];
  const statuses: StreamStatus[] = [];
  const warnings: string[] = [];
  const done = client.forOrg('o1').streamEvents({
    signal: scope.signal, baseDelayMs: 20, maxDelayMs: 50, onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s), onWarning: (w) => warnings.push(w),
  });
  await waitFor('the event after the reconnect', () => events.length === 2);
  assert.equal(events[0].tool, 'crm__日本');
  assert.equal(events[1].type, 'final_answer');
  assert.equal(warnings.length, 1);
  assert.equal(srv.seen[0].headers.authorization, 'Bearer pbc_t');
  assert.equal(srv.seen[0].headers['x-org-id'], 'o1');
  assert.equal(srv.seen[0].headers.accept, 'text/event-stream');
  scope.cancel('quit');
  await done;
  assert.deepEqual(statuses.map((s) => s.state), ['connecting', 'connected', 'retrying', 'connecting', 'connected', 'stopped']);
  const retry = statuses[2] as Extract<StreamStatus, { state: 'retrying' }>;
  assert.equal(retry.inMs, 20);
  assert.match(retry.error, /closed the stream/);
  await waitFor('the server to see the stream close', () => srv.closed.length === 2);
  assert.equal(connections, 2);
});

test('the event stream gives up at once on 401/403/404 and retries a silent connection after the idle timeout', async () => {
  await using srv = await startServer((_req, res, s) => {
    if (s.url.startsWith('/organizations/gone/')) return json(res, 404, { error: { message: 'No organization with that id exists here.', type: 'not_found_error', param: null, code: 'organization_not_found' } });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders(); // then silence
  });
  const client = createApiClient({ url: srv.url, token: 't' });
  const statuses: StreamStatus[] = [];
  await client.forOrg('gone').streamEvents({ signal: createScope().signal, onEvent: () => undefined, onStatus: (s) => statuses.push(s) });
  assert.deepEqual(statuses, [{ state: 'connecting', attempt: 1 }, { state: 'stopped', error: 'No organization with that id exists here.' }]);
  assert.equal(srv.seen.length, 1);

  const idle: StreamStatus[] = [];
  const stopped = await client.forOrg('quiet').streamEvents({
    signal: createScope().signal, idleTimeoutMs: 100, baseDelayMs: 10, maxAttempts: 2, onEvent: () => undefined, onStatus: (s) => idle.push(s),
  }).then(() => idle.at(-1));
  assert.deepEqual(idle.map((s) => s.state), ['connecting', 'connected', 'retrying', 'connecting', 'connected', 'stopped']);
  assert.match((idle[2] as { error: string }).error, /no data for 100 ms/);
  assert.match((stopped as { error: string }).error, /gave up after 2 attempts/);
});

test('backoff doubles from the base and is capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 100].map((n) => backoffDelay(n, 500, 15_000)), [500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
});
