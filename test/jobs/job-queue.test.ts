/**
 * The durable job queue on a real SQLite file: dedupe, atomic claims across connections (worker
 * threads), leases and their expiry, backoff, dead letter and requeue per organisation, release,
 * concurrency keys, crash recovery and durability across reopen. Time is a fake clock.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CLAIM_SQL, createJobQueue, retryDelayMs, type JobQueueOptions } from '../../src/jobs/queue.ts';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';

const LEASE = 1_000;

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-jobs-')), 'plugboard.db');
}

function setup(file = ':memory:', opts: JobQueueOptions = {}) {
  const db = openDb({ file });
  migrate(db);
  const insert = db.prepare('INSERT OR IGNORE INTO organizations (id, name, created_at) VALUES (?, ?, 0)');
  insert.run('org_a', 'A');
  insert.run('org_b', 'B');
  const clock = { t: 1_000_000 };
  const queue = createJobQueue(db, { now: () => clock.t, random: () => 0.5, ...opts });
  return { db, queue, clock };
}

const job = (dedupeKey: string, extra: Record<string, unknown> = {}) => ({
  orgId: 'org_a', kind: 'reply', dedupeKey, payload: { n: dedupeKey }, ...extra,
});

describe('job queue: enqueue', () => {
  it('dedupes on (org, dedupe_key): the second enqueue is a no-op returning the first id', () => {
    const { queue } = setup();
    const first = queue.enqueue(job('SM1'));
    const second = queue.enqueue({ ...job('SM1'), payload: { other: true } });
    assert.deepEqual(first, { id: first.id, created: true });
    assert.deepEqual(second, { id: first.id, created: false });
    assert.deepEqual(queue.get('org_a', first.id)?.payload, { n: 'SM1' });
    // Another tenant with the same key gets its own job: keys never cross organisations.
    assert.equal(queue.enqueue({ ...job('SM1'), orgId: 'org_b' }).created, true);
  });

  it('dedupes even after the first job finished, and rolls back with the caller transaction', () => {
    const { db, queue } = setup();
    const { id } = queue.enqueue(job('SM2'));
    const c = queue.claim({ workerId: 'w', leaseMs: LEASE })!;
    assert.equal(queue.complete(c.id, 'w'), true);
    assert.deepEqual(queue.enqueue(job('SM2')), { id, created: false });
    assert.throws(() => db.transaction(() => {
      queue.enqueue(job('SM3'));
      throw new Error('webhook insert failed');
    })());
    assert.equal(queue.enqueue(job('SM3')).created, true, 'the rolled-back enqueue left nothing behind');
  });
});

describe('job queue: claim', () => {
  it('claims due jobs in run_at order, marks them running with a lease, and skips future ones', () => {
    const { queue, clock } = setup();
    queue.enqueue(job('later', { runAt: clock.t + 5_000 }));
    const a = queue.enqueue(job('a'));
    const c = queue.claim({ workerId: 'w1', leaseMs: LEASE })!;
    assert.equal(c.id, a.id);
    assert.equal(c.status, 'running');
    assert.equal(c.attempts, 1);
    assert.equal(c.lockedBy, 'w1');
    assert.equal(c.leaseUntil, clock.t + LEASE);
    assert.deepEqual(c.payload, { n: 'a' });
    assert.equal(queue.claim({ workerId: 'w1', leaseMs: LEASE }), null, 'the later job is not due');
    assert.equal(queue.complete(c.id, 'w1'), true);
    clock.t += 5_000;
    assert.equal(queue.claim({ workerId: 'w1', leaseMs: LEASE })?.dedupeKey, 'later');
  });

  it('filters by kind', () => {
    const { queue } = setup();
    queue.enqueue({ ...job('x'), kind: 'other' });
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE, kinds: ['reply'] }), null);
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE, kinds: [] }), null);
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE, kinds: ['reply', 'other'] })?.kind, 'other');
  });

  it('reclaims a running job whose lease expired; the old owner can no longer touch it', () => {
    const { queue, clock } = setup();
    const { id } = queue.enqueue(job('lease'));
    queue.claim({ workerId: 'old', leaseMs: LEASE });
    clock.t += LEASE - 1;
    assert.equal(queue.claim({ workerId: 'new', leaseMs: LEASE }), null, 'lease still live');
    clock.t += 1;
    const again = queue.claim({ workerId: 'new', leaseMs: LEASE })!;
    assert.equal(again.id, id);
    assert.equal(again.attempts, 2, 'the crashed attempt counts');
    assert.equal(queue.heartbeat(id, 'old', LEASE), false);
    assert.equal(queue.complete(id, 'old'), false);
    assert.equal(queue.fail(id, 'old', { retryable: true, error: 'x' }), null);
    assert.equal(queue.release(id, 'old'), false);
    assert.equal(queue.complete(id, 'new'), true);
  });

  it('heartbeat extends the lease so nobody else claims the job', () => {
    const { queue, clock } = setup();
    const { id } = queue.enqueue(job('hb'));
    queue.claim({ workerId: 'w1', leaseMs: LEASE });
    clock.t += 900;
    assert.equal(queue.heartbeat(id, 'w1', LEASE), true);
    clock.t += 900;
    assert.equal(queue.claim({ workerId: 'w2', leaseMs: LEASE }), null);
    assert.equal(queue.get('org_a', id)?.leaseUntil, clock.t - 900 + LEASE);
  });

  it('dead-letters a job whose lease expired on its last attempt instead of claiming it again', () => {
    const { queue, clock } = setup();
    const { id } = queue.enqueue(job('poison', { maxAttempts: 2 }));
    queue.claim({ workerId: 'w1', leaseMs: LEASE });
    clock.t += LEASE;
    assert.equal(queue.claim({ workerId: 'w2', leaseMs: LEASE })?.attempts, 2);
    clock.t += LEASE;
    assert.equal(queue.claim({ workerId: 'w3', leaseMs: LEASE }), null);
    const dead = queue.get('org_a', id)!;
    assert.equal(dead.status, 'dead');
    assert.match(dead.lastError ?? '', /Lease expired on the last attempt/);
  });

  it('never runs two jobs with the same concurrency key at once, without blocking other keys', () => {
    const { queue, clock } = setup();
    const a1 = queue.enqueue(job('a1', { concurrencyKey: 'inst:alice' }));
    const a2 = queue.enqueue(job('a2', { concurrencyKey: 'inst:alice' }));
    const b1 = queue.enqueue(job('b1', { concurrencyKey: 'inst:bob' }));
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE })?.id, a1.id);
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE })?.id, b1.id, 'alice is busy, bob is not');
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE }), null, 'a2 waits for a1');
    assert.equal(queue.complete(a1.id, 'w'), true);
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE })?.id, a2.id);
    // When a1-like work crashes (lease expires), the key frees up again.
    clock.t += LEASE;
    const again = queue.claim({ workerId: 'w2', leaseMs: LEASE })!;
    assert.ok([a2.id, b1.id].includes(again.id));
  });

  it('two connections claiming concurrently (worker threads) never get the same job', async () => {
    const file = tempFile();
    const { db, queue } = setup(file, { now: Date.now });
    const N = 1500;
    db.transaction(() => {
      for (let i = 0; i < N; i++) queue.enqueue(job(`race-${i}`));
    })();
    const claimer = new URL('./claim-worker.ts', import.meta.url);
    const names = ['t1', 't2', 't3'];
    // A start barrier, so thread start-up skew does not let one thread drain the queue alone.
    const barrier = new Int32Array(new SharedArrayBuffer(4));
    const results = await Promise.all(
      names.map(
        (name) =>
          new Promise<number[]>((resolve, reject) => {
            const w = new Worker(claimer, { workerData: { file, name, max: N, barrier, parties: names.length } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    const all = results.flat();
    assert.equal(all.length, N, `claimed ${results.map((r) => r.length).join('+')}`);
    assert.equal(new Set(all).size, N, 'no job was claimed twice');
    assert.ok(results.filter((r) => r.length > 0).length >= 2, 'the claimers really competed');
    db.close();
  });

  it('keeps the claim on its indexes (EXPLAIN QUERY PLAN)', () => {
    const { db } = setup();
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${CLAIM_SQL}`).all({ now: 1, leaseUntil: 2, workerId: 'w', kinds: null }) as Array<{ detail: string }>)
      .map((r) => r.detail)
      .join('\n');
    assert.match(plan, /SEARCH j USING INDEX jobs_due \(status=\? AND run_at<\?\)/);
    assert.match(plan, /SEARCH j USING INDEX jobs_lease \(status=\? AND lease_until<\?\)/);
    assert.match(plan, /SEARCH r USING INDEX jobs_(lease|concurrency)/);
    assert.doesNotMatch(plan, /SCAN (j|r|jobs)\b/);
  });
});

describe('job queue: retries, dead letter, release', () => {
  it('backs off exponentially with equal jitter up to the cap', () => {
    const b = { baseMs: 1_000, capMs: 30_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, b, () => 0.999999)), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.deepEqual([1, 2, 3, 6].map((n) => retryDelayMs(n, b, () => 0)), [500, 1000, 2000, 15000]);
    assert.equal(retryDelayMs(1_000, b, () => 1), 30_000, 'huge attempt counts do not overflow');
  });

  it('re-queues a retryable failure at now + backoff and keeps the error', () => {
    const { queue, clock } = setup(':memory:', { backoff: { baseMs: 1_000, capMs: 60_000 }, random: () => 0.5 });
    const { id } = queue.enqueue(job('retry', { maxAttempts: 5 }));
    const runAts: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const c = queue.claim({ workerId: 'w', leaseMs: LEASE })!;
      assert.equal(c.attempts, attempt);
      assert.equal(queue.fail(id, 'w', { retryable: true, error: `boom ${attempt}` }), 'queued');
      const j = queue.get('org_a', id)!;
      assert.equal(j.status, 'queued');
      assert.equal(j.lastError, `boom ${attempt}`);
      assert.equal(j.lockedBy, null);
      runAts.push(j.runAt - clock.t);
      assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE }), null, 'not before run_at');
      clock.t = j.runAt;
    }
    assert.deepEqual(runAts, [750, 1500, 3000], '0.75 × base·2^(n−1)');
  });

  it('honours a longer delay requested by the caller (Retry-After)', () => {
    const { queue, clock } = setup();
    const { id } = queue.enqueue(job('ra'));
    queue.claim({ workerId: 'w', leaseMs: LEASE });
    queue.fail(id, 'w', { retryable: true, error: '429', delayMs: 45_000 });
    assert.equal(queue.get('org_a', id)!.runAt, clock.t + 45_000);
  });

  it('dead-letters after max attempts or at once when permanent; operators requeue per org', () => {
    const { queue, clock } = setup();
    const tired = queue.enqueue(job('tired', { maxAttempts: 2 }));
    for (let i = 0; i < 2; i++) {
      queue.claim({ workerId: 'w', leaseMs: LEASE });
      const outcome = queue.fail(tired.id, 'w', { retryable: true, error: 'Twilio 500' });
      assert.equal(outcome, i === 0 ? 'queued' : 'dead');
      clock.t += 60 * 60_000;
    }
    const perm = queue.enqueue(job('perm'));
    queue.claim({ workerId: 'w', leaseMs: LEASE });
    assert.equal(queue.fail(perm.id, 'w', { retryable: false, error: 'Twilio 21211' }), 'dead');

    const dead = queue.listDead('org_a');
    assert.deepEqual(dead.map((j) => j.dedupeKey).sort(), ['perm', 'tired']);
    assert.match(dead.find((j) => j.dedupeKey === 'tired')!.lastError!, /Gave up after 2 attempts: Twilio 500/);
    assert.equal(dead.find((j) => j.dedupeKey === 'perm')!.lastError, 'Twilio 21211');
    assert.deepEqual(queue.listDead('org_b'), [], 'another organisation sees nothing');
    assert.equal(queue.get('org_b', perm.id), null);
    assert.equal(queue.requeue('org_b', perm.id), false);
    assert.deepEqual(queue.stats('org_a'), { queued: 0, running: 0, done: 0, dead: 2, oldestQueuedRunAt: null });

    assert.equal(queue.requeue('org_a', perm.id), true);
    const back = queue.get('org_a', perm.id)!;
    assert.equal(back.status, 'queued');
    assert.equal(back.attempts, 0);
    assert.equal(queue.claim({ workerId: 'w', leaseMs: LEASE })?.id, perm.id);
    assert.equal(queue.requeue('org_a', perm.id), false, 'only dead jobs can be requeued');
  });

  it('release hands the job back at once without counting the attempt', () => {
    const { queue } = setup();
    const { id } = queue.enqueue(job('rel'));
    queue.claim({ workerId: 'w', leaseMs: LEASE });
    assert.equal(queue.release(id, 'someone-else'), false);
    assert.equal(queue.release(id, 'w'), true);
    const j = queue.get('org_a', id)!;
    assert.equal(j.status, 'queued');
    assert.equal(j.attempts, 0);
    assert.equal(queue.claim({ workerId: 'w2', leaseMs: LEASE })?.attempts, 1);
  });

  it('purges done jobs older than a cut-off', () => {
    const { queue, clock } = setup();
    const { id } = queue.enqueue(job('old'));
    queue.claim({ workerId: 'w', leaseMs: LEASE });
    queue.complete(id, 'w');
    queue.enqueue(job('open'));
    assert.equal(queue.purgeDone(clock.t), 0);
    assert.equal(queue.purgeDone(clock.t + 1), 1);
    assert.equal(queue.stats('org_a').queued, 1);
  });
});

describe('job queue: durability', () => {
  it('survives closing and reopening the database file, including a crashed claim', () => {
    const file = tempFile();
    const first = setup(file);
    const queued = first.queue.enqueue(job('q'));
    const crashed = first.queue.enqueue(job('crashed'));
    assert.equal(first.queue.claim({ workerId: 'dead-process', leaseMs: LEASE })?.id, queued.id);
    first.db.close();

    const second = setup(file);
    second.clock.t = first.clock.t;
    assert.equal(second.queue.get('org_a', queued.id)?.status, 'running');
    assert.equal(second.queue.claim({ workerId: 'restarted', leaseMs: LEASE })?.id, crashed.id);
    second.clock.t += LEASE;
    const recovered = second.queue.claim({ workerId: 'restarted', leaseMs: LEASE })!;
    assert.equal(recovered.id, queued.id);
    assert.equal(recovered.attempts, 2);
    assert.deepEqual(second.queue.enqueue(job('q')), { id: queued.id, created: false });
    second.db.close();
  });

  it('recovers jobs abandoned by a killed previous process at once, leaving other owners alone', () => {
    const { queue } = setup();
    const mine = queue.enqueue(job('mine'));
    const last = queue.enqueue(job('last', { maxAttempts: 1 }));
    const theirs = queue.enqueue(job('theirs'));
    queue.claim({ workerId: 'boot-1:w#1', leaseMs: 60_000 });
    queue.claim({ workerId: 'boot-1:w#2', leaseMs: 60_000 });
    queue.claim({ workerId: 'other-host:w#1', leaseMs: 60_000 });
    assert.equal(queue.recoverAbandoned('boot-1_'), 0, 'the prefix matches literally (no LIKE wildcards)');
    assert.equal(queue.recoverAbandoned('boot-1:'), 2);
    assert.deepEqual([queue.get('org_a', mine.id)?.status, queue.get('org_a', mine.id)?.attempts], ['queued', 1]);
    assert.equal(queue.get('org_a', last.id)?.status, 'dead', 'its only attempt was used up');
    assert.match(queue.get('org_a', last.id)?.lastError ?? '', /Abandoned by a previous process/);
    assert.equal(queue.get('org_a', theirs.id)?.status, 'running');
    assert.equal(queue.claim({ workerId: 'boot-2:w#1', leaseMs: 60_000 })?.id, mine.id);
  });
});
