/**
 * Signed calls end to end: the example delivery plugin (examples/delivery-plugin) registered with
 * the appliance and called through the gateway; the author kit's replay protection on a call the
 * appliance really sent (stale timestamps and altered bodies refused, a repeated webhook-id answered
 * once); and a secret rotation whose overlap signs with both secrets (`standardwebhooks` verifies
 * either), then one without overlap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { Webhook } from 'standardwebhooks';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startApp } from '../helpers/app.ts';
import { freePort } from '../helpers/factories.ts';
import { createDeliveryPluginServer } from '../../examples/delivery-plugin/server.ts';
import { PlugboardRequestError, verifyPlugboardRequest } from '../../examples/delivery-plugin/plugboard-kit.ts';
import { API_KEY_A, install, register, startPluginServer, testManifest } from './custom/helpers.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/delivery-plugin/plugboard-plugin.json');

async function setup() {
  const upstream = await startFakeUpstream();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  const key = t.key(a.orgId).secret;
  const callTool = async (name: string, args: Record<string, unknown>): Promise<string> => {
    let read = '';
    upstream.script(
      { json: chatCompletion({ toolCalls: [{ name, arguments: args }] }) },
      { expect: (req) => void (read = (req.body!.messages as any[]).find((x) => x.role === 'tool').content), json: chatCompletion({ content: 'done' }) },
    );
    await t.openai(key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] });
    return read;
  };
  return { t, a, upstream, callTool, async [Symbol.asyncDispose]() { await t.close(); await upstream.close(); } };
}

test('the example delivery plugin, registered and called through the gateway; the kit refuses replays and altered bodies', async () => {
  await using s = await setup();
  const port = await freePort();
  const manifest = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  manifest.baseUrl = `http://127.0.0.1:${port}`;
  const reg = await register(s.t, s.a, manifest);
  const delivery = createDeliveryPluginServer({ secret: reg.signingSecret });
  delivery.listen(port, '127.0.0.1');
  await once(delivery, 'listening');
  try {
    await install(s.t, s.a, {
      pluginId: reg.id, config: { api_key: 'ak_0123456789abcdef', account_id: 'ACME-1' }, acceptedPermissions: ['delivery:jobs:read', 'delivery:jobs:create'],
    });
    const read = await s.callTool('acme-delivery__lookup_delivery', { orderNumber: 'MAT-2026-0510-0041' });
    assert.match(read, /status="ok"/);
    assert.match(read, /"deliveryStatus":"out_for_delivery","eta":"Today between 3:00 PM and 5:00 PM"/);
    const job = await s.callTool('acme-delivery__create_delivery_job', { orderNumber: 'MAT-2026-0511-0099', paidOrderReference: 'unpaid', address: '12 Main Road, Rosebank, Johannesburg' });
    assert.match(job, /status="error"[\s\S]*HTTP 422\): paidOrderReference does not name a paid order/);
  } finally {
    delivery.closeAllConnections();
    delivery.close();
  }

  // A call the appliance really sent, checked with the kit.
  await using plugin = await startPluginServer(() => ({ json: { status: 'found', eta: 'soon' } }));
  const m = testManifest(plugin.origin);
  const reg2 = await register(s.t, s.a, m);
  plugin.secrets = [reg2.signingSecret];
  await install(s.t, s.a, { pluginId: reg2.id, config: { api_key: API_KEY_A }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
  await s.callTool('orders__lookup_order', { orderNumber: 'A-1001' });
  const { headers, rawBody } = plugin.calls[0];
  const ts = Number(headers['webhook-timestamp']);
  const call = verifyPlugboardRequest(reg2.signingSecret, headers, rawBody);
  assert.equal(call.tool, 'lookup_order');
  assert.match(call.context.installationId, /^[0-9a-f-]{36}$/);
  assert.equal(call.webhookId, headers['webhook-id']);
  const refused = (fn: () => unknown, code: string) => assert.throws(fn, (e: unknown) => e instanceof PlugboardRequestError && e.code === code && e.status === 401, code);
  refused(() => verifyPlugboardRequest(reg2.signingSecret, headers, rawBody, { nowSeconds: () => ts + 301 }), 'timestamp_too_old');
  refused(() => verifyPlugboardRequest(reg2.signingSecret, headers, rawBody.replace('A-1001', 'A-1002')), 'invalid_signature');
  refused(() => verifyPlugboardRequest(reg2.signingSecret, { ...headers, 'webhook-timestamp': String(ts + 1) }, rawBody), 'invalid_signature');
  refused(() => verifyPlugboardRequest(reg.signingSecret, headers, rawBody), 'invalid_signature');
  assert.doesNotThrow(() => verifyPlugboardRequest(reg2.signingSecret, headers, rawBody, { nowSeconds: () => ts + 299 }));
});

test('rotation: during the overlap both secrets sign each call; with no overlap only the new one does', async () => {
  await using s = await setup();
  await using plugin = await startPluginServer(() => ({ json: { status: 'found' } }));
  const reg = await register(s.t, s.a, testManifest(plugin.origin));
  const first = reg.signingSecret as string;
  plugin.secrets = [first];
  await install(s.t, s.a, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
  await s.callTool('orders__lookup_order', { orderNumber: 'A-1001' });
  assert.equal(String(plugin.calls[0].headers['webhook-signature']).split(' ').length, 1);

  const o = `/organizations/${s.a.orgId}/developer/plugins/${reg.id}`;
  const rot = await s.t.api('POST', `${o}/rotate-secret`, { token: s.a.ownerToken, body: { overlapSeconds: 3600 } });
  assert.equal(rot.status, 200, rot.text);
  const second = rot.json.signingSecret as string;
  assert.notEqual(second, first);
  assert.ok(Math.abs(Date.parse(rot.json.previousSecretExpiresAt) - Date.now() - 3_600_000) < 10_000);
  plugin.secrets = [second, first];
  await s.callTool('orders__lookup_order', { orderNumber: 'A-1002' });
  const during = plugin.calls[1];
  assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
  assert.deepEqual(during.verifiedBy, [0, 1], 'a receiver holding either secret verifies the call');
  const dev = await s.t.api('GET', o, { token: s.a.ownerToken });
  assert.equal(dev.json.secretRotation.previousSecretExpiresAt, rot.json.previousSecretExpiresAt);
  assert.ok(!dev.text.includes(second) && !dev.text.includes(first));

  const now = await s.t.api('POST', `${o}/rotate-secret`, { token: s.a.ownerToken, body: { overlapSeconds: 0 } });
  assert.equal(now.json.previousSecretExpiresAt, null);
  const third = now.json.signingSecret as string;
  plugin.secrets = [third, second, first];
  await s.callTool('orders__lookup_order', { orderNumber: 'A-1003' });
  assert.deepEqual(plugin.calls[2].verifiedBy, [0], 'only the newest secret signs');
  assert.throws(() => new Webhook(second).verify(plugin.calls[2].rawBody, plugin.calls[2].headers as Record<string, string>));
  const bad = await s.t.api('POST', `${o}/rotate-secret`, { token: s.a.ownerToken, body: { overlapSeconds: 8 * 86_400 } });
  assert.equal(bad.status, 400);
});
