/**
 * The Twilio webhook routes under bad input: missing and forged signatures, signatures over the
 * wrong URL, replayed MessageSids, malformed and oversized form bodies, wrong content types,
 * unknown and paused instances, forms naming another account or number; and status callbacks
 * that arrive repeated, late, early (before the SID is stored) or forged. Nothing is stored
 * unless the request is genuine; logs never hold a raw phone number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeTwilioSignature } from '../../src/toolkits/whatsapp/twilio.ts';
import { chatCompletion } from '../fakes/openai-upstream.ts';
import { inboundParams, deliverTwilioWebhook } from '../fakes/twilio-webhooks.ts';
import { assertWireError, snapshotTables, waitFor } from '../helpers/factories.ts';
import { ALICE, PUBLIC_BASE, SENDER, setupWhatsApp, type WhatsAppSetup } from '../channels/whatsapp-setup.ts';

const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
const SID = 'SM' + 'a'.repeat(32);

function stored(s: WhatsAppSetup) {
  const snap = snapshotTables(s.t.app.db, { ignoreColumns: { control_tokens: ['last_used_at'] } });
  return { messages: snap.whatsapp_messages, customers: snap.whatsapp_customers, jobs: snap.jobs };
}

/** Posts `body` as Twilio would, signed over the public URL unless told otherwise. */
async function post(s: WhatsAppSetup, path: string, body: string, opts: { contentType?: string | null; signature?: string | null; signedParams?: Record<string, string> } = {}) {
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/x-www-form-urlencoded';
  const sig = opts.signature === undefined ? computeTwilioSignature(s.twilio.authToken, PUBLIC_BASE + path, opts.signedParams ?? Object.fromEntries(new URLSearchParams(body))) : opts.signature;
  if (sig !== null) headers['x-twilio-signature'] = sig;
  const res = await fetch(s.t.url + path, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json: json as any, contentType: res.headers.get('content-type') };
}

test('inbound: signature checks, content type, size, malformed fields and instance matching; nothing stored on refusal', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  const path = s.webhookPath();
  const params = inboundParams({ accountSid: s.twilio.accountSid, from: ALICE, to: SENDER, body: 'hello', messageSid: SID });
  const form = new URLSearchParams(params).toString();
  const before = stored(s);

  assertWireError(await post(s, path, form, { signature: null }), 400, 'missing_signature', 'X-Twilio-Signature');
  assertWireError(await post(s, path, form, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }), 403, 'invalid_signature', 'X-Twilio-Signature');
  // Signed over the loopback URL instead of PLUGBOARD_PUBLIC_BASE_URL: what a proxy mix-up looks like.
  const wrongUrl = computeTwilioSignature(s.twilio.authToken, s.t.url + path, params);
  assertWireError(await post(s, path, form, { signature: wrongUrl }), 403, 'invalid_signature', 'X-Twilio-Signature');
  // Signed with another token.
  assertWireError(await post(s, path, form, { signature: computeTwilioSignature('0'.repeat(32), PUBLIC_BASE + path, params) }), 403, 'invalid_signature');
  // A tampered body under a valid signature.
  assertWireError(await post(s, path, form.replace('hello', 'HELLO'), { signedParams: params }), 403, 'invalid_signature');

  assertWireError(await post(s, path, JSON.stringify(params), { contentType: 'application/json' }), 415, 'unsupported_media_type');
  assertWireError(await post(s, path, form, { contentType: null }), 415, 'unsupported_media_type');
  assertWireError(await post(s, path, `${form}&Pad=${'x'.repeat(70_000)}`), 413, 'request_too_large');

  const signedBad = async (over: Record<string, string | undefined>) => {
    const p: Record<string, string> = { ...params };
    for (const [k, v] of Object.entries(over)) if (v === undefined) delete p[k]; else p[k] = v;
    return post(s, path, new URLSearchParams(p).toString());
  };
  assertWireError(await signedBad({ MessageSid: undefined }), 400, 'invalid_webhook', 'MessageSid');
  assertWireError(await signedBad({ MessageSid: 'SMnot-a-sid' }), 400, 'invalid_webhook', 'MessageSid');
  assertWireError(await signedBad({ From: '+14155550123' }), 400, 'invalid_webhook', 'From');
  assertWireError(await signedBad({ From: 'whatsapp:not-a-number' }), 400, 'invalid_webhook', 'From');
  assertWireError(await signedBad({ NumMedia: 'lots' }), 400, 'invalid_webhook', 'NumMedia');
  assertWireError(await signedBad({ NumMedia: '1' }), 400, 'invalid_webhook', 'MediaUrl0');
  assertWireError(await signedBad({ AccountSid: 'AC' + 'b'.repeat(32) }), 403, 'webhook_mismatch', 'AccountSid');
  assertWireError(await signedBad({ To: 'whatsapp:+14155550999' }), 403, 'webhook_mismatch', 'To');
  // A key repeated where Twilio sends it once (signed as a repeated key, so only the form is at fault).
  const repeated = `${form}&Body=again`;
  assertWireError(await post(s, path, repeated, { signedParams: { ...params, Body: ['hello', 'again'] } as never }), 400, 'invalid_webhook', 'Body');
  // Undecodable bytes are just text to URLSearchParams; the signature then no longer matches.
  assertWireError(await post(s, path, `${form}&X=%E0%A4%A`, { signedParams: params }), 403, 'invalid_signature');

  assertWireError(await post(s, '/webhooks/twilio/whatsapp/00000000-0000-4000-8000-000000000000', form), 404, 'whatsapp_instance_not_found', 'instanceId');
  assert.deepEqual(stored(s), before, 'nothing was stored by any refused request');

  const paused = await s.t.api('PATCH', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}`, { token: s.tenant.ownerToken, body: { status: 'paused' } });
  assert.equal(paused.status, 200);
  assertWireError(await post(s, path, form), 404, 'whatsapp_instance_not_found');
  assert.deepEqual(stored(s), before);
});

test('inbound: a replayed MessageSid is stored and answered once; media is noted; empty TwiML as text/xml', async () => {
  await using s = await setupWhatsApp();
  s.upstream.script({ json: chatCompletion({ content: 'Nice bike!' }) });
  const media = [{ url: 'https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1', contentType: 'image/jpeg' }, { url: 'https://api.twilio.com/x/ME2', contentType: 'video/mp4' }];
  const first = await s.send('look', { messageSid: SID, media });
  assert.equal(first.status, 200);
  assert.equal(first.text, TWIML);
  assert.match(first.contentType ?? '', /^text\/xml/);
  for (let i = 0; i < 3; i++) {
    const again = await s.send('look', { messageSid: SID, media });
    assert.equal(again.status, 200);
    assert.equal(again.text, TWIML);
  }
  await s.waitForSent(1);
  await waitFor('the reply job to finish', () => s.t.app.queue.stats(s.tenant.orgId).done === 1);
  const snap = stored(s);
  assert.equal(snap.jobs.length, 1);
  const inbound = snap.messages.filter((m: any) => m.direction === 'in');
  assert.equal(inbound.length, 1);
  assert.equal((inbound[0] as any).num_media, 2);
  assert.deepEqual(JSON.parse((inbound[0] as any).media), media);
  assert.equal(s.twilio.messages.length, 1);
  assert.equal(s.upstream.remaining, 0);
  assert.doesNotMatch(s.t.logs.join('\n'), /4155550123/, 'logs mask numbers');
  assert.ok(s.t.logs.some((l) => l.includes('+1415•••0123')));
});

test('status callbacks: forward only, repeated and late are harmless, early ones wait for the SID, forged ones change nothing', async () => {
  await using s = await setupWhatsApp();
  s.upstream.script({ json: chatCompletion({ content: 'one' }) }, { json: chatCompletion({ content: 'two' }) });
  await s.send('a');
  const [m1] = await s.waitForSent(1);
  const statusOf = async () => {
    const convs = await s.t.api('GET', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}/conversations`, { token: s.tenant.ownerToken });
    const msgs = await s.t.api('GET', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}/conversations/${convs.json.data[0].customerRef}/messages`, { token: s.tenant.ownerToken });
    return msgs.json.data.filter((m: any) => m.direction === 'out').map((m: any) => [m.twilioSid, m.status, m.errorCode]);
  };
  await waitFor('the SID to be stored', async () => (await statusOf()).length === 1 && (await statusOf())[0][0] === m1.sid);
  for (const st of ['sent', 'delivered', 'sent', 'queued', 'delivered']) assert.equal((await s.status(m1.sid, st)).status, 200);
  assert.deepEqual(await statusOf(), [[m1.sid, 'delivered', null]]);
  assert.equal((await s.status(m1.sid, 'read')).status, 200);
  assert.equal((await s.status(m1.sid, 'undelivered', 63016)).status, 200);
  assert.deepEqual(await statusOf(), [[m1.sid, 'read', null]], 'nothing moves a read message back');

  // Forged and malformed callbacks.
  const path = `/webhooks/twilio/status?instanceId=${s.instance.id}`;
  const form = new URLSearchParams({ MessageSid: m1.sid, MessageStatus: 'failed', AccountSid: s.twilio.accountSid }).toString();
  assertWireError(await post(s, path, form, { signature: null }), 400, 'missing_signature');
  assertWireError(await post(s, path, form, { signature: 'bogus' }), 403, 'invalid_signature');
  assertWireError(await post(s, '/webhooks/twilio/status?instanceId=nope', form), 404, 'whatsapp_instance_not_found');
  assertWireError(await post(s, '/webhooks/twilio/status', form), 404, 'whatsapp_instance_not_found');
  assertWireError(await post(s, path, new URLSearchParams({ MessageSid: 'x', MessageStatus: 'sent' }).toString()), 400, 'invalid_webhook', 'MessageSid');
  assertWireError(await post(s, path, new URLSearchParams({ MessageSid: m1.sid, MessageStatus: 'sent', AccountSid: 'AC' + 'c'.repeat(32) }).toString()), 403, 'webhook_mismatch');
  assert.deepEqual(await statusOf(), [[m1.sid, 'read', null]]);

  // A callback for a SID not stored yet is held and applied when the send records it.
  s.twilio.failNext({ match: 'create', afterCreate: true, status: 500 });
  await s.send('b');
  await s.waitForSent(2);
  const m2 = s.twilio.messages[1];
  const early = await s.status(m2.sid, 'failed', 30008);
  assert.equal(early.status, 200);
  // The reply's row exists (pending) from the intent on; wait until reconciliation stored its SID.
  await waitFor('the second SID', async () => {
    const rows = await statusOf();
    return rows.length === 2 && rows[0][0] === m2.sid;
  });
  assert.deepEqual((await statusOf())[0], [m2.sid, 'failed', 30008]);
  assert.equal(s.twilio.messages.length, 2, 'the lost answer was reconciled, not resent');
});

test('webhooks reach the app through a public base URL with a path prefix', async () => {
  await using s = await setupWhatsApp({ PLUGBOARD_PUBLIC_BASE_URL: 'https://gw.example.com/plugboard', PLUGBOARD_WORKER_ENABLED: 'false' });
  assert.equal(s.instance.webhookUrl, `https://gw.example.com/plugboard/webhooks/twilio/whatsapp/${s.instance.id}`);
  const path = s.webhookPath();
  const params = inboundParams({ accountSid: s.twilio.accountSid, from: ALICE, to: SENDER, body: 'hi' });
  const ok = await deliverTwilioWebhook({ url: s.t.url + path, signedUrl: `https://gw.example.com/plugboard${path}`, authToken: s.twilio.authToken, params });
  assert.equal(ok.status, 200);
  const bad = await deliverTwilioWebhook({ url: s.t.url + path, signedUrl: PUBLIC_BASE + path, authToken: s.twilio.authToken, params });
  assert.equal(bad.status, 403);
});
