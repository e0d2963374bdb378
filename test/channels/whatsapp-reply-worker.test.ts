/**
 * The reply worker against Twilio and upstream failures: permanent Twilio errors (21211, 63016)
 * dead-letter at once and show in the jobs API, requeue sends without asking the model again;
 * 429, 5xx and dropped connections retry, reconciling first so nothing is sent twice; upstream
 * 5xx retries and 4xx dead-letters; a paused instance's job waits in the dead letter; shutdown
 * releases a running job and a restart answers it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startFakeTwilio } from '../fakes/twilio-api.ts';
import { startApp, tempDir } from '../helpers/app.ts';
import { waitFor } from '../helpers/factories.ts';
import { openDb } from '../../src/storage/db.ts';
import { deliverTwilioWebhook, inboundParams } from '../fakes/twilio-webhooks.ts';
import { ALICE, BOB, PUBLIC_BASE, SENDER, setupWhatsApp, type WhatsAppSetup } from './whatsapp-setup.ts';

async function jobs(s: WhatsAppSetup, status: string) {
  const res = await s.t.api('GET', `/organizations/${s.tenant.orgId}/jobs?status=${status}`, { token: s.tenant.ownerToken });
  assert.equal(res.status, 200, res.text);
  return res.json.data as Array<Record<string, any>>;
}

/** Waits for exactly one dead job and returns it. */
async function oneDeadJob(s: WhatsAppSetup): Promise<Record<string, any>> {
  let found: Array<Record<string, any>> = [];
  await waitFor('a dead job', async () => (found = await jobs(s, 'dead')).length === 1);
  return found[0];
}

async function outbound(s: WhatsAppSetup) {
  const base = `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}`;
  const convs = await s.t.api('GET', `${base}/conversations`, { token: s.tenant.ownerToken });
  const msgs = await s.t.api('GET', `${base}/conversations/${convs.json.data[0].customerRef}/messages`, { token: s.tenant.ownerToken });
  return msgs.json.data.filter((m: any) => m.direction === 'out');
}

test('21211 dead-letters at once, visible through the jobs API; requeue sends the recorded answer without a second model call', async () => {
  await using s = await setupWhatsApp();
  s.upstream.script({ json: chatCompletion({ content: 'Hello!' }) });
  s.twilio.failNext({ match: 'create', status: 400, code: 21211, message: 'Invalid To number' });
  await s.send('hi');
  const dead = await oneDeadJob(s);
  assert.equal(dead.attempts, 1, 'not retried');
  assert.equal(dead.kind, 'whatsapp.reply');
  assert.match(dead.lastError, /code 21211/);
  assert.equal(dead.instanceId, s.instance.id);
  const [part] = await outbound(s);
  assert.equal(part.status, 'failed');
  assert.equal(part.errorCode, 21211);

  const member = s.t.member(s.tenant.orgId, 'member');
  const forbidden = await s.t.api('POST', `/organizations/${s.tenant.orgId}/jobs/${dead.id}/requeue`, { token: member.token });
  assert.equal(forbidden.status, 403);
  const admin = s.t.member(s.tenant.orgId, 'admin');
  const requeued = await s.t.api('POST', `/organizations/${s.tenant.orgId}/jobs/${dead.id}/requeue`, { token: admin.token });
  assert.equal(requeued.status, 200, requeued.text);
  assert.equal(requeued.json.attempts, 0);
  await s.waitForSent(1);
  await waitFor('the job to be done', async () => (await jobs(s, 'done')).length === 1);
  assert.equal(s.twilio.messages[0].body, 'Hello!');
  assert.equal(s.upstream.requests.length, 1, 'the model answered once');
  const again = await s.t.api('POST', `/organizations/${s.tenant.orgId}/jobs/${dead.id}/requeue`, { token: admin.token });
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'job_not_dead');
});

test('a failed reply is a request_failed on the live stream: retrying, then dead-lettered, ids only', async () => {
  await using s = await setupWhatsApp();
  const events: Array<Record<string, unknown>> = [];
  const unsubscribe = s.t.app.bus.subscribe(s.tenant.orgId, (e) => { if (e.type === 'request_failed') events.push(e); });
  try {
    s.upstream.script({ json: chatCompletion({ content: 'Hello!' }) });
    // A transient failure first (retried), then a permanent one (dead letter).
    s.twilio.failNext({ match: 'create', status: 503, message: 'Service unavailable for whatsapp:+14155550123' });
    s.twilio.failNext({ match: 'create', status: 400, code: 21211, message: 'Invalid To number whatsapp:+14155550123' });
    await s.send('hi');
    const dead = await oneDeadJob(s);
    await waitFor('two request_failed events', async () => events.length >= 2);
    const [retrying, final] = events;
    const inboundId = (dead.payload?.messageId ?? null) as string | null;
    for (const e of [retrying, final]) {
      assert.equal(e.jobId, dead.id);
      assert.equal(e.instanceId, s.instance.id);
      assert.equal(e.source, 'whatsapp');
      assert.match(String(e.requestId), /^wa_[0-9a-f]+$/);
      if (inboundId) assert.equal(e.requestId, `wa_${inboundId.replace(/-/g, '')}`);
      assert.ok(!JSON.stringify(e).includes('+14155550123'), 'no phone number on the live stream');
      assert.ok(!JSON.stringify(e).includes('Invalid To number'), 'no error text on the live stream');
    }
    assert.equal(retrying.errorClass, 'whatsapp_reply_retrying');
    assert.equal(final.errorClass, 'whatsapp_reply_dead_lettered');
    assert.equal(events.length, 2, 'one event per failed attempt');
  } finally {
    unsubscribe();
  }
});

test('63016 is permanent: dead after one attempt, the part failed with the code', async () => {
  await using s = await setupWhatsApp();
  s.upstream.script({ json: chatCompletion({ content: 'Late answer' }) });
  s.twilio.failNext({ match: 'create', status: 400, code: 63016, message: 'Outside the window' });
  await s.send('hi');
  const dead = await oneDeadJob(s);
  assert.equal(dead.attempts, 1);
  assert.match(dead.lastError, /63016/);
  assert.deepEqual((await outbound(s)).map((p: any) => [p.status, p.errorCode]), [['failed', 63016]]);
  assert.equal(s.twilio.messages.length, 0);
});

test('429, 5xx and dropped connections retry; a message Twilio stored despite the error is found, not resent', async () => {
  await using s = await setupWhatsApp();
  s.upstream.setFallback((req) => ({ json: chatCompletion({ content: `re: ${(req.body!.messages as any[]).at(-1).content}` }) }));
  s.twilio.failNext({ match: 'create', status: 429 });
  await s.send('one');
  await s.waitForSent(1);
  s.twilio.failNext({ match: 'create', afterCreate: true, status: 500 });
  await s.send('two');
  await s.waitForSent(2);
  s.twilio.failNext({ match: 'create', afterCreate: true, drop: true });
  await s.send('three');
  await s.waitForSent(3);
  s.twilio.failNext({ match: 'create', drop: true });
  await s.send('four');
  await s.waitForSent(4);
  await waitFor('4 done jobs', async () => (await jobs(s, 'done')).length === 4);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(s.twilio.messages.map((m) => m.body), ['re: one', 're: two', 're: three', 're: four']);
  const done = await jobs(s, 'done');
  assert.deepEqual(done.map((j) => j.attempts), [2, 2, 2, 2], 'each failed once, then succeeded');
  assert.equal(s.upstream.requests.length, 4, 'a retry never asks the model again once the answer is recorded');
});

test('upstream 5xx retries; upstream 4xx dead-letters with a safe message; an empty answer sends nothing', async () => {
  await using s = await setupWhatsApp();
  s.upstream.script({ status: 500, json: { error: { message: 'boom', type: 'server_error' } } }, { json: chatCompletion({ content: 'recovered' }) });
  await s.send('one');
  await s.waitForSent(1);
  assert.equal(s.twilio.messages[0].body, 'recovered');
  s.upstream.script({ status: 400, json: { error: { message: 'The model `nope` does not exist', type: 'invalid_request_error', code: 'model_not_found' } } });
  await s.send('two');
  const dead = await oneDeadJob(s);
  assert.match(dead.lastError, /^Model call failed \(4\d\d/);
  s.upstream.script({ json: chatCompletion({ content: '   ' }) });
  await s.send('three');
  await waitFor('the third job to finish', async () => (await jobs(s, 'done')).length === 2);
  assert.equal(s.twilio.messages.length, 1);
});

test('a paused instance leaves its queued reply in the dead letter; resume and requeue answer it', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_CONCURRENCY: '1' });
  s.upstream.script({ delayMs: 400, json: chatCompletion({ content: 'for Bob' }) }, { json: chatCompletion({ content: 'for Alice' }) });
  await s.send('first', { from: BOB });
  await waitFor('Bob\'s model call', () => s.upstream.requests.length === 1);
  await s.send('second', { from: ALICE });
  const path = `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}`;
  assert.equal((await s.t.api('PATCH', path, { token: s.tenant.ownerToken, body: { status: 'paused' } })).status, 200);
  const dead = await oneDeadJob(s);
  assert.match(dead.lastError, /paused/);
  assert.deepEqual(s.twilio.messages.map((m) => m.to), [BOB]);
  assert.equal((await s.t.api('PATCH', path, { token: s.tenant.ownerToken, body: { status: 'active' } })).status, 200);
  assert.equal((await s.t.api('POST', `/organizations/${s.tenant.orgId}/jobs/${dead.id}/requeue`, { token: s.tenant.ownerToken })).status, 200);
  await s.waitForSent(2);
  assert.deepEqual(s.twilio.messages.map((m) => [m.to, m.body]), [[BOB, 'for Bob'], [ALICE, 'for Alice']]);
});

test('close() stops the worker and releases a running job; the next start answers it', async () => {
  await using upstream = await startFakeUpstream();
  await using twilio = await startFakeTwilio();
  const dataDir = tempDir();
  const env = {
    PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_TWILIO_API_BASE_URL: twilio.origin,
    PLUGBOARD_PUBLIC_BASE_URL: PUBLIC_BASE, PLUGBOARD_WORKER_POLL_MS: '20', PLUGBOARD_SHUTDOWN_TIMEOUT_MS: '300',
  };
  const t1 = await startApp(env);
  const tenant = t1.tenant();
  const created = await t1.api('POST', `/organizations/${tenant.orgId}/whatsapp-instances`, {
    token: tenant.ownerToken, body: { name: 'Support', sender: SENDER, twilioAccountSid: twilio.accountSid, twilioAuthToken: twilio.authToken, model: 'gpt-test' },
  });
  const path = `/webhooks/twilio/whatsapp/${created.json.id}`;
  upstream.script({ hang: true });
  const res = await deliverTwilioWebhook({ url: t1.url + path, signedUrl: PUBLIC_BASE + path, authToken: twilio.authToken, params: inboundParams({ accountSid: twilio.accountSid, from: ALICE, to: SENDER, body: 'hi' }) });
  assert.equal(res.status, 200);
  await waitFor('the model call', () => upstream.requests.length === 1);
  const closing = Date.now();
  await t1.close();
  assert.ok(Date.now() - closing < 3000, 'close() is bounded');
  const db = openDb({ file: t1.config.dbFile });
  const row = db.prepare('SELECT status, attempts, locked_by FROM jobs').get() as { status: string; attempts: number; locked_by: string | null };
  db.close();
  assert.deepEqual(row, { status: 'queued', attempts: 0, locked_by: null }, 'released without counting the attempt');

  upstream.script({ json: chatCompletion({ content: 'Sorry for the wait!' }) });
  await using t2 = await startApp(env);
  await waitFor('the reply after restart', () => twilio.messages.length === 1);
  assert.equal(twilio.messages[0].body, 'Sorry for the wait!');
  assert.ok(t2.url);
});
