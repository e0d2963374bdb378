/**
 * Custom plugin endpoints that misbehave, through the real gateway and tool loop: a timeout, a 500,
 * a redirect (never followed), an HTML page, a 10 MB answer, a closed connection, an invalid
 * output, a refused connection, a business refusal, a 503 then success. Each is a clear, scrubbed
 * tool error the model reads (or a result after the one retry an idempotent tool gets, with the
 * same webhook-id), the caller gets its 200, and every call leaves a plugin-log entry and moves
 * the installation's health. Arguments are checked as JSON Schema 2020-12 before any call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startApp } from '../helpers/app.ts';
import { freePort } from '../helpers/factories.ts';
import { API_KEY_A, install, register, startPluginServer, testManifest, type PluginAnswer } from './custom/helpers.ts';

async function setup(manifestOver: (m: Record<string, any>) => void = () => undefined, baseUrl?: string) {
  const upstream = await startFakeUpstream();
  const plugin = await startPluginServer();
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  const m = testManifest(baseUrl ?? plugin.origin);
  m.tools[0].timeoutMs = 1000;
  m.tools.push({
    name: 'pair_up', description: 'Pairs a label with a count, for tests of JSON Schema 2020-12 arguments.', effect: 'read',
    inputSchema: { type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false } }, required: ['pair'], additionalProperties: false },
  });
  manifestOver(m);
  const reg = await register(t, a, m);
  plugin.secrets = [reg.signingSecret];
  const inst = await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY_A }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
  const key = t.key(a.orgId).secret;
  return {
    t, a, plugin, inst, upstream,
    /** One API request whose model calls `tool` once; returns what the model read back. */
    async call(tool: string, args: Record<string, unknown>): Promise<string> {
      let read = '';
      upstream.script(
        { json: chatCompletion({ toolCalls: [{ name: `orders__${tool}`, arguments: args }] }) },
        { expect: (req) => void (read = (req.body!.messages as any[]).find((x) => x.role === 'tool').content), json: chatCompletion({ content: 'answered' }) },
      );
      const r = await t.openai(key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'go' }] });
      assert.equal(r.choices[0].message.content, 'answered', 'the caller gets its answer');
      return read;
    },
    async lastLog(): Promise<Record<string, any>> {
      const res = await t.api('GET', `/organizations/${a.orgId}/plugin-installations/${inst.id}/logs?limit=1`, { token: a.ownerToken });
      return res.json.data[0];
    },
    async health(): Promise<Record<string, any>> {
      return (await t.api('GET', `/organizations/${a.orgId}/plugin-installations/${inst.id}`, { token: a.ownerToken })).json.health;
    },
    async [Symbol.asyncDispose]() {
      await t.close();
      await plugin.close();
      await upstream.close();
    },
  };
}

/** The model's view of one tool result: `<tool_result tool=… status=…>` around the text. */
function unwrap(read: string): { status: string; text: string } {
  const m = /^<tool_result tool="[^"]+" status="(ok|error)">\n([\s\S]*)\n<\/tool_result>$/.exec(read);
  assert.ok(m, read);
  return { status: m[1], text: m[2] };
}

const FAULTS: Array<{ name: string; answer: () => PluginAnswer; read: RegExp; errorClass: string; calls: number; httpStatus: number | null }> = [
  // A refusal is the plugin's business decision: a tool error, not a failure of the plugin.
  { name: 'a business refusal (422)', answer: () => ({ status: 422, json: { error: { message: 'order A-1001 is not paid yet' } } }), read: /refused the call \(HTTP 422\): order A-1001 is not paid yet/, errorClass: 'tool_error', calls: 1, httpStatus: 422 },
  { name: 'a timeout', answer: () => ({ delayMs: 2500, json: { status: 'found' } }), read: /did not answer within 1000 ms/, errorClass: 'timeout', calls: 1, httpStatus: null },
  { name: 'a 500 with an error message', answer: () => ({ status: 500, json: { error: { message: 'database down' } } }), read: /plugin failed \(HTTP 500\): database down/, errorClass: 'plugin_error', calls: 1, httpStatus: 500 },
  { name: 'a redirect', answer: () => ({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' }, text: '' }), read: /redirect \(HTTP 302\).*never follows/, errorClass: 'redirect', calls: 1, httpStatus: 302 },
  { name: 'an HTML page', answer: () => ({ status: 200, headers: { 'content-type': 'text/html' }, text: '<html><body>Welcome</body></html>' }), read: /not JSON \(text\/html\)/, errorClass: 'invalid_response', calls: 1, httpStatus: 200 },
  { name: 'a 10 MB answer', answer: () => ({ status: 200, headers: { 'content-type': 'application/json' }, text: '{"status":"found","eta":"', padBytes: 10 * 1024 * 1024 }), read: /larger than 32768 bytes/, errorClass: 'oversize', calls: 1, httpStatus: 200 },
  { name: 'a closed connection (retried once: idempotent)', answer: () => ({ destroy: true }), read: /closed the connection before it answered/, errorClass: 'transport', calls: 2, httpStatus: null },
  { name: 'an output its outputSchema refuses', answer: () => ({ json: { status: 'lost in space' } }), read: /does not match the tool's outputSchema: \/status must be equal to one of the allowed values/, errorClass: 'invalid_output', calls: 1, httpStatus: 200 },
  { name: 'a 500 quoting the installation\'s API key', answer: () => ({ status: 500, json: { error: { message: `auth ${API_KEY_A} rejected upstream` } } }), read: /HTTP 500\): auth \[redacted\] rejected upstream/, errorClass: 'plugin_error', calls: 1, httpStatus: 500 },
];

test('every misbehaving endpoint is a clear, scrubbed tool error, a 200 to the caller, a plugin-log entry and a health mark', { timeout: 90_000 }, async () => {
  await using s = await setup();
  for (const f of FAULTS) {
    const before = s.plugin.calls.length;
    s.plugin.handler = () => f.answer();
    const read = unwrap(await s.call('lookup_order', { orderNumber: 'A-1001' }));
    assert.equal(read.status, 'error', f.name);
    assert.match(read.text, f.read, `${f.name}: ${read.text}`);
    assert.ok(!read.text.includes(API_KEY_A), `${f.name}: no secret reaches the model`);
    assert.equal(s.plugin.calls.length - before, f.calls, `${f.name}: calls made`);
    const log = await s.lastLog();
    assert.equal(log.status, 'error', f.name);
    assert.equal(log.errorClass, f.errorClass, f.name);
    assert.equal(log.httpStatus, f.httpStatus, f.name);
    assert.equal(log.attempts, f.calls, f.name);
    assert.ok(!JSON.stringify(log).includes(API_KEY_A), `${f.name}: no secret in the log`);
    if (f.calls === 2) {
      const [x, y] = s.plugin.calls.slice(-2);
      assert.equal(x.headers['webhook-id'], y.headers['webhook-id'], 'the retry keeps its webhook-id');
    }
  }
  const sick = await s.health();
  assert.equal(sick.consecutiveFailures, FAULTS.length - 1, JSON.stringify(sick));
  assert.equal(sick.connected, false);
  assert.match(sick.lastError, /\[redacted\]|HTTP 500/);
  assert.ok(!JSON.stringify(sick).includes(API_KEY_A));
  s.t.app.recorder.flush();
  const usage = await s.t.api('GET', `/organizations/${s.a.orgId}/usage-events?kind=tool_call&limit=50`, { token: s.a.ownerToken });
  assert.deepEqual(usage.json.data.map((u: any) => u.errorClass).reverse(), FAULTS.map((f) => f.errorClass), 'one usage event per call, classed');

  // A good answer again: the health recovers.
  s.plugin.handler = () => ({ json: { status: 'found', eta: 'soon' } });
  assert.deepEqual(unwrap(await s.call('lookup_order', { orderNumber: 'A-1001' })), { status: 'ok', text: '{"status":"found","eta":"soon"}' });
  const well = await s.health();
  assert.equal(well.consecutiveFailures, 0);
  assert.equal(well.connected, true);
});

test('retries: an idempotent tool gets one retry after a 503 with the same webhook-id; a non-idempotent tool never', async () => {
  await using s = await setup();
  let n = 0;
  s.plugin.handler = () => (++n === 1 ? { status: 503, json: { error: { message: 'busy' } } } : { json: { status: 'found', eta: 'at noon' } });
  const read = await s.call('lookup_order', { orderNumber: 'A-1001' });
  assert.match(read, /at noon/);
  assert.equal(s.plugin.calls.length, 2);
  assert.equal(s.plugin.calls[0].headers['webhook-id'], s.plugin.calls[1].headers['webhook-id']);
  assert.equal((await s.lastLog()).attempts, 2);
  assert.equal((await s.lastLog()).status, 'ok');

  s.plugin.handler = () => ({ status: 503, json: { error: { message: 'busy' } } });
  const note = await s.call('add_note', { orderNumber: 'A-1001', note: 'Leave it at the door.' });
  assert.match(note, /HTTP 503\): busy/);
  assert.equal(s.plugin.calls.length, 3, 'add_note is not idempotent: no retry');
  s.plugin.handler = () => ({ destroy: true });
  await s.call('add_note', { orderNumber: 'A-1001', note: 'Again.' });
  assert.equal(s.plugin.calls.length, 4);
});

test('a refused connection is a transport error; arguments are validated as JSON Schema 2020-12 before any call', async () => {
  const port = await freePort();
  await using s = await setup(() => undefined, `http://127.0.0.1:${port}`);
  const read = await s.call('lookup_order', { orderNumber: 'A-1001' });
  assert.match(read, /refused the connection/);
  assert.equal((await s.lastLog()).errorClass, 'transport');
  assert.equal((await s.lastLog()).attempts, 2, 'idempotent: retried once');

  await using ok = await setup();
  const bad = await ok.call('pair_up', { pair: ['apples', 'seven'] });
  assert.match(bad, /Invalid arguments for orders__pair_up: \/pair\/1 must be integer/);
  const extra = await ok.call('pair_up', { pair: ['apples', 7, 'more'] });
  assert.match(extra, /Invalid arguments/, 'items: false after prefixItems (2020-12) refuses a third item');
  assert.equal(ok.plugin.calls.length, 0, 'nothing reached the plugin');
  ok.plugin.handler = () => ({ json: { paired: true } });
  assert.deepEqual(unwrap(await ok.call('pair_up', { pair: ['apples', 7] })), { status: 'ok', text: '{"paired":true}' });
});

test('a redirect is never followed: the target of its Location receives nothing', async () => {
  const target = http.createServer((_req, res) => res.end('{}'));
  let hits = 0;
  target.on('request', () => hits++);
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  try {
    await using s = await setup();
    s.plugin.handler = () => ({ status: 307, headers: { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/tools/call` }, text: '' });
    assert.match(await s.call('lookup_order', { orderNumber: 'A-1001' }), /redirect \(HTTP 307\)/);
    assert.equal(hits, 0);
  } finally {
    target.close();
  }
});
