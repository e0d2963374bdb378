/**
 * Crash safety of a confirmed payment: the real server runs as a child process (`node src/main.ts
 * serve`) on one data directory, with the scripted upstream, the Twilio fake and the Stripe fake in
 * this process. A customer orders on WhatsApp and gets a Checkout link; the session is paid and a
 * signed webhook arrives. The child is killed with SIGKILL twice:
 *   1. while the reconcile job's lookup of the paid session is held by the Stripe fake — Stripe says
 *      paid, but the order has not moved yet;
 *   2. after the Twilio fake stored the customer's "payment received" message but before its answer
 *      reached the child — the window only reconciliation with Twilio's Messages list closes.
 * After each restart the jobs are handed back at once. In the end the order is `paid` and the
 * customer was told exactly once. Bounded: under 20 s besides the three start-ups (counted apart, as a
 * loaded machine makes them slow); only our own children are killed, by PID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startFakeTwilio } from '../fakes/twilio-api.ts';
import { deliverTwilioWebhook, inboundParams } from '../fakes/twilio-webhooks.ts';
import { startFakeStripe } from '../fakes/stripe-api.ts';
import { sendStripeWebhook } from '../fakes/stripe-webhooks.ts';
import { freePort, sleep, waitFor } from '../helpers/factories.ts';
import { tempDir } from '../helpers/app.ts';
import { ALICE, PUBLIC_BASE, SENDER } from '../channels/whatsapp-setup.ts';
import { toolResults } from './commerce-setup.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEADLINE_MS = 20_000;
const WHSEC = `whsec_${'cr4sh'.repeat(8)}`;
const PAID_TEXT = 'Thank you! We received your payment of 69.99 EUR for order #1.';
const COMPILE_CACHE = tempDir('plugboard-crash-cache-');

interface Child {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  exited: Promise<void>;
}

test('SIGKILL between a confirmed payment and the order update, then between the send and its answer: the order is paid and the customer told exactly once', { timeout: 120_000 }, async () => {
  const started = Date.now();
  await using upstream = await startFakeUpstream();
  await using twilio = await startFakeTwilio();
  await using stripe = await startFakeStripe();
  // The model: order, then a link, then the answer with the link.
  upstream.setFallback((req) => {
    const last = toolResults(req).at(-1);
    if (!last) return { json: chatCompletion({ toolCalls: [{ name: 'ecommerce__create_order', arguments: { items: [{ sku: 'HELMET-1', quantity: 2 }, { sku: 'LOCK-1', quantity: 1 }] } }] }) };
    if (last.tool === 'ecommerce__create_order') return { json: chatCompletion({ toolCalls: [{ name: 'payments__create_payment_link', arguments: { orderNumber: last.body.orderNumber } }] }) };
    return { json: chatCompletion({ content: `Pay here: ${last.body.payUrl}` }) };
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
    PLUGBOARD_STRIPE_API_BASE_URL: stripe.origin, PLUGBOARD_PAYMENTS_POLL_MS: '600000',
    PLUGBOARD_WORKER_POLL_MS: '50', PLUGBOARD_WORKER_RETRY_BASE_MS: '50', PLUGBOARD_WORKER_RETRY_CAP_MS: '500', PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '2000',
  };
  const children: Child[] = [];
  // Start-up time is counted apart: on a loaded machine one start can take seconds.
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
    await api('POST', '/products', { sku: 'HELMET-1', name: 'City helmet', priceMinor: 2500, currency: 'EUR' });
    await api('POST', '/products', { sku: 'LOCK-1', name: 'D-lock', priceMinor: 1999, currency: 'EUR' });
    const binding = await api('PUT', '/payment-binding', { provider: 'stripe', stripe: { secretKey: stripe.secretKey, webhookSecret: WHSEC } });
    await api('PUT', `/whatsapp-instances/${instance.id}/plugins`, { enabledPluginIds: ['first_party:ecommerce', 'first_party:payments'] });

    const hookPath = `/webhooks/twilio/whatsapp/${instance.id}`;
    const inbound = await deliverTwilioWebhook({
      url: base + hookPath, signedUrl: PUBLIC_BASE + hookPath, authToken: twilio.authToken,
      params: inboundParams({ accountSid: twilio.accountSid, from: ALICE, to: SENDER, body: 'Two helmets and a lock, please.' }),
    });
    assert.equal(inbound.status, 200);
    await waitFor('the reply with the link', () => twilio.messages.length === 1, 10_000);
    const sessionId = /cs_test_[A-Za-z0-9]+/.exec(twilio.messages[0].body)?.[0];
    assert.ok(sessionId, twilio.messages[0].body);

    // Kill 1: Stripe says paid, the lookup's answer never reaches the child.
    stripe.markPaid(sessionId);
    stripe.failNext({ match: 'retrieve_session', hang: true });
    const delivery = await sendStripeWebhook({ url: `${base}/webhooks/payments/stripe/${binding.id}`, type: 'checkout.session.completed', object: stripe.state.sessionJson(sessionId), secret: WHSEC });
    assert.equal(delivery.status, 200, delivery.text);
    await waitFor('the held lookup', () => stripe.requests.some((r) => r.operation === 'retrieve_session' && r.status === null), 10_000);
    await kill(child);
    assert.equal(twilio.messages.length, 1, 'nobody told before the order moved');

    // Kill 2: the confirmation is stored at Twilio, its answer never reaches the child.
    twilio.failNext({ match: 'create', afterCreate: true, hang: true });
    child = await startChild();
    await waitFor('the confirmation stored at Twilio', () => twilio.messages.length === 2, 10_000);
    await sleep(50);
    await kill(child);

    child = await startChild();
    await waitFor('the notification job to finish', async () => {
      const jobs = await api('GET', '/jobs?kind=payments.notify_paid');
      return jobs.data.length === 1 && jobs.data[0].status === 'done';
    }, 10_000);
    await sleep(300); // a late duplicate would show up here
    const order = (await api('GET', '/orders')).data[0];
    assert.equal(order.status, 'paid');
    assert.equal(order.totalMinor, 6999);
    assert.deepEqual(twilio.messages.map((m) => m.body).filter((b) => b === PAID_TEXT), [PAID_TEXT], 'told exactly once');
    assert.equal(twilio.messages.length, 2);
    assert.ok(twilio.requests.some((r) => r.method === 'GET'), 'the unknown-outcome send was reconciled against the Messages list');
    assert.deepEqual((await api('GET', '/jobs?status=dead')).data, []);

    child.proc.kill('SIGTERM');
    await child.exited;
    assert.equal(child.proc.exitCode, 0, child.out());
    const elapsed = Date.now() - started;
    console.log(`payments crash test: done in ${elapsed} ms, of which ${startupMs} ms starting the three servers`);
    assert.ok(elapsed - startupMs < DEADLINE_MS, `took ${elapsed - startupMs} ms besides start-up`);
  } finally {
    for (const c of children) await kill(c);
  }
});
