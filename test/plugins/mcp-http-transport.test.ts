/**
 * Plugboard's Streamable HTTP transport (src/plugins/kinds/mcp/http-transport.ts) against real SDK
 * servers in the modes the other client tests do not use — plain JSON answers, resumable streams —
 * and against raw HTTP servers for what a well-behaved SDK server never does (redirects, wrong
 * content types).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpClientError, McpConnection } from '../../src/plugins/kinds/mcp/client.ts';
import { McpHttpError, McpHttpTransport, McpStreamBroken } from '../../src/plugins/kinds/mcp/http-transport.ts';
import { createGuardedFetch, SsrfError } from '../../src/net/ssrf.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';

const guard = createGuardedFetch({ allowedNetworks: ['127.0.0.0/8'] });
const DEFAULT_TOOL_COUNT = 9;

function connect(url: string): McpConnection {
  return new McpConnection({ url, transport: 'streamable_http', headers: {}, timeoutMs: 5_000, fetch: guard, secrets: [] });
}

/** A raw loopback server: `handler` answers, every request path is recorded. */
async function rawServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    hits,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A bare Streamable HTTP MCP server (JSON answers to initialize, 202 to notifications, 405 to GET):
 * every other request is answered by `onRequest` with the request's JSON-RPC id.
 */
async function bareMcpServer(onRequest: (id: number, res: http.ServerResponse) => void) {
  let initializes = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: number; method: string };
      if (msg.method === 'initialize') {
        initializes++;
        const result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bare', version: '1' } };
        return void res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': `s${initializes}` }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
      }
      if (msg.id === undefined) return void res.writeHead(202).end();
      onRequest(msg.id, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    initializes: () => initializes,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('McpHttpTransport', () => {
  it('works with a server that answers plain JSON instead of SSE', async () => {
    await using srv = await startMcpTestServer({ jsonResponse: true, streamableOnly: true });
    await using conn = connect(srv.url);
    assert.equal((await conn.listAllTools()).length, DEFAULT_TOOL_COUNT);
    const out = await conn.callTool('echo', { text: 'plain json' }, { timeoutMs: 5_000, maxResultBytes: 10_000 });
    assert.deepEqual(out, { ok: true, isError: false, text: 'plain json' });
  });

  it('resumes a response stream the server closed before answering (GET with Last-Event-ID), without sending the call again', async () => {
    await using srv = await startMcpTestServer({ resumable: true, streamableOnly: true });
    await using conn = connect(srv.url);
    const out = await conn.callTool('hangup', { ms: 150 }, { timeoutMs: 5_000, maxResultBytes: 10_000 });
    assert.deepEqual(out, { ok: true, isError: false, text: 'answered after the hang-up' });
    assert.equal(srv.calls.filter((c) => c.tool === 'hangup').length, 1, 'the tool ran once');
    // The session stays usable.
    assert.deepEqual(await conn.callTool('echo', { text: 'after' }, { timeoutMs: 5_000, maxResultBytes: 10_000 }), { ok: true, isError: false, text: 'after' });
  });

  it('opens the standalone GET stream after initialisation and closes it with the session', async () => {
    await using srv = await startMcpTestServer({ streamableOnly: true });
    const conn = connect(srv.url);
    await conn.listAllTools();
    const until = Date.now() + 2_000;
    while (srv.openStreams() !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(srv.openStreams(), 1);
    await conn.close();
    const closedBy = Date.now() + 2_000;
    while (srv.openStreams() !== 0 && Date.now() < closedBy) await new Promise((r) => setTimeout(r, 10));
    assert.equal(srv.openStreams(), 0);
  });

  it('refuses a redirect and never requests its target', async () => {
    await using srv = await rawServer((_req, res) => res.writeHead(307, { location: '/elsewhere' }).end());
    await using conn = connect(srv.url);
    await assert.rejects(conn.listAllTools(), (err: unknown) => err instanceof McpClientError && err.errorClass === 'transport' && /redirect/.test(err.message));
    assert.ok(srv.hits.length >= 1);
    assert.ok(srv.hits.every((h) => h.endsWith(' /mcp')), `only the endpoint was requested: ${srv.hits.join(', ')}`);
  });

  it('reports an answer that is neither JSON nor SSE as an error naming the content type', async () => {
    await using srv = await rawServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
    const transport = new McpHttpTransport(new URL(srv.url), { request: guard.request, headers: {} });
    const errors: Error[] = [];
    transport.onerror = (e) => errors.push(e);
    await transport.start();
    await assert.rejects(
      transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      (err: unknown) => err instanceof McpHttpError && err.code === -1 && /text\/html/.test(err.message),
    );
    assert.equal(errors.length, 1, 'onerror heard it too, as from the SDK transport');
    await transport.close();
  });

  it('quotes at most a few KiB of an error body, with the status as the code', async () => {
    await using srv = await rawServer((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('e'.repeat(1_000_000)));
    const transport = new McpHttpTransport(new URL(srv.url), { request: guard.request, headers: {} });
    await transport.start();
    await assert.rejects(transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' }), (err: unknown) => err instanceof McpHttpError && err.code === 500 && err.message.length < 5_000);
    await transport.close();
  });

  it('sends the session id it was given back, and only the headers it owns plus the stored ones', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    await using srv = await rawServer((req, res) => {
      seen.push(req.headers);
      if (req.method === 'POST') res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'sess-1' }).end('{"jsonrpc":"2.0","id":1,"result":{}}');
      else res.writeHead(405).end();
    });
    const transport = new McpHttpTransport(new URL(srv.url), { request: guard.request, headers: { 'x-api-key': 'stored' } });
    const got: unknown[] = [];
    transport.onmessage = (m) => got.push(m);
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    transport.setProtocolVersion('2025-06-18');
    await transport.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await transport.terminateSession();
    await transport.close();
    assert.deepEqual(got, [{ jsonrpc: '2.0', id: 1, result: {} }, { jsonrpc: '2.0', id: 1, result: {} }]);
    assert.equal(seen[0]['mcp-session-id'], undefined);
    assert.equal(seen[1]['mcp-session-id'], 'sess-1');
    assert.equal(seen[1]['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen[1]['x-api-key'], 'stored');
    assert.equal(seen[2]['mcp-session-id'], 'sess-1', 'DELETE ends the same session');
    assert.equal(transport.sessionId, undefined, 'a 405 to DELETE still forgets the session');
  });

  it('keeps characters whole when a read of an SSE answer ends inside one', async () => {
    const event = Buffer.from(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'olá 👋 ação' } })}\n\n`, 'utf8');
    const cut = event.indexOf(Buffer.from('👋')) + 2;
    await using srv = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event.subarray(0, cut));
      setTimeout(() => res.end(event.subarray(cut)), 30);
    });
    const transport = new McpHttpTransport(new URL(srv.url), { request: guard.request, headers: {} });
    const got = new Promise<unknown>((resolve) => (transport.onmessage = resolve));
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.deepEqual(await got, { jsonrpc: '2.0', id: 1, result: { text: 'olá 👋 ação' } });
    await transport.close();
  });

  it('reports a response stream that breaks before its answer as a typed McpStreamBroken', async () => {
    await using srv = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      setTimeout(() => res.destroy(), 20);
    });
    const transport = new McpHttpTransport(new URL(srv.url), { request: guard.request, headers: {} });
    const errors: Error[] = [];
    transport.onerror = (e) => errors.push(e);
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const until = Date.now() + 2_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof McpStreamBroken, `a typed break, not ${errors[0]?.name}`);
    assert.equal((errors[0] as McpStreamBroken).reason, 'disconnected');
    await transport.close();
  });

  it('a server message that only says "SSE stream disconnected" does not tear the session down (breaks are typed, not read from text)', async () => {
    // The SDK's Protocol reports an odd message through onerror with the message quoted; recognising
    // breaks by their wording would take this session down and reconnect.
    await using srv = await bareMcpServer((id, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', note: 'SSE stream disconnected: Maximum reconnection attempts' })}\n\n`);
      setTimeout(() => res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'fine' }] } })}\n\n`), 50);
    });
    await using conn = connect(srv.url);
    for (const _ of [1, 2]) {
      assert.deepEqual(await conn.callTool('any', {}, { timeoutMs: 5_000, maxResultBytes: 10_000 }), { ok: true, isError: false, text: 'fine' });
    }
    assert.equal(srv.initializes(), 1, 'one session served both calls');
    assert.equal(conn.health().connected, true);
  });

  it('a server\'s own JSON-RPC error -32000 "Connection closed" is a protocol answer, not a closed connection', async () => {
    await using srv = await bareMcpServer((id, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message: 'Connection closed' } }));
    });
    await using conn = connect(srv.url);
    for (const _ of [1, 2]) {
      const out = await conn.callTool('any', {}, { timeoutMs: 5_000, maxResultBytes: 10_000 });
      assert.equal(!out.ok && out.errorClass, 'protocol');
    }
    assert.equal(srv.initializes(), 1, 'the session was kept');
  });

  it('goes through the SSRF guard: a refused address never gets a connection', async () => {
    await using srv = await rawServer((_req, res) => res.writeHead(200).end());
    const closed = createGuardedFetch({ allowedNetworks: [] });
    const transport = new McpHttpTransport(new URL(srv.url), { request: closed.request, headers: {} });
    await transport.start();
    await assert.rejects(transport.send({ jsonrpc: '2.0', id: 1, method: 'ping' }), SsrfError);
    await assert.rejects(closed.request(new URL('http://169.254.169.254/latest/meta-data'), { method: 'GET', headers: {} }), SsrfError);
    assert.deepEqual(srv.hits, []);
    await transport.close();
  });
});
