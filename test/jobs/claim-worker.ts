/**
 * Worker-thread body for the claim-race test: opens its own connection to the queue file, waits at
 * a shared barrier, then claims until the queue is empty and reports the ids it got. Never
 * completes or fails a job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { openDb } from '../../src/storage/db.ts';

const { file, name, max, barrier, parties } = workerData as {
  file: string; name: string; max: number; barrier: Int32Array; parties: number;
};
const BARRIER_WAIT_ROUNDS = 100; // × 50 ms: give up waiting for the others after 5 s
const db = openDb({ file });
const queue = createJobQueue(db);
Atomics.add(barrier, 0, 1);
Atomics.notify(barrier, 0);
for (let i = 0; i < BARRIER_WAIT_ROUNDS; i++) {
  const seen = Atomics.load(barrier, 0);
  if (seen >= parties) break;
  Atomics.wait(barrier, 0, seen, 50);
}
const ids: number[] = [];
// Bounded by the number of jobs in the file: each round claims one or stops.
for (let i = 0; i < max; i++) {
  const job = queue.claim({ workerId: `${name}#${i}`, leaseMs: 60_000 });
  if (!job) break;
  ids.push(job.id);
}
db.close();
parentPort?.postMessage(ids);
