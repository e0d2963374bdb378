/**
 * The Twilio Messaging client through the real `twilio` SDK against the loopback fake: sending
 * text, media and templates, listing with paging, fetching, and the classification of every
 * failure (Twilio codes, 429/5xx, timeout, dropped connection, refused connection).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import twilio from 'twilio';
import {
  classifyTwilioError, createTwilioClient, TwilioErrorCode, type TwilioMessaging,
} from '../../src/toolkits/whatsapp/twilio.ts';
import { fakeSid, startFakeTwilio, type FakeTwilio, type StoredMessage } from '../fakes/twilio-api.ts';

const SENDER = 'whatsapp:+14155550100';
const ALICE = 'whatsapp:+14155550123';
const BOB = 'whatsapp:+14155550199';

function clientFor(fake: FakeTwilio, over: { authToken?: string; timeoutMs?: number; apiBaseUrl?: string } = {}): TwilioMessaging {
  return createTwilioClient({
    accountSid: fake.accountSid,
    authToken: over.authToken ?? fake.authToken,
    apiBaseUrl: over.apiBaseUrl ?? fake.origin,
    timeoutMs: over.timeoutMs ?? 3_000,
  });
}

/** Runs `fn`, expecting it to reject; returns the classification of what it threw. */
async function failure(fn: () => Promise<unknown>) {
  const err = await fn().then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  return { err, cls: classifyTwilioError(err) };
}

describe('Twilio client against the fake, through the real SDK', () => {
  it('sends a text message', async () => {
    await using fake = await startFakeTwilio();
    const sent = await clientFor(fake).sendMessage({ from: SENDER, to: ALICE, body: 'Hello Ana', statusCallback: 'https://pb.example.com/webhooks/twilio/status' });
    assert.match(sent.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(sent.status, 'queued');
    assert.equal(fake.messages.length, 1);
    assert.deepEqual({ ...fake.requests[0].form }, {
      To: ALICE, From: SENDER, Body: 'Hello Ana', StatusCallback: 'https://pb.example.com/webhooks/twilio/status',
    });
    assert.equal(fake.requests[0].path, `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
  });

  it('sends media as repeated MediaUrl keys, in order', async () => {
    await using fake = await startFakeTwilio();
    const urls = ['https://cdn.example.com/a.jpg', 'https://cdn.example.com/b.png'];
    await clientFor(fake).sendMessage({ from: SENDER, to: ALICE, mediaUrls: urls });
    assert.deepEqual(fake.requests[0].form.MediaUrl, urls);
    assert.deepEqual(fake.messages[0].mediaUrls, urls);
    assert.equal(fake.requests[0].form.Body, undefined);
  });

  it('sends a template: ContentSid plus ContentVariables as a JSON string, through a Messaging Service', async () => {
    await using fake = await startFakeTwilio();
    const contentSid = fakeSid('HX');
    const messagingServiceSid = fakeSid('MG');
    await clientFor(fake).sendMessage({ messagingServiceSid, to: ALICE, contentSid, contentVariables: { 1: 'Ana', 2: '3pm' } });
    const form = fake.requests[0].form;
    assert.equal(form.ContentSid, contentSid);
    assert.equal(form.ContentVariables, '{"1":"Ana","2":"3pm"}');
    assert.equal(form.MessagingServiceSid, messagingServiceSid);
    assert.equal(form.From, undefined);
    assert.equal(fake.messages[0].from, null);
  });

  it('lists messages newest first with To/From/DateSent> filters, paging through next_page_uri', async () => {
    const clock = { t: Date.parse('2025-03-01T10:00:00Z') };
    await using fake = await startFakeTwilio({ now: () => new Date(clock.t) });
    const client = clientFor(fake);
    for (let i = 0; i < 3; i++) {
      await client.sendMessage({ from: SENDER, to: ALICE, body: `alice ${i}` });
      clock.t += 60_000;
    }
    await client.sendMessage({ from: SENDER, to: BOB, body: 'bob' });
    const all = await client.listMessages({ to: ALICE, from: SENDER, limit: 10 });
    assert.deepEqual(all.map((m) => m.body), ['alice 2', 'alice 1', 'alice 0']);
    assert.ok(all[0].dateCreated instanceof Date);
    assert.equal(all[0].to, ALICE);
    assert.equal(all[0].direction, 'outbound-api');
    const recent = await client.listMessages({ to: ALICE, dateSentAfter: new Date(Date.parse('2025-03-01T10:01:00Z')), limit: 10 });
    assert.deepEqual(recent.map((m) => m.body), ['alice 2', 'alice 1']);
    assert.deepEqual((await client.listMessages({ to: ALICE, limit: 2 })).map((m) => m.body), ['alice 2', 'alice 1']);

    // 150 stored messages: the SDK must follow next_page_uri (an api.twilio.com URL) back to the fake.
    const base = fake.messages[0];
    for (let i = 0; i < 150; i++) {
      fake.messages.push({ ...base, sid: fakeSid('SM'), to: BOB, body: `bulk ${i}`, dateCreated: new Date(clock.t + i * 1000) } as StoredMessage);
    }
    const bulk = await client.listMessages({ to: BOB, limit: 140 });
    assert.equal(bulk.length, 140);
    assert.equal(bulk[0].body, 'bulk 149');
    assert.equal(new Set(bulk.map((m) => m.sid)).size, 140);
    assert.ok(fake.requests.filter((r) => r.method === 'GET').some((r) => r.query.has('PageToken')), 'a second page was fetched');
  });

  it('fetches one message by SID; an unknown SID is a permanent 404', async () => {
    await using fake = await startFakeTwilio();
    const client = clientFor(fake);
    const { sid } = await client.sendMessage({ from: SENDER, to: ALICE, body: 'x' });
    fake.setStatus(sid, 'delivered');
    const m = await client.fetchMessage(sid);
    assert.deepEqual({ sid: m.sid, status: m.status, body: m.body, errorCode: m.errorCode }, { sid, status: 'delivered', body: 'x', errorCode: null });
    const { err, cls } = await failure(() => client.fetchMessage(fakeSid('SM')));
    assert.ok(err instanceof twilio.RestException);
    assert.deepEqual({ retryable: cls.retryable, code: cls.code, status: cls.status }, { retryable: false, code: 20404, status: 404 });
  });

  it('never reads TWILIO_* variables: region/edge/credentials in the environment change nothing', async () => {
    await using fake = await startFakeTwilio();
    const saved = { ...process.env };
    Object.assign(process.env, { TWILIO_REGION: 'au1', TWILIO_EDGE: 'sydney', TWILIO_ACCOUNT_SID: fakeSid('AC'), TWILIO_AUTH_TOKEN: 'wrong' });
    try {
      const sent = await clientFor(fake, { apiBaseUrl: fake.origin + '/' }).sendMessage({ from: SENDER, to: ALICE, body: 'env' });
      assert.match(sent.sid, /^SM/);
    } finally {
      for (const k of ['TWILIO_REGION', 'TWILIO_EDGE', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });
});

describe('Twilio errors are classified', () => {
  const send = (fake: FakeTwilio, over: Parameters<typeof clientFor>[1] = {}) => () =>
    clientFor(fake, over).sendMessage({ from: SENDER, to: ALICE, body: 'hi' });

  it('21211 invalid To and 63016 outside the 24-hour window are permanent; numbers are masked', async () => {
    await using fake = await startFakeTwilio();
    fake.failNext({ status: 400, code: 21211, message: "The 'To' number whatsapp:+14155550123 is not a valid phone number." });
    const a = await failure(send(fake));
    assert.ok(a.err instanceof twilio.RestException);
    assert.equal((a.err as { code?: number }).code, 21211);
    assert.deepEqual({ ...a.cls, message: undefined }, { retryable: false, code: 21211, status: 400, message: undefined });
    assert.doesNotMatch(a.cls.message, /4155550123/);
    assert.match(a.cls.message, /\+1415•••0123/);

    fake.failNext({ status: 400, code: TwilioErrorCode.outsideSessionWindow, message: 'Failed to send freeform message because you are outside the allowed window.' });
    const b = await failure(send(fake));
    assert.deepEqual([b.cls.retryable, b.cls.code, b.cls.status], [false, 63016, 400]);
  });

  it('the fake validates for real: a malformed To is 21211 without scripting', async () => {
    await using fake = await startFakeTwilio();
    const { cls } = await failure(() => clientFor(fake).sendMessage({ from: SENDER, to: 'whatsapp:4155550123', body: 'x' }));
    assert.deepEqual([cls.retryable, cls.code, cls.status], [false, 21211, 400]);
    assert.equal(fake.messages.length, 0);
  });

  it('a wrong auth token is 401/20003 and permanent', async () => {
    await using fake = await startFakeTwilio();
    const { cls } = await failure(send(fake, { authToken: 'not-the-token' }));
    assert.deepEqual([cls.retryable, cls.code, cls.status], [false, 20003, 401]);
    assert.doesNotMatch(cls.message, /not-the-token/);
  });

  it('429 and 500 are retryable, and the SDK does not retry on its own', async () => {
    await using fake = await startFakeTwilio();
    fake.failNext({ status: 429 });
    const a = await failure(send(fake));
    assert.deepEqual([a.cls.retryable, a.cls.code, a.cls.status], [true, 20429, 429]);
    assert.equal(fake.requests.length, 1, 'exactly one request: retries belong to the job queue');
    fake.failNext({ status: 500 });
    const b = await failure(send(fake));
    assert.deepEqual([b.cls.retryable, b.cls.code, b.cls.status], [true, 20500, 500]);
    fake.failNext({ status: 503, code: 20503, message: 'Service Unavailable' });
    assert.equal((await failure(send(fake))).cls.retryable, true);
  });

  it('a hung request times out and is retryable', async () => {
    await using fake = await startFakeTwilio();
    fake.failNext({ hang: true });
    const started = Date.now();
    const { cls } = await failure(send(fake, { timeoutMs: 250 }));
    assert.ok(Date.now() - started < 2_000, 'bounded by timeoutMs');
    assert.deepEqual({ ...cls }, { retryable: true, code: null, status: null, message: 'Twilio request timed out.' });
  });

  it('a dropped connection is retryable, even when Twilio already created the message', async () => {
    await using fake = await startFakeTwilio();
    fake.failNext({ drop: true });
    const a = await failure(send(fake));
    assert.equal(a.cls.retryable, true);
    assert.match(a.cls.message, /network/);
    assert.equal(fake.messages.length, 0);

    // "Sent, but the response was lost": the message exists; reconciliation can find it.
    fake.failNext({ drop: true, afterCreate: true, match: 'create' });
    const b = await failure(send(fake));
    assert.equal(b.cls.retryable, true);
    assert.equal(fake.messages.length, 1);
    const found = await clientFor(fake).listMessages({ to: ALICE, from: SENDER, limit: 5 });
    assert.deepEqual(found.map((m) => m.sid), [fake.messages[0].sid]);
  });

  it('a refused connection is retryable; anything unknown is permanent', async () => {
    const fake = await startFakeTwilio();
    const origin = fake.origin;
    await fake.close();
    const a = await failure(() => createTwilioClient({ accountSid: fakeSid('AC'), authToken: 't', apiBaseUrl: origin, timeoutMs: 1_000 }).sendMessage({ from: SENDER, to: ALICE, body: 'x' }));
    assert.deepEqual({ ...a.cls }, { retryable: true, code: null, status: null, message: 'Twilio request failed (network: ECONNREFUSED).' });
    assert.equal(classifyTwilioError(new TypeError('bad input')).retryable, false);
    assert.equal(classifyTwilioError('weird').retryable, false);
  });
});
