/**
 * JobWorker lifecycle against a real queue: bounded concurrency, retry vs. permanent failure,
 * lease renewal and loss, graceful stop (drain within the deadline, release the rest), per-key
 * exclusivity and wake-up. Every wait is bounded by WAIT_LIMIT_MS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createJobQueue, type Job, type JobQueue } from '../../src/jobs/queue.ts';
import { JobError, JobWorker, type JobHandler, type WorkerEvent } from '../../src/jobs/worker.ts';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';

/** Upper bound for waiting on the worker in these tests. */
const WAIT_LIMIT_MS = 5_000;

function setup() {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'A', 0)").run();
  const queue = createJobQueue(db, { backoff: { baseMs: 10, capMs: 20 }, random: () => 0 });
  const add = (key: string, extra: Record<string, unknown> = {}) =>
    queue.enqueue({ orgId: 'org_a', kind: 'reply', dedupeKey: key, payload: { key }, ...extra }).id;
  return { db, queue, add };
}

function startWorker(queue: JobQueue, handler: JobHandler, opts: Partial<ConstructorParameters<typeof JobWorker>[0]> = {}) {
  const events: WorkerEvent[] = [];
  const worker = new JobWorker({
    queue, handlers: { reply: handler }, concurrency: 2, pollMs: 10, leaseMs: 2_000, onEvent: (e) => events.push(e), ...opts,
  });
  worker.start();
  return { worker, events };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(5);
  }
}

describe('JobWorker', () => {
  it('runs every job once, never more than `concurrency` at a time', async () => {
    const { queue, add } = setup();
    const ids = Array.from({ length: 9 }, (_, i) => add(`j${i}`));
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    const { worker } = startWorker(queue, async (job) => {
      active++;
      peak = Math.max(peak, active);
      seen.push(job.id);
      await sleep(15);
      active--;
    }, { concurrency: 3 });
    await until(() => queue.stats('org_a').done === ids.length, 'all jobs done');
    assert.deepEqual(await worker.stop(1_000), { drained: 0, released: 0 });
    assert.deepEqual([...seen].sort((a, b) => a - b), ids);
    assert.equal(peak, 3);
  });

  it('retries a failing job with backoff and dead-letters a permanent failure', async () => {
    const { queue, add } = setup();
    const flaky = add('flaky');
    const doomed = add('doomed');
    const attempts = new Map<number, number>();
    const { worker, events } = startWorker(queue, async (job) => {
      const n = (attempts.get(job.id) ?? 0) + 1;
      attempts.set(job.id, n);
      if (job.id === doomed) throw new JobError('Twilio 21211: invalid To', { retryable: false });
      if (n < 3) throw Object.assign(new Error(`Twilio 500 (try ${n})`), { retryable: true });
    });
    await until(() => queue.get('org_a', flaky)?.status === 'done' && queue.get('org_a', doomed)?.status === 'dead', 'settled');
    await worker.stop(1_000);
    assert.equal(attempts.get(flaky), 3);
    assert.equal(attempts.get(doomed), 1, 'a permanent error is not retried');
    assert.equal(queue.get('org_a', doomed)?.lastError, 'Twilio 21211: invalid To');
    const ids = (type: WorkerEvent['type']) => events.flatMap((e) => (e.type === type && e.job ? [e.job.id] : []));
    assert.deepEqual(ids('retry'), [flaky, flaky]);
    assert.deepEqual(ids('dead'), [doomed]);
  });

  it('keeps renewing the lease while a handler runs longer than the lease', async () => {
    const { queue, add } = setup();
    const id = add('slow');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { worker } = startWorker(queue, () => gate, { leaseMs: 150, heartbeatMs: 20 });
    await until(() => queue.get('org_a', id)?.status === 'running', 'claimed');
    await sleep(450); // three leases' worth
    assert.equal(queue.claim({ workerId: 'intruder', leaseMs: 60 }), null, 'the lease is still live');
    release();
    await until(() => queue.get('org_a', id)?.status === 'done', 'done');
    await worker.stop(1_000);
  });

  it('aborts the handler when the lease is lost to another owner, and does not complete the job', async () => {
    const { db, queue, add } = setup();
    const id = add('stolen');
    let aborted: unknown;
    const { worker, events } = startWorker(queue, (_job, { signal }) => new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => {
        aborted = signal.reason;
        resolve();
      });
    }), { leaseMs: 100, heartbeatMs: 10 });
    await until(() => queue.get('org_a', id)?.status === 'running', 'claimed');
    db.prepare("UPDATE jobs SET locked_by = 'other-worker' WHERE id = ?").run(id);
    await until(() => aborted !== undefined, 'abort');
    await worker.stop(1_000);
    assert.match(String((aborted as Error).message), /lease was lost/);
    assert.equal(queue.get('org_a', id)?.lockedBy, 'other-worker');
    assert.equal(queue.get('org_a', id)?.status, 'running', 'the new owner still has it');
    assert.ok(events.some((e) => e.type === 'lease_lost'));
  });

  it('stop() lets in-flight jobs finish within the deadline and claims nothing new', async () => {
    const { queue, add } = setup();
    const first = add('a');
    const { worker } = startWorker(queue, () => sleep(60), { concurrency: 1 });
    await until(() => queue.get('org_a', first)?.status === 'running', 'claimed');
    const later = add('b');
    const result = await worker.stop(2_000);
    assert.deepEqual(result, { drained: 1, released: 0 });
    assert.equal(queue.get('org_a', first)?.status, 'done');
    assert.equal(queue.get('org_a', later)?.status, 'queued', 'nothing claimed after stop()');
  });

  it('stop() releases what is still running at the deadline, without counting the attempt', async () => {
    const { queue, add } = setup();
    const id = add('stuck');
    let signal: AbortSignal | undefined;
    const { worker, events } = startWorker(queue, (_job, ctx) => {
      signal = ctx.signal;
      return new Promise<void>(() => {}); // never settles: simulates a hung Twilio call
    });
    await until(() => signal !== undefined, 'claimed');
    const started = Date.now();
    assert.deepEqual(await worker.stop(50), { drained: 0, released: 1 });
    assert.ok(Date.now() - started < 1_000, 'stop() honours its deadline');
    assert.equal(signal!.aborted, true);
    const j = queue.get('org_a', id)!;
    assert.equal(j.status, 'queued');
    assert.equal(j.attempts, 0);
    assert.ok(events.some((e) => e.type === 'released' && e.job.id === id));
  });

  it('never runs two jobs of one concurrency key at once', async () => {
    const { queue, add } = setup();
    for (let i = 0; i < 6; i++) add(`k${i}`, { concurrencyKey: i % 2 ? 'inst:alice' : 'inst:bob' });
    const running = new Map<string, number>();
    let overlap = false;
    const { worker } = startWorker(queue, async (job: Job) => {
      const key = job.concurrencyKey!;
      running.set(key, (running.get(key) ?? 0) + 1);
      if (running.get(key)! > 1) overlap = true;
      await sleep(10);
      running.set(key, running.get(key)! - 1);
    }, { concurrency: 4 });
    await until(() => queue.stats('org_a').done === 6, 'all done');
    await worker.stop(1_000);
    assert.equal(overlap, false);
  });

  it('wake() claims at once instead of waiting for the next poll', async () => {
    const { queue, add } = setup();
    const done: number[] = [];
    const { worker } = startWorker(queue, async (job) => void done.push(job.id), { pollMs: 60_000 });
    await sleep(20);
    const id = add('now');
    worker.wake();
    await until(() => done.includes(id), 'woken job');
    await worker.stop(1_000);
  });
});
