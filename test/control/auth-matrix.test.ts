/**
 * Authentication and isolation matrix.
 *
 * Gateway: missing, malformed, unknown and revoked keys (revoked through the API and through a
 * second database connection, as the CLI does) and org A's key only ever touching org A.
 * Control panel: missing, bad and revoked tokens; org A's owner against every org-B route (404,
 * nothing changed); X-Org-Id disagreeing with the path; each role against each write route as
 * src/control/policies.ts says; the last owner kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startApp, type TestApp, type Tenant } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { assertWireError, snapshotTables, usageRows } from '../helpers/factories.ts';
import { openDb } from '../../src/storage/db.ts';
import { createGatewayKeysRepo } from '../../src/storage/repos/gateway-keys.ts';
import { createControlTokensRepo } from '../../src/storage/repos/control-tokens.ts';
import type { Role } from '../../src/storage/repos/organizations.ts';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];
/** Control tokens' last-used times move on every authenticated call, by design. */
const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'] } };

async function sdkFailure(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${String(err)}`);
  return err;
}

function chatRaw(t: TestApp, authorization: string | undefined) {
  return t.api('POST', '/v1/chat/completions', {
    headers: authorization === undefined ? {} : { authorization },
    body: { model: 'gpt-test', messages: MESSAGES },
  });
}

test('gateway: missing, malformed and unknown keys are 401s in the OpenAI shape; the upstream is never called', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);

  const missing = await chatRaw(t, undefined);
  assertWireError(missing, 401, 'missing_api_key', null);
  assert.equal(missing.json.error.type, 'authentication_error');
  assert.match(missing.headers.get('x-request-id') ?? '', /^req_/);

  const malformed = ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', `Bearer ${key.secret} extra`, key.secret, `Token ${key.secret}`];
  for (const h of malformed) assertWireError(await chatRaw(t, h), 401, 'invalid_api_key', null, JSON.stringify(h));

  const wrong = ['sk-proj-abcdefghijklmnopqrstuvwxyz', `pb_live_${'A'.repeat(43)}`, key.secret.slice(0, -1) + (key.secret.endsWith('A') ? 'B' : 'A'), tenant.ownerToken];
  for (const k of wrong) {
    const err = await sdkFailure(t.openai(k).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
    assert.ok(err instanceof OpenAI.AuthenticationError, k);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'invalid_api_key');
  }
  const models = await sdkFailure(t.openai(wrong[1]).models.list());
  assert.equal(models.status, 401);
  assert.equal(upstream.requests.length, 0);
  for (const line of t.logs) assert.ok(!line.includes(key.secret) && !line.includes(tenant.ownerToken), 'no secret is logged');
});

test('gateway: a key revoked through the control panel stops working on the very next request', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  const other = t.key(tenant.orgId);
  const client = t.openai(key.secret);
  await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }); // warms the key cache

  const del = await t.api('DELETE', `/organizations/${tenant.orgId}/keys/${key.id}`, { token: tenant.ownerToken });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.status, 'revoked');
  assert.ok(del.json.revokedAt);

  const err = await sdkFailure(client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.AuthenticationError);
  assert.equal(err.code, 'revoked_api_key');
  assert.equal((await sdkFailure(client.models.list())).status, 401);
  // Other keys are untouched.
  await t.openai(other.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  assert.equal(upstream.requests.length, 2);

  // Revoking again is harmless and keeps the first revocation time.
  const again = await t.api('DELETE', `/organizations/${tenant.orgId}/keys/${key.id}`, { token: tenant.ownerToken });
  assert.equal(again.status, 200);
  assert.equal(again.json.revokedAt, del.json.revokedAt);
});

test('gateway: using a key marks it last used for the control panel; an unused key stays never-used', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const used = t.key(tenant.orgId);
  const idle = t.key(tenant.orgId);
  const before = Date.now();
  await t.openai(used.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  t.app.recorder.flush();
  const got = await t.api('GET', `/organizations/${tenant.orgId}/keys/${used.id}`, { token: tenant.ownerToken });
  assert.equal(got.status, 200);
  assert.ok(got.json.lastUsedAt, `lastUsedAt is set after a successful call: ${got.text}`);
  assert.ok(Date.parse(got.json.lastUsedAt) >= before - 1000);
  const other = await t.api('GET', `/organizations/${tenant.orgId}/keys/${idle.id}`, { token: tenant.ownerToken });
  assert.equal(other.json.lastUsedAt, null);
});

test('gateway: a key revoked by another connection (the CLI path) stops working on the very next request', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  const client = t.openai(key.secret);
  await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }); // served from the cache

  const cliDb = openDb({ file: t.config.dbFile });
  try {
    assert.equal(createGatewayKeysRepo(cliDb).revoke(tenant.orgId, key.id), true);
  } finally {
    cliDb.close();
  }
  const err = await sdkFailure(client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }));
  assert.ok(err instanceof OpenAI.AuthenticationError);
  assert.equal(err.code, 'revoked_api_key');

  // A key created by another connection works at once, too.
  const cliDb2 = openDb({ file: t.config.dbFile });
  let fresh: string;
  try {
    fresh = createGatewayKeysRepo(cliDb2).create(tenant.orgId, { name: 'from-cli' }).secret;
  } finally {
    cliDb2.close();
  }
  await t.openai(fresh).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  assert.equal(upstream.requests.length, 3);
});

test('gateway: org A\'s key only ever acts for org A, whatever organisation header it sends', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const a = t.tenant('A');
  const b = t.tenant('B');
  const keyA = t.key(a.orgId);
  const keyB = t.key(b.orgId);
  const sneaky = new OpenAI({ apiKey: keyA.secret, baseURL: `${t.url}/v1`, organization: b.orgId, maxRetries: 0 });
  const { response } = await sneaky.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).withResponse();
  const requestId = response.headers.get('x-request-id');
  await t.api('POST', '/v1/chat/completions', { headers: { authorization: `Bearer ${keyA.secret}`, 'x-org-id': b.orgId }, body: { model: 'gpt-test', messages: MESSAGES } });

  t.app.recorder.flush();
  const rowsA = usageRows(t.app.db, a.orgId);
  assert.equal(rowsA.length, 2);
  assert.equal(rowsA[0].request_id, requestId);
  assert.ok(rowsA.every((r) => r.key_id === keyA.id));
  assert.deepEqual(usageRows(t.app.db, b.orgId), []);

  const seenByA = await t.api('GET', `/organizations/${a.orgId}/usage-events`, { token: a.ownerToken });
  assert.equal(seenByA.json.data.length, 2);
  const seenByB = await t.api('GET', `/organizations/${b.orgId}/usage-events`, { token: b.ownerToken });
  assert.deepEqual(seenByB.json.data, []);
  const filtered = await t.api('GET', `/organizations/${b.orgId}/usage-events?keyId=${keyA.id}`, { token: b.ownerToken });
  assert.deepEqual(filtered.json.data, [], 'B cannot see A\'s events even by naming A\'s key');
  // Upstream never sees which organisation it was, nor the gateway key.
  for (const r of upstream.requests) {
    assert.equal(r.headers.authorization, 'Bearer sk-upstream-test-key');
    assert.equal(r.headers['openai-organization'], undefined);
  }
  assert.ok(keyB.id);
});

test('control panel: missing, bad and revoked tokens are 401', async () => {
  await using t = await startApp();
  const tenant = t.tenant();
  const gatewayKey = t.key(tenant.orgId);
  const paths = ['/me', '/organizations', `/organizations/${tenant.orgId}`, `/organizations/${tenant.orgId}/keys`];
  for (const p of paths) {
    assertWireError(await t.api('GET', p), 401, 'missing_token', null, p);
    for (const bad of ['pbc_' + 'x'.repeat(43), 'not-a-token', gatewayKey.secret]) {
      assertWireError(await t.api('GET', p, { token: bad }), 401, 'invalid_token', null, `${p} with ${bad.slice(0, 8)}`);
    }
    assertWireError(await t.api('GET', p, { headers: { authorization: `Basic ${tenant.ownerToken}` } }), 401, 'invalid_token', null, p);
  }
  assertWireError(await t.api('POST', '/organizations', { body: { name: 'x' } }), 401, 'missing_token');

  const admin = t.member(tenant.orgId, 'admin');
  assert.equal((await t.api('GET', `/organizations/${tenant.orgId}`, { token: admin.token })).status, 200);
  const tokens = createControlTokensRepo(t.app.db);
  const record = tokens.findBySecret(admin.token)!;
  assert.equal(tokens.revoke(admin.userId, record.id), true);
  for (const p of paths) assertWireError(await t.api('GET', p, { token: admin.token }), 401, 'revoked_token', null, p);
  assertWireError(await t.api('POST', `/organizations/${tenant.orgId}/keys`, { token: admin.token, body: {} }), 401, 'revoked_token');
  assert.equal(t.app.repos.keys.list(tenant.orgId).length, 1, 'nothing was created with the revoked token');
});

/** Every organisation-scoped route of the foundation, with ids from the given organisation. */
function orgRoutes(orgId: string, ids: { memberId: string; keyId: string }): Array<{ method: string; path: string; body?: unknown }> {
  const o = `/organizations/${orgId}`;
  return [
    { method: 'GET', path: o },
    { method: 'PATCH', path: o, body: { name: 'taken over' } },
    { method: 'GET', path: `${o}/members` },
    { method: 'POST', path: `${o}/members`, body: { name: 'intruder', role: 'owner' } },
    { method: 'PATCH', path: `${o}/members/${ids.memberId}`, body: { role: 'owner' } },
    { method: 'DELETE', path: `${o}/members/${ids.memberId}` },
    { method: 'GET', path: `${o}/keys` },
    { method: 'POST', path: `${o}/keys`, body: { name: 'stolen' } },
    { method: 'GET', path: `${o}/keys/${ids.keyId}` },
    { method: 'PATCH', path: `${o}/keys/${ids.keyId}`, body: { rateLimitRpm: 0 } },
    { method: 'DELETE', path: `${o}/keys/${ids.keyId}` },
    { method: 'GET', path: `${o}/usage-events` },
    // Routes of later resources go through the same organisation check first.
    { method: 'GET', path: `${o}/events` },
    { method: 'GET', path: `${o}/plugins` },
    { method: 'GET', path: `${o}/plugins/${ids.keyId}/tools` },
    { method: 'GET', path: `${o}/mcp-integrations` },
    { method: 'POST', path: `${o}/mcp-integrations`, body: { slug: 'x', url: 'https://example.com/mcp' } },
    { method: 'GET', path: `${o}/mcp-integrations/${ids.keyId}` },
    { method: 'PATCH', path: `${o}/mcp-integrations/${ids.keyId}`, body: {} },
    { method: 'DELETE', path: `${o}/mcp-integrations/${ids.keyId}` },
    { method: 'POST', path: `${o}/mcp-integrations/${ids.keyId}/refresh` },
    // E-Commerce and Payments.
    { method: 'GET', path: `${o}/products` },
    { method: 'POST', path: `${o}/products`, body: { sku: 'X1', name: 'x', priceMinor: 100, currency: 'EUR' } },
    { method: 'PATCH', path: `${o}/products/${ids.keyId}`, body: { priceMinor: 1 } },
    { method: 'DELETE', path: `${o}/products/${ids.keyId}` },
    { method: 'GET', path: `${o}/orders` },
    { method: 'POST', path: `${o}/orders/${ids.keyId}/cancel` },
    { method: 'POST', path: `${o}/orders/${ids.keyId}/fulfill` },
    { method: 'GET', path: `${o}/after-sale-requests` },
    { method: 'POST', path: `${o}/after-sale-requests/${ids.keyId}/resolve`, body: { resolution: 'x' } },
    { method: 'GET', path: `${o}/payment-binding` },
    { method: 'PUT', path: `${o}/payment-binding`, body: { provider: 'sandbox' } },
    { method: 'PATCH', path: `${o}/payment-binding`, body: { settings: { refundsRequireApproval: false } } },
    { method: 'GET', path: `${o}/payments` },
    { method: 'POST', path: `${o}/payments/${ids.keyId}/mark-paid` },
    { method: 'POST', path: `${o}/payments/${ids.keyId}/refunds`, body: {} },
    { method: 'GET', path: `${o}/refunds` },
    { method: 'POST', path: `${o}/refunds/${ids.keyId}/approve` },
    // Escalations and Scheduling (issue 12, helper esc).
    { method: 'GET', path: `${o}/escalations` },
    { method: 'POST', path: `${o}/escalations`, body: { instanceId: ids.keyId, customerRef: `wcr_${'a'.repeat(22)}`, reason: 'x' } },
    { method: 'GET', path: `${o}/escalations/esc_${'0'.repeat(32)}` },
    { method: 'POST', path: `${o}/escalations/esc_${'0'.repeat(32)}/assign` },
    { method: 'POST', path: `${o}/escalations/esc_${'0'.repeat(32)}/reply`, body: { text: 'x' } },
    { method: 'POST', path: `${o}/escalations/esc_${'0'.repeat(32)}/resolve` },
    { method: 'GET', path: `${o}/escalation-settings` },
    { method: 'PUT', path: `${o}/escalation-settings`, body: { queueTimeoutSeconds: 5 } },
    { method: 'GET', path: `${o}/scheduled-messages` },
    { method: 'POST', path: `${o}/scheduled-messages`, body: { instanceId: ids.keyId, customerRef: `wcr_${'a'.repeat(22)}`, text: 'x', sendAt: '2030-01-01T00:00:00Z' } },
    { method: 'GET', path: `${o}/scheduled-messages/sch_${'0'.repeat(32)}` },
    { method: 'POST', path: `${o}/scheduled-messages/sch_${'0'.repeat(32)}/cancel` },
    { method: 'GET', path: `${o}/scheduling-settings` },
    { method: 'PUT', path: `${o}/scheduling-settings`, body: { reminderTemplate: null } },
  ];
}

test('control panel: org A\'s owner gets 404 on every org-B route and changes nothing in B', async () => {
  await using t = await startApp();
  const a = t.tenant('A');
  const b = t.tenant('B');
  const bMember = t.member(b.orgId, 'member');
  const bKey = t.key(b.orgId);
  const aKey = t.key(a.orgId);
  const aMember = t.member(a.orgId, 'admin');
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);

  for (const r of orgRoutes(b.orgId, { memberId: bMember.userId, keyId: bKey.id })) {
    const res = await t.api(r.method, r.path, { token: a.ownerToken, body: r.body });
    assertWireError(res, 404, 'organization_not_found', undefined, `${r.method} ${r.path}`);
    // Also with X-Org-Id naming org B, as a client that believes it is in B would send.
    const withHeader = await t.api(r.method, r.path, { token: a.ownerToken, body: r.body, orgId: b.orgId });
    assertWireError(withHeader, 404, 'organization_not_found', undefined, `${r.method} ${r.path} with X-Org-Id`);
  }
  // A's own path with B's resource ids: not found either.
  for (const r of orgRoutes(a.orgId, { memberId: bMember.userId, keyId: bKey.id })) {
    if (!/(members|keys)\//.test(r.path)) continue;
    const res = await t.api(r.method, r.path, { token: a.ownerToken, body: r.body });
    assert.equal(res.status, 404, `${r.method} ${r.path}: ${res.text}`);
    assert.match(res.json.error.code, /^(member|key)_not_found$/);
  }
  const bList = await t.api('GET', '/organizations', { token: a.ownerToken });
  assert.deepEqual(bList.json.data.map((o: { id: string }) => o.id), [a.orgId], 'B is not listed to A');
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing changed anywhere');
  assert.ok(aKey.id && aMember.userId);
});

test('control panel: X-Org-Id that disagrees with the path is a 400; one that agrees is fine', async () => {
  await using t = await startApp();
  const a = t.tenant('A');
  const b = t.tenant('B');
  const res = await t.api('GET', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, orgId: b.orgId });
  assertWireError(res, 400, 'org_mismatch', 'X-Org-Id');
  const write = await t.api('POST', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, orgId: 'not-even-a-uuid', body: { name: 'k' } });
  assertWireError(write, 400, 'org_mismatch', 'X-Org-Id');
  assert.equal(t.app.repos.keys.list(a.orgId).length, 0);
  const ok = await t.api('GET', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, orgId: a.orgId });
  assert.equal(ok.status, 200);
});

interface Setup { t: TestApp; tenant: Tenant; actorToken: string }

/** Expected status per role, from src/control/policies.ts and the owner rules of the member routes. */
interface WriteCase {
  label: string;
  expect: Record<Role, number>;
  run(s: Setup): Promise<{ status: number; text: string }>;
  /** Checks the effect when allowed, and its absence when refused. */
  effect(s: Setup, allowed: boolean, res: { json: any }): void;
}

const WRITE_CASES: WriteCase[] = [
  {
    label: 'PATCH organization',
    expect: { owner: 200, admin: 403, member: 403 },
    run: ({ t, tenant, actorToken }) => t.api('PATCH', `/organizations/${tenant.orgId}`, { token: actorToken, body: { name: 'Renamed', settings: { pluginInjection: false } } }),
    effect({ t, tenant }, allowed) {
      const org = t.app.repos.orgs.get(tenant.orgId)!;
      assert.equal(org.name, allowed ? 'Renamed' : 'Acme');
      assert.equal(org.settings.pluginInjection, allowed ? false : undefined);
    },
  },
  ...(['member', 'admin', 'owner'] as const).map((role): WriteCase => ({
    label: `POST member with role ${role}`,
    expect: { owner: 201, admin: role === 'owner' ? 403 : 201, member: 403 },
    run: ({ t, tenant, actorToken }) => t.api('POST', `/organizations/${tenant.orgId}/members`, { token: actorToken, body: { name: `new ${role}`, role } }),
    effect({ t, tenant }, allowed, res) {
      const added = t.app.repos.orgs.listMembers(tenant.orgId).filter((m) => m.name === `new ${role}`);
      assert.equal(added.length, allowed ? 1 : 0);
      if (allowed) {
        assert.equal(added[0].role, role);
        assert.match(res.json.token, /^pbc_/, 'the new member\'s token is returned once');
      }
    },
  })),
  ...([
    ['member', 'admin'], ['member', 'owner'], ['owner', 'member'], ['admin', 'member'],
  ] as const).map(([from, to]): WriteCase => ({
    label: `PATCH a ${from} to ${to}`,
    expect: { owner: 200, admin: from === 'owner' || to === 'owner' ? 403 : 200, member: 403 },
    run: async ({ t, tenant, actorToken }) => {
      const target = t.member(tenant.orgId, from, `target-${from}-${to}`);
      return t.api('PATCH', `/organizations/${tenant.orgId}/members/${target.userId}`, { token: actorToken, body: { role: to } });
    },
    effect({ t, tenant }, allowed) {
      const target = t.app.repos.orgs.listMembers(tenant.orgId).find((m) => m.name === `target-${from}-${to}`)!;
      assert.equal(target.role, allowed ? to : from);
    },
  })),
  ...(['member', 'admin', 'owner'] as const).map((role): WriteCase => ({
    label: `DELETE a ${role}`,
    expect: { owner: 200, admin: role === 'owner' ? 403 : 200, member: 403 },
    run: async ({ t, tenant, actorToken }) => {
      const target = t.member(tenant.orgId, role, `doomed-${role}`);
      return t.api('DELETE', `/organizations/${tenant.orgId}/members/${target.userId}`, { token: actorToken });
    },
    effect({ t, tenant }, allowed) {
      assert.equal(t.app.repos.orgs.listMembers(tenant.orgId).some((m) => m.name === `doomed-${role}`), !allowed);
    },
  })),
  {
    label: 'POST key',
    expect: { owner: 201, admin: 201, member: 403 },
    run: ({ t, tenant, actorToken }) => t.api('POST', `/organizations/${tenant.orgId}/keys`, { token: actorToken, body: { name: 'made-by-actor' } }),
    effect({ t, tenant }, allowed, res) {
      assert.equal(t.app.repos.keys.list(tenant.orgId).some((k) => k.name === 'made-by-actor'), allowed);
      if (allowed) assert.match(res.json.key, /^pb_live_/);
    },
  },
  {
    label: 'PATCH key',
    expect: { owner: 200, admin: 200, member: 403 },
    run: async ({ t, tenant, actorToken }) => {
      const k = t.key(tenant.orgId, { name: 'patch-me' });
      return t.api('PATCH', `/organizations/${tenant.orgId}/keys/${k.id}`, { token: actorToken, body: { name: 'patched', rateLimitRpm: 7 } });
    },
    effect({ t, tenant }, allowed) {
      const k = t.app.repos.keys.list(tenant.orgId).find((x) => x.name === (allowed ? 'patched' : 'patch-me'));
      assert.ok(k);
      assert.equal(k.rateLimitRpm, allowed ? 7 : null);
    },
  },
  {
    label: 'DELETE key',
    expect: { owner: 200, admin: 200, member: 403 },
    run: async ({ t, tenant, actorToken }) => {
      const k = t.key(tenant.orgId, { name: 'revoke-me' });
      return t.api('DELETE', `/organizations/${tenant.orgId}/keys/${k.id}`, { token: actorToken });
    },
    effect({ t, tenant }, allowed) {
      const k = t.app.repos.keys.list(tenant.orgId).find((x) => x.name === 'revoke-me')!;
      assert.equal(k.revokedAt !== null, allowed);
    },
  },
  // Escalations and Scheduling (issue 12, helper esc): settings are admins' (actions on a conversation: test/toolkits/escalations-guards.test.ts).
  {
    label: 'PUT escalation-settings',
    expect: { owner: 200, admin: 200, member: 403 },
    run: ({ t, tenant, actorToken }) => t.api('PUT', `/organizations/${tenant.orgId}/escalation-settings`, { token: actorToken, body: { queueTimeoutSeconds: 42 } }),
    effect({ t, tenant }, allowed) {
      assert.equal(t.app.escalations.settings(tenant.orgId).queueTimeoutSeconds, allowed ? 42 : 1800);
    },
  },
  {
    label: 'PUT scheduling-settings',
    expect: { owner: 200, admin: 200, member: 403 },
    run: ({ t, tenant, actorToken }) => t.api('PUT', `/organizations/${tenant.orgId}/scheduling-settings`, { token: actorToken, body: { reminderTemplate: { contentSid: `HX${'1'.repeat(32)}` } } }),
    effect({ t, tenant }, allowed) {
      assert.deepEqual(t.app.scheduling.reminderTemplate(tenant.orgId), allowed ? { contentSid: `HX${'1'.repeat(32)}` } : null);
    },
  },
];

for (const role of ['owner', 'admin', 'member'] as const) {
  test(`role matrix: ${role} against every write route, and every read`, async () => {
    await using t = await startApp();
    for (const c of WRITE_CASES) {
      // A fresh organisation per case, with a second owner so owner-targeting cases never hit the last-owner rule.
      const tenant = t.tenant('Acme');
      t.member(tenant.orgId, 'owner', 'second owner');
      const actorToken = role === 'owner' ? tenant.ownerToken : t.member(tenant.orgId, role, `actor ${role}`).token;
      const s: Setup = { t, tenant, actorToken };
      const res = await c.run(s);
      const want = c.expect[role];
      assert.equal(res.status, want, `${role}: ${c.label} → ${res.status} ${res.text}`);
      const parsed = JSON.parse(res.text);
      if (want === 403) assertWireError({ status: res.status, json: parsed }, 403, 'insufficient_permissions', null, `${role}: ${c.label}`);
      c.effect(s, want < 300, { json: parsed });
    }

    const tenant = t.tenant('Reads');
    const actor = role === 'owner' ? { token: tenant.ownerToken } : t.member(tenant.orgId, role);
    const key = t.key(tenant.orgId);
    const o = `/organizations/${tenant.orgId}`;
    for (const p of ['/me', '/organizations', o, `${o}/members`, `${o}/keys`, `${o}/keys/${key.id}`, `${o}/usage-events`]) {
      const res = await t.api('GET', p, { token: actor.token });
      assert.equal(res.status, 200, `${role}: GET ${p} → ${res.status} ${res.text}`);
    }
    const keys = await t.api('GET', `${o}/keys`, { token: actor.token });
    for (const k of keys.json.data) {
      assert.equal(k.key, undefined, 'listings never carry the secret');
      assert.ok(!JSON.stringify(k).includes(key.secret));
    }
  });
}

test('the last owner can be neither demoted nor removed (409); with two owners one may go', async () => {
  await using t = await startApp();
  const tenant = t.tenant();
  const o = `/organizations/${tenant.orgId}`;
  const demote = await t.api('PATCH', `${o}/members/${tenant.ownerUserId}`, { token: tenant.ownerToken, body: { role: 'admin' } });
  assertWireError(demote, 409, 'last_owner');
  const remove = await t.api('DELETE', `${o}/members/${tenant.ownerUserId}`, { token: tenant.ownerToken });
  assertWireError(remove, 409, 'last_owner');
  assert.equal(t.app.repos.orgs.countOwners(tenant.orgId), 1);
  assert.equal(t.app.repos.orgs.getMember(tenant.orgId, tenant.ownerUserId)?.role, 'owner');

  const second = t.member(tenant.orgId, 'owner');
  const demoteFirst = await t.api('PATCH', `${o}/members/${tenant.ownerUserId}`, { token: second.token, body: { role: 'admin' } });
  assert.equal(demoteFirst.status, 200, demoteFirst.text);
  assert.equal(demoteFirst.json.role, 'admin');
  // Now `second` is the last owner.
  assertWireError(await t.api('DELETE', `${o}/members/${second.userId}`, { token: second.token }), 409, 'last_owner');
  assertWireError(await t.api('PATCH', `${o}/members/${second.userId}`, { token: second.token, body: { role: 'member' } }), 409, 'last_owner');
  // The demoted first owner is an admin now: it may not touch the owner.
  const byAdmin = await t.api('DELETE', `${o}/members/${second.userId}`, { token: tenant.ownerToken });
  assertWireError(byAdmin, 403, 'insufficient_permissions');
  assert.equal(t.app.repos.orgs.countOwners(tenant.orgId), 1);
});

test('a removed member\'s token no longer opens the organisation (404), though the token itself is valid', async () => {
  await using t = await startApp();
  const tenant = t.tenant();
  const m = t.member(tenant.orgId, 'admin');
  const o = `/organizations/${tenant.orgId}`;
  assert.equal((await t.api('GET', `${o}/keys`, { token: m.token })).status, 200);
  const del = await t.api('DELETE', `${o}/members/${m.userId}`, { token: tenant.ownerToken });
  assert.equal(del.status, 200, del.text);
  assertWireError(await t.api('GET', `${o}/keys`, { token: m.token }), 404, 'organization_not_found');
  assertWireError(await t.api('POST', `${o}/keys`, { token: m.token, body: {} }), 404, 'organization_not_found');
  const me = await t.api('GET', '/me', { token: m.token });
  assert.equal(me.status, 200);
  assert.deepEqual(me.json.organizations, []);
});

// Escalations and Scheduling (issue 12, helper esc): every role reads the inbox, reminders and settings.
test('role matrix: every role reads escalations, scheduled messages and their settings', async () => {
  await using t = await startApp();
  const tenant = t.tenant();
  const o = `/organizations/${tenant.orgId}`;
  for (const role of ['owner', 'admin', 'member'] as const) {
    const token = role === 'owner' ? tenant.ownerToken : t.member(tenant.orgId, role).token;
    for (const p of [`${o}/escalations`, `${o}/escalations?status=active`, `${o}/escalation-settings`, `${o}/scheduled-messages`, `${o}/scheduling-settings`]) {
      const res = await t.api('GET', p, { token });
      assert.equal(res.status, 200, `${role}: GET ${p} → ${res.status} ${res.text}`);
    }
  }
});
