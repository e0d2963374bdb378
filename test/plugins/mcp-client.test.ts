import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { McpClientError, McpConnection } from '../../src/plugins/kinds/mcp/client.ts';
import type { McpConnectionOptions, McpTransportChoice } from '../../src/plugins/kinds/mcp/client.ts';
import { createGuardedFetch } from '../../src/net/ssrf.ts';
import { PLANTED_SECRET, PLANTED_TOKEN, startMcpTestServer } from '../fakes/mcp/test-server.ts';

const CREDENTIAL = 'cred-7f3a9c2e1b4d8f60';
const loopbackFetch = createGuardedFetch({ allowedNetworks: ['127.0.0.0/8'] });

function connect(url: string, transport: McpTransportChoice, extra: Partial<McpConnectionOptions> = {}): McpConnection {
  return new McpConnection({
    url,
    transport,
    headers: { Authorization: `Bearer ${CREDENTIAL}` },
    timeoutMs: 5_000,
    fetch: loopbackFetch,
    secrets: [`Bearer ${CREDENTIAL}`, PLANTED_SECRET],
    ...extra,
  });
}

const call = (conn: McpConnection, name: string, args: Record<string, unknown> = {}, extra: { timeoutMs?: number; signal?: AbortSignal; maxResultBytes?: number } = {}) =>
  conn.callTool(name, args, { timeoutMs: extra.timeoutMs ?? 5_000, signal: extra.signal, maxResultBytes: extra.maxResultBytes ?? 32_768 });

/** Polls `check` every 20 ms for at most `ms`. */
async function waitFor(check: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const DEFAULT_TOOLS = ['echo', 'add', 'slow', 'fail', 'boom', 'big', 'die', 'image', 'whoami'];

describe('McpConnection', () => {
  for (const transport of ['streamable_http', 'sse'] as const) {
    it(`lists tools and calls echo over ${transport}`, async () => {
      await using srv = await startMcpTestServer();
      await using conn = connect(transport === 'sse' ? srv.sseUrl : srv.url, transport);
      const tools = await conn.listAllTools();
      assert.deepEqual(tools.map((t) => t.name), DEFAULT_TOOLS);
      const echo = tools.find((t) => t.name === 'echo');
      assert.equal(echo?.inputSchema.$schema, 'http://json-schema.org/draft-07/schema#', 'schemas come back as given');
      assert.equal(conn.resolvedTransport, transport);
      assert.equal(conn.health().connected, true);
      assert.deepEqual(await call(conn, 'echo', { text: 'héllo' }), { ok: true, isError: false, text: 'héllo' });
      assert.deepEqual(await call(conn, 'add', { a: 2, b: 3 }), { ok: true, isError: false, text: 'The sum is 5\n{"sum":5}' });
      assert.equal(srv.sessionsCreated, 1, 'one warm session for list and calls');
    });
  }

  it('auto falls back to SSE (new Client) when POST on the endpoint answers 405', async () => {
    await using srv = await startMcpTestServer({ sseOnly: true });
    await using conn = connect(srv.url, 'auto');
    assert.equal((await conn.listAllTools()).length, DEFAULT_TOOLS.length);
    assert.equal(conn.resolvedTransport, 'sse');
    assert.deepEqual(await call(conn, 'echo', { text: 'via sse' }), { ok: true, isError: false, text: 'via sse' });
  });

  it('auto keeps Streamable HTTP where it works', async () => {
    await using srv = await startMcpTestServer({ streamableOnly: true });
    await using conn = connect(srv.url, 'auto');
    await conn.listAllTools();
    assert.equal(conn.resolvedTransport, 'streamable_http');
  });

  it('follows nextCursor through every page', async () => {
    await using srv = await startMcpTestServer({ pageSize: 7 });
    await using conn = connect(srv.url, 'streamable_http');
    const names = (await conn.listAllTools()).map((t) => t.name);
    assert.equal(names.length, DEFAULT_TOOLS.length + 30, '39 tools over 6 pages');
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes('dummy_30'));
  });

  for (const transport of ['streamable_http', 'sse'] as const) {
    it(`list_changed over ${transport} calls onToolsChanged once per burst; re-listing shows the new tool`, async () => {
      await using srv = await startMcpTestServer();
      let changes = 0;
      await using conn = connect(transport === 'sse' ? srv.sseUrl : srv.url, transport, { onToolsChanged: () => changes++ });
      await conn.listAllTools();
      await waitFor(() => srv.openStreams() > 0); // notifications need the server→client stream
      const fresh = { name: 'fresh', description: 'New.', inputSchema: { type: 'object' as const }, handler: () => ({ content: [] }) };
      srv.addTool(fresh);
      await sleep(20); // well inside the 100 ms debounce window
      srv.addTool({ ...fresh, name: 'fresher' });
      await waitFor(() => changes > 0);
      await sleep(250);
      assert.equal(changes, 1, 'debounced');
      const names = (await conn.listAllTools()).map((t) => t.name);
      assert.ok(names.includes('fresh') && names.includes('fresher'));
    });
  }

  it('returns isError results as readable text with secrets, tokens, paths and stack frames removed', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    const out = await call(conn, 'fail');
    assert.equal(out.ok && out.isError, true);
    assert.ok(out.ok);
    assert.match(out.text, /Database rejected the query/);
    for (const leak of [PLANTED_SECRET, PLANTED_TOKEN, '/srv/app', 'runQuery', 'db.internal.svc']) assert.ok(!out.text.includes(leak), leak);
  });

  it('turns JSON-RPC errors into scrubbed protocol outcomes', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    const out = await call(conn, 'boom');
    assert.equal(out.ok, false);
    assert.ok(!out.ok);
    assert.equal(out.errorClass, 'protocol');
    for (const text of [out.message, out.detail]) {
      for (const leak of [PLANTED_SECRET, PLANTED_TOKEN, '10.1.2.3']) assert.ok(!text.includes(leak), `${leak} in ${text}`);
    }
    const unknown = await call(conn, 'no_such_tool');
    assert.equal(!unknown.ok && unknown.errorClass, 'protocol');
    assert.deepEqual(await call(conn, 'echo', { text: 'still fine' }), { ok: true, isError: false, text: 'still fine' });
  });

  it('times out a slow tool and keeps the session', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    await conn.listAllTools();
    const started = Date.now();
    const out = await call(conn, 'slow', { ms: 10_000 }, { timeoutMs: 200 });
    assert.equal(!out.ok && out.errorClass, 'timeout');
    assert.ok(Date.now() - started < 3_000);
    assert.deepEqual(await call(conn, 'echo', { text: 'after' }), { ok: true, isError: false, text: 'after' });
    assert.equal(srv.sessionsCreated, 1);
  });

  it('reports an aborted call as aborted', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const out = await call(conn, 'slow', { ms: 10_000 }, { signal: controller.signal });
    assert.equal(!out.ok && out.errorClass, 'aborted');
    const pre = await call(conn, 'echo', { text: 'x' }, { signal: AbortSignal.abort() });
    assert.equal(!pre.ok && pre.errorClass, 'aborted');
  });

  it('reports a server that is down as a transport error and recovers when it is back on the same port', async () => {
    const first = await startMcpTestServer();
    await using conn = connect(first.url, 'streamable_http');
    await conn.listAllTools();
    await first.close();
    const down = await call(conn, 'echo', { text: 'x' }, { timeoutMs: 3_000 });
    assert.equal(!down.ok && down.errorClass, 'transport');
    assert.ok(!down.ok && !down.message.includes(CREDENTIAL));
    assert.ok(conn.health().lastError);
    await using second = await startMcpTestServer({ port: first.port });
    assert.deepEqual(await call(conn, 'echo', { text: 'back' }), { ok: true, isError: false, text: 'back' });
    assert.equal(second.sessionsCreated, 1);
    assert.equal(conn.health().connected, true);
  });

  for (const transport of ['streamable_http', 'sse'] as const) {
    it(`a connection dying mid-call over ${transport} is a transport error; the next call reconnects`, async () => {
      await using srv = await startMcpTestServer();
      await using conn = connect(transport === 'sse' ? srv.sseUrl : srv.url, transport);
      await conn.listAllTools();
      const started = Date.now();
      const out = await call(conn, 'die', {}, { timeoutMs: 10_000 });
      assert.equal(!out.ok && out.errorClass, 'transport');
      assert.ok(Date.now() - started < 5_000, 'fails fast, not at the timeout');
      assert.deepEqual(await call(conn, 'echo', { text: 'again' }), { ok: true, isError: false, text: 'again' });
      assert.equal(srv.sessionsCreated, 2);
    });
  }

  it('re-initialises an expired session (404) and retries the request once', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    await conn.listAllTools();
    srv.expireSessions();
    assert.deepEqual(await call(conn, 'echo', { text: 'retried' }), { ok: true, isError: false, text: 'retried' });
    assert.equal(srv.sessionsCreated, 2);
    assert.equal(srv.calls.filter((c) => c.tool === 'echo').length, 1, 'the 404 reached no tool');
  });

  it('shares one connect between concurrent first calls', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    const outs = await Promise.all(Array.from({ length: 5 }, (_, i) => call(conn, 'echo', { text: String(i) })));
    assert.deepEqual(outs.map((o) => o.ok && o.text), ['0', '1', '2', '3', '4']);
    assert.equal(srv.sessionsCreated, 1);
  });

  it('sends the stored credential and nothing else, and redacts it from results', async () => {
    await using srv = await startMcpTestServer({ requireBearer: CREDENTIAL });
    await using conn = connect(srv.url, 'streamable_http');
    const out = await call(conn, 'whoami');
    const headers = srv.calls.at(-1)?.headers ?? {};
    assert.equal(headers.authorization, `Bearer ${CREDENTIAL}`);
    const expected = ['accept', 'authorization', 'connection', 'content-length', 'content-type', 'host', 'mcp-protocol-version', 'mcp-session-id', 'user-agent'];
    assert.deepEqual(Object.keys(headers).sort(), expected);
    assert.ok(out.ok && !out.text.includes(CREDENTIAL) && out.text.includes('[redacted]'));

    await using forging = connect(srv.url, 'streamable_http', { headers: { Authorization: `Bearer ${CREDENTIAL}`, 'Mcp-Session-Id': 'forged', Accept: 'text/html' } });
    assert.equal((await forging.listAllTools()).length, DEFAULT_TOOLS.length, 'a credential cannot override transport headers');

    await using anonymous = connect(srv.url, 'streamable_http', { headers: {} });
    await assert.rejects(anonymous.listAllTools(), (err: unknown) => err instanceof McpClientError && err.errorClass === 'transport' && /401/.test(err.detail));
  });

  it('words a 401 by whether a credential is stored: "refused the stored credential" only when there is one', async () => {
    await using srv = await startMcpTestServer({ requireBearer: CREDENTIAL });
    await using none = connect(srv.url, 'streamable_http', { headers: {} });
    const without = await call(none, 'echo', { text: 'x' });
    assert.ok(!without.ok, 'refused');
    assert.match(without.message, /requires authentication \(HTTP 401\).*no credential stored/);
    assert.doesNotMatch(without.message, /stored credential/);
    await assert.rejects(none.listAllTools(), (err: unknown) => err instanceof McpClientError && /no credential stored/.test(err.message));

    await using wrong = connect(srv.url, 'streamable_http', { headers: { Authorization: 'Bearer not-the-one' } });
    const refused = await call(wrong, 'echo', { text: 'x' });
    assert.ok(!refused.ok);
    assert.equal(refused.message, 'The MCP server refused the stored credential (HTTP 401).');
  });

  it('refuses a loopback server when the network policy does not allow it', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http', { fetch: createGuardedFetch({ allowedNetworks: [] }) });
    await assert.rejects(conn.listAllTools(), (err: unknown) => err instanceof McpClientError && /loopback/.test(err.message));
    assert.equal(srv.sessionsCreated, 0);
  });

  it('truncates a 5 MB result quickly with a visible marker, on a character boundary', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    const started = Date.now();
    const out = await call(conn, 'big', { bytes: 5 * 1024 * 1024 }, { maxResultBytes: 32_768 });
    assert.ok(Date.now() - started < 8_000);
    assert.ok(out.ok);
    assert.ok(Buffer.byteLength(out.text) <= 32_768);
    const match = /\n…\[truncated (\d+) bytes\]$/.exec(out.text);
    assert.ok(match, 'marker');
    assert.equal(Buffer.byteLength(out.text.slice(0, match.index)) + Number(match[1]), 5 * 1024 * 1024);

    const euro = await call(conn, 'big', { bytes: 30_000, char: '€' }, { maxResultBytes: 1_000 });
    assert.ok(euro.ok && !euro.text.includes('\uFFFD') && /^€+\n…\[truncated \d+ bytes\]$/.test(euro.text));
  });

  it('describes image blocks instead of dropping them', async () => {
    await using srv = await startMcpTestServer();
    await using conn = connect(srv.url, 'streamable_http');
    assert.deepEqual(await call(conn, 'image'), { ok: true, isError: false, text: 'Here is the chart:\n[image: image/png, 12.1 KB, not shown]' });
  });

  it('a call still running when the connection is closed is a transport error', async () => {
    await using srv = await startMcpTestServer();
    const conn = connect(srv.url, 'streamable_http');
    await conn.listAllTools();
    const running = call(conn, 'slow', { ms: 10_000 }, { timeoutMs: 10_000 });
    await waitFor(() => srv.calls.some((c) => c.tool === 'slow'));
    await conn.close();
    const out = await running;
    assert.equal(!out.ok && out.errorClass, 'transport');
  });

  it('close() ends the session and later calls fail as transport errors', async () => {
    await using srv = await startMcpTestServer();
    const conn = connect(srv.url, 'streamable_http');
    await conn.listAllTools();
    await waitFor(() => srv.openStreams() > 0);
    await conn.close();
    await waitFor(() => srv.openStreams() === 0);
    const out = await call(conn, 'echo', { text: 'x' });
    assert.equal(!out.ok && out.errorClass, 'transport');
    assert.equal(conn.health().connected, false);
  });
});
