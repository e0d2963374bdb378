/**
 * Review finding: an operator's reply to a pending escalation is sent first and only then takes
 * the escalation (assigned), so a queue timeout that fell due while the reply was with Twilio
 * expired it in between: the customer got the person's answer AND "nobody is available", and the
 * conversation went back to the bot. The timeout now waits while a reply is being sent; afterwards
 * the escalation is assigned and the timeout does nothing.
 *
 * The toolkit is built here on a real database and job queue, with a WhatsApp `sendToCustomer`
 * whose answer the test releases by hand (the race needs the send to be in flight).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createJobQueue, type Job } from '../../src/jobs/queue.ts';
import { JobError } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/log.ts';
import { createEscalationsToolkit, ESCALATION_JOBS, type EscalationsToolkitDeps } from '../../src/toolkits/escalations/index.ts';
import type { SendToCustomer, SendToCustomerResult } from '../../src/toolkits/whatsapp/index.ts';

test('a queue timeout that falls due while an operator reply is being sent waits for it; the customer never gets both', async () => {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  const orgId = 'org-race';
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'x', 0)").run(orgId);
  let clock = Date.UTC(2026, 0, 1, 12, 0, 0);
  const now = () => clock;
  const queue = createJobQueue(db, { now });
  const sent: string[] = [];
  const gate: { release: (() => void) | null } = { release: null };
  const sendToCustomer: SendToCustomer = async (input) => {
    const text = input.message.text ?? '';
    if (input.idempotencyKey.includes(':reply:')) await new Promise<void>((r) => { gate.release = r; });
    sent.push(text);
    return { kind: 'sent', sids: ['SM1'], usedTemplate: false, duplicate: false } as unknown as SendToCustomerResult;
  };
  const deps: EscalationsToolkitDeps = {
    db, queue, now,
    grants: { pluginIds: () => [] } as unknown as EscalationsToolkitDeps['grants'],
    log: createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    whatsapp: {
      hasInstance: () => true,
      customers: { get: () => ({ phoneMasked: '+1 ••• 00' }) } as unknown as EscalationsToolkitDeps['whatsapp']['customers'],
      messages: { idempotentParts: () => [{ id: 'msg_reply_1' }] } as unknown as EscalationsToolkitDeps['whatsapp']['messages'],
      sendToCustomer,
    },
    worker: { enabled: false, concurrency: 1, pollMs: 1000, leaseMs: 30_000, idPrefix: 'test:' },
  };
  const esc = createEscalationsToolkit(deps);
  const e = esc.open({ orgId, instanceId: 'wa_1', customerRef: `wcr_${'a'.repeat(22)}`, reason: 'Needs a person', summary: '', priority: 'normal', userId: 'usr_owner' }, 'req_open');
  assert.equal(e.status, 'pending');

  // The operator replies; the send is in flight when the queue timeout falls due.
  const reply = esc.reply(e, 'usr_owner', { text: 'A person here', clientMessageId: 'c1' }, 'req_reply');
  await new Promise((r) => setImmediate(r));
  assert.ok(gate.release, 'the reply is being sent');
  clock = e.timeoutAt! + 5_000;
  const job = { id: 1, orgId, kind: ESCALATION_JOBS.timeout, payload: { escalationId: e.id }, attempts: 1 } as unknown as Job;
  const ctx = { signal: new AbortController().signal, heartbeat: () => true };
  let waited: unknown = null;
  try {
    await esc.handlers[ESCALATION_JOBS.timeout](job, ctx);
  } catch (err) {
    waited = err;
  }
  assert.ok(waited instanceof JobError && waited.retryable, `the timeout waits (retryable), got ${String(waited)}`);
  assert.equal(esc.store.get(orgId, e.id)!.status, 'pending', 'not expired while the reply is being sent');

  gate.release!();
  const out = await reply;
  assert.equal(out.escalation.status, 'assigned');
  // The timeout's retry finds a person on it: nothing happens.
  await esc.handlers[ESCALATION_JOBS.timeout](job, ctx);
  assert.equal(esc.store.get(orgId, e.id)!.status, 'assigned');
  assert.deepEqual(sent, ['A person here'], 'only the person\'s reply reached the customer');
  db.close();
});
