/**
 * Bad input on every control-panel endpoint: malformed JSON, non-objects, wrong types, missing
 * and unknown fields, oversized bodies, unknown or malformed ids, unknown routes and wrong
 * methods. Every answer is a 4xx in the `{error:{message,type,param,code}}` shape — never a 500
 * — and the database is exactly as it was before the barrage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../helpers/app.ts';
import { assertWireError, snapshotTables } from '../helpers/factories.ts';
import { setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { MAX_JSON_DEPTH } from '../../src/net/json-depth.ts';

/** Control tokens' last-used times move on every authenticated call, by design. */
const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'] } };
const CONTROL_BODY_LIMIT = 1024 * 1024;

interface Call { label: string; method: string; path: string; raw?: string; body?: unknown; expect: [status: number, code: string, param?: string | null] }

async function fire(t: TestApp, token: string, c: Call): Promise<void> {
  const res = await t.api(c.method, c.path, { token, rawBody: c.raw, body: c.body });
  assert.ok(res.status >= 400 && res.status < 500, `${c.label}: ${c.method} ${c.path} → ${res.status} ${res.text.slice(0, 300)}`);
  assertWireError(res, c.expect[0], c.expect[1], c.expect[2], `${c.label}: ${c.method} ${c.path}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, c.label);
  assert.match(res.headers.get('x-request-id') ?? '', /^req_/, c.label);
}

function setup(t: TestApp) {
  const tenant = t.tenant();
  const admin = t.member(tenant.orgId, 'admin');
  const member = t.member(tenant.orgId, 'member');
  const key = t.key(tenant.orgId, { name: 'k', rateLimitRpm: 10 });
  t.app.recorder.record({ orgId: tenant.orgId, requestId: 'req_existing', kind: 'completion', status: 'ok', latencyMs: 5, createdAt: Date.now() });
  t.app.recorder.flush();
  const o = `/organizations/${tenant.orgId}`;
  return { tenant, admin, member, key, o };
}

test('every JSON-body endpoint: malformed, non-object, empty, unknown-field and oversized bodies are 4xx and change nothing', async () => {
  await using t = await startApp();
  const { tenant, member, key, o } = setup(t);
  const bodyEndpoints: Array<{ method: string; path: string; valid: Record<string, unknown> }> = [
    { method: 'POST', path: '/organizations', valid: { name: 'New org' } },
    { method: 'PATCH', path: o, valid: { name: 'Renamed' } },
    { method: 'POST', path: `${o}/members`, valid: { name: 'Newbie', role: 'member' } },
    { method: 'PATCH', path: `${o}/members/${member.userId}`, valid: { role: 'admin' } },
    { method: 'POST', path: `${o}/keys`, valid: { name: 'new key' } },
    { method: 'PATCH', path: `${o}/keys/${key.id}`, valid: { name: 'renamed key' } },
  ];
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const huge = JSON.stringify({ name: 'x'.repeat(CONTROL_BODY_LIMIT + 10) });
  for (const e of bodyEndpoints) {
    const calls: Call[] = [
      { label: 'malformed JSON', method: e.method, path: e.path, raw: '{"name": "x",', expect: [400, 'invalid_json', null] },
      { label: 'single quotes', method: e.method, path: e.path, raw: "{'name': 'x'}", expect: [400, 'invalid_json', null] },
      { label: 'deeply nested', method: e.method, path: e.path, raw: '['.repeat(100_000), expect: [400, 'invalid_json', null] },
      { label: 'deeply nested, valid', method: e.method, path: e.path, raw: nestedBody('name', 100_000), expect: [400, 'json_too_deep', null] },
      { label: 'empty body', method: e.method, path: e.path, raw: '', expect: [400, 'missing_body', null] },
      { label: 'array', method: e.method, path: e.path, raw: JSON.stringify([e.valid]), expect: [400, 'invalid_body', null] },
      { label: 'string', method: e.method, path: e.path, raw: '"name"', expect: [400, 'invalid_body', null] },
      { label: 'number', method: e.method, path: e.path, raw: '5', expect: [400, 'invalid_body', null] },
      { label: 'null', method: e.method, path: e.path, raw: 'null', expect: [400, 'invalid_body', null] },
      { label: 'true', method: e.method, path: e.path, raw: 'true', expect: [400, 'invalid_body', null] },
      { label: 'unknown field', method: e.method, path: e.path, body: { ...e.valid, bogusField: 1 }, expect: [400, 'unknown_parameter'] },
      { label: '__proto__ field', method: e.method, path: e.path, raw: JSON.stringify(e.valid).replace(/^\{/, '{"__proto__":{"isAdmin":true},'), expect: [400, 'unknown_parameter'] },
      { label: 'oversized', method: e.method, path: e.path, raw: huge, expect: [413, 'request_too_large', null] },
    ];
    for (const c of calls) await fire(t, tenant.ownerToken, c);
    const unknown = await t.api(e.method, e.path, { token: tenant.ownerToken, body: { ...e.valid, bogusField: 1 } });
    assert.match(unknown.json.error.message, /bogusField/, 'the unknown field is named');
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing stored was lost or changed');
});

/** `{"<field>": [[…]]}`: valid JSON whose nesting is `depth` levels in all (the object counts as 1). */
function nestedBody(field: string, depth: number): string {
  return `{"${field}":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

test(`every JSON-body endpoint of the control panel: valid JSON nested deeper than ${MAX_JSON_DEPTH} levels is a 400 json_too_deep; at the limit it is judged as usual`, async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  await using mcp = await startMcpTestServer();
  const { t, tenant, instance } = s;
  const o = `/organizations/${tenant.orgId}`;
  const member = t.member(tenant.orgId, 'member');
  const key = t.key(tenant.orgId);
  const integration = await t.api('POST', `${o}/mcp-integrations`, { token: tenant.ownerToken, body: { slug: 'crm', displayName: 'CRM', url: mcp.url } });
  assert.equal(integration.status, 201, integration.text);
  // Every route that reads a JSON body (webhooks read forms; refresh and requeue read none).
  const endpoints: Array<[method: string, path: string, field: string]> = [
    ['POST', '/organizations', 'name'], ['PATCH', o, 'name'], ['POST', `${o}/members`, 'name'], ['PATCH', `${o}/members/${member.userId}`, 'role'],
    ['POST', `${o}/keys`, 'allowedPluginIds'], ['PATCH', `${o}/keys/${key.id}`, 'allowedPluginIds'],
    ['POST', `${o}/mcp-integrations`, 'toolAllowlist'], ['PATCH', `${o}/mcp-integrations/${integration.json.id}`, 'toolAllowlist'],
    ['POST', `${o}/whatsapp-instances`, 'name'], ['PATCH', `${o}/whatsapp-instances/${instance.id}`, 'name'],
    ['PUT', `${o}/whatsapp-instances/${instance.id}/plugins`, 'enabledPluginIds'],
  ];
  const ignore = { ignoreColumns: { ...IGNORE_TOUCH.ignoreColumns, plugin_installations: ['last_success_at', 'last_error', 'last_error_at'] } };
  const before = snapshotTables(t.app.db, ignore);
  for (const [method, path, field] of endpoints) {
    for (const depth of [MAX_JSON_DEPTH + 1, 1_000, 400_000]) {
      const res = await t.api(method, path, { token: tenant.ownerToken, rawBody: nestedBody(field, depth) });
      assertWireError(res, 400, 'json_too_deep', null, `${method} ${path} depth ${depth}`);
      assert.match(res.json.error.message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    }
    // At the limit the body is validated as any other (here: refused for its field's type).
    const atLimit = await t.api(method, path, { token: tenant.ownerToken, rawBody: nestedBody(field, MAX_JSON_DEPTH) });
    assert.ok(atLimit.status === 400 && atLimit.json.error.code !== 'json_too_deep', `${method} ${path} at the limit: ${atLimit.status} ${atLimit.text.slice(0, 200)}`);
  }
  assert.deepEqual(snapshotTables(t.app.db, ignore), before, 'nothing stored was lost or changed');
  // Brackets inside strings are text, not nesting.
  for (const [method, path, field] of endpoints) {
    const inString = await t.api(method, path, { token: tenant.ownerToken, rawBody: `{"${field}":"${'['.repeat(1000)}"}` });
    assert.notEqual(inString.json?.error?.code, 'json_too_deep', `${method} ${path}: brackets inside a string`);
  }
  assert.ok(t.logs.every((l) => !l.includes('"level":"error"')), 'no error was logged');
});

test("a key's allowedPluginIds must name plugins of its organisation, on create and on patch: 400 unknown_plugin naming the entry", async () => {
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const { tenant, key, o } = setup(t);
  const other = t.tenant('Other');
  const install = async (who: typeof tenant, slug: string) => {
    const res = await t.api('POST', `/organizations/${who.orgId}/mcp-integrations`, { token: who.ownerToken, body: { slug, displayName: slug, url: mcp.url } });
    assert.equal(res.status, 201, res.text);
    return res.json.id as string;
  };
  const own = await install(tenant, 'crm');
  const foreign = await install(other, 'crm');
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const bad: Array<[ids: unknown[], index: number, label: string]> = [
    [['nope'], 0, 'a made-up id'],
    [[own, 'first_party:slack'], 1, 'a first-party plugin that does not exist'],
    [[foreign], 0, "another organisation's installation"],
    [[own, own.toUpperCase()], 1, 'an id in the wrong case'],
    [['crm'], 0, 'a slug instead of an id'],
    [['first_party:'], 0, 'a bare prefix'],
  ];
  for (const [ids, index, label] of bad) {
    for (const [method, path] of [['POST', `${o}/keys`], ['PATCH', `${o}/keys/${key.id}`]] as const) {
      const res = await t.api(method, path, { token: tenant.ownerToken, body: { name: 'scoped', allowedPluginIds: ids } });
      assertWireError(res, 400, 'unknown_plugin', `allowedPluginIds.${index}`, `${label}: ${method}`);
      assert.ok(res.json.error.message.includes(JSON.stringify(ids[index])), `${label}: the message names the entry: ${res.json.error.message}`);
      assert.match(res.json.error.message, /first_party:whatsapp/, 'the message says what is accepted');
    }
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing stored was lost or changed');

  // What is valid: the organisation's installations and first-party plugins (usable yet or not), [] and null.
  for (const ids of [[own], ['first_party:whatsapp'], [own, 'first_party:whatsapp'], [], null]) {
    const created = await t.api('POST', `${o}/keys`, { token: tenant.ownerToken, body: { allowedPluginIds: ids } });
    assert.equal(created.status, 201, `${JSON.stringify(ids)}: ${created.text}`);
    assert.deepEqual(created.json.allowedPluginIds, ids);
    const patched = await t.api('PATCH', `${o}/keys/${key.id}`, { token: tenant.ownerToken, body: { allowedPluginIds: ids } });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.json.allowedPluginIds, ids);
  }
  // A patch that leaves allowedPluginIds out keeps it, and an unknown key is still a 404 first.
  assert.equal((await t.api('PATCH', `${o}/keys/${key.id}`, { token: tenant.ownerToken, body: { name: 'renamed' } })).status, 200);
  assertWireError(await t.api('PATCH', `${o}/keys/00000000-0000-4000-8000-000000000000`, { token: tenant.ownerToken, body: { allowedPluginIds: ['nope'] } }), 404, 'key_not_found', 'keyId');
});

test('wrong types, bad values and missing required fields name the param', async () => {
  await using t = await startApp();
  const { tenant, member, key, o } = setup(t);
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const m = `${o}/members/${member.userId}`;
  const k = `${o}/keys/${key.id}`;
  const calls: Call[] = [
    { label: 'org: missing name', method: 'POST', path: '/organizations', body: {}, expect: [400, 'invalid_type', 'name'] },
    { label: 'org: name 5', method: 'POST', path: '/organizations', body: { name: 5 }, expect: [400, 'invalid_type', 'name'] },
    { label: 'org: name ""', method: 'POST', path: '/organizations', body: { name: '' }, expect: [400, 'invalid_value', 'name'] },
    { label: 'org: name blank', method: 'POST', path: '/organizations', body: { name: '   ' }, expect: [400, 'invalid_value', 'name'] },
    { label: 'org: name too long', method: 'POST', path: '/organizations', body: { name: 'n'.repeat(201) }, expect: [400, 'invalid_value', 'name'] },
    { label: 'org: name null', method: 'POST', path: '/organizations', body: { name: null }, expect: [400, 'invalid_type', 'name'] },
    { label: 'patch org: name 5', method: 'PATCH', path: o, body: { name: 5 }, expect: [400, 'invalid_type', 'name'] },
    { label: 'patch org: settings "x"', method: 'PATCH', path: o, body: { settings: 'x' }, expect: [400, 'invalid_type', 'settings'] },
    { label: 'patch org: pluginInjection "yes"', method: 'PATCH', path: o, body: { settings: { pluginInjection: 'yes' } }, expect: [400, 'invalid_type', 'settings.pluginInjection'] },
    { label: 'patch org: unknown setting', method: 'PATCH', path: o, body: { settings: { theme: 'dark' } }, expect: [400, 'unknown_parameter', 'settings'] },
    { label: 'member: missing role', method: 'POST', path: `${o}/members`, body: { name: 'x' }, expect: [400, 'invalid_value', 'role'] },
    { label: 'member: missing name', method: 'POST', path: `${o}/members`, body: { role: 'member' }, expect: [400, 'invalid_type', 'name'] },
    { label: 'member: role king', method: 'POST', path: `${o}/members`, body: { name: 'x', role: 'king' }, expect: [400, 'invalid_value', 'role'] },
    { label: 'member: role 1', method: 'POST', path: `${o}/members`, body: { name: 'x', role: 1 }, expect: [400, 'invalid_value', 'role'] },
    { label: 'member: name []', method: 'POST', path: `${o}/members`, body: { name: [], role: 'member' }, expect: [400, 'invalid_type', 'name'] },
    { label: 'patch member: {}', method: 'PATCH', path: m, body: {}, expect: [400, 'invalid_value', 'role'] },
    { label: 'patch member: role OWNER', method: 'PATCH', path: m, body: { role: 'OWNER' }, expect: [400, 'invalid_value', 'role'] },
    { label: 'key: rpm "5"', method: 'POST', path: `${o}/keys`, body: { rateLimitRpm: '5' }, expect: [400, 'invalid_type', 'rateLimitRpm'] },
    { label: 'key: rpm -1', method: 'POST', path: `${o}/keys`, body: { rateLimitRpm: -1 }, expect: [400, 'invalid_value', 'rateLimitRpm'] },
    { label: 'key: rpm 1.5', method: 'POST', path: `${o}/keys`, body: { rateLimitRpm: 1.5 }, expect: [400, 'invalid_type', 'rateLimitRpm'] },
    { label: 'key: rpm huge', method: 'POST', path: `${o}/keys`, body: { rateLimitRpm: 1e12 }, expect: [400, 'invalid_value', 'rateLimitRpm'] },
    { label: 'key: name 5', method: 'POST', path: `${o}/keys`, body: { name: 5 }, expect: [400, 'invalid_type', 'name'] },
    { label: 'key: allowedPluginIds "x"', method: 'POST', path: `${o}/keys`, body: { allowedPluginIds: 'x' }, expect: [400, 'invalid_type', 'allowedPluginIds'] },
    { label: 'key: allowedPluginIds [5]', method: 'POST', path: `${o}/keys`, body: { allowedPluginIds: [5] }, expect: [400, 'invalid_type', 'allowedPluginIds.0'] },
    { label: 'patch key: rpm true', method: 'PATCH', path: k, body: { rateLimitRpm: true }, expect: [400, 'invalid_type', 'rateLimitRpm'] },
    { label: 'patch key: name {}', method: 'PATCH', path: k, body: { name: {} }, expect: [400, 'invalid_type', 'name'] },
  ];
  for (const c of calls) {
    const res = await t.api(c.method, c.path, { token: tenant.ownerToken, body: c.body });
    assert.ok(res.status >= 400 && res.status < 500, `${c.label}: ${res.status} ${res.text}`);
    assertWireError(res, c.expect[0], c.expect[1], c.expect[2], c.label);
    assert.equal(res.json.error.type, 'invalid_request_error', c.label);
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing stored was lost or changed');
});

test('usage-events query parameters: bad values are 400s naming the param', async () => {
  await using t = await startApp();
  const { tenant, o } = setup(t);
  const cases: Array<[query: string, param: string | null, code?: string]> = [
    ['limit=abc', 'limit'], ['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=-1', 'limit'], ['limit=1.5', 'limit'], ['limit=', 'limit'],
    ['status=maybe', 'status'], ['kind=everything', 'kind'], ['from=yesterday', 'from'], ['to=not-a-time', 'to'],
    ['cursor=abc', 'cursor'], ['cursor=-5', 'cursor'], ['model=', 'model'], ['keyId=' + 'k'.repeat(201), 'keyId'],
    ['bogus=1', null, 'unknown_parameter'], ['model=a&model=b', 'model', 'invalid_value'], ['limit=5&limit=6', 'limit', 'invalid_value'],
  ];
  for (const [q, param, code] of cases) {
    const res = await t.api('GET', `${o}/usage-events?${q}`, { token: tenant.ownerToken });
    assert.equal(res.status, 400, `${q}: ${res.text}`);
    assertWireError(res, 400, code ?? res.json.error.code, param, q);
  }
  const ok = await t.api('GET', `${o}/usage-events?limit=500`, { token: tenant.ownerToken });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.data.length, 1);
});

// Usage and audit (issue 13): the summary's and the audit log's query parameters.
test('usage summary and audit-log query parameters: bad values are 400s naming the param; nothing changes', async () => {
  await using t = await startApp();
  const { tenant, o } = setup(t);
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const summary: Array<[query: string, param: string | null, code?: string]> = [
    ['', 'range'], ['range=', 'range'], ['range=1w', 'range'], ['range=1H', 'range'], ['range=1h&groupBy=', 'groupBy'], ['range=1h&groupBy=user', 'groupBy'],
    ['range=1h&kind=all', 'kind'], ['range=1h&bucket=30s', 'bucket'], ['range=7d&bucket=1m', 'bucket', 'invalid_parameter'],
    ['range=24h&bucket=1d', null, undefined], ['range=1h&to=tomorrow', 'to'], ['range=1h&to=-5', 'to'], ['range=1h&to=' + '9'.repeat(30), 'to'],
    ['range=1h&limit=0', 'limit'], ['range=1h&limit=201', 'limit'], ['range=1h&limit=x', 'limit'],
    ['range=1h&bogus=1', null, 'unknown_parameter'], ['range=1h&range=7d', 'range', 'invalid_value'], ['range=1h&groupBy=key&groupBy=model', 'groupBy', 'invalid_value'],
  ];
  for (const [q, param, code] of summary) {
    const res = await t.api('GET', `${o}/usage/summary?${q}`, { token: tenant.ownerToken });
    // range=24h&bucket=1d is one point of a day: allowed (a window may be a single bucket).
    if (q === 'range=24h&bucket=1d') {
      assert.equal(res.status, 200, res.text);
      continue;
    }
    assertWireError(res, 400, code ?? res.json?.error?.code, param, `summary ${q}`);
  }
  const audit: Array<[query: string, param: string | null, code?: string]> = [
    ['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=abc', 'limit'], ['cursor=x', 'cursor'], ['cursor=-1', 'cursor'], ['method=GET', 'method'],
    ['outcome=all', 'outcome'], ['from=never', 'from'], ['to=later', 'to'], ['actorId=', 'actorId'], ['targetId=' + 't'.repeat(201), 'targetId'],
    ['bogus=1', null, 'unknown_parameter'], ['limit=5&limit=6', 'limit', 'invalid_value'],
  ];
  for (const [q, param, code] of audit) {
    const res = await t.api('GET', `${o}/audit-log?${q}`, { token: tenant.ownerToken });
    assertWireError(res, 400, code ?? res.json?.error?.code, param, `audit-log ${q}`);
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing stored was lost or changed');
  assert.equal((await t.api('GET', `${o}/usage/summary?range=7d&groupBy=model`, { token: tenant.ownerToken })).status, 200);
  assert.equal((await t.api('GET', `${o}/audit-log?limit=500`, { token: tenant.ownerToken })).status, 200);
});

test('unknown and malformed ids are 404 on every organisation route', async () => {
  await using t = await startApp();
  const { tenant, member, key, o } = setup(t);
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const badOrgs = ['00000000-0000-4000-8000-000000000000', crypto.randomUUID(), 'not-a-uuid', '1', `${tenant.orgId}x`, tenant.orgId.toUpperCase(), '%00', 'x'.repeat(2000)];
  for (const org of badOrgs) {
    const p = `/organizations/${org}`;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', p], ['PATCH', p, { name: 'x' }], ['GET', `${p}/members`], ['POST', `${p}/members`, { name: 'x', role: 'member' }],
      ['PATCH', `${p}/members/${member.userId}`, { role: 'admin' }], ['DELETE', `${p}/members/${member.userId}`],
      ['GET', `${p}/keys`], ['POST', `${p}/keys`, {}], ['GET', `${p}/keys/${key.id}`], ['PATCH', `${p}/keys/${key.id}`, { name: 'x' }],
      ['DELETE', `${p}/keys/${key.id}`], ['GET', `${p}/usage-events`],
      ['GET', `${p}/usage/summary?range=1h`], ['GET', `${p}/audit-log`],
    ];
    for (const [method, path, body] of routes) {
      const res = await t.api(method, path, { token: tenant.ownerToken, body });
      assertWireError(res, 404, 'organization_not_found', undefined, `${method} ${path.slice(0, 80)}`);
    }
  }
  const missingKeys = ['00000000-0000-4000-8000-000000000000', 'nope', key.id.toUpperCase()];
  for (const id of missingKeys) {
    assertWireError(await t.api('GET', `${o}/keys/${id}`, { token: tenant.ownerToken }), 404, 'key_not_found', 'keyId', `GET key ${id}`);
    assertWireError(await t.api('PATCH', `${o}/keys/${id}`, { token: tenant.ownerToken, body: { name: 'x' } }), 404, 'key_not_found', 'keyId');
    assertWireError(await t.api('DELETE', `${o}/keys/${id}`, { token: tenant.ownerToken }), 404, 'key_not_found', 'keyId');
  }
  for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', tenant.orgId]) {
    assertWireError(await t.api('PATCH', `${o}/members/${id}`, { token: tenant.ownerToken, body: { role: 'admin' } }), 404, 'member_not_found', 'userId');
    assertWireError(await t.api('DELETE', `${o}/members/${id}`, { token: tenant.ownerToken }), 404, 'member_not_found', 'userId');
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing stored was lost or changed');
});

test('unknown routes are 404 unknown_url and wrong methods are 405, in the error shape', async () => {
  await using t = await startApp();
  const { tenant, key, o } = setup(t);
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  const unknown: Array<[string, string]> = [
    ['GET', '/'], ['GET', '/nope'], ['GET', '/v1'], ['GET', '/v1/nope'], ['POST', '/v2/chat/completions'], ['GET', `${o}/bogus`],
    ['GET', `${o}/keys/${key.id}/secret`], ['GET', '/organizations/'.repeat(3)], ['DELETE', '/me/x'],
  ];
  for (const [method, path] of unknown) {
    const res = await t.api(method, path, { token: tenant.ownerToken });
    assertWireError(res, 404, 'unknown_url', null, `${method} ${path}`);
  }
  const wrongMethod: Array<[string, string]> = [
    ['PUT', o], ['DELETE', o], ['POST', o], ['PUT', `${o}/keys/${key.id}`], ['POST', `${o}/keys/${key.id}`], ['DELETE', `${o}/keys`],
    ['POST', `${o}/usage-events`], ['DELETE', '/organizations'], ['POST', '/me'], ['GET', '/v1/chat/completions'], ['POST', '/v1/models'],
    ['POST', '/healthz'], ['DELETE', '/readyz'],
  ];
  for (const [method, path] of wrongMethod) {
    const res = await t.api(method, path, { token: tenant.ownerToken, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    assertWireError(res, 405, 'method_not_allowed', null, `${method} ${path}`);
  }
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'nothing stored was lost or changed');
});

test('a 405 names the allowed methods in an Allow header (RFC 9110 §15.5.6)', async () => {
  await using t = await startApp();
  const { tenant, key, o } = setup(t);
  const cases: Array<[method: string, path: string, allowed: string[]]> = [
    ['PUT', o, ['GET', 'PATCH']],
    ['POST', `${o}/keys/${key.id}`, ['DELETE', 'GET', 'PATCH']],
    ['GET', '/v1/chat/completions', ['POST']],
  ];
  for (const [method, path, allowed] of cases) {
    const res = await t.api(method, path, { token: tenant.ownerToken });
    assert.equal(res.status, 405, `${method} ${path}`);
    const allow = (res.headers.get('allow') ?? '').split(',').map((s) => s.trim()).filter((m) => m && m !== 'HEAD').sort();
    assert.deepEqual(allow, allowed, `${method} ${path}: Allow header`);
  }
});

test('after the barrage the valid requests still work (nothing was wedged)', async () => {
  await using t = await startApp();
  const { tenant, o } = setup(t);
  for (let i = 0; i < 3; i++) await t.api('POST', `${o}/keys`, { token: tenant.ownerToken, rawBody: '{"name":' });
  await t.api('POST', `${o}/keys`, { token: tenant.ownerToken, rawBody: JSON.stringify({ name: 'x'.repeat(CONTROL_BODY_LIMIT * 2) }) });
  const created = await t.api('POST', `${o}/keys`, { token: tenant.ownerToken, body: { name: 'fine', rateLimitRpm: 5 } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.name, 'fine');
  const org = await t.api('POST', '/organizations', { token: tenant.ownerToken, body: { name: '  Trimmed  ' } });
  assert.equal(org.status, 201, org.text);
  assert.equal(org.json.name, 'Trimmed');
});
