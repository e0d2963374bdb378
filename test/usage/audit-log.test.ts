/**
 * The audit log of control-panel writes (issue 13): writes are recorded with who, what, when, from
 * where, the request id and the status — refused ones too (403 by role, 400) — and reads are not;
 * toolkit routes and the operator's routes are covered; bodies never stored (the secrets a write
 * carried are absent); owners read their organisation's log (cursor, filters), admins and members
 * get 403, strangers 404; the operator reads every entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import type { AuditEntry, AuditLogPage } from '../../src/shared/api-usage.ts';

test('writes are recorded with who, what, when, where, request id and status; reads are not', async () => {
  await using t = await startApp();
  const a = t.tenant();
  const admin = t.member(a.orgId, 'admin');
  const member = t.member(a.orgId, 'member');
  const ownerUser = a.ownerUserId;
  const started = Date.now();

  // Reads: nothing recorded.
  for (const p of ['', '/keys', '/members', '/usage-events', '/usage/summary?range=1h']) {
    assert.equal((await t.api('GET', `/organizations/${a.orgId}${p}`, { token: a.ownerToken })).status, 200, p);
  }
  const readLog = async (q = '', token = a.ownerToken) => {
    const res = await t.api('GET', `/organizations/${a.orgId}/audit-log${q}`, { token });
    assert.equal(res.status, 200, res.text);
    return res.json as AuditLogPage;
  };
  assert.deepEqual((await readLog()).data, []);

  // A create (target: the id it answered), an update (target: the path id), a refused member write (403),
  // an invalid body (400), a delete by an admin, a toolkit route (commerce), and an organisation update.
  const created = await t.api('POST', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, body: { name: 'ci' }, headers: { 'user-agent': 'audit-test/1' } });
  assert.equal(created.status, 201, created.text);
  const keySecret = created.json.key as string;
  assert.ok(keySecret?.startsWith('pb_live_'));
  const patched = await t.api('PATCH', `/organizations/${a.orgId}/keys/${created.json.id}`, { token: admin.token, body: { name: 'ci-2' } });
  assert.equal(patched.status, 200, patched.text);
  assertWireError(await t.api('POST', `/organizations/${a.orgId}/keys`, { token: member.token, body: { name: 'nope' } }), 403, 'insufficient_permissions');
  assertWireError(await t.api('POST', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, body: { name: 'x', bogus: 1 } }), 400, 'unknown_parameter');
  const product = await t.api('POST', `/organizations/${a.orgId}/products`, { token: admin.token, body: { sku: 'S1', name: 'Socks', priceMinor: 500, currency: 'EUR' } });
  assert.equal(product.status, 201, product.text);
  const org = await t.api('PATCH', `/organizations/${a.orgId}`, { token: a.ownerToken, body: { name: 'Acme 2' } });
  assert.equal(org.status, 200, org.text);
  const del = await t.api('DELETE', `/organizations/${a.orgId}/members/${member.userId}`, { token: admin.token });
  assert.ok(del.status < 300, del.text);

  const log = (await readLog()).data;
  assert.equal(log.length, 7, JSON.stringify(log, null, 1));
  const [dEntry, orgEntry, prodEntry, badEntry, refused, patchEntry, createEntry] = log;
  const check = (e: AuditEntry, want: Partial<AuditEntry> & { actorUser: string; role: string }) => {
    const { actorUser, role, ...rest } = want;
    assert.equal(e.object, 'audit_entry');
    assert.equal(e.organizationId, a.orgId);
    assert.deepEqual(e.actor.type, 'user');
    assert.equal((e.actor as { userId: string }).userId, actorUser);
    assert.equal((e.actor as { role: string }).role, role);
    assert.ok(/^[0-9a-f-]{36}$/.test((e.actor as { tokenId: string }).tokenId), 'the token id, not the token');
    assert.equal(e.ip, '127.0.0.1');
    assert.ok(Date.parse(e.createdAt) >= started - 1000 && Date.parse(e.createdAt) <= Date.now());
    for (const [k, v] of Object.entries(rest)) assert.deepEqual((e as any)[k], v, `${e.method} ${e.path}: ${k}`);
  };
  check(createEntry, {
    actorUser: ownerUser, role: 'owner', method: 'POST', route: '/organizations/:organizationId/keys', path: `/organizations/${a.orgId}/keys`,
    action: 'keys:write', targetId: created.json.id, status: 201, errorCode: null, requestId: created.headers.get('x-request-id')!, userAgent: 'audit-test/1',
  });
  check(patchEntry, { actorUser: admin.userId, role: 'admin', method: 'PATCH', route: '/organizations/:organizationId/keys/:keyId', targetId: created.json.id, status: 200, action: 'keys:write' });
  check(refused, { actorUser: member.userId, role: 'member', method: 'POST', status: 403, errorCode: 'insufficient_permissions', action: 'keys:write', targetId: null });
  check(badEntry, { actorUser: ownerUser, role: 'owner', status: 400, errorCode: 'unknown_parameter' });
  check(prodEntry, { actorUser: admin.userId, role: 'admin', route: '/organizations/:organizationId/products', action: 'commerce:write', targetId: product.json.id, status: 201 });
  check(orgEntry, { actorUser: ownerUser, role: 'owner', method: 'PATCH', action: 'org:write', targetId: a.orgId, status: 200 });
  check(dEntry, { actorUser: admin.userId, role: 'admin', method: 'DELETE', targetId: member.userId, action: 'members:write' });

  // Bodies are never stored: the key's secret, the product name and the rejected field appear nowhere.
  const stored = JSON.stringify(t.app.db.prepare('SELECT * FROM audit_log').all());
  for (const needle of [keySecret, 'Socks', 'bogus', 'ci-2', 'Acme 2']) assert.ok(!stored.includes(needle), `${needle} stored`);
  const text = (await t.api('GET', `/organizations/${a.orgId}/audit-log`, { token: a.ownerToken })).text;
  assert.ok(!text.includes(keySecret));

  // Unauthenticated writes and strangers' writes are not written into the organisation's log.
  const stranger = t.tenant('Stranger');
  assert.equal((await t.api('POST', `/organizations/${a.orgId}/keys`, { body: { name: 'x' } })).status, 401);
  assert.equal((await t.api('POST', `/organizations/${a.orgId}/keys`, { token: stranger.ownerToken, body: { name: 'x' } })).status, 404);
  assert.equal((await readLog()).data.length, 7);
  // Creating an organisation is recorded in the new organisation's log, by its owner.
  const newOrg = await t.api('POST', '/organizations', { token: stranger.ownerToken, body: { name: 'Fresh' } });
  assert.equal(newOrg.status, 201, newOrg.text);
  const fresh = (await t.api('GET', `/organizations/${newOrg.json.id}/audit-log`, { token: stranger.ownerToken })).json as AuditLogPage;
  assert.deepEqual(fresh.data.map((e) => [e.method, e.path, e.targetId, e.status, (e.actor as { role: string }).role]), [['POST', '/organizations', newOrg.json.id, 201, 'owner']]);
});

test('owners only: admins and members 403, strangers 404, no token 401; cursor and filters', async () => {
  await using t = await startApp();
  const a = t.tenant();
  const admin = t.member(a.orgId, 'admin');
  const member = t.member(a.orgId, 'member');
  const other = t.tenant('Other');
  assertWireError(await t.api('GET', `/organizations/${a.orgId}/audit-log`, { token: admin.token }), 403, 'insufficient_permissions');
  assertWireError(await t.api('GET', `/organizations/${a.orgId}/audit-log`, { token: member.token }), 403, 'insufficient_permissions');
  assertWireError(await t.api('GET', `/organizations/${a.orgId}/audit-log`, { token: other.ownerToken }), 404, 'organization_not_found');
  assert.equal((await t.api('GET', `/organizations/${a.orgId}/audit-log`)).status, 401);
  // A control token never opens the operator's log.
  assert.equal((await t.api('GET', '/operator/audit-log', { token: a.ownerToken })).status, 401);

  for (let i = 0; i < 12; i++) {
    const res = await t.api('POST', `/organizations/${a.orgId}/keys`, { token: i % 3 === 0 ? admin.token : a.ownerToken, body: { name: `k${i}` } });
    assert.equal(res.status, 201);
  }
  await t.api('POST', `/organizations/${a.orgId}/keys`, { token: member.token, body: { name: 'refused' } });
  // Walk with limit 5: 13 entries, each once, newest first.
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res = await t.api('GET', `/organizations/${a.orgId}/audit-log?limit=5${cursor ? `&cursor=${cursor}` : ''}`, { token: a.ownerToken });
    assert.equal(res.status, 200, res.text);
    seen.push(...res.json.data.map((e: AuditEntry) => e.id));
    cursor = res.json.nextCursor;
    assert.equal(res.json.hasMore, cursor !== null);
    if (!cursor) break;
  }
  assert.equal(seen.length, 13);
  assert.deepEqual(seen, [...seen].sort((x, y) => Number(y) - Number(x)));
  const q = async (s: string) => ((await t.api('GET', `/organizations/${a.orgId}/audit-log?${s}`, { token: a.ownerToken })).json as AuditLogPage).data;
  assert.equal((await q(`actorId=${admin.userId}`)).length, 4);
  assert.equal((await q('outcome=error')).length, 1);
  assert.equal((await q('outcome=ok')).length, 12);
  assert.equal((await q('method=DELETE')).length, 0);
  assert.equal((await q('action=keys:write&method=POST')).length, 13);
  assert.equal((await q(`from=${Date.now() + 60_000}`)).length, 0);
  for (const [bad, param] of [['limit=0', 'limit'], ['limit=501', 'limit'], ['cursor=abc', 'cursor'], ['method=GET', 'method'], ['outcome=maybe', 'outcome'], ['from=soon', 'from'], ['color=red', null]] as const) {
    const res = await t.api('GET', `/organizations/${a.orgId}/audit-log?${bad}`, { token: a.ownerToken });
    assert.equal(res.status, 400, `${bad}: ${res.text}`);
    if (param) assert.equal(res.json.error.param, param, bad);
  }
});

test("the operator's writes are recorded and read with an operator token; organisations do not see them", async () => {
  await using t = await startApp();
  const a = t.tenant();
  const op = t.app.operatorTokens.create('night shift');
  assertWireError(await t.api('POST', '/operator/plugin-installations/nope/pause', { token: op.secret, body: { reason: 'checking' } }), 404, 'plugin_installation_not_found');
  await t.api('POST', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, body: { name: 'k' } });
  const res = await t.api('GET', '/operator/audit-log', { token: op.secret });
  assert.equal(res.status, 200, res.text);
  const [orgWrite, opWrite] = (res.json as AuditLogPage).data;
  assert.deepEqual(opWrite.actor, { type: 'operator', tokenId: op.token.id, name: 'night shift' });
  assert.deepEqual([opWrite.organizationId, opWrite.route, opWrite.targetId, opWrite.status, opWrite.errorCode],
    [null, '/operator/plugin-installations/:id/pause', 'nope', 404, 'plugin_installation_not_found']);
  assert.equal(orgWrite.organizationId, a.orgId);
  assert.ok(!res.text.includes(op.secret));
  const own = (await t.api('GET', `/organizations/${a.orgId}/audit-log`, { token: a.ownerToken })).json as AuditLogPage;
  assert.deepEqual(own.data.map((e) => e.actor.type), ['user']);
  assert.equal((await t.api('GET', '/operator/audit-log')).status, 401);
});
