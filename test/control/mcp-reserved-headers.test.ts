/**
 * One list of reserved header names for MCP credentials, enforced at both doors: the control API
 * refuses a credential header with any reserved name (any case, create and update, nothing stored),
 * and the MCP client never sends one even when a stored row carries it (a row written before the
 * API refused it, or by hand). The list holds at least every name either old list had.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { isReservedHeader, RESERVED_HEADERS } from '../../src/net/reserved-headers.ts';

/** The union of the control API's and the MCP client's lists before they became one. */
const FORMERLY_RESERVED = [
  'host', 'content-length', 'content-type', 'connection', 'transfer-encoding', 'accept', 'mcp-session-id', 'mcp-protocol-version',
  'last-event-id', 'cookie', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-authorization',
];

const variants = (name: string): string[] => [name, name.toUpperCase(), name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase())];

test('the one list holds every formerly reserved name, in any case', () => {
  for (const name of FORMERLY_RESERVED) for (const v of variants(name)) assert.ok(isReservedHeader(v), v);
  assert.ok(!isReservedHeader('X-Api-Key'));
  assert.ok(!isReservedHeader('Authorization'), 'a header credential may be an Authorization scheme of its own');
});

test('the control API refuses a credential header with any reserved name, on create and update, and stores nothing', async () => {
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const o = `/organizations/${tenant.orgId}`;
  const created = await t.api('POST', `${o}/mcp-integrations`, { token: tenant.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(created.status, 201, created.text);
  for (const name of RESERVED_HEADERS) {
    for (const v of variants(name)) {
      const credential = { type: 'header', name: v, value: 'reserved-header-value' };
      const post = await t.api('POST', `${o}/mcp-integrations`, { token: tenant.ownerToken, body: { slug: 'other', displayName: 'x', url: mcp.url, credential } });
      assertWireError(post, 400, 'invalid_value', 'credential.name');
      const patch = await t.api('PATCH', `${o}/mcp-integrations/${created.json.id}`, { token: tenant.ownerToken, body: { credential } });
      assertWireError(patch, 400, 'invalid_value', 'credential.name');
    }
  }
  assert.equal(t.app.installations.list(tenant.orgId).length, 1);
  assert.equal(t.app.mcp.installations.credential(tenant.orgId, created.json.id), null);
});

test('a stored credential with a reserved header name is never sent to the MCP server', async () => {
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const o = `/organizations/${tenant.orgId}`;
  const created = await t.api('POST', `${o}/mcp-integrations`, { token: tenant.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(created.status, 201, created.text);
  for (const name of RESERVED_HEADERS) {
    const value = `stored-reserved-${name}`;
    // Written past the API, as an older version or a hand edit could have.
    t.app.mcp.installations.update(tenant.orgId, created.json.id, { credential: { type: 'header', name, value } });
    const seenBefore = mcp.requestHeaders.length;
    const refreshed = await t.api('POST', `${o}/mcp-integrations/${created.json.id}/refresh`, { token: tenant.ownerToken });
    assert.equal(refreshed.status, 200, `${name}: ${refreshed.text}`);
    const sent = mcp.requestHeaders.slice(seenBefore);
    assert.ok(sent.length > 0, `${name}: the server was asked`);
    for (const headers of sent) {
      assert.ok(!JSON.stringify(headers).includes(value), `${name} was sent: ${JSON.stringify(headers)}`);
    }
  }
});
