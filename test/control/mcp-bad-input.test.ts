/**
 * Bad input on the plugin endpoints (MCP integrations, plugins, live events): every answer is a 4xx
 * in the error shape, never a 500, and nothing stored changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { assertWireError, snapshotTables } from '../helpers/factories.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';

const IGNORE = { ignoreColumns: { control_tokens: ['last_used_at'], plugin_installations: ['last_success_at', 'last_error', 'last_error_at'] } };

test('MCP integration and plugin endpoints answer bad input with 4xx and change nothing', async () => {
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const tenant = t.tenant();
  const o = `/organizations/${tenant.orgId}`;
  const created = await t.api('POST', `${o}/mcp-integrations`, { token: tenant.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id as string;
  const before = snapshotTables(t.app.db, IGNORE);

  const calls: Array<[string, string, { raw?: string; body?: unknown }, number, string, string | null | undefined]> = [
    ['POST', `${o}/mcp-integrations`, { raw: '{"slug":' }, 400, 'invalid_json', null],
    ['POST', `${o}/mcp-integrations`, { raw: '[]' }, 400, 'invalid_body', null],
    ['POST', `${o}/mcp-integrations`, { raw: '' }, 400, 'missing_body', null],
    ['POST', `${o}/mcp-integrations`, { body: { displayName: 'x', url: mcp.url } }, 400, 'invalid_type', 'slug'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x' } }, 400, 'invalid_type', 'url'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 5, displayName: 'x', url: mcp.url } }, 400, 'invalid_type', 'slug'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: 'not a url' } }, 400, 'invalid_value', 'url'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: mcp.url, transport: 'websocket' } }, 400, 'invalid_value', 'transport'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: mcp.url, timeoutMs: 'fast' } }, 400, 'invalid_type', 'timeoutMs'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: mcp.url, credential: { type: 'basic', token: 'x' } } }, 400, 'invalid_value', 'credential.type'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: mcp.url, credential: { type: 'header', name: 'Host', value: 'x' } } }, 400, 'invalid_value', 'credential.name'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: mcp.url, toolRateLimits: { echo: { points: 0, durationSeconds: 1 } } } }, 400, 'invalid_value', 'toolRateLimits.echo.points'],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'ok', displayName: 'x', url: mcp.url, surprise: true } }, 400, 'unknown_parameter', undefined],
    ['POST', `${o}/mcp-integrations`, { body: { slug: 'crm', displayName: 'dup', url: mcp.url } }, 409, 'slug_taken', 'slug'],
    ['POST', `${o}/mcp-integrations`, { raw: JSON.stringify({ slug: 'big', displayName: 'x'.repeat(1024 * 1024 + 10), url: mcp.url }) }, 413, 'request_too_large', null],
    ['PATCH', `${o}/mcp-integrations/${id}`, { raw: '{' }, 400, 'invalid_json', null],
    ['PATCH', `${o}/mcp-integrations/${id}`, { body: { status: 'paused' } }, 400, 'invalid_value', 'status'],
    ['PATCH', `${o}/mcp-integrations/${id}`, { body: { toolAllowlist: 'echo' } }, 400, 'invalid_type', 'toolAllowlist'],
    ['PATCH', `${o}/mcp-integrations/${id}`, { body: { url: 'http://169.254.169.254/' } }, 400, 'url_not_allowed', 'url'],
    ['PATCH', `${o}/mcp-integrations/00000000-0000-0000-0000-000000000000`, { body: { displayName: 'x' } }, 404, 'mcp_integration_not_found', 'id'],
    ['GET', `${o}/mcp-integrations/not-a-uuid`, {}, 404, 'mcp_integration_not_found', 'id'],
    ['DELETE', `${o}/mcp-integrations/nope`, {}, 404, 'mcp_integration_not_found', 'id'],
    ['POST', `${o}/mcp-integrations/nope/refresh`, {}, 404, 'mcp_integration_not_found', 'id'],
    ['GET', `${o}/plugins/nope/tools`, {}, 404, 'plugin_not_found', 'pluginId'],
    ['GET', '/organizations/00000000-0000-0000-0000-000000000000/plugins', {}, 404, 'organization_not_found', 'organizationId'],
    ['GET', '/organizations/00000000-0000-0000-0000-000000000000/events', {}, 404, 'organization_not_found', 'organizationId'],
    ['PUT', `${o}/mcp-integrations`, { body: {} }, 405, 'method_not_allowed', null],
  ];
  for (const [method, path, opts, status, code, param] of calls) {
    const res = await t.api(method, path, { token: tenant.ownerToken, rawBody: opts.raw, body: opts.body });
    assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} ${JSON.stringify(opts).slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`);
    assertWireError(res, status, code, param, `${method} ${path} ${JSON.stringify(opts).slice(0, 80)}`);
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE), before, 'nothing stored changed');
  const list = await t.api('GET', `${o}/mcp-integrations`, { token: tenant.ownerToken });
  assert.equal(list.json.data.length, 1);
});
