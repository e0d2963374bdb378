/**
 * The control-panel API of the WhatsApp channel: instances (CRUD, token never returned, webhook
 * URL), grants, conversations and messages (paginated), and the jobs dead letter; every endpoint
 * against malformed JSON, wrong types, missing and unknown fields and unknown ids (4xx in the
 * error shape, nothing stored changed), the role matrix and organisation isolation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { assertWireError, snapshotTables } from '../helpers/factories.ts';
import { BOB, PUBLIC_BASE, setupWhatsApp, type WhatsAppSetup } from './whatsapp-setup.ts';

const IGNORE = { ignoreColumns: { control_tokens: ['last_used_at'] } };
const snap = (s: WhatsAppSetup) => snapshotTables(s.t.app.db, IGNORE);

test('instances: create returns id and webhook URL, never the auth token; get, list, patch, delete', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant, instance } = s;
  assert.match(instance.id, /^[0-9a-f-]{36}$/);
  assert.equal(instance.object, 'whatsapp_instance');
  assert.equal(instance.webhookUrl, `${PUBLIC_BASE}/webhooks/twilio/whatsapp/${instance.id}`);
  assert.equal(instance.statusCallbackUrl, `${PUBLIC_BASE}/webhooks/twilio/status?instanceId=${instance.id}`);
  assert.deepEqual(
    Object.keys(instance).sort(),
    ['createdAt', 'id', 'loopCap', 'messagingServiceSid', 'model', 'name', 'object', 'sender', 'status', 'statusCallbackUrl', 'systemPrompt', 'twilioAccountSid', 'twilioAuthTokenConfigured', 'updatedAt', 'webhookUrl'],
  );
  assert.equal(instance.status, 'active');
  const base = `/organizations/${tenant.orgId}/whatsapp-instances`;
  const list = await t.api('GET', base, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.data.map((i: any) => [i.id, i.name, i.sender, i.status]), [[instance.id, 'Support', 'whatsapp:+14155550100', 'active']]);
  assert.doesNotMatch(list.text + JSON.stringify(instance), new RegExp(s.twilio.authToken));

  const patched = await t.api('PATCH', `${base}/${instance.id}`, { token: tenant.ownerToken, body: { name: 'Front desk', loopCap: 3, twilioAuthToken: 'rotated-token-0123456789', messagingServiceSid: 'MG' + 'a'.repeat(32) } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.name, 'Front desk');
  assert.equal(patched.json.loopCap, 3);
  assert.equal(patched.json.messagingServiceSid, 'MG' + 'a'.repeat(32));
  assert.doesNotMatch(patched.text, /rotated-token/);
  assert.equal(t.app.whatsapp.repos.instances.credentials(tenant.orgId, instance.id)?.authToken, 'rotated-token-0123456789');
  const sealed = t.app.db.prepare('SELECT twilio_auth_token_sealed AS s FROM whatsapp_instances').get() as { s: string };
  assert.doesNotMatch(sealed.s, /rotated-token/, 'sealed at rest');

  const got = await t.api('GET', `${base}/${instance.id}`, { token: tenant.ownerToken });
  assert.deepEqual(got.json, patched.json);
  const del = await t.api('DELETE', `${base}/${instance.id}`, { token: tenant.ownerToken });
  assert.deepEqual(del.json, { id: instance.id, object: 'whatsapp_instance', deleted: true });
  assertWireError(await t.api('GET', `${base}/${instance.id}`, { token: tenant.ownerToken }), 404, 'whatsapp_instance_not_found', 'id');
});

test('instances and grants: bad input is a 4xx in the error shape and changes nothing', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  await using mcp = await startMcpTestServer();
  const { t, tenant } = s;
  const other = t.tenant('Other');
  const foreign = await t.api('POST', `/organizations/${other.orgId}/mcp-integrations`, { token: other.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(foreign.status, 201, foreign.text);
  const base = `/organizations/${tenant.orgId}/whatsapp-instances`;
  const one = `${base}/${s.instance.id}`;
  const second = await s.createInstance({ name: 'Second' });
  const valid = { name: 'Sales', sender: 'whatsapp:+14155550155', twilioAccountSid: s.twilio.accountSid, twilioAuthToken: s.twilio.authToken, model: 'gpt-test' };
  const before = snap(s);
  const call = (method: string, path: string, body?: unknown, rawBody?: string) => t.api(method, path, { token: tenant.ownerToken, orgId: tenant.orgId, body, rawBody });

  assertWireError(await call('POST', base, undefined, '{"name": '), 400, 'invalid_json');
  assertWireError(await call('POST', base, undefined, ''), 400, 'missing_body');
  assertWireError(await call('POST', base, [valid]), 400, 'invalid_body');
  assertWireError(await call('POST', base, { ...valid, name: 42 }), 400, 'invalid_type', 'name');
  assertWireError(await call('POST', base, { ...valid, loopCap: 'many' }), 400, 'invalid_type', 'loopCap');
  assertWireError(await call('POST', base, { ...valid, loopCap: 65 }), 400, 'invalid_value', 'loopCap');
  assertWireError(await call('POST', base, { ...valid, sender: '+14155550155' }), 400, 'invalid_value', 'sender');
  assertWireError(await call('POST', base, { ...valid, twilioAccountSid: 'AC123' }), 400, 'invalid_value', 'twilioAccountSid');
  assertWireError(await call('POST', base, { ...valid, messagingServiceSid: 'MG1' }), 400, 'invalid_value', 'messagingServiceSid');
  assertWireError(await call('POST', base, { ...valid, status: 'deleted' }), 400, 'invalid_value', 'status');
  assertWireError(await call('POST', base, { ...valid, webhook: 'x' }), 400, 'unknown_parameter');
  for (const field of ['name', 'sender', 'twilioAccountSid', 'twilioAuthToken', 'model'] as const) {
    const { [field]: _, ...rest } = valid;
    assertWireError(await call('POST', base, rest), 400, 'invalid_type', field);
  }
  assertWireError(await call('POST', base, { ...valid, name: 'Support' }), 409, 'instance_name_taken', 'name');
  assertWireError(await call('POST', base, { ...valid, sender: s.instance.sender }), 409, 'sender_taken', 'sender');
  assertWireError(await call('PATCH', one, undefined, 'not json'), 400, 'invalid_json');
  assertWireError(await call('PATCH', one, { status: 'off' }), 400, 'invalid_value', 'status');
  assertWireError(await call('PATCH', one, { twilioAuthToken: 'short' }), 400, 'invalid_value', 'twilioAuthToken');
  assertWireError(await call('PATCH', one, { twilioAccountSid: 'AC' + 'd'.repeat(32) }), 400, 'missing_parameter', 'twilioAuthToken');
  assertWireError(await call('PATCH', one, { name: 'Support 2', sender: second.sender }), 409, 'sender_taken', 'sender');
  assertWireError(await call('PATCH', one, { name: 'Second' }), 409, 'instance_name_taken', 'name');
  assertWireError(await call('PATCH', `${base}/nope`, { name: 'x' }), 404, 'whatsapp_instance_not_found');
  assertWireError(await call('DELETE', `${base}/00000000-0000-4000-8000-000000000000`), 404, 'whatsapp_instance_not_found');

  assertWireError(await call('PUT', `${one}/plugins`, undefined, '{'), 400, 'invalid_json');
  assertWireError(await call('PUT', `${one}/plugins`, {}), 400, 'invalid_type', 'enabledPluginIds');
  assertWireError(await call('PUT', `${one}/plugins`, { enabledPluginIds: 'first_party:whatsapp' }), 400, 'invalid_type', 'enabledPluginIds');
  assertWireError(await call('PUT', `${one}/plugins`, { enabledPluginIds: [7] }), 400, 'invalid_type', 'enabledPluginIds.0');
  assertWireError(await call('PUT', `${one}/plugins`, { enabledPluginIds: ['first_party:whatsapp', 'first_party:slack'] }), 400, 'unknown_plugin', 'enabledPluginIds.1');
  assertWireError(await call('PUT', `${one}/plugins`, { enabledPluginIds: [foreign.json.id] }), 400, 'unknown_plugin', 'enabledPluginIds.0');
  assertWireError(await call('PUT', `${one}/plugins`, { enabledPluginIds: [], extra: 1 }), 400, 'unknown_parameter');
  assertWireError(await call('PUT', `${base}/nope/plugins`, { enabledPluginIds: [] }), 404, 'whatsapp_instance_not_found');
  assertWireError(await call('GET', `${base}/nope/plugins`), 404, 'whatsapp_instance_not_found');

  assertWireError(await call('GET', `${one}/conversations?limit=0`), 400, 'invalid_value', 'limit');
  assertWireError(await call('GET', `${one}/conversations?limit=1&limit=2`), 400, 'invalid_value', 'limit');
  assertWireError(await call('GET', `${one}/conversations?cursor=garbage`), 400, 'invalid_value', 'cursor');
  assertWireError(await call('GET', `${one}/conversations?sort=asc`), 400, 'unknown_parameter');
  assertWireError(await call('GET', `${one}/conversations/wcr_${'A'.repeat(22)}/messages`), 404, 'conversation_not_found', 'customerRef');
  assertWireError(await call('GET', `${one}/conversations/not-a-ref/messages`), 404, 'conversation_not_found');

  const jobsBase = `/organizations/${tenant.orgId}/jobs`;
  assertWireError(await call('GET', `${jobsBase}?status=lost`), 400, 'invalid_value', 'status');
  assertWireError(await call('GET', `${jobsBase}/abc`), 404, 'job_not_found', 'jobId');
  assertWireError(await call('POST', `${jobsBase}/999999/requeue`), 404, 'job_not_found');
  assert.deepEqual(snap(s), before, 'nothing stored changed');

  const granted = await call('PUT', `${one}/plugins`, { enabledPluginIds: ['first_party:whatsapp', 'first_party:whatsapp'] });
  assert.deepEqual(granted.json, { enabledPluginIds: ['first_party:whatsapp'] });
  assert.deepEqual((await call('GET', `${one}/plugins`)).json, { enabledPluginIds: ['first_party:whatsapp'] });
});

test('role matrix: members read, admins and owners write', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant } = s;
  const base = `/organizations/${tenant.orgId}/whatsapp-instances`;
  const one = `${base}/${s.instance.id}`;
  const body = (n: string) => ({ name: n, sender: `whatsapp:+1415555${n.length}${n.length}77`, twilioAccountSid: s.twilio.accountSid, twilioAuthToken: s.twilio.authToken, model: 'm' });
  const member = t.member(tenant.orgId, 'member');
  const before = snap(s);
  for (const [method, path] of [['GET', base], ['GET', one], ['GET', `${one}/plugins`], ['GET', `${one}/conversations`], ['GET', `/organizations/${tenant.orgId}/jobs?status=dead`]]) {
    assert.equal((await t.api(method, path, { token: member.token })).status, 200, `${method} ${path}`);
  }
  assertWireError(await t.api('POST', base, { token: member.token, body: body('m1') }), 403, 'insufficient_permissions');
  assertWireError(await t.api('PATCH', one, { token: member.token, body: { name: 'x' } }), 403, 'insufficient_permissions');
  assertWireError(await t.api('PUT', `${one}/plugins`, { token: member.token, body: { enabledPluginIds: ['first_party:whatsapp'] } }), 403, 'insufficient_permissions');
  assertWireError(await t.api('DELETE', one, { token: member.token }), 403, 'insufficient_permissions');
  assert.deepEqual(snap(s), before);
  for (const role of ['admin', 'owner'] as const) {
    const who = role === 'owner' ? { token: tenant.ownerToken } : t.member(tenant.orgId, 'admin');
    const created = await t.api('POST', base, { token: who.token, body: body(`by-${role}`) });
    assert.equal(created.status, 201, created.text);
    assert.equal((await t.api('PATCH', `${base}/${created.json.id}`, { token: who.token, body: { status: 'paused' } })).json.status, 'paused');
    assert.equal((await t.api('PUT', `${base}/${created.json.id}/plugins`, { token: who.token, body: { enabledPluginIds: ['first_party:whatsapp'] } })).status, 200);
    assert.equal((await t.api('DELETE', `${base}/${created.json.id}`, { token: who.token })).status, 200);
  }
});

test('organisation isolation: another organisation sees and changes nothing (404)', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant } = s;
  await s.send('hello');
  const b = t.tenant('Org B');
  const before = snap(s);
  const aPath = `/organizations/${tenant.orgId}/whatsapp-instances/${s.instance.id}`;
  assertWireError(await t.api('GET', aPath, { token: b.ownerToken }), 404, 'organization_not_found');
  assertWireError(await t.api('GET', `/organizations/${tenant.orgId}/jobs?status=dead`, { token: b.ownerToken }), 404, 'organization_not_found');
  const viaB = `/organizations/${b.orgId}/whatsapp-instances/${s.instance.id}`;
  assertWireError(await t.api('GET', viaB, { token: b.ownerToken }), 404, 'whatsapp_instance_not_found');
  assertWireError(await t.api('PATCH', viaB, { token: b.ownerToken, body: { name: 'stolen' } }), 404, 'whatsapp_instance_not_found');
  assertWireError(await t.api('PUT', `${viaB}/plugins`, { token: b.ownerToken, body: { enabledPluginIds: [] } }), 404, 'whatsapp_instance_not_found');
  assertWireError(await t.api('GET', `${viaB}/conversations`, { token: b.ownerToken }), 404, 'whatsapp_instance_not_found');
  assertWireError(await t.api('DELETE', viaB, { token: b.ownerToken }), 404, 'whatsapp_instance_not_found');
  const jobId = (t.app.db.prepare('SELECT id FROM jobs').get() as { id: number }).id;
  assertWireError(await t.api('POST', `/organizations/${b.orgId}/jobs/${jobId}/requeue`, { token: b.ownerToken }), 404, 'job_not_found');
  assertWireError(await t.api('GET', `/organizations/${b.orgId}/jobs/${jobId}`, { token: b.ownerToken }), 404, 'job_not_found');
  assert.deepEqual((await t.api('GET', `/organizations/${b.orgId}/whatsapp-instances`, { token: b.ownerToken })).json.data, []);
  assert.deepEqual(snap(s), before);
});

test('conversations and messages are paginated, newest first, with masked numbers only', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const { t, tenant } = s;
  await s.send('a1');
  await s.send('b1', { from: BOB });
  await s.send('c1', { from: 'whatsapp:+4915112345678' });
  await s.send('a2');
  await s.send('a3');
  const base = `/organizations/${tenant.orgId}/whatsapp-instances/${s.instance.id}/conversations`;
  const p1 = await t.api('GET', `${base}?limit=2`, { token: tenant.ownerToken });
  assert.equal(p1.json.data.length, 2);
  assert.equal(p1.json.hasMore, true);
  const p2 = await t.api('GET', `${base}?limit=2&cursor=${p1.json.nextCursor}`, { token: tenant.ownerToken });
  assert.equal(p2.json.data.length, 1);
  assert.equal(p2.json.hasMore, false);
  assert.equal(p2.json.nextCursor, null);
  const all = [...p1.json.data, ...p2.json.data];
  assert.equal(new Set(all.map((c: any) => c.customerRef)).size, 3);
  assert.doesNotMatch(p1.text + p2.text, /4155550123|4915112345678/);

  const alice = all.find((c: any) => c.phoneMasked === '+1415•••0123').customerRef;
  assert.ok(all.every((c: any, i: number) => i === 0 || Date.parse(all[i - 1].lastMessageAt) >= Date.parse(c.lastMessageAt)), 'newest first');
  const m1 = await t.api('GET', `${base}/${alice}/messages?limit=2`, { token: tenant.ownerToken });
  assert.deepEqual(m1.json.data.map((m: any) => m.body), ['a3', 'a2']);
  const m2 = await t.api('GET', `${base}/${alice}/messages?limit=2&cursor=${m1.json.nextCursor}`, { token: tenant.ownerToken });
  assert.deepEqual(m2.json.data.map((m: any) => m.body), ['a1']);
  assert.equal(m2.json.hasMore, false);
  assert.equal(m1.json.data[0].direction, 'in');
  assert.equal(m1.json.data[0].status, 'received');
});
