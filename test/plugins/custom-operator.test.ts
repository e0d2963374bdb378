/**
 * The appliance operator: operator tokens made and revoked with the real CLI (spawned on the
 * running app's data directory), the `/operator/…` routes refusing every other credential, the
 * review queue through the CLI (`plugin review list|approve|reject`) taking effect in the running
 * server at once, pausing and resuming installations of both kinds (the organisation cannot switch
 * a paused one back on), and what deprecating and withdrawing a version do to installations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startApp, tempDir } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { API_KEY_A, install, publish, register, startPluginServer, testManifest } from './custom/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALL = ['orders:orders:read', 'orders:notes:write'];
const COMPILE_CACHE = tempDir('plugboard-cli-cache-');

function cli(args: string[], dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_COMPILE_CACHE: COMPILE_CACHE, PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('operator tokens (CLI), the review queue through the CLI, and /operator routes that take nothing but a valid operator token', { timeout: 90_000 }, async () => {
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  await using plugin = await startPluginServer();
  const dir = t.config.dataDir;

  const made = await cli(['operator', 'token', 'create', '--name', 'Ops on call', '--json'], dir);
  assert.equal(made.code, 0, made.stderr);
  const { token, id } = JSON.parse(made.stdout) as { token: string; id: string };
  assert.match(token, /^pbo_[A-Za-z0-9_-]{43}$/);
  const me = await t.api('GET', '/operator/me', { token });
  assert.deepEqual(me.json, { object: 'operator', tokenId: id, name: 'Ops on call' });
  const listedTokens = await cli(['operator', 'token', 'list'], dir);
  assert.match(listedTokens.stdout, /Ops on call/);
  assert.ok(!listedTokens.stdout.includes(token), 'the token is shown once');

  assertWireError(await t.api('GET', '/operator/plugin-reviews', {}), 401, 'missing_token');
  assertWireError(await t.api('GET', '/operator/plugin-reviews', { token: a.ownerToken }), 401, 'invalid_token');
  assertWireError(await t.api('GET', '/operator/plugin-reviews', { token: `pbo_${'A'.repeat(43)}` }), 401, 'invalid_token');
  assertWireError(await t.api('GET', `/organizations/${a.orgId}/plugins`, { token }), 401, 'invalid_token', null);

  const reg = await register(t, a, testManifest(plugin.origin));
  const sub = await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions/1.0.0/submit`, { token: a.ownerToken });
  const queue = await cli(['plugin', 'review', 'list', '--json'], dir);
  assert.equal(queue.code, 0, queue.stderr);
  assert.deepEqual(JSON.parse(queue.stdout).data.map((r: any) => [r.versionId, r.slug, r.version, r.organizationId]), [[sub.json.id, 'orders', '1.0.0', a.orgId]]);
  const rejected = await cli(['plugin', 'review', 'reject', '--id', sub.json.id, '--reason', 'The add_note tool needs a clearer description.'], dir);
  assert.equal(rejected.code, 0, rejected.stderr);
  const seen = await t.api('GET', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions/1.0.0`, { token: a.ownerToken });
  assert.equal(seen.json.status, 'rejected');
  assert.equal(seen.json.reviewNote, 'The add_note tool needs a clearer description.');
  assertWireError(await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions/1.0.0/submit`, { token: a.ownerToken }), 409, 'invalid_version_status', 'version');
  const again = await cli(['plugin', 'review', 'approve', '--id', sub.json.id], dir);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is rejected; approving needs a version that is submitted/);

  // A fixed version, approved from the CLI while the server runs: in the directory at once.
  const fixed = await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions`, { token: a.ownerToken, body: { manifest: testManifest(plugin.origin, { version: '1.0.1' }) } });
  const sub2 = await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions/1.0.1/submit`, { token: a.ownerToken });
  assert.equal(fixed.status, 201);
  const approved = await cli(['plugin', 'review', 'approve', '--id', sub2.json.id, '--json'], dir);
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(JSON.parse(approved.stdout).status, 'published');
  const b = t.tenant('Beta');
  assert.deepEqual((await t.api('GET', `/organizations/${b.orgId}/plugin-directory`, { token: b.ownerToken })).json.data.map((d: any) => d.latestVersion), ['1.0.1']);

  // A revoked token stops working on the next request.
  assert.equal((await cli(['operator', 'token', 'revoke', '--id', id], dir)).code, 0);
  assertWireError(await t.api('GET', '/operator/me', { token }), 401, 'revoked_token');
});

test('pause and resume: a custom and an MCP installation; the organisation cannot switch a paused one back on', async () => {
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  await using plugin = await startPluginServer();
  await using mcp = await startMcpTestServer({ streamableOnly: true });
  const op = t.app.operatorTokens.create('ops').secret;
  const reg = await register(t, a, testManifest(plugin.origin));
  const inst = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL });
  const mcpInst = await t.api('POST', `/organizations/${a.orgId}/mcp-integrations`, { token: a.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url, transport: 'streamable_http' } });
  assert.equal(mcpInst.status, 201, mcpInst.text);
  const ids = async () => (await t.api('GET', `/organizations/${a.orgId}/plugins`, { token: a.ownerToken })).json.data.map((p: any) => p.id).sort();
  assert.deepEqual(await ids(), [inst.id, mcpInst.json.id].sort());

  const all = await t.api('GET', '/operator/plugin-installations', { token: op });
  assert.deepEqual(all.json.data.map((i: any) => [i.kind, i.organizationId]).sort(), [['custom', a.orgId], ['mcp', a.orgId]]);
  for (const id of [inst.id, mcpInst.json.id]) {
    const paused = await t.api('POST', `/operator/plugin-installations/${id}/pause`, { token: op, body: { reason: 'Leaking order data; investigating.' } });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.json.status, 'disabled');
    assert.equal(paused.json.pausedByOperator.reason, 'Leaking order data; investigating.');
  }
  assert.deepEqual(await ids(), []);
  const got = (await t.api('GET', `/organizations/${a.orgId}/plugin-installations/${inst.id}`, { token: a.ownerToken })).json;
  assert.equal(got.state, 'paused');
  assertWireError(await t.api('PATCH', `/organizations/${a.orgId}/plugin-installations/${inst.id}`, { token: a.ownerToken, body: { status: 'active' } }), 409, 'paused_by_operator', 'status');
  assertWireError(await t.api('PATCH', `/organizations/${a.orgId}/mcp-integrations/${mcpInst.json.id}`, { token: a.ownerToken, body: { status: 'active' } }), 409, 'paused_by_operator', 'status');
  for (const id of [inst.id, mcpInst.json.id]) assert.equal((await t.api('POST', `/operator/plugin-installations/${id}/resume`, { token: op })).json.status, 'active');
  assert.deepEqual(await ids(), [inst.id, mcpInst.json.id].sort());
  assertWireError(await t.api('POST', '/operator/plugin-installations/nope/pause', { token: op }), 404, 'plugin_installation_not_found');
});

test('deprecate keeps installations working but stops new installs; withdraw stops the installations of that version', async () => {
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.1/32' });
  const a = t.tenant();
  const b = t.tenant('Beta');
  const c = t.tenant('Gamma');
  await using plugin = await startPluginServer();
  const op = t.app.operatorTokens.create('ops').secret;
  const reg = await register(t, a, testManifest(plugin.origin));
  const v = await publish(t, a, reg.id, '1.0.0', op);
  const instB = await install(t, b, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL });
  const dep = await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions/1.0.0/deprecate`, { token: a.ownerToken });
  assert.equal(dep.json.status, 'deprecated');
  assert.equal((await t.api('GET', `/organizations/${b.orgId}/plugin-installations/${instB.id}`, { token: b.ownerToken })).json.status, 'active');
  const dir = (await t.api('GET', `/organizations/${c.orgId}/plugin-directory/${reg.id}`, { token: c.ownerToken })).json;
  assert.equal(dir.version.status, 'deprecated');
  assert.equal(dir.version.installable, false);
  assertWireError(await t.api('POST', `/organizations/${c.orgId}/plugin-installations`, { token: c.ownerToken, body: { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL } }), 409, 'no_installable_version');
  const wd = await t.api('POST', `/operator/plugin-versions/${v.id}/withdraw`, { token: op });
  assert.equal(wd.json.status, 'withdrawn');
  const after = (await t.api('GET', `/organizations/${b.orgId}/plugin-installations/${instB.id}`, { token: b.ownerToken })).json;
  assert.equal(after.state, 'withdrawn');
  assert.equal(after.status, 'disabled');
  assert.deepEqual((await t.api('GET', `/organizations/${b.orgId}/plugins`, { token: b.ownerToken })).json.data, []);
  const on = await t.api('PATCH', `/organizations/${b.orgId}/plugin-installations/${instB.id}`, { token: b.ownerToken, body: { status: 'active' } });
  assert.equal(on.status, 200, on.text);
  assert.deepEqual([on.json.enabled, on.json.status, on.json.state], [true, 'disabled', 'withdrawn'], 'switching it on does not revive a withdrawn version');
});
