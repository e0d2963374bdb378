/**
 * WhatsApp tables and repositories: migration 0003, sealed secrets bound to their rows, tenant
 * scoping (including composite foreign keys, and the grants table's subject trigger), inbound dedupe, write-once reply intents and
 * forward-only statuses.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { customerRef, maskPhone } from '../../src/toolkits/whatsapp/customer-ref.ts';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createWhatsAppCustomersRepo } from '../../src/storage/repos/whatsapp-customers.ts';
import { createGrantsRepo, whatsappInstanceSubject as sub } from '../../src/storage/repos/grants.ts';
import { createWhatsAppInstancesRepo } from '../../src/storage/repos/whatsapp-instances.ts';
import { createWhatsAppMessagesRepo } from '../../src/storage/repos/whatsapp-messages.ts';
import { createSecretBox } from '../../src/storage/secret-box.ts';

const TOKEN = 'twilio-auth-token-0123456789abcdef';
const PHONE = '+14155550123';
const hex = () => crypto.randomBytes(16).toString('hex');

function setup() {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  for (const id of ['org_a', 'org_b']) db.prepare('INSERT INTO organizations (id, name, created_at) VALUES (?, ?, 0)').run(id, id);
  const box = createSecretBox(crypto.randomBytes(32));
  const refKey = crypto.randomBytes(32);
  const repos = {
    instances: createWhatsAppInstancesRepo(db, box),
    grants: createGrantsRepo(db),
    customers: createWhatsAppCustomersRepo(db, box),
    messages: createWhatsAppMessagesRepo(db),
  };
  let senders = 0;
  const instance = (orgId = 'org_a', name = 'Support') =>
    repos.instances.create(orgId, {
      name, sender: `whatsapp:+1415555${String(1000 + ++senders)}`,
      twilioAccountSid: 'AC' + hex(), twilioAuthToken: TOKEN, model: 'gpt-4o-mini', systemPrompt: 'Be brief.',
    });
  const customer = (orgId: string, instanceId: string, phone = PHONE, at = 1_000) => {
    const ref = customerRef(refKey, orgId, phone);
    repos.customers.recordInbound({ orgId, instanceId, customerRef: ref, phoneE164: phone, phoneMasked: maskPhone(phone), at });
    return ref;
  };
  return { db, box, ...repos, instance, customer };
}

describe('migration 0003', () => {
  it('applies cleanly, keeps foreign keys consistent, and is a no-op the second time', () => {
    const { db } = setup();
    assert.ok((db.pragma('user_version', { simple: true }) as number) >= 3);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.deepEqual(migrate(db).applied, []);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
    // Migration 0005 replaced whatsapp_grants by the general grants table.
    for (const t of ['jobs', 'whatsapp_instances', 'grants', 'whatsapp_customers', 'whatsapp_messages']) {
      assert.ok(tables.includes(t), t);
      const cols = (db.prepare(`PRAGMA table_info(${t})`).all() as Array<{ name: string }>).map((c) => c.name);
      assert.ok(cols.includes('org_id'), `${t} carries org_id`);
    }
  });
});

describe('whatsapp instances', () => {
  it('seals the auth token (bound to its row) and never returns it from get/list', () => {
    const { db, box, instances, instance } = setup();
    const inst = instance();
    assert.equal(JSON.stringify(instances.get('org_a', inst.id)).includes(TOKEN), false);
    assert.equal(JSON.stringify(instances.list('org_a')).includes(TOKEN), false);
    const sealed = (db.prepare('SELECT twilio_auth_token_sealed AS s FROM whatsapp_instances WHERE id = ?').get(inst.id) as { s: string }).s;
    assert.ok(!sealed.includes(TOKEN));
    assert.deepEqual(instances.credentials('org_a', inst.id), { accountSid: inst.twilioAccountSid, authToken: TOKEN });
    // Copied onto another instance's row, the ciphertext no longer opens.
    const other = instance('org_a', 'Billing');
    db.prepare('UPDATE whatsapp_instances SET twilio_auth_token_sealed = ? WHERE id = ?').run(sealed, other.id);
    assert.throws(() => instances.credentials('org_a', other.id), /failed authentication/);
    assert.ok(box.kid);
  });

  it('is scoped by organisation, except the webhook lookup by id', () => {
    const { instances, instance } = setup();
    const inst = instance();
    assert.equal(instances.get('org_b', inst.id), null);
    assert.equal(instances.credentials('org_b', inst.id), null);
    assert.equal(instances.update('org_b', inst.id, { name: 'x' }), null);
    assert.equal(instances.setStatus('org_b', inst.id, 'paused'), false);
    assert.equal(instances.delete('org_b', inst.id), false);
    assert.deepEqual(instances.list('org_b'), []);
    const hook = instances.findForWebhook(inst.id)!;
    assert.deepEqual({ orgId: hook.orgId, status: hook.status, token: hook.authToken }, { orgId: 'org_a', status: 'active', token: TOKEN });
    assert.equal(instances.findForWebhook(crypto.randomUUID()), null);
  });

  it('updates fields, re-seals a new token, pauses, and enforces unique names and senders per org', () => {
    const { instances, instance } = setup();
    const inst = instance();
    const updated = instances.update('org_a', inst.id, { systemPrompt: 'New prompt', twilioAuthToken: 'rotated-token', loopCap: 4 })!;
    assert.deepEqual([updated.systemPrompt, updated.loopCap, updated.name], ['New prompt', 4, 'Support']);
    assert.equal(instances.credentials('org_a', inst.id)?.authToken, 'rotated-token');
    assert.equal(instances.setStatus('org_a', inst.id, 'paused'), true);
    assert.equal(instances.findForWebhook(inst.id)?.status, 'paused');
    assert.throws(() => instance('org_a', 'Support'), /UNIQUE/);
    assert.throws(() => instances.create('org_a', { ...inst, name: 'Dup sender', twilioAuthToken: TOKEN }), /UNIQUE/);
    assert.ok(instance('org_b', 'Support'), 'the same name is fine in another org');
    assert.throws(() => instances.create('org_a', { name: 'x', sender: '+14155550100', twilioAccountSid: 'AC' + hex(), twilioAuthToken: 't', model: 'm' }), /whatsapp:\+E164/);
    assert.throws(() => instances.update('org_a', inst.id, { loopCap: 0 }), RangeError);
  });
});

describe('whatsapp grants', () => {
  it('grants idempotently, only for the same org, and disappear with the instance or installation', () => {
    const { db, grants, instances, instance } = setup();
    const inst = instance();
    assert.deepEqual(grants.grant('org_a', sub(inst.id), 'first_party:whatsapp'), { created: true });
    assert.deepEqual(grants.grant('org_a', sub(inst.id), 'first_party:whatsapp'), { created: false });
    assert.equal(grants.grant('org_b', sub(inst.id), 'first_party:whatsapp'), null, 'not across organisations');
    db.prepare(`INSERT INTO plugin_installations (id, org_id, kind, slug, display_name, created_at, updated_at)
      VALUES ('inst-crm', 'org_a', 'mcp', 'crm', 'CRM', 0, 0)`).run();
    grants.grant('org_a', sub(inst.id), 'inst-crm');
    assert.deepEqual(grants.pluginIds('org_a', sub(inst.id)).sort(), ['first_party:whatsapp', 'inst-crm']);
    assert.deepEqual(grants.pluginIds('org_b', sub(inst.id)), []);
    db.prepare("DELETE FROM plugin_installations WHERE id = 'inst-crm'").run();
    assert.deepEqual(grants.pluginIds('org_a', sub(inst.id)), ['first_party:whatsapp'], 'trigger dropped the grant');
    assert.equal(grants.revoke('org_a', sub(inst.id), 'first_party:whatsapp'), true);
    grants.grant('org_a', sub(inst.id), 'first_party:whatsapp');
    instances.delete('org_a', inst.id);
    assert.deepEqual(grants.listForOrg('org_a'), []);
  });

  it('cannot be inserted with a mismatched org even by raw SQL (subject trigger)', () => {
    const { db, instance } = setup();
    const inst = instance();
    assert.throws(
      () => db.prepare("INSERT INTO grants (org_id, subject_type, subject_id, plugin_id, created_at) VALUES ('org_b', 'whatsapp_instance', ?, 'p', 0)").run(inst.id),
      /not a whatsapp instance of this organization/,
    );
    db.prepare("INSERT INTO grants (org_id, subject_type, subject_id, plugin_id, created_at) VALUES ('org_a', 'whatsapp_instance', ?, 'p', 0)").run(inst.id);
    assert.throws(() => db.prepare("UPDATE grants SET org_id = 'org_b' WHERE subject_id = ?").run(inst.id), /not a whatsapp instance of this organization/);
  });
});

describe('whatsapp customers', () => {
  it('stores the phone sealed and masked, and moves last_inbound_at only forward', () => {
    const { db, customers, instance, customer } = setup();
    const inst = instance();
    const ref = customer('org_a', inst.id, PHONE, 5_000);
    const again = customers.recordInbound({ orgId: 'org_a', instanceId: inst.id, customerRef: ref, phoneE164: PHONE, phoneMasked: maskPhone(PHONE), at: 4_000 });
    assert.equal(again.created, false);
    assert.equal(again.customer.lastInboundAt, 5_000, 'a late webhook does not move the window back');
    customer('org_a', inst.id, PHONE, 9_000);
    assert.equal(customers.get('org_a', inst.id, ref)?.lastInboundAt, 9_000);
    assert.equal(customers.get('org_a', inst.id, ref)?.phoneMasked, '+1415•••0123');
    assert.equal(customers.phone('org_a', inst.id, ref), PHONE);
    assert.equal(customers.phone('org_b', inst.id, ref), null);
    const raw = JSON.stringify(db.prepare('SELECT * FROM whatsapp_customers').all());
    assert.doesNotMatch(raw, /4155550123/, 'the number is never stored in clear');
    assert.throws(() => customer('org_b', inst.id), /FOREIGN KEY/, 'cannot attach a customer to another org\'s instance');
  });
});

describe('whatsapp messages', () => {
  it('dedupes inbound messages by MessageSid per instance', () => {
    const { messages, instance, customer } = setup();
    const a = instance();
    const b = instance('org_b');
    const refA = customer('org_a', a.id);
    const refB = customer('org_b', b.id);
    const sid = 'SM' + hex();
    const first = messages.insertInbound({ orgId: 'org_a', instanceId: a.id, customerRef: refA, twilioSid: sid, body: 'Hola', media: [], at: 1 });
    const dup = messages.insertInbound({ orgId: 'org_a', instanceId: a.id, customerRef: refA, twilioSid: sid, body: 'Hola (retry)', media: [], at: 2 });
    assert.equal(first.created, true);
    assert.deepEqual([dup.created, dup.message.id, dup.message.body], [false, first.message.id, 'Hola']);
    // A SID claimed in another tenant's instance does not shadow this one.
    assert.equal(messages.insertInbound({ orgId: 'org_b', instanceId: b.id, customerRef: refB, twilioSid: sid, body: 'x', media: [], at: 3 }).created, true);
    assert.equal(messages.get('org_b', first.message.id), null);
  });

  it('records reply intents once (first answer wins) and sends each part at most once', () => {
    const { db, messages, instance, customer } = setup();
    const inst = instance();
    const ref = customer('org_a', inst.id);
    const inbound = messages.insertInbound({ orgId: 'org_a', instanceId: inst.id, customerRef: ref, twilioSid: 'SM' + hex(), body: 'Q', media: [], at: 10 }).message;
    const base = { orgId: 'org_a', instanceId: inst.id, customerRef: ref, replyToMessageId: inbound.id, at: 20 };
    const parts = messages.recordIntents({ ...base, parts: [{ body: 'part one' }, { body: 'part two' }] });
    assert.deepEqual(parts.map((p) => [p.partIndex, p.body, p.status, p.twilioSid, p.intentRecordedAt]), [[0, 'part one', 'pending', null, 20], [1, 'part two', 'pending', null, 20]]);
    const rerun = messages.recordIntents({ ...base, parts: [{ body: 'a different answer after a crash' }], at: 30 });
    assert.deepEqual(rerun.map((p) => p.id), parts.map((p) => p.id));
    assert.throws(
      () => db.prepare(`INSERT INTO whatsapp_messages (id, org_id, instance_id, customer_ref, direction, status, reply_to_message_id, part_index, created_at, updated_at)
        VALUES ('dup', 'org_a', ?, ?, 'out', 'pending', ?, 0, 0, 0)`).run(inst.id, ref, inbound.id),
      /UNIQUE/,
      'the database itself refuses a second part 0',
    );
    assert.equal(messages.markSendAttempt('org_a', parts[0].id, 25), true);
    assert.equal(messages.replyParts('org_a', inbound.id)[0].sendAttemptedAt, 25);
    const sid = 'SM' + hex();
    assert.equal(messages.recordSent('org_a', parts[0].id, { twilioSid: sid, status: 'queued' }, 26), true);
    assert.equal(messages.recordSent('org_a', parts[0].id, { twilioSid: 'SM' + hex(), status: 'queued' }, 27), false);
    assert.equal(messages.markSendAttempt('org_a', parts[0].id, 28), false, 'a sent part is never attempted again');
    assert.equal(messages.markFailed('org_a', parts[1].id, 63016), true);
    assert.deepEqual(messages.replyParts('org_a', inbound.id).map((p) => [p.status, p.twilioSid, p.errorCode]), [['queued', sid, null], ['failed', null, 63016]]);
    assert.throws(() => messages.recordIntents({ ...base, replyToMessageId: parts[0].id, parts: [{ body: 'x' }] }), /inbound message/);
  });

  it('dedupes idempotent sends by key, per instance', () => {
    const { messages, instance, customer } = setup();
    const inst = instance();
    const ref = customer('org_a', inst.id);
    const base = { orgId: 'org_a', instanceId: inst.id, customerRef: ref, idempotencyKey: 'tool-call-1', at: 1 };
    const first = messages.recordIntents({ ...base, parts: [{ contentSid: 'HX' + hex(), contentVariables: '{"1":"Ana"}' }] });
    assert.deepEqual(messages.recordIntents({ ...base, parts: [{ body: 'other' }] }).map((m) => m.id), first.map((m) => m.id));
    assert.deepEqual(messages.idempotentParts('org_a', inst.id, 'tool-call-1').map((m) => m.contentVariables), ['{"1":"Ana"}']);
  });

  it('moves status only forward; failures are terminal; callbacks find the row by SID', () => {
    const { messages, instance, customer } = setup();
    const inst = instance();
    const ref = customer('org_a', inst.id);
    const [out] = messages.recordIntents({ orgId: 'org_a', instanceId: inst.id, customerRef: ref, idempotencyKey: 'k', parts: [{ body: 'hi' }], at: 1 });
    assert.equal(messages.advanceStatus('org_a', out.id, 'sent'), false, 'no status before a SID is recorded');
    const sid = 'SM' + hex();
    messages.recordSent('org_a', out.id, { twilioSid: sid, status: 'queued' });
    assert.deepEqual(messages.findForStatusCallback(sid), [{ id: out.id, orgId: 'org_a', instanceId: inst.id }]);
    const steps: Array<[string, boolean]> = [
      ['sending', true], ['queued', false], ['sent', true], ['sent', false], ['delivered', true], ['sent', false],
      ['undelivered', false], ['read', true], ['delivered', false], ['receiving', false], ['failed', false],
    ];
    for (const [status, moved] of steps) assert.equal(messages.advanceStatus('org_a', out.id, status), moved, status);
    assert.equal(messages.get('org_a', out.id)?.status, 'read');

    const [other] = messages.recordIntents({ orgId: 'org_a', instanceId: inst.id, customerRef: ref, idempotencyKey: 'k2', parts: [{ body: 'x' }], at: 2 });
    messages.recordSent('org_a', other.id, { twilioSid: 'SM' + hex(), status: 'queued' });
    assert.equal(messages.advanceStatus('org_a', other.id, 'sent'), true);
    assert.equal(messages.advanceStatus('org_a', other.id, 'undelivered', 63024), true);
    assert.equal(messages.advanceStatus('org_a', other.id, 'delivered'), false, 'terminal');
    assert.equal(messages.advanceStatus('org_b', other.id, 'failed'), false, 'not across organisations');
    assert.deepEqual([messages.get('org_a', other.id)?.status, messages.get('org_a', other.id)?.errorCode], ['undelivered', 63024]);
  });

  it('returns the last N messages of a conversation in order', () => {
    const { messages, instance, customer } = setup();
    const inst = instance();
    const ref = customer('org_a', inst.id);
    for (let i = 0; i < 5; i++) {
      messages.insertInbound({ orgId: 'org_a', instanceId: inst.id, customerRef: ref, twilioSid: 'SM' + hex(), body: `m${i}`, media: [], at: 100 + i });
    }
    assert.deepEqual(messages.conversation('org_a', inst.id, ref, { limit: 3 }).map((m) => m.body), ['m2', 'm3', 'm4']);
    assert.deepEqual(messages.conversation('org_a', inst.id, ref, { limit: 2, until: 102 }).map((m) => m.body), ['m1', 'm2']);
    assert.deepEqual(messages.conversation('org_b', inst.id, ref), []);
  });
});
