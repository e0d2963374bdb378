/**
 * JobWorker: runs queued jobs with bounded concurrency, renews leases while handlers run, and on
 * stop drains within a deadline and releases what is left.
 *
 * Each claim gets its own token (`<workerId>#<n>`), so even this process cannot confuse two
 * claims of the same job (e.g. one that outlived its lease). A handler error with
 * `retryable: false` dead-letters the job; any other error retries with backoff. Must never
 * hold a transaction across an await (the queue's calls are synchronous) and never swallow
 * errors silently: everything is reported through `onEvent`.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Job, JobQueue } from './queue.ts';

/** What a handler gets besides the job. */
export interface JobContext {
  /** Aborted when the lease is lost or the worker stops past its deadline. */
  signal: AbortSignal;
  /** Renews the lease now (it is also renewed periodically); false when the job is no longer ours. */
  heartbeat(): boolean;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

/** Throw this (or any error with `retryable: false`) for a permanent failure. */
export class JobError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, opts: { retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'JobError';
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export type WorkerEvent =
  | { type: 'claimed' | 'completed' | 'released'; job: Job }
  | { type: 'retry' | 'dead'; job: Job; error: string }
  | { type: 'lease_lost'; job: Job }
  | { type: 'error'; error: unknown; job?: Job };

export interface JobWorkerOptions {
  queue: JobQueue;
  /** One handler per job kind; only these kinds are claimed. */
  handlers: Record<string, JobHandler>;
  concurrency?: number;
  /** Idle poll interval. */
  pollMs?: number;
  leaseMs?: number;
  /** Lease renewal interval; default a third of leaseMs. */
  heartbeatMs?: number;
  workerId?: string;
  onEvent?: (event: WorkerEvent) => void;
}

interface Slot {
  job: Job;
  token: string;
  controller: AbortController;
  done: Promise<void>;
  heartbeatTimer: NodeJS.Timeout | undefined;
  /** Set once the job was handed back at shutdown: the handler's outcome no longer counts. */
  released: boolean;
}

/** Runs jobs from a queue. Lifecycle: `start()` once, `stop(deadlineMs)` once. */
export class JobWorker {
  readonly workerId: string;
  readonly #queue: JobQueue;
  readonly #handlers: Record<string, JobHandler>;
  readonly #kinds: string[];
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #onEvent: (event: WorkerEvent) => void;
  readonly #slots = new Set<Slot>();
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #claims = 0;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: JobWorkerOptions) {
    this.#queue = options.queue;
    this.#handlers = { ...options.handlers };
    this.#kinds = Object.keys(this.#handlers);
    this.#concurrency = positive(options.concurrency ?? 2, 'concurrency');
    this.#pollMs = positive(options.pollMs ?? 500, 'pollMs');
    this.#leaseMs = positive(options.leaseMs ?? 60_000, 'leaseMs');
    this.#heartbeatMs = positive(options.heartbeatMs ?? Math.max(1, Math.floor(this.#leaseMs / 3)), 'heartbeatMs');
    this.workerId = options.workerId ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** Jobs being handled right now. */
  get inFlight(): number {
    return this.#slots.size;
  }

  /** Lifecycle state (readiness reports it): new, running, stopping, stopped. */
  get state(): 'new' | 'running' | 'stopping' | 'stopped' {
    return this.#state;
  }

  /** Jobs handled at once at most. */
  get concurrency(): number {
    return this.#concurrency;
  }

  start(): void {
    if (this.#state !== 'new') throw new Error('JobWorker.start() may only be called once.');
    this.#state = 'running';
    this.#loop = this.#run();
  }

  /** Claims again now instead of at the next poll (call after enqueueing). */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Stops claiming, waits up to `deadlineMs` for running handlers, then aborts the rest and
   * releases their jobs back to the queue without counting the attempt.
   */
  async stop(deadlineMs: number): Promise<{ drained: number; released: number }> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return { drained: 0, released: 0 };
    }
    if (this.#state !== 'running') throw new Error('JobWorker.stop() may only be called once.');
    this.#state = 'stopping';
    this.wake();
    await this.#loop;
    const atStop = this.#slots.size;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#slots].map((s) => s.done)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadlineMs)))),
    ]);
    clearTimeout(timer);
    let released = 0;
    for (const slot of this.#slots) {
      slot.released = true;
      // A hung handler never reaches its `finally`: stop renewing its lease here.
      clearInterval(slot.heartbeatTimer);
      slot.controller.abort(new Error('The worker is shutting down.'));
      try {
        if (this.#queue.release(slot.job.id, slot.token)) {
          released++;
          this.#onEvent({ type: 'released', job: slot.job });
        }
      } catch (error) {
        this.#onEvent({ type: 'error', error, job: slot.job });
      }
    }
    this.#state = 'stopped';
    return { drained: atStop - this.#slots.size, released };
  }

  async #run(): Promise<void> {
    // Runs until stop(); each round claims at most `concurrency` jobs, then sleeps until a slot
    // frees, wake() is called, or pollMs passes.
    while (this.#state === 'running') {
      while (this.#state === 'running' && this.#slots.size < this.#concurrency) {
        let job: Job | null;
        try {
          job = this.#queue.claim({ workerId: `${this.workerId}#${++this.#claims}`, leaseMs: this.#leaseMs, kinds: this.#kinds });
        } catch (error) {
          this.#onEvent({ type: 'error', error });
          break;
        }
        if (!job) break;
        this.#startJob(job);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#pollMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  #startJob(job: Job): void {
    const token = job.lockedBy as string;
    const controller = new AbortController();
    const slot: Slot = { job, token, controller, done: Promise.resolve(), heartbeatTimer: undefined, released: false };
    const heartbeat = (): boolean => {
      if (slot.released) return false;
      const ok = this.#queue.heartbeat(job.id, token, this.#leaseMs);
      if (!ok && !controller.signal.aborted) {
        this.#onEvent({ type: 'lease_lost', job });
        controller.abort(new Error('The job lease was lost.'));
      }
      return ok;
    };
    slot.heartbeatTimer = setInterval(() => {
      try {
        heartbeat();
      } catch (error) {
        this.#onEvent({ type: 'error', error, job });
      }
    }, this.#heartbeatMs);
    this.#slots.add(slot);
    this.#onEvent({ type: 'claimed', job });
    slot.done = (async () => {
      try {
        const handler = this.#handlers[job.kind];
        if (!handler) throw new JobError(`No handler for job kind ${job.kind}.`, { retryable: false });
        await handler(job, { signal: controller.signal, heartbeat });
        if (slot.released) return;
        if (this.#queue.complete(job.id, token)) this.#onEvent({ type: 'completed', job });
        else this.#onEvent({ type: 'lease_lost', job });
      } catch (err) {
        if (slot.released) return;
        this.#settleFailure(job, token, err);
      } finally {
        clearInterval(slot.heartbeatTimer);
        this.#slots.delete(slot);
        this.wake();
      }
    })();
  }

  #settleFailure(job: Job, token: string, err: unknown): void {
    const e = err as { retryable?: unknown; retryAfterMs?: unknown; message?: unknown } | null;
    const retryable = e?.retryable !== false;
    const error = typeof e?.message === 'string' && e.message ? e.message : String(err);
    const delayMs = typeof e?.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
    try {
      const outcome = this.#queue.fail(job.id, token, { retryable, error, ...(delayMs !== undefined && { delayMs }) });
      if (outcome === null) this.#onEvent({ type: 'lease_lost', job });
      else this.#onEvent({ type: outcome === 'dead' ? 'dead' : 'retry', job, error });
    } catch (error) {
      this.#onEvent({ type: 'error', error, job });
    }
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer.`);
  return n;
}
