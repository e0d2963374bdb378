/**
 * An MCP server is untrusted: a message larger than the transport's bound (16 MiB) — a JSON answer,
 * an event on a Streamable HTTP stream, an event on a legacy SSE stream — fails the call with an
 * error that says so, quickly, instead of being buffered without end; the connection recovers for
 * the next call. Also the capped fetch the legacy transport reads through, on its own.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpConnection, type McpTransportChoice } from '../../src/plugins/kinds/mcp/client.ts';
import { MESSAGE_MAX_BYTES } from '../../src/plugins/kinds/mcp/http-transport.ts';
import { createGuardedFetch } from '../../src/net/ssrf.ts';
import { CappedBodyError, cappedFetch } from '../../src/net/capped-fetch.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';

const loopbackFetch = createGuardedFetch({ allowedNetworks: ['127.0.0.0/8'] });
/** The `big` tool's largest answer: its JSON-RPC message is just over MESSAGE_MAX_BYTES. */
const OVERSIZE = 16 * 1024 * 1024;

function connect(url: string, transport: McpTransportChoice): McpConnection {
  return new McpConnection({ url, transport, headers: {}, timeoutMs: 20_000, fetch: loopbackFetch, secrets: [] });
}

describe('MCP messages beyond the bound', () => {
  const cases: Array<[string, { jsonResponse?: boolean; sseOnly?: boolean }, McpTransportChoice, RegExp]> = [
    ['a Streamable HTTP JSON answer', { jsonResponse: true }, 'streamable_http', /larger than \d+ bytes/],
    ['a Streamable HTTP SSE event', {}, 'streamable_http', /longer than \d+ characters/],
    ['a legacy SSE event', { sseOnly: true }, 'sse', /longer than \d+ bytes/],
  ];
  for (const [what, server, transport, reason] of cases) {
    it(`${what} fails the call with a clear error, and the next call works`, { timeout: 60_000 }, async () => {
      assert.ok(OVERSIZE + 100 > MESSAGE_MAX_BYTES);
      await using srv = await startMcpTestServer(server);
      await using conn = connect(transport === 'sse' && !server.sseOnly ? srv.sseUrl : srv.url, transport);
      const started = Date.now();
      const out = await conn.callTool('big', { bytes: OVERSIZE }, { timeoutMs: 20_000, maxResultBytes: 32_768 });
      assert.ok(!out.ok, 'the oversize answer is refused');
      assert.equal(out.errorClass, 'transport');
      assert.match(out.message, reason);
      assert.ok(Date.now() - started < 15_000, 'refused, not timed out');
      const again = await conn.callTool('echo', { text: 'still here' }, { timeoutMs: 10_000, maxResultBytes: 32_768 });
      assert.deepEqual(again, { ok: true, isError: false, text: 'still here' });
    });
  }
});

describe('cappedFetch', () => {
  async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
    };
  }

  it('passes bodies within the bounds unchanged, and errors a body or an event beyond them', async () => {
    const srv = await serve((req, res) => {
      if (req.url === '/small') return void res.end('x'.repeat(100));
      if (req.url === '/large') return void res.end('x'.repeat(5000));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // Many events under the bound (the stream as a whole is far over it), then one over it.
      for (let i = 0; i < 50; i++) res.write(`data: ${'e'.repeat(500)}\r\n\r\n`);
      setTimeout(() => res.end(`data: ${'z'.repeat(2000)}`), 100);
    });
    try {
      const f = cappedFetch(fetch, { maxBodyBytes: 1000, maxEventBytes: 1000 });
      assert.equal(await (await f(`${srv.url}small`)).text(), 'x'.repeat(100));
      await assert.rejects((await f(`${srv.url}large`)).text(), (err: unknown) => err instanceof CappedBodyError && /larger than 1000 bytes/.test(err.message));
      const stream = await f(`${srv.url}events`);
      let received = '';
      await assert.rejects(
        (async () => {
          for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) received += Buffer.from(chunk).toString();
        })(),
        (err: unknown) => err instanceof CappedBodyError && /event longer than 1000 bytes/.test(err.message),
      );
      assert.equal(received.split('\r\n\r\n').length - 1, 50, 'every event under the bound came through');
    } finally {
      await srv.close();
    }
  });
});
