/**
 * Durable job queue on SQLite: dedupe on enqueue, atomic claim with a lease, heartbeat, retries
 * with exponential backoff and jitter, a dead-letter state, and release on graceful shutdown.
 *
 * Every state change is one synchronous statement or one `.immediate()` transaction, so several
 * processes can share the file. Ownership ops (heartbeat, complete, fail, release) only act on a
 * running job still locked by the caller's token, so a worker that lost its lease can never
 * overwrite the job's new owner. Must never await inside a transaction, never call the network,
 * and never show one organisation's jobs to another (operator reads take orgId).
 * The worker (worker.ts) builds on this module; this module never imports it (no cycle).
 */
import type { Db } from '../storage/db.ts';
import { NO_SECRETS, type Redactor } from '../storage/known-secrets.ts';

export const JobStatus = { queued: 'queued', running: 'running', done: 'done', dead: 'dead' } as const;
export type JobStatusValue = (typeof JobStatus)[keyof typeof JobStatus];

/** Defaults; `createJobQueue` options override them. */
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_BACKOFF = { baseMs: 2_000, capMs: 5 * 60_000 } as const;
/** Longest wait a caller's `delayMs` (e.g. Retry-After) may ask for. */
const MAX_DELAY_MS = 60 * 60_000;
const MAX_ERROR_CHARS = 1000;
const MAX_LIST = 500;

export interface Job<P = unknown> {
  id: number;
  orgId: string;
  kind: string;
  dedupeKey: string;
  concurrencyKey: string | null;
  payload: P;
  status: JobStatusValue;
  /** Claims so far, including the current one while running. */
  attempts: number;
  maxAttempts: number;
  runAt: number;
  leaseUntil: number | null;
  /** The claim token of the current (or last) owner. */
  lockedBy: string | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EnqueueInput {
  orgId: string;
  kind: string;
  /** Second enqueue with the same (orgId, dedupeKey) is a no-op, whatever state the first is in. */
  dedupeKey: string;
  payload: unknown;
  runAt?: number;
  maxAttempts?: number;
  /** Jobs sharing this key never run at the same time. */
  concurrencyKey?: string | null;
}

export interface ClaimInput {
  /** Claim token; must be unique per claim attempt owner (JobWorker makes one per claim). */
  workerId: string;
  leaseMs: number;
  /** Only these kinds; all kinds when absent. */
  kinds?: readonly string[];
}

export interface FailInput {
  retryable: boolean;
  /** Stored as last_error and shown to operators: must be safe (no secrets). */
  error: string;
  /** Wait at least this long before the retry (e.g. Twilio's Retry-After). */
  delayMs?: number;
}

export interface JobStats {
  queued: number;
  running: number;
  done: number;
  dead: number;
  /** run_at of the oldest queued job, or null. */
  oldestQueuedRunAt: number | null;
}

export interface JobQueue {
  /** Safe inside a caller's transaction: plain statements, no transaction of its own. */
  enqueue(input: EnqueueInput): { id: number; created: boolean };
  /** Claims the next due job (or one whose lease expired), or null. */
  claim(input: ClaimInput): Job | null;
  heartbeat(id: number, workerId: string, leaseMs: number): boolean;
  complete(id: number, workerId: string): boolean;
  /** Re-queues with backoff or dead-letters; null when the caller no longer owns the job. */
  fail(id: number, workerId: string, input: FailInput): 'queued' | 'dead' | null;
  /** Back to queued at once without counting the attempt (graceful shutdown). */
  release(id: number, workerId: string): boolean;
  get(orgId: string, id: number): Job | null;
  listDead(orgId: string, opts?: { limit?: number; kind?: string }): Job[];
  /** An organisation's jobs in one state (all states when absent), most recently updated first. */
  list(orgId: string, opts?: { status?: JobStatusValue; limit?: number; kind?: string }): Job[];
  /** Moves a dead job back to queued with a fresh attempt budget. */
  requeue(orgId: string, id: number): boolean;
  stats(orgId: string): JobStats;
  /**
   * At start-up: hands back every job still running under a claim token starting with
   * `lockedByPrefix` (a previous, killed process of this appliance), without waiting for the
   * lease. The abandoned attempt counts; exhausted jobs go dead. Returns how many were recovered.
   */
  recoverAbandoned(lockedByPrefix: string): number;
  /** Deletes finished (done) jobs last updated before `before`; returns how many. */
  purgeDone(before: number): number;
}

export interface JobQueueOptions {
  now?: () => number;
  /** In [0, 1); jitter source, injectable for tests. */
  random?: () => number;
  backoff?: { baseMs?: number; capMs?: number };
  defaultMaxAttempts?: number;
  /** Removes known secrets from every error before it is stored as last_error (operators and members read it). */
  secrets?: Redactor;
}

/**
 * Delay before retrying after attempt `attempt` (1-based) failed: min(cap, base·2^(attempt−1)),
 * with "equal jitter" (uniform in [½, 1] of that) so a burst of failures does not retry in step.
 */
export function retryDelayMs(attempt: number, backoff: { baseMs: number; capMs: number }, random: () => number): number {
  const exp = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

interface JobRow {
  id: number;
  org_id: string;
  kind: string;
  dedupe_key: string;
  concurrency_key: string | null;
  payload: string;
  status: JobStatusValue;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    orgId: r.org_id,
    kind: r.kind,
    dedupeKey: r.dedupe_key,
    concurrencyKey: r.concurrency_key,
    payload: JSON.parse(r.payload) as unknown,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    runAt: r.run_at,
    leaseUntil: r.lease_until,
    lockedBy: r.locked_by,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The claim: one statement, so the pick and the lock cannot be split by another claimer. */
export const CLAIM_SQL = `
UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = @leaseUntil, locked_by = @workerId, updated_at = @now
WHERE id = (
  SELECT j.id FROM jobs j
  WHERE ((j.status = 'queued' AND j.run_at <= @now) OR (j.status = 'running' AND j.lease_until <= @now))
    AND (@kinds IS NULL OR j.kind IN (SELECT value FROM json_each(@kinds)))
    AND (j.concurrency_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM jobs r
      WHERE r.concurrency_key = j.concurrency_key AND r.status = 'running' AND r.lease_until > @now AND r.id <> j.id))
  ORDER BY j.run_at, j.id
  LIMIT 1)
RETURNING *`;

/** Builds the queue over a migrated database (table `jobs`, migration 0003). */
export function createJobQueue(db: Db, options: JobQueueOptions = {}): JobQueue {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const defaultMaxAttempts = options.defaultMaxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const secrets = options.secrets ?? NO_SECRETS;

  const insert = db.prepare(`
    INSERT INTO jobs (org_id, kind, dedupe_key, concurrency_key, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
    VALUES (@orgId, @kind, @dedupeKey, @concurrencyKey, @payload, 'queued', 0, @maxAttempts, @runAt, @now, @now)
    ON CONFLICT (org_id, dedupe_key) DO NOTHING
    RETURNING id`);
  const findByKey = db.prepare('SELECT id FROM jobs WHERE org_id = ? AND dedupe_key = ?');
  // A job whose lease ran out on its last allowed attempt crashed or hung every time: dead-letter
  // it instead of claiming it forever (a poison message must not take the worker down in a loop).
  const buryExhausted = db.prepare(`
    UPDATE jobs SET status = 'dead', lease_until = NULL,
      last_error = 'Lease expired on the last attempt (the worker crashed or hung). ' || COALESCE(last_error, ''), updated_at = @now
    WHERE status = 'running' AND lease_until <= @now AND attempts >= max_attempts`);
  const claimStmt = db.prepare(CLAIM_SQL);
  const owned = db.prepare("SELECT * FROM jobs WHERE id = ? AND status = 'running' AND locked_by = ?");
  const heartbeatStmt = db.prepare(
    "UPDATE jobs SET lease_until = @leaseUntil, updated_at = @now WHERE id = @id AND status = 'running' AND locked_by = @workerId",
  );
  const completeStmt = db.prepare(
    "UPDATE jobs SET status = 'done', lease_until = NULL, updated_at = @now WHERE id = @id AND status = 'running' AND locked_by = @workerId",
  );
  const retryStmt = db.prepare(`
    UPDATE jobs SET status = 'queued', run_at = @runAt, lease_until = NULL, locked_by = NULL, last_error = @error, updated_at = @now
    WHERE id = @id AND status = 'running' AND locked_by = @workerId`);
  const buryStmt = db.prepare(`
    UPDATE jobs SET status = 'dead', lease_until = NULL, last_error = @error, updated_at = @now
    WHERE id = @id AND status = 'running' AND locked_by = @workerId`);
  const releaseStmt = db.prepare(`
    UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), run_at = @now, lease_until = NULL, locked_by = NULL, updated_at = @now
    WHERE id = @id AND status = 'running' AND locked_by = @workerId`);
  const getStmt = db.prepare('SELECT * FROM jobs WHERE org_id = ? AND id = ?');
  const deadStmt = db.prepare(`
    SELECT * FROM jobs WHERE org_id = @orgId AND status = 'dead' AND (@kind IS NULL OR kind = @kind)
    ORDER BY updated_at DESC, id DESC LIMIT @limit`);
  const listStmt = db.prepare(`
    SELECT * FROM jobs WHERE org_id = @orgId AND (@status IS NULL OR status = @status) AND (@kind IS NULL OR kind = @kind)
    ORDER BY updated_at DESC, id DESC LIMIT @limit`);
  const requeueStmt = db.prepare(`
    UPDATE jobs SET status = 'queued', attempts = 0, run_at = @now, lease_until = NULL, locked_by = NULL, updated_at = @now
    WHERE org_id = @orgId AND id = @id AND status = 'dead'`);
  const statsStmt = db.prepare('SELECT status, COUNT(*) AS n, MIN(run_at) AS oldest FROM jobs WHERE org_id = ? GROUP BY status');
  const purgeStmt = db.prepare("DELETE FROM jobs WHERE status = 'done' AND updated_at < ?");
  // substr() rather than LIKE: a prefix with % or _ must match literally.
  const recoverStmt = db.prepare(`
    UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
      run_at = @now, lease_until = NULL, locked_by = CASE WHEN attempts >= max_attempts THEN locked_by ELSE NULL END,
      last_error = 'Abandoned by a previous process (killed or crashed). ' || COALESCE(last_error, ''), updated_at = @now
    WHERE status = 'running' AND substr(locked_by, 1, length(@prefix)) = @prefix`);

  const claimTx = db.transaction((input: ClaimInput, at: number): Job | null => {
    buryExhausted.run({ now: at });
    const row = claimStmt.get({
      now: at,
      leaseUntil: at + input.leaseMs,
      workerId: input.workerId,
      kinds: input.kinds ? JSON.stringify(input.kinds) : null,
    }) as JobRow | undefined;
    return row ? toJob(row) : null;
  });

  const failTx = db.transaction((id: number, workerId: string, input: FailInput, at: number): 'queued' | 'dead' | null => {
    const row = owned.get(id, workerId) as JobRow | undefined;
    if (!row) return null;
    // Redacted before it is cut, so no half secret survives the cut.
    const error = secrets.redact(String(input.error)).slice(0, MAX_ERROR_CHARS);
    if (input.retryable && row.attempts < row.max_attempts) {
      const delay = Math.min(Math.max(retryDelayMs(row.attempts, backoff, random), input.delayMs ?? 0), MAX_DELAY_MS);
      retryStmt.run({ id, workerId, runAt: at + delay, error, now: at });
      return 'queued';
    }
    const why = input.retryable ? `Gave up after ${row.attempts} attempts: ${error}` : error;
    buryStmt.run({ id, workerId, error: why.slice(0, MAX_ERROR_CHARS), now: at });
    return 'dead';
  });

  return {
    enqueue(input) {
      if (!input.orgId || !input.kind || !input.dedupeKey) throw new TypeError('enqueue needs orgId, kind and dedupeKey.');
      const maxAttempts = input.maxAttempts ?? defaultMaxAttempts;
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) throw new RangeError('maxAttempts must be 1..100.');
      const at = now();
      const row = insert.get({
        orgId: input.orgId,
        kind: input.kind,
        dedupeKey: input.dedupeKey,
        concurrencyKey: input.concurrencyKey ?? null,
        payload: JSON.stringify(input.payload ?? null),
        maxAttempts,
        runAt: input.runAt ?? at,
        now: at,
      }) as { id: number } | undefined;
      if (row) return { id: row.id, created: true };
      const existing = findByKey.get(input.orgId, input.dedupeKey) as { id: number };
      return { id: existing.id, created: false };
    },
    claim(input) {
      if (!input.workerId) throw new TypeError('claim needs a workerId.');
      if (!Number.isInteger(input.leaseMs) || input.leaseMs <= 0) throw new RangeError('leaseMs must be a positive integer.');
      if (input.kinds && input.kinds.length === 0) return null;
      return claimTx.immediate(input, now());
    },
    heartbeat(id, workerId, leaseMs) {
      const at = now();
      return heartbeatStmt.run({ id, workerId, leaseUntil: at + leaseMs, now: at }).changes === 1;
    },
    complete(id, workerId) {
      return completeStmt.run({ id, workerId, now: now() }).changes === 1;
    },
    fail(id, workerId, input) {
      return failTx.immediate(id, workerId, input, now());
    },
    release(id, workerId) {
      return releaseStmt.run({ id, workerId, now: now() }).changes === 1;
    },
    get(orgId, id) {
      const row = getStmt.get(orgId, id) as JobRow | undefined;
      return row ? toJob(row) : null;
    },
    listDead(orgId, opts = {}) {
      const limit = Math.min(Math.max(1, opts.limit ?? 50), MAX_LIST);
      return (deadStmt.all({ orgId, kind: opts.kind ?? null, limit }) as JobRow[]).map(toJob);
    },
    list(orgId, opts = {}) {
      const limit = Math.min(Math.max(1, opts.limit ?? 50), MAX_LIST);
      return (listStmt.all({ orgId, status: opts.status ?? null, kind: opts.kind ?? null, limit }) as JobRow[]).map(toJob);
    },
    requeue(orgId, id) {
      return requeueStmt.run({ orgId, id, now: now() }).changes === 1;
    },
    stats(orgId) {
      const out: JobStats = { queued: 0, running: 0, done: 0, dead: 0, oldestQueuedRunAt: null };
      for (const r of statsStmt.all(orgId) as Array<{ status: JobStatusValue; n: number; oldest: number }>) {
        out[r.status] = r.n;
        if (r.status === 'queued') out.oldestQueuedRunAt = r.oldest;
      }
      return out;
    },
    recoverAbandoned(lockedByPrefix) {
      if (!lockedByPrefix) throw new TypeError('recoverAbandoned needs a non-empty prefix.');
      return recoverStmt.run({ prefix: lockedByPrefix, now: now() }).changes;
    },
    purgeDone(before) {
      return purgeStmt.run(before).changes;
    },
  };
}
