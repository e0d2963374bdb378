/**
 * Security of MCP integrations and the tool loop: owner-only writes, credentials that reach only
 * their own server (never the API, the DB in plaintext, the logs, the model), no gateway key
 * forwarding, the SSRF guard at install, slug and tool-name rules, organisation isolation, per-key
 * plugin scope, and the live event stream's tenancy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch as undiciFetch } from 'undici';
import { startApp, type TestApp, type Tenant } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream, type FakeUpstream, type ReceivedRequest, type ToolCallSpec, toolNames, toolMessages } from '../fakes/openai-upstream.ts';
import { PLANTED_SECRET, startMcpTestServer, type McpTestServer } from '../fakes/mcp/test-server.ts';

const LOOPBACK = { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' };
const POLL_ATTEMPTS = 100;
const POLL_INTERVAL_MS = 50;
/** Credential values planted for these tests (distinct shapes: one token-like, one not). */
const BEARER_TOKEN = 'mcp-bearer-PLANTED-7f3a9c1e5b2d';
const HEADER_VALUE = 'header-cred-PLANTED-q8w7e6r5t4';

type Servers = McpTestServer[];

async function world(env: Record<string, string> = {}) {
  const upstream = await startFakeUpstream();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, ...LOOPBACK, ...env });
  const servers: Servers = [];
  let closed = false;
  return {
    upstream, t, servers,
    async server(opts: Parameters<typeof startMcpTestServer>[0] = {}) {
      const s = await startMcpTestServer(opts);
      servers.push(s);
      return s;
    },
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      await t.close();
      await Promise.all(servers.map((s) => s.close()));
      await upstream.close();
    },
  };
}

async function install(t: TestApp, tenant: Tenant, body: Record<string, unknown>) {
  const res = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { displayName: 'Integration', ...body } });
  assert.equal(res.status, 201, res.text);
  return res.json as { id: string; slug: string; tools: Array<{ name: string; prefixedName: string }>; skippedTools: Array<{ name: string; reason: string }>; credential: unknown };
}

function toolMessage(req: ReceivedRequest, callId: string): string {
  const m = toolMessages(req).find((x) => x.tool_call_id === callId);
  assert.ok(m, `tool message ${callId}`);
  return m.content;
}

/** One tool turn then a final answer, through the gateway with `key`. */
async function toolTurn(t: TestApp, upstream: FakeUpstream, key: string, calls: ToolCallSpec[], headers: Record<string, string> = {}) {
  const before = upstream.requests.length;
  upstream.script({ json: chatCompletion({ toolCalls: calls }) }, { json: chatCompletion({ content: 'done' }) });
  const r = await t.openai(key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { headers });
  assert.equal(r.choices[0].message.content, 'done');
  assert.equal(upstream.remaining, 0);
  assert.deepEqual(upstream.unexpected, []);
  return { first: upstream.requests[before], second: upstream.requests[before + 1] };
}

/** Every file under `dir`, as one buffer per file. */
function filesUnder(dir: string): Array<{ file: string; data: Buffer }> {
  const out: Array<{ file: string; data: Buffer }> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push({ file, data: fs.readFileSync(file) });
  }
  return out;
}

async function poll<T>(fn: () => Promise<T | null | undefined> | T | null | undefined, what: string): Promise<T> {
  for (let i = 0; i < POLL_ATTEMPTS; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(POLL_INTERVAL_MS);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('only owners write MCP integrations; admins and members get 403, members can read', async () => {
  await using w = await world();
  const { t } = w;
  const mcp = await w.server();
  const tenant = t.tenant();
  const admin = t.member(tenant.orgId, 'admin');
  const member = t.member(tenant.orgId, 'member');
  const base = `/organizations/${tenant.orgId}/mcp-integrations`;
  const body = { slug: 'crm', displayName: 'CRM', url: mcp.url };

  for (const who of [admin, member]) {
    const res = await t.api('POST', base, { token: who.token, orgId: tenant.orgId, body });
    assert.equal(res.status, 403, res.text);
  }
  assert.equal(mcp.sessionsCreated, 0, 'a refused install never contacts the server');
  const created = await t.api('POST', base, { token: tenant.ownerToken, orgId: tenant.orgId, body });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id as string;

  for (const who of [admin, member]) {
    assert.equal((await t.api('PATCH', `${base}/${id}`, { token: who.token, orgId: tenant.orgId, body: { displayName: 'Hijacked' } })).status, 403);
    assert.equal((await t.api('PATCH', `${base}/${id}`, { token: who.token, orgId: tenant.orgId, body: { url: 'http://127.0.0.1:9/mcp' } })).status, 403);
    assert.equal((await t.api('POST', `${base}/${id}/refresh`, { token: who.token, orgId: tenant.orgId })).status, 403);
    assert.equal((await t.api('DELETE', `${base}/${id}`, { token: who.token, orgId: tenant.orgId })).status, 403);
  }

  for (const who of [member, admin]) {
    const list = await t.api('GET', base, { token: who.token, orgId: tenant.orgId });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.data.map((x: { id: string; displayName: string }) => [x.id, x.displayName]), [[id, 'CRM']], 'nothing was changed by the refused writes');
    assert.equal((await t.api('GET', `${base}/${id}`, { token: who.token, orgId: tenant.orgId })).status, 200);
    const plugins = await t.api('GET', `/organizations/${tenant.orgId}/plugins`, { token: who.token, orgId: tenant.orgId });
    assert.equal(plugins.status, 200);
    assert.equal(plugins.json.data[0].id, id);
    const tools = await t.api('GET', `/organizations/${tenant.orgId}/plugins/${id}/tools`, { token: who.token, orgId: tenant.orgId });
    assert.equal(tools.status, 200);
    assert.ok(tools.json.data.some((x: { name: string }) => x.name === 'crm__echo'));
  }
  const unauthenticated = await t.api('GET', base, {});
  assert.equal(unauthenticated.status, 401);

  const patched = await t.api('PATCH', `${base}/${id}`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { displayName: 'Support CRM' } });
  assert.equal(patched.status, 200);
  assert.equal(patched.json.displayName, 'Support CRM');
  assert.equal((await t.api('POST', `${base}/${id}/refresh`, { token: tenant.ownerToken, orgId: tenant.orgId })).status, 200);
  const deleted = await t.api('DELETE', `${base}/${id}`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.equal(deleted.status, 200);
  assert.equal(deleted.json.deleted, true);
  assert.deepEqual((await t.api('GET', base, { token: member.token, orgId: tenant.orgId })).json.data, []);
});

test('credentials reach only their own server and never the API, the DB in plaintext, the logs or the model', async () => {
  await using w = await world();
  const { t, upstream } = w;
  const bearerServer = await w.server({ requireBearer: BEARER_TOKEN });
  const headerServer = await w.server();
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);

  const wrong = await t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'wrong', displayName: 'Wrong', url: bearerServer.url, credential: { type: 'bearer', token: 'wrong-token-PLANTED-0000' } },
  });
  assert.equal(wrong.status, 422, wrong.text);
  assert.equal(wrong.json.error.code, 'mcp_connect_failed');
  assert.match(wrong.json.error.message, /401/);
  assert.ok(!wrong.text.includes('wrong-token-PLANTED-0000'));

  const crm = await install(t, tenant, { slug: 'crm', url: bearerServer.url, credential: { type: 'bearer', token: BEARER_TOKEN } });
  const billing = await install(t, tenant, { slug: 'billing', url: headerServer.url, credential: { type: 'header', name: 'X-Api-Key', value: HEADER_VALUE } });
  assert.deepEqual(crm.credential, { type: 'bearer', configured: true });
  assert.deepEqual(billing.credential, { type: 'header', name: 'X-Api-Key', configured: true });

  const { first, second } = await toolTurn(t, upstream, key.secret, [
    { id: 'w1', name: 'crm__whoami', arguments: {} },
    { id: 'w2', name: 'billing__whoami', arguments: {} },
    { id: 'e1', name: 'crm__echo', arguments: { text: 'hi' } },
    { id: 'e2', name: 'billing__echo', arguments: { text: 'hi' } },
  ]);
  assert.ok(toolNames(first).includes('crm__whoami') && toolNames(first).includes('billing__whoami'));

  assert.deepEqual(bearerServer.calls.map((c) => c.tool).sort(), ['echo', 'whoami']);
  assert.deepEqual(headerServer.calls.map((c) => c.tool).sort(), ['echo', 'whoami']);
  for (const c of bearerServer.calls) {
    assert.equal(c.headers.authorization, `Bearer ${BEARER_TOKEN}`);
    assert.equal(c.headers['x-api-key'], undefined, "the other installation's header never goes here");
    assert.ok(!JSON.stringify(c.headers).includes(HEADER_VALUE));
    assert.ok(!JSON.stringify(c.headers).includes(key.secret), 'the gateway key never reaches an MCP server');
  }
  for (const c of headerServer.calls) {
    assert.equal(c.headers['x-api-key'], HEADER_VALUE);
    assert.equal(c.headers.authorization, undefined, "the other installation's bearer never goes here (nor the gateway key)");
    assert.ok(!JSON.stringify(c.headers).includes(BEARER_TOKEN));
    assert.ok(!JSON.stringify(c.headers).includes(key.secret), 'the gateway key never reaches an MCP server');
  }

  // whoami echoes the headers back: the model must see the credential redacted.
  const whoamiCrm = toolMessage(second, 'w1');
  const whoamiBilling = toolMessage(second, 'w2');
  assert.match(whoamiCrm, /status="ok"/);
  assert.match(whoamiCrm, /"authorization":"Bearer \[redacted\]"/, whoamiCrm);
  assert.match(whoamiBilling, /"x-api-key":"\[redacted\]"/, whoamiBilling);
  for (const req of upstream.requests) {
    for (const secret of [BEARER_TOKEN, HEADER_VALUE]) {
      assert.ok(!req.rawBody.includes(secret), `${secret} never reaches the model: ${req.rawBody.slice(0, 300)}`);
      assert.ok(!JSON.stringify(req.headers).includes(secret), 'nor the upstream headers');
    }
  }

  // Rotation: the new value is sent, the old one no longer.
  const rotated = 'header-cred-ROTATED-z1x2c3v4b5';
  const patch = await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${billing.id}`, {
    token: tenant.ownerToken, orgId: tenant.orgId, body: { credential: { type: 'header', name: 'X-Api-Key', value: rotated } },
  });
  assert.equal(patch.status, 200, patch.text);
  assert.ok(!patch.text.includes(rotated));
  headerServer.calls.length = 0;
  await toolTurn(t, upstream, key.secret, [{ id: 'e3', name: 'billing__echo', arguments: { text: 'again' } }]);
  assert.deepEqual(headerServer.calls.map((c) => c.headers['x-api-key']), [rotated]);

  // Never in the API.
  const list = await t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId });
  const one = await t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations/${crm.id}`, { token: tenant.ownerToken, orgId: tenant.orgId });
  const member = t.member(tenant.orgId, 'member');
  const asMember = await t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations`, { token: member.token, orgId: tenant.orgId });
  for (const [where, text] of [['list', list.text], ['one', one.text], ['member list', asMember.text]]) {
    for (const secret of [BEARER_TOKEN, HEADER_VALUE, rotated]) assert.ok(!text.includes(secret), `${where} must not contain ${secret}`);
  }
  assert.deepEqual(list.json.data.map((x: { slug: string; credential: unknown }) => [x.slug, x.credential]), [
    ['billing', { type: 'header', name: 'X-Api-Key', configured: true }],
    ['crm', { type: 'bearer', configured: true }],
  ]);

  // Never in the DB in plaintext (every column) nor anywhere in the data directory.
  // The installation row and (since migration 0005) its MCP endpoint row, which holds the sealed credential.
  for (const table of ['plugin_installations', 'mcp_endpoints']) {
    const rows = t.app.repos.db.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
    assert.equal(rows.length, 2, table);
    for (const row of rows) {
      for (const [col, value] of Object.entries(row)) {
        for (const secret of [BEARER_TOKEN, HEADER_VALUE, rotated, Buffer.from(BEARER_TOKEN).toString('base64'), Buffer.from(HEADER_VALUE).toString('base64')]) {
          assert.ok(!String(value).includes(secret), `${table}.${col} holds ${secret} in plaintext`);
        }
      }
    }
  }
  assert.equal((t.app.repos.db.prepare('SELECT COUNT(*) AS n FROM mcp_endpoints WHERE credential_sealed IS NOT NULL').get() as { n: number }).n, 2, 'both credentials are stored, sealed');
  await w[Symbol.asyncDispose]();
  for (const { file, data } of filesUnder(t.config.dataDir)) {
    for (const secret of [BEARER_TOKEN, HEADER_VALUE, rotated]) assert.equal(data.indexOf(secret), -1, `${file} holds ${secret}`);
  }
  const logs = t.logs.join('\n');
  assert.ok(logs.length > 0, 'logs were captured');
  for (const secret of [BEARER_TOKEN, HEADER_VALUE, rotated, 'wrong-token-PLANTED-0000', key.secret]) assert.ok(!logs.includes(secret), `logs must not contain ${secret}`);
});

test('SSRF: metadata, link-local, loopback without the allowlist, private names and userinfo URLs are refused and nothing is stored', async () => {
  const mcp = await startMcpTestServer();
  try {
    {
      await using wide = await world({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '0.0.0.0/0' });
      const tenant = wide.t.tenant();
      for (const url of ['http://169.254.169.254/mcp', 'http://[::ffff:169.254.169.254]/mcp', 'http://metadata.google.internal/', 'http://metadata.google.internal/computeMetadata/v1/', `http://user:pass@127.0.0.1:${mcp.port}/mcp`]) {
        const res = await wide.t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'meta', displayName: 'M', url } });
        assert.equal(res.status, 400, `${url}: ${res.text}`);
        assert.equal(res.json.error.code, 'url_not_allowed', url);
        assert.equal(res.json.error.param, 'url');
        assert.ok(!res.text.includes('pass@'), 'the userinfo is not echoed');
      }
      assert.deepEqual((await wide.t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId })).json.data, []);
    }
    {
      await using closed = await world({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '' });
      const tenant = closed.t.tenant();
      for (const url of [mcp.url, `http://localhost:${mcp.port}/mcp`, `http://[::1]:${mcp.port}/mcp`, `http://user:pass@example.com/mcp`, 'http://10.0.0.5/mcp', 'http://192.168.1.1/mcp']) {
        const res = await closed.t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'local', displayName: 'L', url } });
        assert.equal(res.status, 400, `${url}: ${res.text}`);
        assert.equal(res.json.error.code, 'url_not_allowed', url);
      }
      assert.deepEqual((await closed.t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId })).json.data, []);
      assert.equal((closed.t.app.repos.db.prepare('SELECT COUNT(*) AS n FROM plugin_installations').get() as { n: number }).n, 0);
    }
    {
      // PATCH cannot move an installation to a refused address either.
      await using w = await world();
      const tenant = w.t.tenant();
      const inst = await install(w.t, tenant, { slug: 'crm', url: mcp.url });
      const res = await w.t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${inst.id}`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { url: 'http://169.254.169.254/latest/meta-data/' } });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error.code, 'url_not_allowed');
      const after = await w.t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations/${inst.id}`, { token: tenant.ownerToken, orgId: tenant.orgId });
      assert.equal(after.json.url, mcp.url);
    }
    assert.equal(mcp.sessionsCreated, 1, 'only the allowed install ever reached the server');
  } finally {
    await mcp.close();
  }
});

test("an MCP endpoint can never be Plugboard's own port, even with loopback allowed", async () => {
  await using w = await world({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128' });
  const tenant = w.t.tenant();
  const port = new URL(w.t.url).port;
  for (const url of [`${w.t.url}/mcp`, `http://localhost:${port}/v1/chat/completions`, `http://[::1]:${port}/mcp`]) {
    const res = await w.t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'self', displayName: 'Self', url } });
    assert.equal(res.status, 400, `${url}: ${res.text}`);
    assert.equal(res.json.error.code, 'url_not_allowed', url);
    assert.match(res.json.error.message, /Plugboard itself/, url);
  }
  assert.equal((w.t.app.repos.db.prepare('SELECT COUNT(*) AS n FROM plugin_installations').get() as { n: number }).n, 0);
});

test('slug rules: lowercase, no "__", at most 24 characters, unique per organisation', async () => {
  await using w = await world();
  const { t } = w;
  const mcp = await w.server();
  const tenant = t.tenant();
  const post = (slug: string) => t.api('POST', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { slug, displayName: 'X', url: mcp.url } });
  for (const slug of ['CRM', 'Crm', 'a__b', 'a_b', 'x'.repeat(25), '', '-crm', 'crm-', 'cr--m', 'crm tools']) {
    const res = await post(slug);
    assert.equal(res.status, 400, `${JSON.stringify(slug)}: ${res.text}`);
    assert.equal(res.json.error.param, 'slug', slug);
  }
  assert.equal((await post('x'.repeat(24))).status, 201, '24 characters is fine');
  assert.equal((await post('crm')).status, 201);
  const dup = await post('crm');
  assert.equal(dup.status, 409, dup.text);
  assert.equal(dup.json.error.code, 'slug_taken');
  const list = await t.api('GET', `/organizations/${tenant.orgId}/mcp-integrations`, { token: tenant.ownerToken, orgId: tenant.orgId });
  assert.deepEqual(list.json.data.map((x: { slug: string }) => x.slug).sort(), ['crm', 'x'.repeat(24)]);
  const other = list.json.data.find((x: { slug: string }) => x.slug !== 'crm');
  const rename = await t.api('PATCH', `/organizations/${tenant.orgId}/mcp-integrations/${other.id}`, { token: tenant.ownerToken, orgId: tenant.orgId, body: { slug: 'crm' } });
  assert.equal(rename.status, 409);
  assert.equal(rename.json.error.code, 'slug_taken');
  // Another organisation may use the same slug.
  const orgB = t.tenant('B');
  const inB = await t.api('POST', `/organizations/${orgB.orgId}/mcp-integrations`, { token: orgB.ownerToken, orgId: orgB.orgId, body: { slug: 'crm', displayName: 'X', url: mcp.url } });
  assert.equal(inB.status, 201, inB.text);
});

test('a tool whose prefixed name would exceed 64 characters is skipped with a reason and never offered', async () => {
  await using w = await world();
  const { t, upstream } = w;
  const mcp = await w.server();
  const fits = 'f'.repeat(38);
  const tooLong = 'g'.repeat(39);
  const veryLong = 'h'.repeat(70);
  for (const name of [fits, tooLong, veryLong]) {
    mcp.addTool({ name, description: `tool ${name.length}`, inputSchema: { type: 'object', properties: {} }, handler: () => ({ content: [{ type: 'text', text: `ran ${name.length}` }] }) });
  }
  const tenant = t.tenant();
  const slug = 's'.repeat(24);
  const inst = await install(t, tenant, { slug, url: mcp.url });
  assert.ok(inst.tools.some((x) => x.prefixedName === `${slug}__${fits}`), '24 + 2 + 38 = 64 fits');
  assert.ok(!inst.tools.some((x) => x.name === tooLong || x.name === veryLong));
  const skipped = new Map(inst.skippedTools.map((x) => [x.name, x.reason]));
  assert.match(skipped.get(tooLong) ?? '', /64/);
  assert.match(skipped.get(veryLong) ?? '', /64/);

  const key = t.key(tenant.orgId);
  const { first, second } = await toolTurn(t, upstream, key.secret, [
    { id: 'ok', name: `${slug}__${fits}`, arguments: {} },
    { id: 'cut', name: `${slug}__${tooLong}`.slice(0, 64), arguments: {} },
  ]);
  const offered = toolNames(first);
  assert.ok(offered.includes(`${slug}__${fits}`));
  assert.ok(offered.every((n) => n.length <= 64 && /^[a-zA-Z0-9_-]+$/.test(n)), 'every offered name is a valid function name');
  assert.ok(!offered.some((n) => n.includes('ggg') || n.includes('hhh')));
  assert.match(toolMessage(second, 'ok'), /status="ok">\nran 38\n/);
  assert.match(toolMessage(second, 'cut'), /status="error"/, 'a truncated name resolves to nothing');
  assert.deepEqual(mcp.calls.map((c) => c.tool), [fits]);
});

test("organisations are isolated: A's key never lists or calls B's tools; B's owner cannot touch A's integration", async () => {
  await using w = await world();
  const { t, upstream } = w;
  const mcpA = await w.server();
  const mcpB = await w.server();
  mcpB.addTool({ name: 'secret_b', description: 'Only org B has this.', inputSchema: { type: 'object', properties: {} }, handler: () => ({ content: [{ type: 'text', text: 'B data' }] }) });
  const orgA = t.tenant('A');
  const orgB = t.tenant('B');
  const instA = await install(t, orgA, { slug: 'crm', url: mcpA.url });
  const instB = await install(t, orgB, { slug: 'crm', url: mcpB.url });
  const keyA = t.key(orgA.orgId);

  const { first, second } = await toolTurn(t, upstream, keyA.secret, [
    { id: 'a', name: 'crm__echo', arguments: { text: 'from A' } },
    { id: 'b', name: 'crm__secret_b', arguments: {} },
  ], { 'x-plugboard-plugins': `${instB.id},crm` });
  assert.ok(!toolNames(first).includes('crm__secret_b'));
  assert.match(toolMessage(second, 'a'), /status="ok">\nfrom A\n/);
  assert.match(toolMessage(second, 'b'), /status="error">\nThere is no tool named "crm__secret_b"/);
  assert.deepEqual(mcpA.calls.map((c) => c.tool), ['echo']);
  assert.deepEqual(mcpB.calls, [], "org B's server never got a call from org A");

  // A key scoped to B's plugin id gets nothing of B.
  const sneaky = t.key(orgA.orgId, { allowedPluginIds: [instB.id] });
  upstream.script({ json: chatCompletion({ content: 'plain' }) });
  await t.openai(sneaky.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(upstream.requests.at(-1)!.body!.tools, undefined);

  const aBase = `/organizations/${orgA.orgId}/mcp-integrations`;
  const viaB = `/organizations/${orgB.orgId}/mcp-integrations`;
  const asB = { token: orgB.ownerToken };
  for (const [method, p, body] of [
    ['GET', `${aBase}/${instA.id}`, undefined],
    ['GET', aBase, undefined],
    ['PATCH', `${aBase}/${instA.id}`, { displayName: 'pwned' }],
    ['POST', `${aBase}/${instA.id}/refresh`, undefined],
    ['DELETE', `${aBase}/${instA.id}`, undefined],
    ['POST', aBase, { slug: 'evil', displayName: 'E', url: mcpB.url }],
    ['GET', `${viaB}/${instA.id}`, undefined],
    ['PATCH', `${viaB}/${instA.id}`, { displayName: 'pwned' }],
    ['POST', `${viaB}/${instA.id}/refresh`, undefined],
    ['DELETE', `${viaB}/${instA.id}`, undefined],
    ['GET', `/organizations/${orgB.orgId}/plugins/${instA.id}/tools`, undefined],
    ['GET', `/organizations/${orgA.orgId}/plugins`, undefined],
  ] as const) {
    const res = await t.api(method, p, { ...asB, body });
    assert.equal(res.status, 404, `${method} ${p}: ${res.status} ${res.text}`);
  }
  const still = await t.api('GET', `${aBase}/${instA.id}`, { token: orgA.ownerToken, orgId: orgA.orgId });
  assert.equal(still.status, 200);
  assert.equal(still.json.displayName, 'Integration');
  assert.deepEqual((await t.api('GET', aBase, { token: orgA.ownerToken })).json.data.map((x: { id: string }) => x.id), [instA.id]);
});

test("a key limited to plugin X never gets plugin Y's tools, whatever X-Plugboard-Plugins asks for", async () => {
  await using w = await world();
  const { t, upstream } = w;
  const mcpX = await w.server();
  const mcpY = await w.server();
  const tenant = t.tenant();
  const x = await install(t, tenant, { slug: 'crm', url: mcpX.url });
  const y = await install(t, tenant, { slug: 'billing', url: mcpY.url });
  const onlyX = t.key(tenant.orgId, { allowedPluginIds: [x.id] });
  const client = t.openai(onlyX.secret);

  upstream.script({ json: chatCompletion({ content: 'a' }) });
  await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
  const names = toolNames(upstream.requests.at(-1)!);
  assert.ok(names.length > 0 && names.every((n) => n.startsWith('crm__')), names.join(','));

  for (const header of ['billing', y.id, `billing,${y.id}`]) {
    upstream.script({ json: chatCompletion({ content: 'b' }) });
    await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-plugboard-plugins': header } });
    assert.equal(upstream.requests.at(-1)!.body!.tools, undefined, `header ${header} cannot widen the key`);
  }
  upstream.script({ json: chatCompletion({ content: 'c' }) });
  await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-plugboard-plugins': 'billing,crm' } });
  assert.ok(toolNames(upstream.requests.at(-1)!).every((n) => n.startsWith('crm__')));

  const { second } = await toolTurn(t, upstream, onlyX.secret, [{ id: 'y1', name: 'billing__echo', arguments: { text: 'x' } }, { id: 'x1', name: 'crm__echo', arguments: { text: 'x' } }], { 'x-plugboard-plugins': 'billing,crm' });
  assert.match(toolMessage(second, 'y1'), /status="error">\nThere is no tool named "billing__echo"/);
  assert.match(toolMessage(second, 'x1'), /status="ok"/);
  assert.deepEqual(mcpY.calls, []);
  assert.equal(mcpX.calls.length, 1);
});

interface LiveEvent { type: string; orgId: string; requestId: string; [k: string]: unknown }

/**
 * Subscribes to an organisation's live event stream; the reader runs until `close()`. Its own
 * connection pool: the global one opens a spare connection after an abort, which would hold the
 * app's graceful shutdown for its whole timeout.
 */
async function subscribe(t: TestApp, orgId: string, token: string) {
  const ac = new AbortController();
  const agent = new Agent();
  const res = await undiciFetch(`${t.url}/organizations/${orgId}/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal, dispatcher: agent });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: LiveEvent[] = [];
  let raw = '';
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return;
        raw += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = raw.indexOf('\n\n')) >= 0) {
          const block = raw.slice(0, cut);
          raw = raw.slice(cut + 2);
          const name = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (data) {
            const ev = JSON.parse(data) as LiveEvent;
            assert.equal(ev.type, name, 'the SSE event name matches the payload type');
            events.push(ev);
          }
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  return {
    events,
    async close() {
      ac.abort();
      await done;
      await agent.destroy();
    },
  };
}

test('live events: a tool-loop request streams its steps to members of its organisation only', async () => {
  await using w = await world();
  const { t, upstream } = w;
  const mcp = await w.server();
  const orgA = t.tenant('A');
  const orgB = t.tenant('B');
  await install(t, orgA, { slug: 'crm', url: mcp.url });
  const keyA = t.key(orgA.orgId);
  const memberA = t.member(orgA.orgId, 'member');
  const memberB = t.member(orgB.orgId, 'member');

  assert.equal((await fetch(`${t.url}/organizations/${orgA.orgId}/events`)).status, 401, 'unauthenticated');
  const cross = await fetch(`${t.url}/organizations/${orgA.orgId}/events`, { headers: { authorization: `Bearer ${memberB.token}` } });
  assert.equal(cross.status, 404, "B's member cannot subscribe to A");
  await cross.body?.cancel();

  const subA = await subscribe(t, orgA.orgId, memberA.token);
  const subB = await subscribe(t, orgB.orgId, memberB.token);
  try {
    assert.equal(t.app.bus.listenerCount(orgA.orgId), 1);
    upstream.script(
      { json: chatCompletion({ toolCalls: [{ id: 'c1', name: 'crm__echo', arguments: { text: `do not broadcast ${PLANTED_SECRET}` } }, { id: 'c2', name: 'crm__fail', arguments: {} }] }) },
      { json: chatCompletion({ content: 'done' }) },
    );
    const { data, response } = await t.openai(keyA.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    assert.equal(data.choices[0].message.content, 'done');
    const requestId = response.headers.get('x-request-id');

    await poll(() => subA.events.some((e) => e.type === 'final_answer'), 'final_answer on A');
    const types = subA.events.map((e) => e.type);
    assert.deepEqual(types.filter((x) => !x.startsWith('tool_call')), ['request_started', 'model_turn', 'model_turn', 'final_answer']);
    assert.deepEqual(types.filter((x) => x.startsWith('tool_call')).sort(), ['tool_call_finished', 'tool_call_finished', 'tool_call_started', 'tool_call_started']);
    assert.ok(types.indexOf('tool_call_started') > types.indexOf('model_turn'));
    assert.ok(types.lastIndexOf('tool_call_finished') < types.lastIndexOf('model_turn'));
    for (const e of subA.events) {
      assert.equal(e.orgId, orgA.orgId);
      if (requestId) assert.equal(e.requestId, requestId, 'events carry the request id the caller saw');
    }
    const finished = subA.events.filter((e) => e.type === 'tool_call_finished');
    const echo = finished.find((e) => e.tool === 'crm__echo')!;
    assert.equal(echo.status, 'ok');
    assert.equal(typeof echo.latencyMs, 'number');
    const fail = finished.find((e) => e.tool === 'crm__fail')!;
    assert.deepEqual([fail.status, fail.errorClass], ['error', 'tool_error']);
    assert.ok(!JSON.stringify(subA.events).includes(PLANTED_SECRET), 'arguments and error texts are not broadcast');

    await sleep(200);
    assert.deepEqual(subB.events, [], "B's stream got nothing of A's request");
  } finally {
    await subA.close();
    await subB.close();
  }
  await poll(() => t.app.bus.listenerCount(orgA.orgId) === 0 && t.app.bus.listenerCount(orgB.orgId) === 0, 'subscriptions to end with their streams');
});
