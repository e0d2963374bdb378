/**
 * The WhatsApp toolkit's `sendToCustomer` use case, the one way other toolkits (payments,
 * escalations, scheduling) and the plugin message a customer: through a real app, the real
 * `twilio` SDK and the Twilio REST fake. The 24-hour window (text inside, template outside, refused
 * without one), one send per caller key (repeats, concurrent calls, restarts), long texts in parts
 * under one key, reconciliation of an unknown outcome instead of a resend, transient failures that
 * a retry with the same key resumes, and refusals for unknown customers, paused instances and bad
 * input — none of which store or send anything. Phone numbers never appear in results or logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeSid } from '../fakes/twilio-api.ts';
import { ALICE, BOB, PUBLIC_BASE, SENDER, setupWhatsApp, type WhatsAppSetup } from '../channels/whatsapp-setup.ts';
import { customerRef } from '../../src/toolkits/whatsapp/customer-ref.ts';
import type { SendToCustomerInput, SendToCustomerResult } from '../../src/toolkits/whatsapp/index.ts';

const ALICE_DIGITS = '4155550123';

interface Ctx extends WhatsAppSetup {
  ref: string;
  toCustomer(overrides: Partial<SendToCustomerInput> & Pick<SendToCustomerInput, 'message' | 'idempotencyKey'>): Promise<SendToCustomerResult>;
  outRows(key: string): Array<Record<string, any>>;
}

/** The app with the reply worker off, Alice known to the Support instance (inside the window). */
async function setup(): Promise<Ctx> {
  const s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  assert.equal((await s.send('hello')).status, 200);
  const toolkit = s.t.app.whatsapp.toolkit;
  const ref = customerRef(toolkit.refKey, s.tenant.orgId, ALICE);
  return Object.assign(s, {
    ref,
    toCustomer: (o: Partial<SendToCustomerInput> & Pick<SendToCustomerInput, 'message' | 'idempotencyKey'>) =>
      toolkit.sendToCustomer({ orgId: s.tenant.orgId, instanceId: s.instance.id, customerRef: ref, ...o }),
    outRows: (key: string) => s.t.app.db.prepare(
      "SELECT part_index, body, media, content_sid, twilio_sid, status, send_attempted_at, error_code FROM whatsapp_messages WHERE direction = 'out' AND idempotency_key = ? ORDER BY part_index",
    ).all(key) as Array<Record<string, any>>,
  });
}

function closeWindow(s: Ctx): void {
  s.t.app.db.prepare('UPDATE whatsapp_customers SET last_inbound_at = ?').run(Date.now() - 25 * 3600_000);
}

/** No raw number of Alice in anything the use case returned or the app logged. */
function assertNoPhone(s: Ctx, ...results: unknown[]): void {
  for (const r of results) assert.doesNotMatch(JSON.stringify(r), new RegExp(ALICE_DIGITS));
  for (const line of s.t.logs) assert.doesNotMatch(line, new RegExp(ALICE_DIGITS), line);
}

test('inside the window: the text goes (not the template), with media and the status callback; the SID is stored and the status ledger follows it', async () => {
  await using s = await setup();
  const r = await s.toCustomer({
    idempotencyKey: 'payment:pay_1:paid',
    message: { text: 'Payment received, thank you!', mediaUrls: ['https://cdn.example.com/receipt.pdf'], template: { contentSid: fakeSid('HX') } },
  });
  assert.equal(r.kind, 'sent');
  assert.equal(r.usedTemplate, false);
  assert.equal(r.duplicate, false);
  assert.equal(r.sids.length, 1);
  assert.equal(r.status, 'queued');
  const [m] = s.twilio.messages;
  assert.equal(s.twilio.messages.length, 1);
  assert.deepEqual([m.to, m.from, m.body, m.contentSid], [ALICE, SENDER, 'Payment received, thank you!', null]);
  assert.deepEqual(m.mediaUrls, ['https://cdn.example.com/receipt.pdf']);
  assert.equal(m.statusCallback, `${PUBLIC_BASE}/webhooks/twilio/status?instanceId=${s.instance.id}`);
  const rows = s.outRows('payment:pay_1:paid');
  assert.equal(rows.length, 1);
  assert.equal(rows[0].twilio_sid, r.sids[0]);
  assert.equal((await s.status(r.sids[0], 'delivered')).status, 200);
  assert.equal(s.outRows('payment:pay_1:paid')[0].status, 'delivered');
  assertNoPhone(s, r);
  const logged = s.t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'whatsapp message to customer');
  assert.equal(logged.to, '+1415•••0123', 'logs carry the masked number');
});

test('outside the window: the template goes (variables as canonical JSON); without a template the send is refused and nothing is stored', async () => {
  await using s = await setup();
  closeWindow(s);
  const refusedR = await s.toCustomer({ idempotencyKey: 'reminder:r1', message: { text: 'Your appointment is tomorrow.' } });
  assert.equal(refusedR.kind, 'refused');
  assert.equal(refusedR.reason, 'outside_window');
  assert.equal(refusedR.twilioCode, null);
  assert.match(refusedR.message, /24-hour customer-service window.*\+1415•••0123/);
  assert.equal(s.twilio.messages.length, 0);
  assert.deepEqual(s.outRows('reminder:r1'), [], 'a refusal before the intent stores nothing');

  // Nothing was stored, so the same key may carry the template later.
  const contentSid = fakeSid('HX');
  const r = await s.toCustomer({ idempotencyKey: 'reminder:r1', message: { text: 'Your appointment is tomorrow.', template: { contentSid, variables: { 2: 'tomorrow', 1: 'Ana' } } } });
  assert.equal(r.kind, 'sent');
  assert.equal(r.usedTemplate, true);
  assert.equal(s.twilio.messages.length, 1);
  assert.equal(s.twilio.messages[0].contentSid, contentSid);
  assert.equal(s.twilio.messages[0].contentVariables, '{"1":"Ana","2":"tomorrow"}');
  assert.equal(s.twilio.messages[0].body, '');
  assertNoPhone(s, refusedR, r);
});

test('the same key sends once: a repeat and concurrent calls answer duplicate; a different message under a used key is not sent', async () => {
  await using s = await setup();
  const first = await s.toCustomer({ idempotencyKey: 'payment:pay_2:paid', message: { text: 'Paid.' } });
  const again = await s.toCustomer({ idempotencyKey: 'payment:pay_2:paid', message: { text: 'Paid.' } });
  const other = await s.toCustomer({ idempotencyKey: 'payment:pay_2:paid', message: { text: 'Something else entirely.' } });
  assert.equal(first.kind, 'sent');
  assert.equal(first.duplicate, false);
  assert.deepEqual(again, { kind: 'sent', sids: first.sids, status: 'queued', usedTemplate: false, duplicate: true, reconciled: false });
  assert.equal(other.kind, 'sent');
  assert.equal(other.duplicate, true, 'the first message stored under a key is the one that counts');
  assert.equal(s.twilio.messages.length, 1);

  const concurrent = await Promise.all(Array.from({ length: 5 }, () => s.toCustomer({ idempotencyKey: 'payment:pay_3:paid', message: { text: 'Paid too.' } })));
  assert.equal(s.twilio.messages.length, 2, 'five concurrent calls with one key send once');
  assert.equal(concurrent.filter((r) => r.kind === 'sent' && !r.duplicate).length, 1);
  assert.ok(concurrent.every((r) => r.kind === 'sent' && r.sids[0] === s.twilio.messages[1].sid));
});

test('a long text goes in parts under one key (media on the first); a lost answer is reconciled and the retry sends only the rest', async () => {
  await using s = await setup();
  const paragraph = (n: number) => `Paragraph ${n}. ` + 'All the details of your order. '.repeat(40).trim();
  const text = [1, 2, 3].map(paragraph).join('\n\n');
  assert.ok(text.length > 3000 && text.length < 4500);
  // Twilio stores the first part, but its answer is a 503: the outcome is unknown to us.
  s.twilio.failNext({ match: 'create', afterCreate: true, status: 503 });
  const first = await s.toCustomer({ idempotencyKey: 'escalation:e1:reply', message: { text, mediaUrls: ['https://cdn.example.com/a.jpg'] } });
  assert.equal(first.kind, 'unavailable');
  assert.equal(first.reason, 'twilio_transient');
  assert.equal(first.httpStatus, 503);
  assert.equal(s.twilio.messages.length, 1);
  const stored = s.outRows('escalation:e1:reply');
  assert.ok(stored.length >= 3, `${stored.length} parts`);
  assert.deepEqual(stored.map((p) => p.part_index), stored.map((_, i) => i));
  assert.ok(stored.every((p) => p.body.length <= 1500));
  assert.equal(stored.map((p) => p.body).join(' ').replace(/\s+/g, ' '), text.replace(/\s+/g, ' '), 'no text lost or reordered');
  assert.deepEqual(stored.map((p) => JSON.parse(p.media).length), stored.map((_, i) => (i === 0 ? 1 : 0)));
  assert.ok(stored[0].send_attempted_at && !stored[0].twilio_sid);

  const retry = await s.toCustomer({ idempotencyKey: 'escalation:e1:reply', message: { text } });
  assert.equal(retry.kind, 'sent');
  assert.equal(retry.reconciled, true);
  assert.equal(retry.duplicate, false);
  assert.equal(s.twilio.messages.length, stored.length, 'the first part was found at Twilio, not sent again');
  assert.deepEqual(s.twilio.messages.map((m) => m.body), stored.map((p) => p.body));
  assert.deepEqual(retry.sids, s.twilio.messages.map((m) => m.sid));
  assert.deepEqual(s.twilio.messages.map((m) => m.mediaUrls.length), stored.map((_, i) => (i === 0 ? 1 : 0)));
});

test('crash-like: a part attempted without a SID is reconciled against Twilio, not resent; the unsent parts after it go', async () => {
  await using s = await setup();
  const toolkit = s.t.app.whatsapp.toolkit;
  const orgId = s.tenant.orgId;
  const instance = toolkit.repos.instances.get(orgId, s.instance.id)!;
  const client = toolkit.clients.forInstance(instance);
  // A previous process stored the intent, sent part 0 (SID stored), then marked part 1 attempted,
  // sent it, and died before storing its SID. Part 2 was never attempted.
  const parts = toolkit.repos.messages.recordIntents({
    orgId, instanceId: instance.id, customerRef: s.ref, idempotencyKey: 'payment:pay_9:paid', at: Date.now(),
    parts: [{ body: 'Part one.' }, { body: 'Part two.' }, { body: 'Part three.' }],
  });
  const sent0 = await client.sendMessage({ to: ALICE, from: SENDER, body: 'Part one.' });
  toolkit.repos.messages.recordSent(orgId, parts[0].id, { twilioSid: sent0.sid, status: sent0.status });
  toolkit.repos.messages.markSendAttempt(orgId, parts[1].id);
  const lost = await client.sendMessage({ to: ALICE, from: SENDER, body: 'Part two.' });
  const createsBefore = s.twilio.requests.filter((r) => r.method === 'POST').length;

  const r = await s.toCustomer({ idempotencyKey: 'payment:pay_9:paid', message: { text: 'whatever the caller passes now' } });
  assert.equal(r.kind, 'sent');
  assert.equal(r.reconciled, true);
  assert.equal(r.duplicate, false, 'part three was created by this call');
  assert.deepEqual(r.sids.slice(0, 2), [sent0.sid, lost.sid]);
  assert.equal(s.twilio.requests.filter((x) => x.method === 'POST').length - createsBefore, 1, 'only part three was sent');
  assert.ok(s.twilio.requests.some((x) => x.method === 'GET'), 'Twilio\'s Messages list was read');
  assert.deepEqual(s.twilio.messages.map((m) => m.body), ['Part one.', 'Part two.', 'Part three.']);
  assert.deepEqual(s.outRows('payment:pay_9:paid').map((p) => p.twilio_sid), r.sids);

  const again = await s.toCustomer({ idempotencyKey: 'payment:pay_9:paid', message: { text: 'x' } });
  assert.equal(again.kind === 'sent' && again.duplicate && !again.reconciled, true);
  assert.equal(s.twilio.messages.length, 3);
});

test('a transient Twilio 5xx is unavailable (intent kept); the retry with the same key sends exactly once', async () => {
  await using s = await setup();
  s.twilio.failNext({ match: 'create', status: 500 });
  const first = await s.toCustomer({ idempotencyKey: 'payment:pay_4:paid', message: { text: 'Paid!' } });
  assert.deepEqual({ ...first, message: '' }, { kind: 'unavailable', reason: 'twilio_transient', message: '', twilioCode: 20500, httpStatus: 500, sids: [] });
  assert.equal(s.twilio.messages.length, 0);
  assert.equal(s.outRows('payment:pay_4:paid').length, 1, 'the intent stays for the retry');
  const retry = await s.toCustomer({ idempotencyKey: 'payment:pay_4:paid', message: { text: 'Paid!' } });
  assert.equal(retry.kind, 'sent');
  assert.equal(retry.duplicate, false);
  assert.equal(retry.reconciled, false);
  assert.equal(s.twilio.messages.length, 1);
  assert.ok(s.twilio.requests.findIndex((x) => x.method === 'GET') < s.twilio.requests.findLastIndex((x) => x.method === 'POST'), 'reconciled before the resend');
  const third = await s.toCustomer({ idempotencyKey: 'payment:pay_4:paid', message: { text: 'Paid!' } });
  assert.equal(third.kind === 'sent' && third.duplicate, true);
  assert.equal(s.twilio.messages.length, 1);
});

test('Twilio\'s permanent refusals are final for the key: 63016 reads as outside_window, 21211 as twilio_permanent, neither is retried', async () => {
  await using s = await setup();
  s.twilio.failNext({ match: 'create', status: 400, code: 63016, message: 'Failed to send freeform message because you are outside the allowed window.' });
  const w = await s.toCustomer({ idempotencyKey: 'k:63016', message: { text: 'Late.' } });
  assert.equal(w.kind === 'refused' && w.reason === 'outside_window' && w.twilioCode === 63016 && !w.duplicate, true, JSON.stringify(w));
  s.twilio.failNext({ match: 'create', status: 400, code: 21211, message: "The 'To' number +14155550123 is not a valid phone number." });
  const bad = await s.toCustomer({ idempotencyKey: 'k:21211', message: { text: 'Hi.' } });
  assert.equal(bad.kind === 'refused' && bad.reason === 'twilio_permanent' && bad.twilioCode === 21211, true);
  assert.match(bad.kind === 'refused' ? bad.message : '', /HTTP 400, code 21211/);
  const posts = s.twilio.requests.filter((x) => x.method === 'POST').length;
  const again = await s.toCustomer({ idempotencyKey: 'k:21211', message: { text: 'Hi.' } });
  assert.equal(again.kind === 'refused' && again.duplicate && again.reason === 'twilio_permanent', true);
  assert.equal(s.twilio.requests.filter((x) => x.method === 'POST').length, posts, 'not sent again');
  assertNoPhone(s, w, bad, again);
});

test('accepted but the SID cannot be stored: accepted_unrecorded, logged once, never resent', async () => {
  await using s = await setup();
  assert.equal((await s.toCustomer({ idempotencyKey: 'k:a', message: { text: 'first' } })).kind, 'sent');
  s.twilio.failNext({ match: 'create', reuseSid: true });
  const r = await s.toCustomer({ idempotencyKey: 'k:b', message: { text: 'second' } });
  assert.equal(r.kind, 'accepted_unrecorded');
  assert.equal(r.kind === 'accepted_unrecorded' && r.unrecordedSids.length === 1 && !r.duplicate, true);
  const again = await s.toCustomer({ idempotencyKey: 'k:b', message: { text: 'second' } });
  assert.equal(again.kind === 'accepted_unrecorded' && again.duplicate, true);
  assert.equal(s.twilio.messages.length, 2);
  assert.equal(s.t.logs.filter((l) => /SID could not be stored/.test(l)).length, 1);
});

test('refused before anything is stored: unknown customer, paused or unknown instance, invalid messages and keys', async () => {
  await using s = await setup();
  const toolkit = s.t.app.whatsapp.toolkit;
  const bobRef = customerRef(toolkit.refKey, s.tenant.orgId, BOB);
  const unknown = await s.toCustomer({ customerRef: bobRef, idempotencyKey: 'k:bob', message: { text: 'Hi Bob' } });
  assert.equal(unknown.kind === 'refused' && unknown.reason, 'recipient_unknown');
  const noInstance = await s.toCustomer({ instanceId: '00000000-0000-4000-8000-000000000000', idempotencyKey: 'k:x', message: { text: 'Hi' } });
  assert.equal(noInstance.kind === 'refused' && noInstance.reason, 'instance_inactive');

  const invalid: Array<[SendToCustomerInput['message'], RegExp]> = [
    [{}, /text or a template/],
    [{ text: '   ' }, /blank/],
    [{ text: 'x'.repeat(1500 * 11) }, /too long/],
    [{ text: 'x', mediaUrls: ['http://cdn.example.com/a.jpg'] }, /https/],
    [{ text: 'x', mediaUrls: Array.from({ length: 11 }, (_, i) => `https://cdn.example.com/${i}.jpg`) }, /at most 10/],
    [{ mediaUrls: ['https://cdn.example.com/a.jpg'] }, /give text too/],
    [{ template: { contentSid: 'HX123' } }, /contentSid/],
    [{ template: { contentSid: fakeSid('HX'), variables: { 1: '' } } }, /variables/],
  ];
  for (const [message, why] of invalid) {
    const r = await s.toCustomer({ idempotencyKey: 'k:invalid', message });
    assert.equal(r.kind === 'refused' && r.reason, 'invalid_message', JSON.stringify(message).slice(0, 80));
    assert.match(r.kind === 'refused' ? r.message : '', why);
  }
  for (const idempotencyKey of ['', 'a\nb', 'k'.repeat(201)]) {
    const r = await s.toCustomer({ idempotencyKey, message: { text: 'x' } });
    assert.equal(r.kind === 'refused' && r.reason, 'invalid_message');
  }

  const paused = await s.t.api('PATCH', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}`, {
    token: s.tenant.ownerToken, orgId: s.tenant.orgId, body: { status: 'paused' },
  });
  assert.equal(paused.status, 200, paused.text);
  const r = await s.toCustomer({ idempotencyKey: 'k:paused', message: { text: 'Hi' } });
  assert.equal(r.kind === 'refused' && r.reason, 'instance_inactive');
  assert.match(r.kind === 'refused' ? r.message : '', /paused/);

  assert.equal(s.twilio.requests.length, 0, 'Twilio was never called');
  assert.equal((s.t.app.db.prepare("SELECT COUNT(*) AS n FROM whatsapp_messages WHERE direction = 'out'").get() as { n: number }).n, 0);
  assertNoPhone(s, unknown, r);
});
