/**
 * Unit tests of the channel's pieces on an in-memory database: status callbacks that arrive
 * before the SID is stored, the conversation the model reads, and reconciliation edge cases of
 * `sendPartOnce` (SIDs already owned by another part, lost answers, failed list calls, aborts),
 * and the "has any instance" check behind the plugin list.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createSecretBox } from '../../src/storage/secret-box.ts';
import { createWhatsAppInstancesRepo } from '../../src/storage/repos/whatsapp-instances.ts';
import { createWhatsAppCustomersRepo } from '../../src/storage/repos/whatsapp-customers.ts';
import { createWhatsAppMessagesRepo, type WhatsAppMessage } from '../../src/storage/repos/whatsapp-messages.ts';
import { customerRef, maskPhone } from '../../src/toolkits/whatsapp/customer-ref.ts';
import { createStatusCallbacks } from '../../src/channels/whatsapp/status.ts';
import { createDeliveryStatus } from '../../src/toolkits/whatsapp/delivery-status.ts';
import { buildConversation } from '../../src/channels/whatsapp/reply-worker.ts';
import { createTwilioClient } from '../../src/toolkits/whatsapp/twilio.ts';
import { sendPartOnce } from '../../src/toolkits/whatsapp/outbound.ts';
import { fakeSid, startFakeTwilio, type FakeTwilio } from '../fakes/twilio-api.ts';
import { tempDir } from '../helpers/app.ts';

const PHONE = '+14155550123';
const silent = pino({ level: 'silent' });

function setup(fake?: FakeTwilio) {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  db.prepare('INSERT INTO organizations (id, name, created_at) VALUES (?, ?, 0)').run('org_a', 'A');
  const box = createSecretBox(crypto.randomBytes(32));
  const instances = createWhatsAppInstancesRepo(db, box);
  const customers = createWhatsAppCustomersRepo(db, box);
  const messages = createWhatsAppMessagesRepo(db);
  const instance = instances.create('org_a', {
    name: 'Support', sender: 'whatsapp:+14155550100', twilioAccountSid: fake?.accountSid ?? 'AC' + 'a'.repeat(32),
    twilioAuthToken: fake?.authToken ?? 'token-0123456789', model: 'gpt-test', systemPrompt: 'Be brief.',
  });
  const ref = customerRef(crypto.randomBytes(32), 'org_a', PHONE);
  customers.recordInbound({ orgId: 'org_a', instanceId: instance.id, customerRef: ref, phoneE164: PHONE, phoneMasked: maskPhone(PHONE), at: 1000 });
  let n = 0;
  const inbound = (body: string, at = 1000 + ++n) =>
    messages.insertInbound({ orgId: 'org_a', instanceId: instance.id, customerRef: ref, twilioSid: fakeSid('SM'), body, media: [], at }).message;
  const reply = (to: WhatsAppMessage, bodies: string[]) =>
    messages.recordIntents({ orgId: 'org_a', instanceId: instance.id, customerRef: ref, replyToMessageId: to.id, at: to.createdAt + 1, parts: bodies.map((body) => ({ body })) });
  return { db, instances, customers, messages, instance, ref, inbound, reply };
}

describe('status callbacks', () => {
  it('holds a status whose SID is not stored yet and applies it when the SID is recorded', () => {
    const s = setup();
    const [part] = s.reply(s.inbound('hi'), ['hello']);
    const delivery = createDeliveryStatus({ messages: s.messages, log: silent });
    const status = createStatusCallbacks({ delivery });
    const wh = { id: s.instance.id, orgId: 'org_a', status: 'active' as const, sender: s.instance.sender, messagingServiceSid: null, twilioAccountSid: s.instance.twilioAccountSid, authToken: 'x' };
    const sid = fakeSid('SM');
    assert.equal(status.handle(wh, { MessageSid: sid, MessageStatus: 'delivered' }), 'held');
    assert.equal(status.handle(wh, { MessageSid: sid, MessageStatus: 'sent' }), 'held');
    s.messages.recordSent('org_a', part.id, { twilioSid: sid, status: 'queued' });
    delivery.settleEarly('org_a', s.instance.id, part.id, sid);
    assert.equal(s.messages.get('org_a', part.id)?.status, 'delivered');
    assert.equal(status.handle(wh, { MessageSid: sid, MessageStatus: 'read' }), 'updated');
    assert.equal(status.handle(wh, { MessageSid: sid, MessageStatus: 'read' }), 'unchanged');
    assert.throws(() => status.handle(wh, { MessageSid: sid, MessageStatus: ['read', 'sent'] }), /MessageStatus/);
    assert.throws(() => status.handle(wh, { MessageSid: 'SM1', MessageStatus: 'read' }), /MessageSid/);
  });
});

describe('buildConversation', () => {
  it('keeps sent answers, drops unsent and failed ones and everything after the message, and honours the limit', () => {
    const s = setup();
    const a = s.inbound('first');
    const [sent] = s.reply(a, ['answer one']);
    s.messages.recordSent('org_a', sent.id, { twilioSid: fakeSid('SM'), status: 'queued' });
    const b = s.inbound('second');
    const [failed] = s.reply(b, ['never arrived']);
    s.messages.markFailed('org_a', failed.id, 63016);
    const c = s.inbound('third', b.createdAt); // same millisecond as b
    const d = s.inbound('later');
    const history = s.messages.conversation('org_a', s.instance.id, s.ref, { limit: 50, until: c.createdAt });
    const conv = buildConversation(s.instance, history, c, 20);
    assert.deepEqual(conv.map((m) => [m.role, m.content]), [
      ['system', 'Be brief.'], ['user', 'first'], ['assistant', 'answer one'], ['user', 'second'], ['user', 'third'],
    ]);
    assert.deepEqual(buildConversation(s.instance, history, c, 2).map((m) => m.content), ['Be brief.', 'second', 'third']);
    const noPrompt = { ...s.instance, systemPrompt: '  ' };
    assert.deepEqual(buildConversation(noPrompt, [d], d, 20), [{ role: 'user', content: 'later' }]);
  });
});

describe('sendPartOnce', () => {
  it('reconciles an attempted part, skipping look-alikes whose SID another part already owns', async () => {
    await using fake = await startFakeTwilio();
    const s = setup(fake);
    const client = createTwilioClient({ accountSid: fake.accountSid, authToken: fake.authToken, apiBaseUrl: fake.origin, timeoutMs: 2000 });
    const base = { instance: s.instance, client, messages: s.messages, to: `whatsapp:${PHONE}`, statusCallback: 'https://pb.example.com/s', signal: new AbortController().signal };
    // Two identical answers; the first is sent and recorded.
    const [p1] = s.reply(s.inbound('hi'), ['Hello!']);
    const first = await sendPartOnce({ ...base, part: p1 });
    assert.equal(first.kind, 'sent');
    // The second was attempted but its outcome is unknown, and Twilio never got it.
    const [p2] = s.reply(s.inbound('hi'), ['Hello!']);
    s.messages.markSendAttempt('org_a', p2.id, Date.now());
    const second = await sendPartOnce({ ...base, part: s.messages.get('org_a', p2.id)! });
    assert.equal(second.kind, 'sent');
    assert.equal(second.kind === 'sent' && second.reconciled, false, 'the look-alike belongs to the first part');
    assert.equal(fake.messages.length, 2);
    // A third: Twilio created it, but the answer was lost.
    const [p3] = s.reply(s.inbound('hi'), ['Hello!']);
    fake.failNext({ match: 'create', afterCreate: true, status: 502 });
    const lost = await sendPartOnce({ ...base, part: p3 });
    assert.equal(lost.kind, 'failed');
    assert.equal(lost.kind === 'failed' && lost.permanent, false);
    const found = await sendPartOnce({ ...base, part: s.messages.get('org_a', p3.id)! });
    assert.equal(found.kind === 'sent' && found.reconciled, true);
    assert.equal(fake.messages.length, 3);
    assert.equal((await sendPartOnce({ ...base, part: s.messages.get('org_a', p3.id)! })).kind, 'already_sent');

    // When the list call itself fails, the outcome stays unknown: it throws rather than sending.
    const [p4] = s.reply(s.inbound('hi'), ['Hello again']);
    s.messages.markSendAttempt('org_a', p4.id, Date.now());
    fake.failNext({ match: 'list', status: 500 });
    await assert.rejects(sendPartOnce({ ...base, part: s.messages.get('org_a', p4.id)! }));
    assert.equal(fake.messages.length, 3);
    // An aborted signal stops before Twilio is called.
    const aborted = AbortSignal.abort();
    await assert.rejects(sendPartOnce({ ...base, signal: aborted, part: s.messages.get('org_a', p4.id)! }), /aborted/);
    assert.equal(fake.messages.length, 3);
  });
});

describe('instances.hasAny (whether the WhatsApp plugin is offered)', () => {
  it('follows creates and deletes here and by another connection', () => {
    const file = `${tempDir()}/pb.db`;
    const db = openDb({ file });
    migrate(db);
    db.prepare('INSERT INTO organizations (id, name, created_at) VALUES (?, ?, 0)').run('org_a', 'A');
    const box = createSecretBox(crypto.randomBytes(32));
    const repo = createWhatsAppInstancesRepo(db, box);
    assert.equal(repo.hasAny('org_a'), false);
    const inst = repo.create('org_a', { name: 'S', sender: 'whatsapp:+14155550100', twilioAccountSid: 'AC' + 'a'.repeat(32), twilioAuthToken: 'token-0123456789', model: 'm' });
    assert.equal(repo.hasAny('org_a'), true);
    assert.equal(repo.hasAny('org_b'), false);
    const other = openDb({ file });
    other.prepare('DELETE FROM whatsapp_instances WHERE id = ?').run(inst.id);
    other.close();
    assert.equal(repo.hasAny('org_a'), false, 'a delete by another connection counts');
    repo.create('org_a', { name: 'T', sender: 'whatsapp:+14155550101', twilioAccountSid: 'AC' + 'a'.repeat(32), twilioAuthToken: 'token-0123456789', model: 'm' });
    assert.equal(repo.hasAny('org_a'), true);
    db.close();
  });
});
