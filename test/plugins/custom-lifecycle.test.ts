/**
 * The whole life of a custom plugin through the API, against a real plugin server on loopback that
 * verifies every call with the published `standardwebhooks` package: register (signing secret shown
 * once), install in sandbox with config and consent, grant to a WhatsApp number instance, a signed
 * inbound WhatsApp message whose scripted model calls the plugin tool and whose reply carries the
 * plugin's answer (every context field checked on the plugin side), the plugin log, review by the
 * operator, publishing, an install by a second organisation, and an upgrade that needs re-consent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { deliverTwilioWebhook, inboundParams } from '../fakes/twilio-webhooks.ts';
import { assertWireError, snapshotTables, waitFor } from '../helpers/factories.ts';
import { ALICE, PUBLIC_BASE, setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { API_KEY_A, assertProblems, install, operatorToken, register, startPluginServer, testManifest } from './custom/helpers.ts';

const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'], operator_tokens: ['last_used_at'] } };
const BODY_KEYS = ['bridge', 'config', 'context', 'input', 'mode', 'tool'];
const CONTEXT_KEYS = ['conversationId', 'customerId', 'installationId', 'instanceId', 'organizationId', 'requestId'];

test('register → sandbox install → WhatsApp conversation → log → review → publish → second organisation → upgrade with re-consent', { timeout: 90_000 }, async () => {
  await using s = await setupWhatsApp();
  const { t, upstream, twilio, tenant: a } = s;
  await using plugin = await startPluginServer(({ verified }) => {
    const input = verified!.input as { orderNumber?: string; note?: string };
    if (verified!.tool === 'lookup_order') return { json: { status: 'found', eta: `Tomorrow 10:00 (order ${input.orderNumber})` } };
    return { json: { status: 'noted' } };
  });
  const o = (who: { orgId: string }) => `/organizations/${who.orgId}`;

  // 1. Register: 201 with id, slug, version and the signing secret, shown this once.
  const reg = await register(t, a, testManifest(plugin.origin));
  assert.equal(reg.slug, 'orders');
  assert.equal(reg.version, '1.0.0');
  assert.match(reg.signingSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  plugin.secrets = [reg.signingSecret];
  const got = await t.api('GET', `${o(a)}/developer/plugins/${reg.id}`, { token: a.ownerToken });
  assert.equal(got.status, 200);
  assert.equal(got.json.versions[0].status, 'private');
  assert.ok(!got.text.includes(reg.signingSecret), 'the secret is never shown again');

  // 2. Install in sandbox: a refused consent or config stores nothing; then the install.
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const partial = await t.api('POST', `${o(a)}/plugin-installations`, { token: a.ownerToken, body: { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ['orders:orders:read'] } });
  assert.deepEqual(assertProblems(partial, 400, 'permissions_not_accepted', 'acceptedPermissions'), ['/permissions/1']);
  assert.match(partial.json.error.problems[0].message, /Write order notes/);
  const noKey = await t.api('POST', `${o(a)}/plugin-installations`, { token: a.ownerToken, body: { pluginId: reg.id, config: { region: 'mars' }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] } });
  assert.deepEqual(assertProblems(noKey, 400, 'invalid_config', 'config').sort(), ['/config/api_key', '/config/region']);
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'refused installs change nothing');
  const instA = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A, shop_name: 'Acme Bikes' }, acceptedPermissions: ['orders:notes:write', 'orders:orders:read'] });
  assert.equal(instA.mode, 'sandbox');
  assert.equal(instA.state, 'active');
  assert.deepEqual(instA.config, { api_key: '••••••••', region: 'eu', shop_name: 'Acme Bikes' });
  assert.ok(!JSON.stringify(instA).includes(API_KEY_A));
  const listed = await t.api('GET', `${o(a)}/plugins`, { token: a.ownerToken });
  assert.deepEqual(listed.json.data.find((p: any) => p.id === instA.id), {
    id: instA.id, kind: 'custom', slug: 'orders', displayName: 'Order Desk', description: 'Looks up orders in the Order Desk system.', toolCount: 2,
  });

  // 3. Nothing is granted by default; then grant it to the WhatsApp number instance.
  assert.deepEqual((await t.api('GET', `${o(a)}/whatsapp-instances/${s.instance.id}/plugins`, { token: a.ownerToken })).json.enabledPluginIds, []);
  await s.grant([instA.id]);

  // 4. A customer writes; the model calls the plugin tool; the reply carries the plugin's answer.
  let toolMessage = '';
  upstream.script(
    {
      expect(req) {
        assert.deepEqual(((req.body!.tools as any[]) ?? []).map((x) => x.function.name).sort(), ['orders__add_note', 'orders__lookup_order']);
      },
      json: chatCompletion({ toolCalls: [{ name: 'orders__lookup_order', arguments: { orderNumber: 'A-1001' } }] }),
    },
    {
      expect(req) {
        toolMessage = (req.body!.messages as any[]).find((m) => m.role === 'tool').content;
      },
      json: chatCompletion({ content: 'Your order A-1001 arrives tomorrow at 10:00.' }),
    },
  );
  assert.equal((await s.send('Where is my order A-1001?')).status, 200);
  const sent = await s.waitForSent(1, 10_000);
  assert.equal(sent[0].body, 'Your order A-1001 arrives tomorrow at 10:00.');
  assert.match(toolMessage, /Tomorrow 10:00 \(order A-1001\)/);
  assert.equal(plugin.calls.length, 1);
  const call = plugin.calls[0];
  assert.deepEqual(call.verifiedBy, [0], 'standardwebhooks verifies the signature with the secret shown at registration');
  const body = call.verified!;
  assert.equal(call.rawBody, JSON.stringify(body), 'the signed bytes are the body sent');
  assert.deepEqual(Object.keys(body).sort(), BODY_KEYS);
  assert.deepEqual(Object.keys(body.context).sort(), CONTEXT_KEYS);
  assert.equal(body.tool, 'lookup_order');
  assert.deepEqual(body.input, { orderNumber: 'A-1001' });
  assert.equal(body.mode, 'sandbox');
  assert.equal(body.bridge, null);
  assert.deepEqual(body.config, { api_key: API_KEY_A, region: 'eu', shop_name: 'Acme Bikes' });
  assert.equal(body.context.organizationId, a.orgId);
  assert.equal(body.context.installationId, instA.id);
  assert.equal(body.context.instanceId, s.instance.id);
  assert.match(body.context.requestId, /\S/);
  assert.match(body.context.customerId, /^cus_[A-Za-z0-9_-]{22}$/);
  assert.match(body.context.conversationId, /^cnv_[A-Za-z0-9_-]{22}$/);
  for (const id of [body.context.customerId, body.context.conversationId]) {
    for (const phone of ['14155550123', '4155550123', '0123']) assert.ok(!id.includes(phone), `${id} holds no part of the number`);
  }
  assert.match(String(call.headers['webhook-id']), /^call_/);
  assert.match(String(call.headers['webhook-timestamp']), /^\d{10}$/);

  // 5. The plugin log (sandbox: bodies, secret values redacted) and the usage event.
  const logs = await t.api('GET', `${o(a)}/plugin-installations/${instA.id}/logs`, { token: a.ownerToken });
  assert.equal(logs.status, 200, logs.text);
  assert.equal(logs.json.data.length, 1);
  const entry = logs.json.data[0];
  assert.equal(entry.tool, 'lookup_order');
  assert.equal(entry.status, 'ok');
  assert.equal(entry.instanceId, s.instance.id);
  assert.equal(entry.mode, 'sandbox');
  assert.equal(entry.httpStatus, 200);
  assert.equal(entry.webhookId, call.headers['webhook-id']);
  assert.ok(!entry.requestBody.includes(API_KEY_A));
  assert.equal(JSON.parse(entry.requestBody).config.api_key, '••••••••');
  assert.match(entry.responseBody, /Tomorrow 10:00/);
  const devLogs = await t.api('GET', `${o(a)}/developer/plugins/${reg.id}/logs`, { token: a.ownerToken });
  assert.equal(devLogs.json.data[0].id, entry.id);
  t.app.recorder.flush();
  const usage = await t.api('GET', `${o(a)}/usage-events?kind=tool_call`, { token: a.ownerToken });
  assert.deepEqual(usage.json.data.map((u: any) => [u.pluginId, u.tool, u.status, u.instanceId]), [[instA.id, 'lookup_order', 'ok', s.instance.id]]);

  // 6. Review: submit; the operator approves; the version is published and A's installation goes live.
  const sub = await t.api('POST', `${o(a)}/developer/plugins/${reg.id}/versions/1.0.0/submit`, { token: a.ownerToken });
  assert.equal(sub.json.status, 'submitted');
  const again = await t.api('POST', `${o(a)}/developer/plugins/${reg.id}/versions`, { token: a.ownerToken, body: { manifest: testManifest(plugin.origin, { description: 'Changed after submitting.' }) } });
  assertWireError(again, 409, 'version_exists', 'version');
  const op = operatorToken(t);
  assertWireError(await t.api('GET', '/operator/plugin-reviews', { token: a.ownerToken }), 401, 'invalid_token');
  const queue = await t.api('GET', '/operator/plugin-reviews', { token: op });
  assert.deepEqual(queue.json.data.map((r: any) => [r.slug, r.version, r.organizationId]), [['orders', '1.0.0', a.orgId]]);
  assert.equal((await t.api('POST', `/operator/plugin-versions/${sub.json.id}/approve`, { token: op })).json.status, 'published');
  assert.equal((await t.api('GET', `${o(a)}/plugin-installations/${instA.id}`, { token: a.ownerToken })).json.mode, 'live');

  // 7. A second organisation finds it in the directory and installs it (live), with its own config.
  const b = t.tenant('Beta');
  const dir = await t.api('GET', `${o(b)}/plugin-directory`, { token: b.ownerToken });
  assert.deepEqual(dir.json.data.map((d: any) => [d.id, d.latestVersion, d.ownPlugin]), [[reg.id, '1.0.0', false]]);
  const detail = await t.api('GET', `${o(b)}/plugin-directory/${reg.id}`, { token: b.ownerToken });
  assert.deepEqual(detail.json.version.permissions.map((p: any) => [p.key, p.label]), [['orders:orders:read', 'Read orders'], ['orders:notes:write', 'Write order notes']]);
  assert.equal(detail.json.version.mode, 'live');
  const instB = await install(t, b, { pluginId: reg.id, config: { api_key: 'odk-live-beta-00000000001', region: 'us' }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
  assert.equal(instB.mode, 'live');
  const instanceB = await s.createInstance({ name: 'Beta support', sender: 'whatsapp:+14155550999' }, b);
  const grantB = await t.api('PUT', `${o(b)}/whatsapp-instances/${instanceB.id}/plugins`, { token: b.ownerToken, body: { enabledPluginIds: [instB.id] } });
  assert.equal(grantB.status, 200, grantB.text);
  upstream.script(
    { json: chatCompletion({ toolCalls: [{ name: 'orders__lookup_order', arguments: { orderNumber: 'A-2002' } }] }) },
    { json: chatCompletion({ content: 'Beta: arriving tomorrow.' }) },
  );
  const path = `/webhooks/twilio/whatsapp/${instanceB.id}`;
  const delivered = await deliverTwilioWebhook({
    url: t.url + path, signedUrl: PUBLIC_BASE + path, authToken: twilio.authToken,
    params: inboundParams({ accountSid: twilio.accountSid, from: ALICE, to: 'whatsapp:+14155550999', body: 'Where is A-2002?' }),
  });
  assert.equal(delivered.status, 200);
  await waitFor('the plugin call of organisation B', () => plugin.calls.length === 2, 10_000);
  const bBody = plugin.calls[1].verified!;
  assert.equal(bBody.mode, 'live');
  assert.equal(bBody.context.organizationId, b.orgId);
  assert.equal(bBody.context.installationId, instB.id);
  assert.deepEqual(bBody.config, { api_key: 'odk-live-beta-00000000001', region: 'us' });
  assert.notEqual(bBody.context.customerId, body.context.customerId, 'the same customer has another id in another installation');
  await s.waitForSent(2, 10_000);
  const bLogs = await t.api('GET', `${o(b)}/plugin-installations/${instB.id}/logs`, { token: b.ownerToken });
  assert.equal(bLogs.json.data[0].requestBody, null, 'live installations log no bodies');

  // 8. Version 1.1.0 adds a permission and a tool: published, it waits for consent; calls keep 1.0.0.
  const v2 = testManifest(plugin.origin, { version: '1.1.0' });
  v2.permissions.push({ key: 'orders:orders:cancel', label: 'Cancel orders', description: 'Cancel an order the customer asks to cancel.' });
  v2.tools.push({
    name: 'cancel_order', description: 'Cancel an order when the customer clearly asks to cancel it.', effect: 'write', permissions: ['orders:orders:cancel'],
    inputSchema: { type: 'object', properties: { orderNumber: { type: 'string' } }, required: ['orderNumber'], additionalProperties: false },
  });
  const created = await t.api('POST', `${o(a)}/developer/plugins/${reg.id}/versions`, { token: a.ownerToken, body: { manifest: v2 } });
  assert.equal(created.status, 201, created.text);
  const sub2 = await t.api('POST', `${o(a)}/developer/plugins/${reg.id}/versions/1.1.0/submit`, { token: a.ownerToken });
  const review = (await t.api('GET', '/operator/plugin-reviews', { token: op })).json.data[0];
  assert.equal(review.previousPublishedVersion, '1.0.0');
  assert.deepEqual(review.changes.reasons, [{ kind: 'permission_added', key: 'orders:orders:cancel' }, { kind: 'tool_added', name: 'cancel_order' }]);
  assert.equal((await t.api('POST', `/operator/plugin-versions/${sub2.json.id}/approve`, { token: op })).status, 200);
  const pendingB = (await t.api('GET', `${o(b)}/plugin-installations/${instB.id}`, { token: b.ownerToken })).json;
  assert.equal(pendingB.state, 'needs_consent');
  assert.equal(pendingB.version, '1.0.0');
  assert.equal(pendingB.pendingVersion.version, '1.1.0');
  assert.equal(pendingB.pendingVersion.needsConsent, true);
  const keyB = t.key(b.orgId).secret;
  upstream.script({
    expect(req) {
      assert.deepEqual(((req.body!.tools as any[]) ?? []).map((x) => x.function.name).filter((n: string) => n.startsWith('orders__')).sort(), ['orders__add_note', 'orders__lookup_order'], 'still 1.0.0 until consent');
    },
    json: chatCompletion({ content: 'ok' }),
  });
  await t.openai(keyB).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });

  // An admin may ask for the upgrade but not consent; an owner consents with every permission.
  const adminB = t.member(b.orgId, 'admin');
  const asked = await t.api('POST', `${o(b)}/plugin-installations/${instB.id}/upgrade`, { token: adminB.token });
  assert.equal(asked.status, 200, asked.text);
  assert.equal(asked.json.state, 'needs_consent');
  assert.equal(asked.json.version, '1.0.0');
  const accept = { version: '1.1.0', acceptedPermissions: ['orders:orders:read', 'orders:notes:write', 'orders:orders:cancel'] };
  assertWireError(await t.api('POST', `${o(b)}/plugin-installations/${instB.id}/accept-upgrade`, { token: adminB.token, body: accept }), 403, 'insufficient_permissions');
  const short = await t.api('POST', `${o(b)}/plugin-installations/${instB.id}/accept-upgrade`, { token: b.ownerToken, body: { ...accept, acceptedPermissions: accept.acceptedPermissions.slice(0, 2) } });
  assert.equal(short.json.error.code, 'permissions_not_accepted');
  const moved = await t.api('POST', `${o(b)}/plugin-installations/${instB.id}/accept-upgrade`, { token: b.ownerToken, body: accept });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.version, '1.1.0');
  assert.equal(moved.json.state, 'active');
  assert.equal(moved.json.pendingVersion, null);
  assert.deepEqual(moved.json.config, { api_key: '••••••••', region: 'us', shop_name: null }, 'the config, its secret included, survives the upgrade');
  upstream.script(
    {
      expect(req) {
        assert.deepEqual(((req.body!.tools as any[]) ?? []).map((x) => x.function.name).filter((n: string) => n.startsWith('orders__')).sort(), ['orders__add_note', 'orders__cancel_order', 'orders__lookup_order']);
      },
      json: chatCompletion({ toolCalls: [{ name: 'orders__cancel_order', arguments: { orderNumber: 'A-2002' } }] }),
    },
    { json: chatCompletion({ content: 'cancelled' }) },
  );
  await t.openai(keyB).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'cancel A-2002' }] });
  const last = plugin.calls.at(-1)!.verified!;
  assert.equal(last.tool, 'cancel_order');
  assert.equal(last.context.instanceId, null, 'the plain API path has no instance');
  assert.equal(last.context.customerId, null);
  assert.equal(last.config.api_key, 'odk-live-beta-00000000001');
  // A's installation was not touched by B's consent: still 1.0.0, waiting for its own owner.
  assert.equal((await t.api('GET', `${o(a)}/plugin-installations/${instA.id}`, { token: a.ownerToken })).json.state, 'needs_consent');
  assert.equal(upstream.remaining, 0);
});
