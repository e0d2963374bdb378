/**
 * The Payments toolkit's durable work on the shared job table, and the worker that runs it:
 * retrying a create, reconciling a payment (after a webhook, an operator action, or as the poll of
 * a pending payment, which re-enqueues itself until the payment is final or well past its expiry),
 * notifying the customer, and sending / reconciling refunds. Every handler is safe to run twice:
 * it re-reads the rows and acts only on what is still open. Jobs of one payment share a
 * concurrency key, so they never run at the same time.
 * Must never start claiming before `start()`, and never hold a transaction across an await.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../../log.ts';
import type { Job, JobQueue } from '../../jobs/queue.ts';
import { JobError, JobWorker, type JobHandler, type WorkerEvent } from '../../jobs/worker.ts';
import { PaymentProviderError } from './providers/index.ts';
import type { PaymentsCore } from './core.ts';
import type { Refunds } from './refunds.ts';
import type { PaymentStore } from './store.ts';
import { PAYMENT_JOBS, PaymentMismatch } from './errors.ts';

/** Polls stop this long after a payment's expiry (the provider has said `expired` by then). */
const POLL_GRACE_MS = 10 * 60_000;
/** Hard bound on the polls of one payment, whatever its expiry and the interval. */
const MAX_POLLS = 2_000;

export interface PaymentWorkerSettings {
  enabled: boolean;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  /** Stable per appliance: claim tokens start with it (see the WhatsApp channel's `applianceWorkerPrefix`). */
  idPrefix: string;
}

export interface PaymentJobsDeps {
  queue: JobQueue;
  store: PaymentStore;
  core: PaymentsCore;
  refunds: Refunds;
  notifyPaid: JobHandler;
  log: Logger;
  now: () => number;
  worker: PaymentWorkerSettings;
}

/** A provider or lookup failure as the queue understands it. */
function asJobError(err: unknown): unknown {
  if (err instanceof PaymentProviderError) return new JobError(err.message, { retryable: err.retryable });
  if (err instanceof PaymentMismatch) return new JobError(err.message, { retryable: false });
  if ((err as { status?: unknown })?.status !== undefined && (err as { status: number }).status < 500) {
    return new JobError(String((err as Error).message), { retryable: false });
  }
  return err;
}

const idOf = (job: Job, field: string): string => {
  const v = (job.payload as Record<string, unknown> | null)?.[field];
  if (typeof v !== 'string') throw new JobError(`Malformed ${job.kind} job payload.`, { retryable: false });
  return v;
};

export function createPaymentJobs(deps: PaymentJobsDeps) {
  const { store, core, refunds } = deps;
  const requestId = (job: Job): string => `job_${job.id}`;

  const handlers: Record<string, JobHandler> = {
    async [PAYMENT_JOBS.create](job) {
      const p = store.get(job.orgId, idOf(job, 'paymentId'));
      if (!p || p.status !== 'created') return;
      try {
        await core.start(p, requestId(job));
      } catch (err) {
        // A permanent refusal is recorded on the payment (failed) by start(); only "unknown" retries.
        const after = store.get(job.orgId, p.id);
        if (after && after.status !== 'created') return;
        throw new JobError(String((err as Error)?.message ?? err), { retryable: true });
      }
    },

    async [PAYMENT_JOBS.reconcile](job) {
      const p = store.get(job.orgId, idOf(job, 'paymentId'));
      if (!p) return;
      const poll = (job.payload as { poll?: unknown }).poll;
      let after = p;
      try {
        // Still `created` (a crash between the provider's answer and ours): resend the stored input; the provider replays it.
        after = p.status === 'created' ? await core.start(p, requestId(job)) : await core.reconcile(p, { requestId: requestId(job) });
      } catch (err) {
        // A poll that fails is simply followed by the next one; others retry.
        if (typeof poll !== 'number') throw asJobError(err);
        deps.log.warn({ paymentId: p.id, poll, err: { message: String((err as Error)?.message).slice(0, 300) } }, 'payment poll failed; polling again later');
      }
      if (typeof poll === 'number' && (after.status === 'pending' || after.status === 'created') && poll < MAX_POLLS && deps.now() < after.expiresAt + POLL_GRACE_MS) {
        core.enqueuePoll(after, poll + 1, deps.now());
      }
    },

    [PAYMENT_JOBS.notifyPaid]: deps.notifyPaid,

    async [PAYMENT_JOBS.refundSubmit](job) {
      const r = store.getRefund(job.orgId, idOf(job, 'refundId'));
      if (!r) return;
      try {
        await refunds.submit(r, requestId(job));
      } catch (err) {
        throw asJobError(err);
      }
    },

    async [PAYMENT_JOBS.refundReconcile](job) {
      const r = store.getRefund(job.orgId, idOf(job, 'refundId'));
      if (!r) return;
      try {
        await refunds.reconcile(r, requestId(job));
      } catch (err) {
        throw asJobError(err);
      }
    },
  };

  const w = deps.worker;
  const worker = w.enabled
    ? new JobWorker({
        queue: deps.queue, handlers, concurrency: w.concurrency, pollMs: w.pollMs, leaseMs: w.leaseMs,
        workerId: `${w.idPrefix}payments:${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`,
        onEvent: (e: WorkerEvent) => logEvent(deps.log, e),
      })
    : null;
  let started = false;
  let stopping: Promise<void> | null = null;

  return {
    handlers,
    worker,
    wake: (): void => worker?.wake(),
    /** After the WhatsApp channel's start (which hands back every job a killed process left running). */
    start(): void {
      if (!worker || started) return;
      started = true;
      const recovered = deps.queue.recoverAbandoned(`${w.idPrefix}payments:`);
      if (recovered > 0) deps.log.warn({ recovered }, 'payment jobs abandoned by a previous process handed back to the queue');
      worker.start();
    },
    stop(deadlineMs: number): Promise<void> {
      stopping ??= (async () => {
        if (!worker || !started) return;
        const { drained, released } = await worker.stop(deadlineMs);
        if (drained || released) deps.log.info({ drained, released }, 'payments worker stopped');
      })();
      return stopping;
    },
  };
}
export type PaymentJobs = ReturnType<typeof createPaymentJobs>;

function logEvent(log: Logger, e: WorkerEvent): void {
  const job = 'job' in e && e.job ? { jobId: e.job.id, kind: e.job.kind, attempts: e.job.attempts } : {};
  if (e.type === 'retry') log.warn({ ...job, error: e.error }, 'payment job failed; retrying later');
  else if (e.type === 'dead') log.error({ ...job, error: e.error }, 'payment job dead-lettered');
  else if (e.type === 'lease_lost') log.warn(job, 'payment job lease lost');
  else if (e.type === 'error') log.error({ ...job, err: { message: String((e.error as Error)?.message ?? e.error).slice(0, 300) } }, 'payments worker error');
  else log.debug(job, `payment job ${e.type}`);
}
