/**
 * The example plugin (examples/delivery-plugin): its server on 127.0.0.1:0 called with bodies
 * signed by Plugboard's signer and by the `standardwebhooks` package; the kit's refusals; the kit
 * and `standardwebhooks` agreeing case by case; and the README's commands run as processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type http from 'node:http';
import path from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createDeliveryPluginServer } from '../../examples/delivery-plugin/server.ts';
import { createWebhookSigner, generateSigningSecret } from '../../src/net/standard-webhooks.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const now = () => Math.floor(Date.now() / 1000);
let ids = 0;
const newId = () => `call_test${++ids}`;

/** A tool-call body as issue 11 fixes it. */
function callBody(tool: string, input: Record<string, unknown>, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    tool,
    input,
    mode: 'live',
    context: { organizationId: 'org_1', installationId: 'inst_1', instanceId: 'wi_1', customerId: 'wcr_abc', conversationId: 'conv_1', requestId: 'req_1' },
    config: { api_key: 'ak_0123456789abcdef', account_id: 'ACME-1', depot: 'jhb', express_by_default: false },
    bridge: null,
    ...over,
  });
}

async function startPlugin(secret: string | string[]) {
  const server: http.Server = createDeliveryPluginServer({ secret });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    /** POSTs `body` to /tools/call with `headers`; returns status and parsed JSON. */
    async post(body: string, headers: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
      const res = await fetch(`${origin}/tools/call`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const text = await res.text();
      assert.equal(res.headers.get('content-type'), 'application/json');
      return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
    },
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('example delivery plugin: tool calls', () => {
  const secret = generateSigningSecret();
  const signer = createWebhookSigner(secret);
  const signed = (body: string, id = newId(), ts = now()) => signer.headers(id, ts, body);

  it('lookup_delivery answers the compact JSON of seed 001\'s "good response"', async () => {
    await using plugin = await startPlugin(secret);
    const body = callBody('lookup_delivery', { orderNumber: 'MAT-2026-0510-0041' });
    const { status, json } = await plugin.post(body, signed(body));
    assert.equal(status, 200);
    assert.deepEqual(json, { status: 'found', orderNumber: 'MAT-2026-0510-0041', deliveryStatus: 'out_for_delivery', eta: 'Today between 3:00 PM and 5:00 PM' });
    const missing = callBody('lookup_delivery', { orderNumber: 'MAT-2026-0101-0001' });
    assert.deepEqual((await plugin.post(missing, signed(missing))).json, { status: 'not_found', orderNumber: 'MAT-2026-0101-0001' });
  });

  it('create_delivery_job books a paid order once, sandbox jobs are marked, and a retried webhook-id gets the first answer', async () => {
    await using plugin = await startPlugin(secret);
    const input = { orderNumber: 'MAT-2026-0511-0099', paidOrderReference: 'PAY-7F3K-22QX', address: '12 Main Road, Rosebank, Johannesburg' };
    const body = callBody('create_delivery_job', input);
    const headers = signed(body, 'call_retry_1');
    const first = await plugin.post(body, headers);
    assert.equal(first.status, 200);
    assert.deepEqual(first.json, { status: 'created', jobId: 'DJ-200000', orderNumber: input.orderNumber, eta: 'Tomorrow between 9:00 AM and 1:00 PM' });
    assert.deepEqual(await plugin.post(body, headers), first, 'the same webhook-id replays the same answer');
    const again = callBody('create_delivery_job', input);
    assert.deepEqual((await plugin.post(again, signed(again))).json, { status: 'already_booked', jobId: 'DJ-200000', orderNumber: input.orderNumber, eta: 'Tomorrow between 9:00 AM and 1:00 PM' });
    const lookup = callBody('lookup_delivery', { orderNumber: input.orderNumber });
    assert.equal((await plugin.post(lookup, signed(lookup))).json.deliveryStatus, 'scheduled');
    const sandbox = callBody('create_delivery_job', { ...input, orderNumber: 'MAT-2026-0511-0100', express: true }, { mode: 'sandbox' });
    assert.deepEqual((await plugin.post(sandbox, signed(sandbox))).json, { status: 'created', jobId: 'TEST-DJ-200001', orderNumber: 'MAT-2026-0511-0100', eta: 'Today between 3:00 PM and 5:00 PM' });
  });

  it('bad input gets a 4xx {"error":{"message"}} the model can act on', async () => {
    await using plugin = await startPlugin(secret);
    const paid = { orderNumber: 'MAT-2026-0511-0099', paidOrderReference: 'PAY-7F3K-22QX', address: '12 Main Road, Rosebank, Johannesburg' };
    const cases: Array<[string, number, RegExp]> = [
      [callBody('lookup_delivery', { orderNumber: '41' }), 400, /orderNumber must look like/],
      [callBody('create_delivery_job', { ...paid, paidOrderReference: 'unpaid' }), 422, /does not name a paid order/],
      [callBody('create_delivery_job', { ...paid, address: 'x' }), 400, /address/],
      [callBody('create_delivery_job', paid, { config: { depot: 'jhb' } }), 400, /no Acme Delivery API key/],
      [callBody('cancel_everything', {}), 400, /unknown tool "cancel_everything"/],
      [callBody('lookup_delivery', { orderNumber: 'MAT-2026-0510-0041' }, { context: { organizationId: 'org_1' } }), 400, /"context" lacks/],
      [callBody('lookup_delivery', { orderNumber: 'MAT-2026-0510-0041' }, { mode: 'test' }), 400, /"mode"/],
      ['not json', 400, /not JSON/],
    ];
    for (const [body, status, message] of cases) {
      const res = await plugin.post(body, signed(body));
      assert.equal(res.status, status, body);
      assert.deepEqual(Object.keys(res.json), ['error']);
      assert.match(String((res.json.error as { message: string }).message), message);
    }
  });

  it('unsigned, wrongly signed, stale, future and altered calls are refused with 401 before any tool runs', async () => {
    await using plugin = await startPlugin(secret);
    const input = { orderNumber: 'MAT-2026-0511-0200', paidOrderReference: 'PAY-7F3K-22QX', address: '12 Main Road, Rosebank, Johannesburg' };
    const body = callBody('create_delivery_job', input);
    const cases: Array<[string, string, Record<string, string>]> = [
      ['unsigned', body, {}],
      ['wrong secret', body, createWebhookSigner(generateSigningSecret()).headers(newId(), now(), body)],
      ['stale', body, signed(body, newId(), now() - 400)],
      ['future', body, signed(body, newId(), now() + 400)],
      ['altered body', body.replace('0200', '0201'), signed(body)],
    ];
    for (const [name, sent, headers] of cases) {
      const res = await plugin.post(sent, headers);
      assert.equal(res.status, 401, name);
    }
    const lookup = callBody('lookup_delivery', { orderNumber: input.orderNumber });
    assert.equal((await plugin.post(lookup, signed(lookup))).json.status, 'not_found', 'no refused call booked anything');
  });

  it('a body signed by the standardwebhooks package\'s own sign() is accepted; during a rotation either secret works', async () => {
    await using plugin = await startPlugin(secret);
    const body = callBody('lookup_delivery', { orderNumber: 'MAT-2026-0509-0007' });
    const id = newId();
    const ts = now();
    const signature = new StandardWebhook(secret).sign(id, new Date(ts * 1000), body);
    const res = await plugin.post(body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature });
    assert.deepEqual(res.json, { status: 'found', orderNumber: 'MAT-2026-0509-0007', deliveryStatus: 'delivered', eta: 'Delivered yesterday at 11:40 AM' });
    const rotated = createWebhookSigner([generateSigningSecret(), secret]).headers(newId(), now(), body);
    assert.equal((await plugin.post(body, rotated)).status, 200);
  });

  it('health, wrong methods, unknown paths and oversized bodies get JSON answers', async () => {
    await using plugin = await startPlugin(secret);
    const health = await fetch(`${plugin.origin}/health`);
    assert.deepEqual([health.status, await health.json()], [200, { status: 'ok' }]);
    assert.equal((await fetch(`${plugin.origin}/tools/call`)).status, 405);
    assert.equal((await fetch(`${plugin.origin}/admin`)).status, 404);
    const big = callBody('lookup_delivery', { orderNumber: 'x'.repeat(300 * 1024) });
    assert.equal((await plugin.post(big, signed(big))).status, 413);
  });
});

/** Runs a node process; resolves with its exit code and output. */
function run(args: string[], env: Record<string, string>, onLine?: (line: string) => void) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const line of d.toString().split('\n')) if (line) onLine?.(line);
  });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on('close', (code) => resolve({ code, out })));
  return { child, done };
}

describe('example delivery plugin: the README commands', () => {
  it('node examples/delivery-plugin/server.ts serves with env settings; call.ts reaches it; no secret → exit 1', async () => {
    const secret = generateSigningSecret();
    const noSecret = await run(['examples/delivery-plugin/server.ts'], {}).done;
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.out, /Set DELIVERY_PLUGIN_SECRET/);

    let resolveUrl: (u: string) => void = () => {};
    const listening = new Promise<string>((r) => { resolveUrl = r; });
    const server = run(['examples/delivery-plugin/server.ts'], { DELIVERY_PLUGIN_SECRET: secret, DELIVERY_PLUGIN_PORT: '0' }, (line) => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolveUrl(m[1]);
    });
    try {
      const origin = await Promise.race([listening, server.done.then(({ out }) => { throw new Error(`server exited: ${out}`); })]);
      const call = await run(['examples/delivery-plugin/call.ts', 'lookup_delivery', '{"orderNumber":"MAT-2026-0510-0041"}'], { DELIVERY_PLUGIN_SECRET: secret, DELIVERY_PLUGIN_URL: `${origin}/tools/call` }).done;
      assert.equal(call.code, 0, call.out);
      assert.equal(call.out.trim(), '200 {"status":"found","orderNumber":"MAT-2026-0510-0041","deliveryStatus":"out_for_delivery","eta":"Today between 3:00 PM and 5:00 PM"}');
      const wrong = await run(['examples/delivery-plugin/call.ts', 'lookup_delivery', '{"orderNumber":"MAT-2026-0510-0041"}'], { DELIVERY_PLUGIN_SECRET: generateSigningSecret(), DELIVERY_PLUGIN_URL: `${origin}/tools/call` }).done;
      assert.match(wrong.out, /^401 \{"error":\{"message":"no valid signature/);
    } finally {
      server.child.kill('SIGTERM');
      await server.done;
    }
  });
});
