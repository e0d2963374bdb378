/**
 * Crash safety of the WhatsApp channel: the real server runs as a child process (`node
 * src/main.ts serve`) while this test plays Twilio, delivering a burst of 200 signed inbound
 * messages (re-delivering each until it gets 200, as Twilio's retry would). The child is killed
 * with SIGKILL twice and restarted on the same data directory:
 *   1. while a reply job is inside its model call (the fake upstream holds that answer);
 *   2. right after the Twilio fake stored a reply but before its answer reached the child (the
 *      fake holds the response), the window only reconciliation can close;
 * and other jobs are wherever they happen to be. Every message must get exactly one reply: none
 * lost, none duplicated. Bounded well under 90 s; only our own child is ever killed, by PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startFakeTwilio } from '../fakes/twilio-api.ts';
import { deliverTwilioWebhook, inboundParams } from '../fakes/twilio-webhooks.ts';
import { fakeSid } from '../fakes/twilio-api.ts';
import { freePort, sleep, waitFor } from '../helpers/factories.ts';
import { tempDir } from '../helpers/app.ts';
import { PUBLIC_BASE, SENDER, lastUserText } from './whatsapp-setup.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MESSAGES = 200;
const CUSTOMERS = 20;
/** Within a wave, message i is first delivered (i − wave start) × this after the wave opens. */
const PACE_MS = 12;
/** The whole test must finish within this (kills, restarts and all). */
const DEADLINE_MS = 80_000;
const HOLD_TEXT = 'msg-15';
const COMPILE_CACHE = tempDir('plugboard-crash-cache-');

interface Child {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  exited: Promise<void>;
}

test('200 inbound messages across two SIGKILLs: every message gets exactly one reply', { timeout: 90_000 }, async () => {
  const started = Date.now();
  await using upstream = await startFakeUpstream();
  await using twilio = await startFakeTwilio();
  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  let held = false;
  upstream.setFallback((req) => {
    const text = lastUserText(req.body);
    if (text === HOLD_TEXT && !held) {
      held = true;
      return { hang: true };
    }
    return { json: chatCompletion({ content: `reply to ${text}` }) };
  });

  const env = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_COMPILE_CACHE: COMPILE_CACHE,
    PLUGBOARD_HOST: '127.0.0.1', PLUGBOARD_PORT: String(port), PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_BOOTSTRAP: 'true',
    PLUGBOARD_LOG_LEVEL: 'warn', PLUGBOARD_RATE_LIMIT_RPM: '0',
    PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_UPSTREAM_API_KEY: 'sk-test',
    PLUGBOARD_TWILIO_API_BASE_URL: twilio.origin, PLUGBOARD_PUBLIC_BASE_URL: PUBLIC_BASE, PLUGBOARD_TWILIO_TIMEOUT_MS: '20000',
    PLUGBOARD_WORKER_CONCURRENCY: '4', PLUGBOARD_WORKER_POLL_MS: '50', PLUGBOARD_WORKER_RETRY_BASE_MS: '50', PLUGBOARD_WORKER_RETRY_CAP_MS: '500',
    PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '3000',
  };
  const children: Child[] = [];
  const startChild = async (): Promise<Child> => {
    const proc = spawn(process.execPath, ['src/main.ts', 'serve'], { cwd: ROOT, env });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    const child = { proc, out: () => out, exited };
    children.push(child);
    await waitFor('the server to be ready', async () => {
      if (proc.exitCode !== null) throw new Error(`serve exited with ${proc.exitCode}: ${out}`);
      return fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    }, 20_000, 25);
    return child;
  };
  const kill = async (child: Child): Promise<void> => {
    if (child.proc.exitCode === null && child.proc.signalCode === null && child.proc.pid) process.kill(child.proc.pid, 'SIGKILL');
    await child.exited;
  };

  try {
    let child = await startChild();
    const orgId = /organization id:\s+(\S+)/.exec(child.out())?.[1];
    const owner = /owner token:\s+(\S+)/.exec(child.out())?.[1];
    assert.ok(orgId && owner, `bootstrap output: ${child.out()}`);
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(base + p, { method, headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, json: await res.json() as any };
    };
    const created = await api('POST', `/organizations/${orgId}/whatsapp-instances`, {
      name: 'Support', sender: SENDER, twilioAccountSid: twilio.accountSid, twilioAuthToken: twilio.authToken, model: 'gpt-test', systemPrompt: 'Be brief.',
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const hookPath = `/webhooks/twilio/whatsapp/${created.json.id}`;

    // Twilio's side: each message keeps its MessageSid across re-deliveries.
    const forms = Array.from({ length: MESSAGES }, (_, i) => inboundParams({
      accountSid: twilio.accountSid, to: SENDER, from: `whatsapp:+1415555${String(2000 + (i % CUSTOMERS))}`, body: `msg-${i}`, messageSid: fakeSid('SM'),
    }));
    // Three waves, released at the start and at each kill, so deliveries hit both outages.
    const waves = [0, 80, 150];
    const gates = waves.map(() => Promise.withResolvers<void>());
    gates[0].resolve();
    let attempts = 0;
    const deliver = async (i: number): Promise<void> => {
      const wave = waves.findLastIndex((start) => i >= start);
      await gates[wave].promise;
      await sleep((i - waves[wave]) * PACE_MS);
      // Bounded by the test deadline: Twilio retries a failed webhook, so do we.
      while (Date.now() - started < DEADLINE_MS) {
        attempts++;
        const res = await deliverTwilioWebhook({ url: base + hookPath, signedUrl: PUBLIC_BASE + hookPath, authToken: twilio.authToken, params: forms[i] }).catch(() => null);
        if (res?.status === 200) return;
        await sleep(50);
      }
      throw new Error(`msg-${i} was never accepted`);
    };
    const burstAt = Date.now() - started;
    const burst = Promise.all(forms.map((_, i) => deliver(i)));

    // Kill 1: a reply job is inside its model call.
    await waitFor('the held model call', () => held, 20_000);
    await kill(child);
    gates[1].resolve();
    const kill1At = Date.now() - started;
    child = await startChild();

    // Kill 2: Twilio stored a reply, but its answer never reaches the child.
    await waitFor('40 replies', () => twilio.messages.length >= 40, 30_000);
    const before = twilio.requests.length;
    twilio.failNext({ match: 'create', afterCreate: true, hang: true });
    await waitFor('the held create', () => twilio.requests.slice(before).some((r) => r.method === 'POST'), 20_000);
    await sleep(50);
    await kill(child);
    gates[2].resolve();
    const kill2At = Date.now() - started;
    child = await startChild();

    await burst;
    await waitFor(`${MESSAGES} replies (have ${twilio.messages.length})`, () => twilio.messages.length >= MESSAGES, DEADLINE_MS - (Date.now() - started));
    await sleep(1000); // a late duplicate would show up here
    const counts = new Map<string, number>();
    for (const m of twilio.messages) counts.set(m.body, (counts.get(m.body) ?? 0) + 1);
    const missing = forms.map((_, i) => `reply to msg-${i}`).filter((b) => !counts.has(b));
    const duplicated = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(missing, [], 'every message answered');
    assert.deepEqual(duplicated, [], 'no message answered twice');
    assert.equal(twilio.messages.length, MESSAGES);
    assert.ok(twilio.requests.some((r) => r.method === 'GET'), 'the unknown-outcome send was reconciled against the Messages list');

    const jobs = await api('GET', `/organizations/${orgId}/jobs?status=dead`);
    assert.deepEqual(jobs.json.data, []);
    assert.equal(jobs.json.stats.done, MESSAGES);

    // A graceful stop ends with exit code 0.
    child.proc.kill('SIGTERM');
    await child.exited;
    assert.equal(child.proc.exitCode, 0, child.out());
    const elapsed = Date.now() - started;
    console.log(`crash test: burst from ${burstAt} ms, kill 1 at ${kill1At} ms, kill 2 at ${kill2At} ms, ${attempts} webhook deliveries for ${MESSAGES} messages, done in ${elapsed} ms`);
    assert.ok(attempts > MESSAGES, 'some deliveries met a dead server and were retried');
    assert.ok(elapsed < DEADLINE_MS);
  } finally {
    for (const c of children) await kill(c);
  }
});
