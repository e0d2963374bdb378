/**
 * Crash safety of reminders and of the handover acknowledgement: the real server runs as a child
 * process (`node src/main.ts serve`) on one data directory, with the scripted upstream and the Twilio
 * fake in this process. The child is killed with SIGKILL twice, each time after the Twilio fake
 * stored the message but before its answer reached the child (the window only reconciliation with
 * Twilio's Messages list closes):
 *   1. while a reminder is being sent — after the restart it is `sent`, and the customer got it once;
 *   2. while the acknowledgement of a handover is being sent — after the restart the customer got
 *      exactly one acknowledgement, and the model is still never called for the held conversation.
 * Bounded: under 20 s besides the three start-ups; only our own children are killed, by PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startFakeTwilio } from '../fakes/twilio-api.ts';
import { deliverTwilioWebhook, inboundParams } from '../fakes/twilio-webhooks.ts';
import { freePort, sleep, waitFor } from '../helpers/factories.ts';
import { tempDir } from '../helpers/app.ts';
import { ALICE, PUBLIC_BASE, SENDER, lastUserText } from '../channels/whatsapp-setup.ts';
import { toolResults } from './commerce-setup.ts';
import { DEFAULT_ESCALATION_SETTINGS } from '../../src/toolkits/escalations/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEADLINE_MS = 20_000;
const COMPILE_CACHE = tempDir('plugboard-crash-cache-');
const REMINDER = 'Reminder: your bike is ready for pickup.';

interface Child {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  exited: Promise<void>;
}

test('SIGKILL while a reminder and then a handover acknowledgement are at Twilio: after each restart the customer got each exactly once', { timeout: 120_000 }, async () => {
  const started = Date.now();
  await using upstream = await startFakeUpstream();
  await using twilio = await startFakeTwilio();
  upstream.setFallback((req) => {
    if (toolResults(req).length > 0) return { json: chatCompletion({ content: 'NOT SENT: closing words after the handover.' }) };
    if (/person/.test(lastUserText(req.body))) {
      return { json: chatCompletion({ toolCalls: [{ name: 'escalations__hand_over', arguments: { reason: 'Asked for a person.', summary: 'Wants a person.' } }] }) };
    }
    return { json: chatCompletion({ content: 'Hi Alice!' }) };
  });

  const dataDir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_COMPILE_CACHE: COMPILE_CACHE,
    PLUGBOARD_HOST: '127.0.0.1', PLUGBOARD_PORT: String(port), PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_BOOTSTRAP: 'true',
    PLUGBOARD_LOG_LEVEL: 'warn', PLUGBOARD_RATE_LIMIT_RPM: '0',
    PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_UPSTREAM_API_KEY: 'sk-test',
    PLUGBOARD_TWILIO_API_BASE_URL: twilio.origin, PLUGBOARD_PUBLIC_BASE_URL: PUBLIC_BASE, PLUGBOARD_TWILIO_TIMEOUT_MS: '20000',
    PLUGBOARD_WORKER_POLL_MS: '50', PLUGBOARD_WORKER_RETRY_BASE_MS: '50', PLUGBOARD_WORKER_RETRY_CAP_MS: '500', PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '2000',
  };
  const children: Child[] = [];
  let startupMs = 0;
  const startChild = async (): Promise<Child> => {
    const t0 = Date.now();
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
    }, 30_000, 25);
    startupMs += Date.now() - t0;
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
      const res = await fetch(`${base}/organizations/${orgId}${p}`, { method, headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = await res.json() as any;
      assert.ok(res.ok, `${method} ${p}: ${JSON.stringify(json)}`);
      return json;
    };
    const instance = await api('POST', '/whatsapp-instances', { name: 'Shop', sender: SENDER, twilioAccountSid: twilio.accountSid, twilioAuthToken: twilio.authToken, model: 'gpt-test' });
    await api('PUT', `/whatsapp-instances/${instance.id}/plugins`, { enabledPluginIds: ['first_party:escalations', 'first_party:scheduling'] });
    const hookPath = `/webhooks/twilio/whatsapp/${instance.id}`;
    const say = async (body: string) => {
      const r = await deliverTwilioWebhook({ url: base + hookPath, signedUrl: PUBLIC_BASE + hookPath, authToken: twilio.authToken, params: inboundParams({ accountSid: twilio.accountSid, from: ALICE, to: SENDER, body }) });
      assert.equal(r.status, 200);
    };
    await say('Hello');
    await waitFor('the bot\'s answer', () => twilio.messages.length === 1, 10_000);
    const ref = (await api('GET', `/whatsapp-instances/${instance.id}/conversations`)).data[0].customerRef;

    // Kill 1: the reminder is stored at Twilio, its answer never reaches the child.
    twilio.failNext({ match: 'create', afterCreate: true, hang: true });
    const reminder = await api('POST', '/scheduled-messages', { instanceId: instance.id, customerRef: ref, text: REMINDER, sendAt: new Date().toISOString() });
    await waitFor('the reminder stored at Twilio', () => twilio.messages.length === 2, 10_000);
    await sleep(50);
    await kill(child);
    child = await startChild();
    await waitFor('the reminder recorded as sent', async () => (await api('GET', `/scheduled-messages/${reminder.id}`)).status === 'sent', 10_000);
    assert.deepEqual(twilio.messages.filter((m) => m.body === REMINDER).map((m) => m.to), [ALICE], 'reminded exactly once');

    // Kill 2: the handover's acknowledgement is stored at Twilio, its answer never reaches the child.
    twilio.failNext({ match: 'create', afterCreate: true, hang: true });
    await say('I want to talk to a person');
    await waitFor('the acknowledgement stored at Twilio', () => twilio.messages.length === 3, 10_000);
    await sleep(50);
    await kill(child);
    child = await startChild();
    await waitFor('the acknowledgement recorded', async () => {
      const [e] = (await api('GET', '/escalations?status=active')).data;
      return e && (await api('GET', `/escalations/${e.id}`)).timeline.some((x: any) => x.type === 'acknowledged');
    }, 10_000);
    const modelCalls = upstream.requests.length;
    await say('Hello? Anyone?');
    await waitFor('the held message on the escalation', async () => (await api('GET', '/escalations?status=active')).data[0].customerMessagesWhileHeld === 1, 10_000);
    await sleep(300); // a late duplicate would show up here
    assert.equal(upstream.requests.length, modelCalls, 'the model is not called for the held conversation');
    assert.deepEqual(twilio.messages.map((m) => m.body), ['Hi Alice!', REMINDER, DEFAULT_ESCALATION_SETTINGS.acknowledgementText], 'each message exactly once, and never the closing words');
    assert.ok(twilio.requests.some((r) => r.method === 'GET'), 'the unknown-outcome sends were reconciled against the Messages list');
    assert.deepEqual((await api('GET', '/jobs?status=dead')).data, []);

    child.proc.kill('SIGTERM');
    await child.exited;
    assert.equal(child.proc.exitCode, 0, child.out());
    const elapsed = Date.now() - started;
    console.log(`escalations crash test: done in ${elapsed} ms, of which ${startupMs} ms starting the three servers`);
    assert.ok(elapsed - startupMs < DEADLINE_MS, `took ${elapsed - startupMs} ms besides start-up`);
  } finally {
    for (const c of children) await kill(c);
  }
});
