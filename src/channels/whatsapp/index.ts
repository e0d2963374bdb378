/**
 * The WhatsApp channel: the inbound side of WhatsApp over the toolkit (src/toolkits/whatsapp/) —
 * the inbound and status-callback use cases and the reply worker, whose lifecycle it owns. Built
 * AFTER the completion exists (it is passed in, never bound late); the toolkit, built before the
 * plugin runtime, brings the repositories, Twilio clients, sending and the plugin.
 *
 * `start()` first hands back jobs that a killed previous process of this appliance left running
 * (claim tokens carry a stable per-appliance prefix), so they run again at once instead of after
 * their lease; `stop()` stops claiming, lets running replies finish within the deadline and
 * releases the rest. Must never start work before `start()`, and never hold module-level state.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import { JobWorker, type WorkerEvent } from '../../jobs/worker.ts';
import type { InProcessRequest, InProcessResult } from '../../gateway/types.ts';
import type { TwilioClients } from '../../toolkits/whatsapp/outbound.ts';
import type { WhatsAppRepos, WhatsAppToolkit } from '../../toolkits/whatsapp/index.ts';
import { maskPhonesIn } from '../../toolkits/whatsapp/customer-ref.ts';
import { createInbound, type Inbound } from './inbound.ts';
import { createStatusCallbacks, type StatusCallbacks } from './status.ts';
import { createReplyHandler, replyRequestId, REPLY_JOB_KIND, type ReplyPayload, type ReplyWorkerDeps } from './reply-worker.ts';
import type { EventBus } from '../../usage/bus.ts';

export { WHATSAPP_PLUGIN_ID } from '../../toolkits/whatsapp/index.ts';
export type { WhatsAppRepos } from '../../toolkits/whatsapp/index.ts';
export { REPLY_JOB_KIND } from './reply-worker.ts';

/** Done jobs are kept this long for operators, then purged at the next start. */
const DONE_JOB_RETENTION_MS = 7 * 24 * 60 * 60_000;

/** How the channel's reply worker runs (from PLUGBOARD_WORKER_* settings). */
export interface WhatsAppWorkerSettings {
  enabled: boolean;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  /** Wait after Twilio's 429 before the job runs again. */
  rateLimitDelayMs: number;
  /** Stable per appliance (see `applianceWorkerPrefix`): claim tokens start with it. */
  idPrefix: string;
}

/** Everything the channel is built from; the composition root passes it in. */
export interface WhatsAppChannelDeps {
  /** The toolkit (repositories, Twilio clients, sending), built before the plugin runtime. */
  toolkit: WhatsAppToolkit;
  db: Db;
  queue: JobQueue;
  log: Logger;
  /** The gateway's in-process completion; called only when a reply job runs. */
  complete(request: InProcessRequest): Promise<InProcessResult>;
  /** Public origin Twilio calls (PLUGBOARD_PUBLIC_BASE_URL), without a trailing slash. */
  publicBaseUrl: string;
  historyMessages: number;
  worker: WhatsAppWorkerSettings;
  now?: () => number;
  /** Escalations' gate: conversations a person holds are not answered by the model (issue 12). */
  handoff?: ReplyWorkerDeps['handoff'];
  /** The live stream: a reply that fails (retrying or dead-lettered) shows there as `request_failed`. */
  bus?: EventBus;
}

/** The built channel: what app.ts wires into the routes and shutdown. */
export interface WhatsAppChannel {
  toolkit: WhatsAppToolkit;
  inbound: Inbound;
  status: StatusCallbacks;
  /** Null when PLUGBOARD_WORKER_ENABLED is false (jobs then wait in the queue). */
  worker: JobWorker | null;
  /** The toolkit's repositories and clients, for the control routes. */
  repos: WhatsAppRepos;
  clients: TwilioClients;
  /** The URL to paste into Twilio as the number's "A message comes in" webhook. */
  webhookUrl(instanceId: string): string;
  /** The StatusCallback sent with every outbound message. */
  statusCallbackUrl(instanceId: string): string;
  /** Claims again now (after an enqueue or a requeue). */
  wake(): void;
  start(): void;
  stop(deadlineMs: number): Promise<void>;
}

/**
 * The claim-token prefix of this appliance: derived from its database file, so a restarted
 * process recognises its predecessor's jobs. One `serve` per data directory is assumed.
 */
export function applianceWorkerPrefix(dbFile: string): string {
  return `pb-${crypto.createHash('sha256').update(dbFile).digest('hex').slice(0, 12)}:`;
}

/**
 * A failed reply is a failed request on the live log (issue 13): a send Twilio refused or a model
 * call that failed leaves no `final_answer`. Ids, the class and the attempt only, never the error
 * text (the jobs API has the recorded, scrubbed reason).
 */
function publishReplyFailure(bus: EventBus | undefined, e: WorkerEvent, now: () => number): void {
  if (!bus || (e.type !== 'retry' && e.type !== 'dead') || e.job.kind !== REPLY_JOB_KIND) return;
  const p = e.job.payload as Partial<ReplyPayload> | null;
  if (typeof p?.messageId !== 'string') return;
  bus.publish({
    type: 'request_failed', orgId: e.job.orgId, requestId: replyRequestId(p.messageId), at: now(),
    errorClass: e.type === 'dead' ? 'whatsapp_reply_dead_lettered' : 'whatsapp_reply_retrying',
    source: 'whatsapp', jobId: String(e.job.id), instanceId: typeof p.instanceId === 'string' ? p.instanceId : null, attempts: e.job.attempts,
  });
}

function logWorkerEvent(log: Logger, e: WorkerEvent): void {
  const job = 'job' in e && e.job ? { jobId: e.job.id, kind: e.job.kind, attempts: e.job.attempts } : {};
  if (e.type === 'retry') log.warn({ ...job, error: e.error }, 'job failed; retrying later');
  else if (e.type === 'dead') log.error({ ...job, error: e.error }, 'job dead-lettered');
  else if (e.type === 'lease_lost') log.warn(job, 'job lease lost');
  else if (e.type === 'error') log.error({ ...job, err: { message: maskPhonesIn(String((e.error as Error)?.message ?? e.error)) } }, 'job worker error');
  else log.debug(job, `job ${e.type}`);
}

/** Builds the channel. Nothing runs until `start()`. */
export function createWhatsAppChannel(deps: WhatsAppChannelDeps): WhatsAppChannel {
  const { toolkit } = deps;
  const { repos, clients, refKey, onSid, statusCallbackUrl } = toolkit;
  const webhookUrl = (id: string): string => `${deps.publicBaseUrl}/webhooks/twilio/whatsapp/${encodeURIComponent(id)}`;
  const status = createStatusCallbacks({ delivery: toolkit.delivery });

  const worker = deps.worker.enabled
    ? new JobWorker({
        queue: deps.queue,
        handlers: {
          [REPLY_JOB_KIND]: createReplyHandler({
            ...repos, clients, complete: deps.complete, statusCallbackUrl, onSid, historyMessages: deps.historyMessages,
            rateLimitDelayMs: deps.worker.rateLimitDelayMs, log: deps.log, now: deps.now, handoff: deps.handoff,
          }),
        },
        concurrency: deps.worker.concurrency,
        pollMs: deps.worker.pollMs,
        leaseMs: deps.worker.leaseMs,
        workerId: `${deps.worker.idPrefix}${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`,
        onEvent: (e) => {
          logWorkerEvent(deps.log, e);
          publishReplyFailure(deps.bus, e, deps.now ?? Date.now);
        },
      })
    : null;
  const wake = (): void => worker?.wake();

  let started = false;
  let stopping: Promise<void> | null = null;
  return {
    toolkit,
    inbound: createInbound({ db: deps.db, customers: repos.customers, messages: repos.messages, queue: deps.queue, refKey, wake, log: deps.log, now: deps.now }),
    status,
    worker,
    repos,
    clients,
    webhookUrl,
    statusCallbackUrl,
    wake,
    start() {
      if (!worker || started) return;
      started = true;
      const recovered = deps.queue.recoverAbandoned(deps.worker.idPrefix);
      if (recovered > 0) deps.log.warn({ recovered }, 'jobs abandoned by a previous process handed back to the queue');
      // Finished jobs are history only (inbound dedupe lives on the messages table), so old ones go.
      const purged = deps.queue.purgeDone((deps.now ?? Date.now)() - DONE_JOB_RETENTION_MS);
      if (purged > 0) deps.log.info({ purged }, 'finished jobs purged');
      worker.start();
    },
    stop(deadlineMs) {
      stopping ??= (async () => {
        if (!worker) return;
        const { drained, released } = await worker.stop(deadlineMs);
        if (drained || released) deps.log.info({ drained, released }, 'reply worker stopped');
      })();
      return stopping;
    },
  };
}
