/**
 * What /readyz reports besides readiness itself — the upstream (a probe at start, then every real
 * call's outcome), the WhatsApp reply worker, the job queue with its dead letters, and whether the
 * public base URL is one Twilio can reach — and the start-up warnings for an unreachable upstream
 * and a loopback / private / plain-http public URL. None of them decides readiness.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { waitFor } from '../helpers/factories.ts';
import { publicUrlProblems } from '../../src/startup-checks.ts';

const warnings = (logs: string[]): Array<Record<string, any>> => logs.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn');

test('publicUrlProblems: what Twilio cannot reach', () => {
  const cases: Array<[string, string[]]> = [
    ['https://plugboard.example.com', []],
    ['https://pb.acme-bikes.de:8443/', []],
    ['http://plugboard.example.com', ['plain_http']],
    ['http://localhost:8080', ['plain_http', 'loopback']],
    ['https://app.localhost', ['loopback']],
    ['https://127.0.0.1', ['loopback']],
    ['https://[::1]:8080', ['loopback']],
    ['https://0.0.0.0', ['loopback']],
    ['https://192.168.1.20', ['private_address']],
    ['https://10.0.0.5', ['private_address']],
    ['https://172.16.3.4', ['private_address']],
    ['https://100.64.1.1', ['private_address']],
    ['https://169.254.10.10', ['private_address']],
    ['https://[fd00::1]', ['private_address']],
    ['https://[fe80::1]', ['private_address']],
    ['https://plugboard', ['not_a_public_name']],
    ['https://plugboard.local', ['not_a_public_name']],
    ['https://gw.internal', ['not_a_public_name']],
    ['https://203.0.113.10', ['private_address']],
    ['https://8.8.8.8', []],
  ];
  for (const [url, want] of cases) assert.deepEqual(publicUrlProblems(url), want, url);
});

test('start-up: a loopback plain-http public URL and an unreachable upstream are warned about; /readyz reports both and stays ready', async () => {
  // A port that refuses connections: listen, note the port, close.
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: `http://127.0.0.1:${port}/v1`, PLUGBOARD_PUBLIC_BASE_URL: 'http://localhost:8080' });
  await waitFor('the upstream warning', () => warnings(t.logs).some((l) => /upstream model provider .* is unreachable/.test(l.msg)));
  const warned = warnings(t.logs);
  const pub = warned.find((l) => l.msg.startsWith('PLUGBOARD_PUBLIC_BASE_URL is not reachable by Twilio'));
  assert.ok(pub, JSON.stringify(warned));
  assert.deepEqual(pub.problems, ['plain_http', 'loopback']);
  assert.match(pub.msg, /HTTPS/);
  const up = warned.find((l) => /is unreachable/.test(l.msg))!;
  assert.equal(up.detail, 'ECONNREFUSED');
  assert.ok(t.logs.every((l) => !l.includes('sk-upstream-test-key')), 'the upstream key is never logged');

  const r = await t.api('GET', '/readyz');
  assert.equal(r.status, 200, 'an unreachable upstream does not make the appliance unready');
  assert.equal(r.json.status, 'ready');
  assert.equal(r.json.checks.upstream.state, 'unreachable');
  assert.equal(r.json.checks.upstream.source, 'probe');
  assert.equal(r.json.checks.upstream.detail, 'ECONNREFUSED');
  assert.ok(!Number.isNaN(Date.parse(r.json.checks.upstream.checkedAt)));
  assert.deepEqual(r.json.checks.publicBaseUrl, { state: 'not_public', problems: ['plain_http', 'loopback'] });
  assert.deepEqual(r.json.checks.worker, { state: 'running', inFlight: 0, concurrency: 2 });
  assert.deepEqual(r.json.checks.queue, { queued: 0, due: 0, running: 0, dead: 0, oldestDueSeconds: 0 });
});

test('/readyz: the upstream follows real calls (ok, refusing on 401); the queue counts due, scheduled and dead jobs; a disabled worker says so', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_PUBLIC_BASE_URL: 'https://plugboard.example.com', PLUGBOARD_WORKER_ENABLED: 'false' });
  await waitFor('the start-up probe', async () => (await t.api('GET', '/readyz')).json.checks.upstream.state === 'ok');
  assert.equal(upstream.requests.length, 0, 'the probe is a TCP connection, not a request the upstream sees');
  assert.ok(warnings(t.logs).every((l) => !/PUBLIC_BASE_URL|unreachable/.test(l.msg)), 'nothing to warn about');

  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  upstream.script({ status: 401, json: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } });
  await assert.rejects(t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }));
  let r = await t.api('GET', '/readyz');
  assert.deepEqual({ state: r.json.checks.upstream.state, source: r.json.checks.upstream.source, detail: r.json.checks.upstream.detail }, { state: 'refusing', source: 'request', detail: '401' });
  upstream.script({ json: chatCompletion({ content: 'fine' }) });
  await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
  r = await t.api('GET', '/readyz');
  assert.equal(r.json.checks.upstream.state, 'ok');
  assert.equal(r.json.checks.upstream.detail, '200');
  assert.deepEqual(r.json.checks.publicBaseUrl, { state: 'ok' });
  assert.deepEqual(r.json.checks.worker, { state: 'disabled', inFlight: 0, concurrency: 0 });

  const now = Date.now();
  const q = t.app.queue;
  q.enqueue({ orgId: tenant.orgId, kind: 'whatsapp.reply', dedupeKey: 'due-1', payload: {}, runAt: now - 5000 });
  q.enqueue({ orgId: tenant.orgId, kind: 'whatsapp.reply', dedupeKey: 'due-2', payload: {}, runAt: now - 1000 });
  q.enqueue({ orgId: tenant.orgId, kind: 'whatsapp.reply', dedupeKey: 'later', payload: {}, runAt: now + 3_600_000 });
  const dead = q.enqueue({ orgId: tenant.orgId, kind: 'payments.poll', dedupeKey: 'dead-1', payload: {}, runAt: now - 1000 });
  t.app.db.prepare("UPDATE jobs SET status = 'dead', last_error = 'code 21211' WHERE id = ?").run(dead.id);
  r = await t.api('GET', '/readyz');
  assert.equal(r.status, 200);
  const queue = r.json.checks.queue;
  assert.deepEqual({ ...queue, oldestDueSeconds: undefined }, { queued: 3, due: 2, running: 0, dead: 1, oldestDueSeconds: undefined });
  assert.ok(queue.oldestDueSeconds >= 5 && queue.oldestDueSeconds < 60, String(queue.oldestDueSeconds));
  assert.ok(!r.text.includes(tenant.orgId) && !r.text.includes('21211'), 'no ids or job errors in /readyz');
});
