/**
 * The TUI's custom plugin calls (tui/client-dev.ts) against a real Plugboard server and a real
 * plugin HTTP server on 127.0.0.1: every DevClient and OperatorClient call reaches the route it
 * names with the body it should, through the whole lifecycle (register, version, submit, rotate,
 * directory, install, configure, upgrade with consent, logs, review, pause, uninstall), and a
 * refused manifest's problems can be listed from what the TUI receives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, createApiClient } from '../../tui/client.ts';
import { createDevClient, createOperatorClient, isOperatorToken } from '../../tui/client-dev.ts';
import { createScope } from '../../tui/tasks.ts';
import { problemLines, refusalProblems } from '../../tui/views/dev-plugins.ts';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { operatorToken, startPluginServer, testManifest } from '../plugins/custom/helpers.ts';

test('every custom plugin call of the TUI against the real API, developer to operator', async () => {
  await using upstream = await startFakeUpstream();
  await using plugin = await startPluginServer((call) => ({ json: { status: 'found', eta: `soon ${(call.verified as { input: { orderNumber: string } }).input.orderNumber}` } }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant('Acme');
  const b = t.tenant('Bolt');
  const s = createScope('test').signal;
  const devA = createDevClient(createApiClient({ url: t.url, token: a.ownerToken }).forOrg(a.orgId));
  const devB = createDevClient(createApiClient({ url: t.url, token: b.ownerToken }).forOrg(b.orgId));
  const opToken = operatorToken(t, 'Rita');
  assert.ok(isOperatorToken(opToken));
  assert.ok(!isOperatorToken(a.ownerToken));
  const op = createOperatorClient(createApiClient({ url: t.url, token: opToken }).request);

  // A refused manifest: a 400 whose problems the TUI can list, and nothing stored.
  const bad = testManifest(plugin.origin, { slug: 'plugboard', version: 'v1', a: 1, b: 2, c: 3, d: 4 });
  const refused = await devA.register({ manifest: bad }, s).then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof ApiError && refused.status === 400 && refused.code === 'invalid_manifest', String(refused));
  const problems = refusalProblems(refused);
  assert.ok(problems.some((p) => p.path === '/slug') && problems.some((p) => p.path === '/a'), JSON.stringify(problems));
  const listed = problemLines(refused, '').join('\n');
  assert.match(listed, /^6 problems:/);
  // Every one, once ApiError carries error.problems; until then the message's first five and the count of the rest.
  assert.ok(problems.length === 6 || (problems.length === 5 && /and 1 more/.test(listed)), listed);
  assert.deepEqual(await devA.devPlugins(s), []);

  // Developer area.
  const reg = await devA.register({ manifest: testManifest(plugin.origin) }, s);
  assert.match(reg.signingSecret, /^whsec_/);
  plugin.secrets = [reg.signingSecret];
  assert.equal((await devA.devPlugin(reg.id, s)).slug, 'orders');
  const v11 = testManifest(plugin.origin, { version: '1.1.0' });
  v11.permissions.push({ key: 'orders:refunds:read', label: 'Read refunds', description: 'See refunds.' });
  const added = await devA.addVersion(reg.id, { manifest: v11 }, s);
  assert.equal(added.version, '1.1.0');
  assert.equal((await devA.version(reg.id, '1.1.0', s)).manifest.version, '1.1.0');
  const rotated = await devA.rotateSecret(reg.id, 60, s);
  assert.match(rotated.signingSecret, /^whsec_/);
  assert.ok(rotated.previousSecretExpiresAt);
  plugin.secrets = [rotated.signingSecret];

  // Directory and a sandbox install of 1.0.0, then a call and its log.
  const dir = await devA.directory(s);
  assert.deepEqual(dir.map((d) => [d.slug, d.ownPlugin]), [['orders', true]]);
  const entry = await devA.directoryEntry(reg.id, '1.0.0', s);
  assert.equal(entry.version.mode, 'sandbox');
  assert.deepEqual(entry.version.config.map((f) => f.key), ['api_key', 'region', 'shop_name']);
  const inst = await devA.install({ pluginId: reg.id, version: '1.0.0', config: { api_key: 'odk-1' }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] }, s);
  assert.equal(inst.mode, 'sandbox');
  assert.equal((await devA.installations(s)).length, 1);
  assert.equal((await devA.updateInstallation(inst.id, { config: { region: 'us' } }, s)).config.region, 'us');
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ name: 'orders__lookup_order', arguments: { orderNumber: 'A-0001' } }] }) },
    { json: chatCompletion({ content: 'done' }) },
  );
  await t.openai(t.key(a.orgId).secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
  const logs = await devA.installationLogs(inst.id, { limit: 1 }, s);
  assert.equal(logs.data[0].tool, 'lookup_order');
  assert.match(logs.data[0].responseBody ?? '', /soon A-0001/);
  assert.equal((await devA.pluginLogs(reg.id, { limit: 5 }, s)).data.length, 1);

  // Upgrade asks for consent (a new permission); accept-upgrade moves it.
  const pending = await devA.upgrade(inst.id, undefined, s);
  assert.equal(pending.version, '1.0.0');
  assert.equal(pending.pendingVersion?.version, '1.1.0');
  const moved = await devA.acceptUpgrade(inst.id, { version: '1.1.0', acceptedPermissions: pending.pendingVersion!.permissions.map((p) => p.key) }, s);
  assert.equal(moved.version, '1.1.0');
  assert.equal((await devA.installation(inst.id, s)).version, '1.1.0');

  // Review: submit, reject with a reason, submit the next, approve; another organisation installs it live.
  const submitted = await devA.versionAction(reg.id, '1.1.0', 'submit', s);
  assert.equal(submitted.status, 'submitted');
  assert.equal((await op.me(s)).name, 'Rita');
  const queue = await op.reviews(s);
  assert.deepEqual(queue.map((r) => r.version), ['1.1.0']);
  assert.equal((await op.review(queue[0].id, s)).slug, 'orders');
  assert.equal((await op.reject(queue[0].id, 'Say what refunds are read for.', s)).reviewNote, 'Say what refunds are read for.');
  await devA.addVersion(reg.id, { manifest: testManifest(plugin.origin, { version: '1.2.0' }) }, s);
  const sub2 = await devA.versionAction(reg.id, '1.2.0', 'submit', s);
  assert.equal((await op.approve(sub2.id, 'Thanks', s)).status, 'published');
  const instB = await devB.install({ pluginId: reg.id, config: { api_key: 'odk-2' }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] }, s);
  assert.equal(instB.mode, 'live');
  assert.equal(instB.version, '1.2.0');

  // Operator: every organisation's installations, pause and resume, any plugin's log.
  const all = await op.installations({ pluginId: reg.id }, s);
  assert.deepEqual(all.map((i) => i.organizationId).sort(), [a.orgId, b.orgId].sort());
  const paused = await op.pause(instB.id, 'checking', s);
  assert.equal(paused.pausedByOperator?.reason, 'checking');
  assert.equal((await devB.installation(instB.id, s)).state, 'paused');
  assert.equal((await op.resume(instB.id, s)).pausedByOperator, null);
  assert.equal((await op.logs({ pluginId: reg.id, limit: 10 }, s)).data.length, 1);
  assert.equal((await op.logs({ installationId: instB.id }, s)).data.length, 0);
  assert.equal((await devA.versionAction(reg.id, '1.2.0', 'deprecate', s)).status, 'deprecated');
  assert.equal((await op.versionAction(sub2.id, 'withdraw', s)).status, 'withdrawn');

  const gone = await devB.uninstall(instB.id, s);
  assert.equal(gone.deleted, true);
  assert.deepEqual(await devB.installations(s), []);
});
