import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { McpConnection } from '../../src/plugins/kinds/mcp/client.ts';
import { createGuardedFetch } from '../../src/net/ssrf.ts';
import { startEverythingServer } from '../fakes/mcp/everything.ts';
import type { EverythingServer } from '../fakes/mcp/everything.ts';

describe('McpConnection against @modelcontextprotocol/server-everything', () => {
  let server: EverythingServer;
  let conn: McpConnection;

  before(async () => {
    server = await startEverythingServer();
    conn = new McpConnection({
      url: server.url,
      transport: 'auto',
      headers: {},
      timeoutMs: 10_000,
      fetch: createGuardedFetch({ allowedNetworks: ['127.0.0.0/8'] }),
      secrets: [],
    });
  });

  after(async () => {
    await conn?.close();
    await server?.close();
  });

  const call = (name: string, args: Record<string, unknown> = {}) => conn.callTool(name, args, { timeoutMs: 10_000, maxResultBytes: 32_768 });

  it('lists every tool with schemas as the server gives them', async () => {
    const tools = await conn.listAllTools();
    const names = tools.map((t) => t.name);
    for (const expected of ['echo', 'get-sum', 'get-tiny-image', 'get-structured-content', 'get-resource-links', 'get-resource-reference']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    const echo = tools.find((t) => t.name === 'echo');
    assert.equal(typeof echo?.inputSchema.$schema, 'string', 'zod-generated schemas carry $schema');
    assert.deepEqual(echo?.inputSchema.required, ['message']);
    assert.equal(tools.find((t) => t.name === 'get-structured-content')?.outputSchema?.type, 'object');
    assert.equal(conn.resolvedTransport, 'streamable_http');
  });

  it('calls echo', async () => {
    assert.deepEqual(await call('echo', { message: 'hello everything' }), { ok: true, isError: false, text: 'Echo: hello everything' });
  });

  it('describes the tiny image between its text blocks', async () => {
    const out = await call('get-tiny-image');
    assert.ok(out.ok);
    assert.match(out.text, /^Here's the image you requested:\n\[image: image\/png, \d+\.\d KB, not shown\]\nThe image above is the MCP logo\.$/);
  });

  it('passes structured content (validated against its output schema) without duplicating the JSON text copy', async () => {
    const out = await call('get-structured-content', { location: 'Chicago' });
    assert.deepEqual(out, { ok: true, isError: false, text: '{"temperature":36,"conditions":"Light rain / drizzle","humidity":82}' });
  });

  it('describes resource links', async () => {
    const out = await call('get-resource-links', { count: 2 });
    assert.ok(out.ok);
    const links = out.text.split('\n').filter((l) => l.startsWith('[resource link: '));
    assert.equal(links.length, 2, out.text);
    assert.match(links[0], /^\[resource link: Blob Resource 1 \S+\]$/);
  });

  it('includes embedded resource text', async () => {
    const out = await call('get-resource-reference', { resourceType: 'Text', resourceId: 2 });
    assert.ok(out.ok);
    assert.match(out.text, /\n\[resource demo:\/\/resource\/dynamic\/text\/2\]\nResource 2: This is a plaintext resource/);
  });

  it('returns McpServer argument validation failures as isError text the model can act on', async () => {
    const out = await call('get-structured-content', { location: 'Atlantis' });
    assert.ok(out.ok && out.isError);
    assert.match(out.text, /Invalid arguments for tool get-structured-content/);
    assert.match(out.text, /New York/);
  });
});
