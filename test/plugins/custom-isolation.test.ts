/**
 * Tenancy of custom plugins: organisation A never sees, installs, grants or calls organisation B's
 * private plugin (every door answers as if it did not exist), and B's developer routes are B's
 * alone. Grants of custom plugins meet their toolkit requirements (`missing_toolkit`), and roles
 * are held to the policy table (members read; admins write; owners consent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { assertWireError, snapshotTables } from '../helpers/factories.ts';
import { setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { API_KEY_A, assertProblems, install, operatorToken, publish, register, startPluginServer, testManifest } from './custom/helpers.ts';

const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'], operator_tokens: ['last_used_at'] } };
const ALL = ['orders:orders:read', 'orders:notes:write'];

test('organisation A never sees, installs, grants or calls organisation B\'s private plugin', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant: a } = s;
  const b = t.tenant('Beta');
  await using plugin = await startPluginServer(() => ({ json: { status: 'found' } }));
  const regB = await register(t, b, testManifest(plugin.origin));
  plugin.secrets = [regB.signingSecret];
  const instB = await install(t, b, { pluginId: regB.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL });
  const oa = `/organizations/${a.orgId}`;
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);

  assert.deepEqual((await t.api('GET', `${oa}/plugin-directory`, { token: a.ownerToken })).json.data, []);
  assertWireError(await t.api('GET', `${oa}/plugin-directory/${regB.id}`, { token: a.ownerToken }), 404, 'plugin_not_found');
  assertWireError(await t.api('POST', `${oa}/plugin-installations`, { token: a.ownerToken, body: { pluginId: regB.id, config: { api_key: 'x'.repeat(20) }, acceptedPermissions: ALL } }), 404, 'plugin_not_found', 'pluginId');
  assertWireError(await t.api('POST', `${oa}/plugin-installations`, { token: a.ownerToken, body: { pluginId: regB.id, version: '1.0.0', acceptedPermissions: ALL } }), 404, 'plugin_not_found');
  for (const p of ['', '/versions', '/versions/1.0.0', '/logs']) {
    assertWireError(await t.api('GET', `${oa}/developer/plugins/${regB.id}${p}`, { token: a.ownerToken }), 404, 'plugin_not_found', 'pluginId');
  }
  assertWireError(await t.api('POST', `${oa}/developer/plugins/${regB.id}/versions/1.0.0/submit`, { token: a.ownerToken }), 404, 'plugin_not_found');
  assertWireError(await t.api('POST', `${oa}/developer/plugins/${regB.id}/rotate-secret`, { token: a.ownerToken }), 404, 'plugin_not_found');
  // B's installation, by id, from A's side.
  assertWireError(await t.api('GET', `${oa}/plugin-installations/${instB.id}`, { token: a.ownerToken }), 404, 'plugin_installation_not_found');
  assertWireError(await t.api('GET', `${oa}/plugin-installations/${instB.id}/logs`, { token: a.ownerToken }), 404, 'plugin_installation_not_found');
  assertWireError(await t.api('PATCH', `${oa}/plugin-installations/${instB.id}`, { token: a.ownerToken, body: { status: 'disabled' } }), 404, 'plugin_installation_not_found');
  assertWireError(await t.api('PUT', `${oa}/whatsapp-instances/${s.instance.id}/plugins`, { token: a.ownerToken, body: { enabledPluginIds: [instB.id] } }), 400, 'unknown_plugin');
  assertWireError(await t.api('POST', `${oa}/keys`, { token: a.ownerToken, body: { allowedPluginIds: [instB.id] } }), 400, 'unknown_plugin');
  // B's organisation through A's token.
  assertWireError(await t.api('GET', `/organizations/${b.orgId}/plugin-installations`, { token: a.ownerToken }), 404, 'organization_not_found');
  assertWireError(await t.api('GET', `/organizations/${b.orgId}/developer/plugins`, { token: a.ownerToken }), 404, 'organization_not_found');
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing changed');

  // A's gateway key naming B's installation (or slug) gets no tools: passthrough, no call.
  const keyA = t.key(a.orgId).secret;
  s.upstream.script({ expect: (req) => assert.equal(req.body!.tools, undefined), json: chatCompletion({ content: 'plain' }) });
  await t.openai(keyA).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-plugboard-plugins': `${instB.id},orders` } });
  assert.equal(plugin.calls.length, 0);
  const list = await t.api('GET', `${oa}/plugins`, { token: a.ownerToken });
  assert.ok(!list.text.includes(instB.id) && !list.text.includes('orders'));

  // Once published, A sees and installs it; B's private second version stays B's.
  const op = operatorToken(t);
  await publish(t, b, regB.id, '1.0.0', op);
  const v2 = await t.api('POST', `/organizations/${b.orgId}/developer/plugins/${regB.id}/versions`, { token: b.ownerToken, body: { manifest: testManifest(plugin.origin, { version: '2.0.0-beta.1' }) } });
  assert.equal(v2.status, 201);
  const seen = await t.api('GET', `${oa}/plugin-directory/${regB.id}`, { token: a.ownerToken });
  assert.deepEqual(seen.json.versions.map((v: any) => v.version), ['1.0.0']);
  assertWireError(await t.api('GET', `${oa}/plugin-directory/${regB.id}?version=2.0.0-beta.1`, { token: a.ownerToken }), 404, 'plugin_version_not_found');
  assertWireError(await t.api('POST', `${oa}/plugin-installations`, { token: a.ownerToken, body: { pluginId: regB.id, version: '2.0.0-beta.1', config: { api_key: 'x'.repeat(20) }, acceptedPermissions: ALL } }), 404, 'plugin_version_not_found');
  const instA = await install(t, a, { pluginId: regB.id, config: { api_key: 'odk-live-alpha-0000000001' }, acceptedPermissions: ALL });
  assert.equal(instA.version, '1.0.0');
  assert.equal(instA.mode, 'live');
  const asB = (await t.api('GET', `/organizations/${b.orgId}/plugin-directory/${regB.id}`, { token: b.ownerToken })).json;
  assert.deepEqual(asB.versions.map((v: any) => v.version), ['1.0.0', '2.0.0-beta.1'], 'the author sees its own versions');
  assert.equal(asB.latestVersion, '1.0.0', 'the published version is what an install gets by default');
});

test('grants: a custom plugin that requires a toolkit is refused without it (missing_toolkit), granted with it', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant: a } = s;
  await using plugin = await startPluginServer();
  const m = testManifest(plugin.origin, { requires: { toolkits: [{ any: ['whatsapp', 'escalations'], reason: 'It tells the customer when a note was added.' }] } });
  const reg = await register(t, a, m);
  const inst = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL });
  const put = (ids: string[]) => t.api('PUT', `/organizations/${a.orgId}/whatsapp-instances/${s.instance.id}/plugins`, { token: a.ownerToken, body: { enabledPluginIds: ids } });
  const refused = await put([inst.id]);
  assert.deepEqual(assertProblems(refused, 400, 'missing_toolkit', 'enabledPluginIds'), ['/enabledPluginIds/0']);
  assert.match(refused.json.error.message, /orders .* needs one of first_party:whatsapp, first_party:escalations: It tells the customer/);
  assert.deepEqual((await t.api('GET', `/organizations/${a.orgId}/whatsapp-instances/${s.instance.id}/plugins`, { token: a.ownerToken })).json.enabledPluginIds, []);
  const ok = await put(['first_party:whatsapp', inst.id]);
  assert.equal(ok.status, 200, ok.text);
  // Taking the toolkit away while the plugin stays is refused too.
  assert.equal((await put([inst.id])).json.error.code, 'missing_toolkit');
  assert.equal((await put([])).status, 200);
});

test('grants: a custom plugin whose manifest requires payments cannot be granted to a number without first_party:payments', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant: a } = s;
  await using plugin = await startPluginServer();
  const o = `/organizations/${a.orgId}`;
  // Payments is listed (and grantable) once a provider is bound.
  const bound = await t.api('PUT', `${o}/payment-binding`, { token: a.ownerToken, body: { provider: 'sandbox' } });
  assert.equal(bound.status, 200, bound.text);
  const m = testManifest(plugin.origin, { requires: { toolkits: [{ any: ['payments'], reason: 'It adds the order note once the customer has paid.' }] } });
  const reg = await register(t, a, m);
  const inst = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL });
  const grantsUrl = `${o}/whatsapp-instances/${s.instance.id}/plugins`;
  const put = (ids: string[]) => t.api('PUT', grantsUrl, { token: a.ownerToken, body: { enabledPluginIds: ids } });
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  for (const ids of [[inst.id], ['first_party:whatsapp', inst.id]]) {
    const refused = await put(ids);
    assert.deepEqual(assertProblems(refused, 400, 'missing_toolkit', 'enabledPluginIds'), [`/enabledPluginIds/${ids.length - 1}`]);
    assert.match(refused.json.error.message, /needs one of first_party:payments: It adds the order note/);
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'a refused grant changes nothing');
  const ok = await put(['first_party:payments', inst.id]);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual([...(await t.api('GET', grantsUrl, { token: a.ownerToken })).json.enabledPluginIds].sort(), ['first_party:payments', inst.id].sort());
});

test('roles: members read, admins install and configure, only owners accept an upgrade; the developer area is owners\' and admins\'', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant: a } = s;
  await using plugin = await startPluginServer();
  const member = t.member(a.orgId, 'member');
  const admin = t.member(a.orgId, 'admin');
  const o = `/organizations/${a.orgId}`;
  assertWireError(await t.api('POST', `${o}/developer/plugins`, { token: member.token, body: { manifest: testManifest(plugin.origin) } }), 403, 'insufficient_permissions');
  assertWireError(await t.api('GET', `${o}/developer/plugins`, { token: member.token }), 403, 'insufficient_permissions');
  const reg = await t.api('POST', `${o}/developer/plugins`, { token: admin.token, body: { manifest: testManifest(plugin.origin) } });
  assert.equal(reg.status, 201);
  assert.equal((await t.api('GET', `${o}/plugin-directory`, { token: member.token })).json.data.length, 1);
  assertWireError(await t.api('POST', `${o}/plugin-installations`, { token: member.token, body: { pluginId: reg.json.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL } }), 403, 'insufficient_permissions');
  const inst = await t.api('POST', `${o}/plugin-installations`, { token: admin.token, body: { pluginId: reg.json.id, config: { api_key: API_KEY_A }, acceptedPermissions: ALL } });
  assert.equal(inst.status, 201, inst.text);
  assert.equal((await t.api('GET', `${o}/plugin-installations/${inst.json.id}`, { token: member.token })).status, 200);
  assert.equal((await t.api('GET', `${o}/plugin-installations/${inst.json.id}/logs`, { token: member.token })).status, 200);
  assertWireError(await t.api('PATCH', `${o}/plugin-installations/${inst.json.id}`, { token: member.token, body: { status: 'disabled' } }), 403, 'insufficient_permissions');
  assertWireError(await t.api('DELETE', `${o}/plugin-installations/${inst.json.id}`, { token: member.token }), 403, 'insufficient_permissions');
  assertWireError(await t.api('POST', `${o}/plugin-installations/${inst.json.id}/accept-upgrade`, { token: admin.token, body: { version: '1.0.1', acceptedPermissions: ALL } }), 403, 'insufficient_permissions');
  const del = await t.api('DELETE', `${o}/plugin-installations/${inst.json.id}`, { token: admin.token });
  assert.deepEqual(del.json, { id: inst.json.id, object: 'plugin_installation', deleted: true });
});
