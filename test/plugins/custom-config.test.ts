/**
 * A custom installation's settings through the API: config fields checked by type, pattern, range
 * and options with every problem listed; secret values write-only and masked, replaced and used by
 * the next call; tool allowlists and per-tool rate limits as for MCP; the on/off switch; upgrades
 * that need no consent applied at once, and a consent that brings the config a new version needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startApp } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import { API_KEY_A, assertProblems, install, publish, register, startPluginServer, testManifest } from './custom/helpers.ts';

const ALL = ['orders:orders:read', 'orders:notes:write'];

test('config, secrets, allowlist, rate limits, the on/off switch and upgrades of one installation', { timeout: 60_000 }, async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  const key = t.key(a.orgId).secret;
  await using plugin = await startPluginServer(() => ({ json: { status: 'found' } }));
  const m = testManifest(plugin.origin);
  m.config.push(
    { key: 'max_items', label: 'Most items', type: 'integer', minimum: 1, maximum: 10, default: 3 },
    { key: 'express', label: 'Express', type: 'boolean', default: false },
    { key: 'account', label: 'Account', type: 'string', pattern: '^[A-Z]{3}-[0-9]+$' },
  );
  const reg = await register(t, a, m);
  plugin.secrets = [reg.signingSecret];
  const o = `/organizations/${a.orgId}/plugin-installations`;

  const bad = await t.api('POST', o, {
    token: a.ownerToken,
    body: { pluginId: reg.id, acceptedPermissions: ALL, config: { api_key: 42, region: 'eu', max_items: 11, express: 'yes', account: 'acme-1', colour: 'red' } },
  });
  assert.deepEqual(assertProblems(bad, 400, 'invalid_config', 'config').sort(), ['/config/account', '/config/api_key', '/config/colour', '/config/express', '/config/max_items']);
  assert.match(bad.json.error.problems.find((p: any) => p.path === '/config/account').message, /must match/);
  assertWireError(await t.api('POST', o, { token: a.ownerToken, body: { pluginId: reg.id, acceptedPermissions: ALL, config: { api_key: API_KEY_A }, toolAllowlist: ['nope'] } }), 400, 'unknown_tool', 'toolAllowlist.0');

  const inst = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A, account: 'ACM-7' }, acceptedPermissions: ALL });
  assert.deepEqual(inst.config, { api_key: '••••••••', region: 'eu', shop_name: null, max_items: 3, express: false, account: 'ACM-7' });
  const patch = (body: Record<string, unknown>) => t.api('PATCH', `${o}/${inst.id}`, { token: a.ownerToken, body });
  const newKey = 'odk-live-rotated-key-00000002';
  const p1 = await patch({ config: { api_key: newKey, shop_name: 'Bikes', account: null } });
  assert.equal(p1.status, 200, p1.text);
  assert.deepEqual(p1.json.config, { api_key: '••••••••', region: 'eu', shop_name: 'Bikes', max_items: 3, express: false, account: null });
  assert.ok(!p1.text.includes(newKey));
  assert.deepEqual(assertProblems(await patch({ config: { api_key: null } }), 400, 'invalid_config'), ['/config/api_key']);

  const run = async (tool: string): Promise<string> => {
    let read = '';
    upstream.script(
      {
        expect: (req) => void (read = ((req.body!.tools as any[]) ?? []).map((x) => x.function.name).sort().join(',')),
        json: chatCompletion({ toolCalls: [{ name: `orders__${tool}`, arguments: tool === 'lookup_order' ? { orderNumber: 'A-1001' } : { orderNumber: 'A-1001', note: 'x' } }] }),
      },
      { expect: (req) => void (read += ` | ${(req.body!.messages as any[]).find((x) => x.role === 'tool').content}`), json: chatCompletion({ content: 'ok' }) },
    );
    await t.openai(key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] });
    return read;
  };
  assert.match(await run('lookup_order'), /status="ok"/);
  assert.equal(plugin.calls.at(-1)!.verified!.config.api_key, newKey, 'the next call carries the new secret');
  assert.equal(plugin.calls.at(-1)!.verified!.config.shop_name, 'Bikes');

  // Allowlist and rate limits, as for MCP integrations.
  const p2 = await patch({ toolAllowlist: ['lookup_order'], toolRateLimits: { lookup_order: { points: 1, durationSeconds: 60 } } });
  assert.equal(p2.json.toolCount, 1);
  assert.deepEqual(p2.json.tools.map((x: any) => [x.name, x.allowed]), [['lookup_order', true], ['add_note', false]]);
  const listed = (await t.api('GET', `/organizations/${a.orgId}/plugins`, { token: a.ownerToken })).json.data;
  assert.equal(listed.find((p: any) => p.id === inst.id).toolCount, 1);
  const first = await run('lookup_order');
  assert.match(first, /^orders__lookup_order \| .*status="ok"/s);
  assert.match(await run('lookup_order'), /rate limited/);
  assert.match(await run('add_note'), /not allowed here/);

  // Off and on again.
  assert.equal((await patch({ status: 'disabled' })).json.status, 'disabled');
  assert.deepEqual((await t.api('GET', `/organizations/${a.orgId}/plugins`, { token: a.ownerToken })).json.data, []);
  assert.equal((await patch({ status: 'active' })).json.state, 'active');

  // 1.0.1 changes only a timeout: an admin's upgrade applies at once. 1.1.0 needs a new required field: the owner brings it.
  const op = t.app.operatorTokens.create('ops').secret;
  const admin = t.member(a.orgId, 'admin');
  const v101 = testManifest(plugin.origin, { version: '1.0.1' });
  v101.config = m.config;
  v101.tools[0].timeoutMs = 5000;
  assert.equal((await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions`, { token: a.ownerToken, body: { manifest: v101 } })).status, 201);
  const up = await t.api('POST', `${o}/${inst.id}/upgrade`, { token: admin.token, body: { version: '1.0.1' } });
  assert.equal(up.status, 200, up.text);
  assert.deepEqual([up.json.version, up.json.state, up.json.mode], ['1.0.1', 'active', 'sandbox']);
  assert.deepEqual(up.json.toolAllowlist, ['lookup_order'], 'settings survive an upgrade');
  const v110 = testManifest(plugin.origin, { version: '1.1.0' });
  v110.config = [...m.config, { key: 'warehouse', label: 'Warehouse code', type: 'string', required: true }];
  assert.equal((await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions`, { token: a.ownerToken, body: { manifest: v110 } })).status, 201);
  await publish(t, a, reg.id, '1.1.0', op);
  const pending = (await t.api('GET', `${o}/${inst.id}`, { token: a.ownerToken })).json;
  assert.equal(pending.state, 'needs_consent');
  assert.deepEqual(pending.pendingVersion.reasons, [{ kind: 'required_config_added', key: 'warehouse' }]);
  const without = await t.api('POST', `${o}/${inst.id}/accept-upgrade`, { token: a.ownerToken, body: { version: '1.1.0', acceptedPermissions: ALL } });
  assert.deepEqual(assertProblems(without, 400, 'invalid_config'), ['/config/warehouse']);
  assertWireError(await t.api('POST', `${o}/${inst.id}/accept-upgrade`, { token: a.ownerToken, body: { version: '1.0.9', acceptedPermissions: ALL } }), 409, 'pending_version_mismatch');
  const accepted = await t.api('POST', `${o}/${inst.id}/accept-upgrade`, { token: a.ownerToken, body: { version: '1.1.0', acceptedPermissions: ALL, config: { warehouse: 'JHB-2' } } });
  assert.equal(accepted.status, 200, accepted.text);
  assert.deepEqual([accepted.json.version, accepted.json.mode, accepted.json.config.warehouse, accepted.json.config.api_key], ['1.1.0', 'live', 'JHB-2', '••••••••']);
  assertWireError(await t.api('POST', `${o}/${inst.id}/upgrade`, { token: a.ownerToken }), 409, 'already_on_version');
});
