/**
 * Bad input on every custom plugin endpoint (developer area, directory, installations, operator):
 * malformed JSON, non-objects, empty bodies where one is needed, unknown fields, wrong types,
 * unknown ids, bad queries and wrong methods. Every answer is a 4xx in the error shape — never a
 * 500 — and the database is exactly as it was before the barrage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { assertWireError, snapshotTables } from '../helpers/factories.ts';
import { API_KEY_A, install, register, startPluginServer, testManifest } from './custom/helpers.ts';

const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'], operator_tokens: ['last_used_at'] } };

test('custom plugin endpoints: every bad request is a 4xx in the error shape and changes nothing', { timeout: 60_000 }, async () => {
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  await using plugin = await startPluginServer();
  const a = t.tenant();
  const op = t.app.operatorTokens.create('ops').secret;
  const reg = await register(t, a, testManifest(plugin.origin));
  const inst = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
  const sub = await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions/1.0.0/submit`, { token: a.ownerToken });
  const o = `/organizations/${a.orgId}`;
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const bodies: Array<{ path: string; token: string; valid: Record<string, unknown>; wrongType: Record<string, unknown> }> = [
    { path: `${o}/developer/plugins`, token: a.ownerToken, valid: { manifest: testManifest(plugin.origin, { slug: 'other' }) }, wrongType: { manifestUrl: 7 } },
    { path: `${o}/developer/plugins/${reg.id}/versions`, token: a.ownerToken, valid: { manifest: testManifest(plugin.origin, { version: '9.9.9' }) }, wrongType: { manifestUrl: ['x'] } },
    { path: `${o}/plugin-installations`, token: a.ownerToken, valid: { pluginId: reg.id, acceptedPermissions: [] }, wrongType: { pluginId: reg.id, acceptedPermissions: 'all' } },
    { path: `${o}/plugin-installations/${inst.id}/accept-upgrade`, token: a.ownerToken, valid: { version: '1.0.0', acceptedPermissions: [] }, wrongType: { version: 1, acceptedPermissions: [] } },
  ];
  for (const e of bodies) {
    assertWireError(await t.api('POST', e.path, { token: e.token, rawBody: '{"x":' }), 400, 'invalid_json', null, e.path);
    assertWireError(await t.api('POST', e.path, { token: e.token, rawBody: '[]' }), 400, 'invalid_body', null, e.path);
    assertWireError(await t.api('POST', e.path, { token: e.token, rawBody: '' }), 400, 'missing_body', null, e.path);
    assertWireError(await t.api('POST', e.path, { token: e.token, body: { ...e.valid, surprise: true } }), 400, 'unknown_parameter', null, e.path);
    const wrong = await t.api('POST', e.path, { token: e.token, body: e.wrongType });
    assert.equal(wrong.status, 400, `${e.path}: ${wrong.text}`);
  }
  // Optional-body actions: a body with fields they do not take, or malformed.
  for (const [path, token] of [
    [`${o}/developer/plugins/${reg.id}/versions/1.0.0/deprecate`, a.ownerToken], [`${o}/developer/plugins/${reg.id}/rotate-secret`, a.ownerToken],
    [`${o}/plugin-installations/${inst.id}/upgrade`, a.ownerToken], [`/operator/plugin-versions/${sub.json.id}/approve`, op],
    [`/operator/plugin-versions/${sub.json.id}/reject`, op], [`/operator/plugin-installations/${inst.id}/pause`, op], [`/operator/plugin-installations/${inst.id}/resume`, op],
  ] as const) {
    const base = path.endsWith('/reject') ? { reason: 'Unclear descriptions.' } : {};
    assertWireError(await t.api('POST', path, { token, body: { ...base, surprise: 1 } }), 400, 'unknown_parameter', null, path);
    assertWireError(await t.api('POST', path, { token, rawBody: '{', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json', null, path);
  }
  assertWireError(await t.api('POST', `${o}/developer/plugins/${reg.id}/rotate-secret`, { token: a.ownerToken, body: { overlapSeconds: -1 } }), 400, 'invalid_value', 'overlapSeconds');
  assertWireError(await t.api('POST', `/operator/plugin-versions/${sub.json.id}/reject`, { token: op, body: { reason: '  ' } }), 400, 'invalid_value', 'reason');
  assertWireError(await t.api('PATCH', `${o}/plugin-installations/${inst.id}`, { token: a.ownerToken, body: { status: 'paused' } }), 400, 'invalid_value', 'status');
  assertWireError(await t.api('PATCH', `${o}/plugin-installations/${inst.id}`, { token: a.ownerToken, body: { toolRateLimits: { lookup_order: { points: 0, durationSeconds: 1 } } } }), 400, 'invalid_value');
  assertWireError(await t.api('PATCH', `${o}/plugin-installations/${inst.id}`, { token: a.ownerToken, body: { toolRateLimits: { ghost: { points: 1, durationSeconds: 1 } } } }), 400, 'unknown_tool');
  // Unknown ids, versions and routes; bad queries; wrong methods.
  assertWireError(await t.api('GET', `${o}/developer/plugins/nope`, { token: a.ownerToken }), 404, 'plugin_not_found');
  assertWireError(await t.api('GET', `${o}/developer/plugins/${reg.id}/versions/9.9.9`, { token: a.ownerToken }), 404, 'plugin_version_not_found');
  assertWireError(await t.api('POST', `${o}/developer/plugins/${reg.id}/versions/9.9.9/submit`, { token: a.ownerToken }), 404, 'plugin_version_not_found');
  assertWireError(await t.api('GET', `${o}/plugin-installations/nope`, { token: a.ownerToken }), 404, 'plugin_installation_not_found');
  assertWireError(await t.api('GET', `${o}/plugin-directory/nope`, { token: a.ownerToken }), 404, 'plugin_not_found');
  assertWireError(await t.api('POST', '/operator/plugin-versions/nope/approve', { token: op }), 404, 'plugin_version_not_found');
  assertWireError(await t.api('GET', `${o}/plugin-installations/${inst.id}/logs?limit=0`, { token: a.ownerToken }), 400, 'invalid_value', 'limit');
  assertWireError(await t.api('GET', `${o}/plugin-installations/${inst.id}/logs?cursor=abc`, { token: a.ownerToken }), 400, 'invalid_value', 'cursor');
  assertWireError(await t.api('GET', `${o}/plugin-installations/${inst.id}/logs?limit=1&limit=2`, { token: a.ownerToken }), 400, 'invalid_value', 'limit');
  assertWireError(await t.api('GET', `/operator/plugin-logs?what=1`, { token: op }), 400, 'unknown_parameter');
  assertWireError(await t.api('PUT', `${o}/plugin-installations/${inst.id}`, { token: a.ownerToken, body: {} }), 405, 'method_not_allowed');
  assertWireError(await t.api('DELETE', `${o}/developer/plugins/${reg.id}`, { token: a.ownerToken }), 405, 'method_not_allowed');
  assertWireError(await t.api('GET', '/operator/nothing-here', { token: op }), 404, 'unknown_url');
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'the barrage changed nothing');
});
