/**
 * A toolkit's own worker on the shared job table (the Payments toolkit's shape, shared by the
 * Escalations and Scheduling toolkits): claims only its handlers' kinds, under a claim-token prefix
 * derived from the appliance's, so the WhatsApp channel's start (and this one's) hands back jobs a
 * killed process left running. Must never claim before `start()`.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import { JobWorker, type JobHandler, type WorkerEvent } from '../../jobs/worker.ts';

export interface ToolkitWorkerSettings {
  enabled: boolean;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  /** Stable per appliance (the WhatsApp channel's `applianceWorkerPrefix`). */
  idPrefix: string;
}

export interface ToolkitWorker {
  wake(): void;
  start(): void;
  stop(deadlineMs: number): Promise<void>;
}

export function createToolkitWorker(name: string, deps: { queue: JobQueue; log: Logger; handlers: Record<string, JobHandler>; settings: ToolkitWorkerSettings }): ToolkitWorker {
  const w = deps.settings;
  const prefix = `${w.idPrefix}${name}:`;
  const worker = w.enabled
    ? new JobWorker({
        queue: deps.queue, handlers: deps.handlers, concurrency: w.concurrency, pollMs: w.pollMs, leaseMs: w.leaseMs,
        workerId: `${prefix}${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`,
        onEvent: (e) => logEvent(deps.log, name, e),
      })
    : null;
  let started = false;
  let stopping: Promise<void> | null = null;
  return {
    wake: () => worker?.wake(),
    start() {
      if (!worker || started) return;
      started = true;
      const recovered = deps.queue.recoverAbandoned(prefix);
      if (recovered > 0) deps.log.warn({ recovered, worker: name }, 'jobs abandoned by a previous process handed back to the queue');
      worker.start();
    },
    stop(deadlineMs) {
      stopping ??= (async () => {
        if (!worker || !started) return;
        const { drained, released } = await worker.stop(deadlineMs);
        if (drained || released) deps.log.info({ drained, released, worker: name }, 'toolkit worker stopped');
      })();
      return stopping;
    },
  };
}

function logEvent(log: Logger, name: string, e: WorkerEvent): void {
  const job = 'job' in e && e.job ? { jobId: e.job.id, kind: e.job.kind, attempts: e.job.attempts } : {};
  if (e.type === 'retry') log.warn({ ...job, error: e.error }, `${name} job failed; retrying later`);
  else if (e.type === 'dead') log.error({ ...job, error: e.error }, `${name} job dead-lettered`);
  else if (e.type === 'lease_lost') log.warn(job, `${name} job lease lost`);
  else if (e.type === 'error') log.error({ ...job, err: { message: String((e.error as Error)?.message ?? e.error).slice(0, 300) } }, `${name} worker error`);
  else log.debug(job, `${name} job ${e.type}`);
}
