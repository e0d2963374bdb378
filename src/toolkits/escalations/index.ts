/**
 * The Escalations toolkit ("Escalations own human handoff", seed 001): a WhatsApp conversation is
 * handled by the bot, or by a person while it has an active (`pending` / `assigned`) escalation.
 *
 * - The agent's `hand_over` tool (plugin.ts, `first_party:escalations`) opens one; in the same
 *   transaction it queues the customer's ONE acknowledgement (sent through WhatsApp's
 *   `sendToCustomer` under `escalation:<id>:ack`, so exactly once) and the queue timeout.
 * - `holds()` is the reply worker's gate: while a person holds the conversation the model is not
 *   called; the customer's message is put on the escalation's timeline for the inbox instead.
 * - Operators (the control API) assign, read the whole history, reply (through `sendToCustomer`,
 *   the template when the window has closed, keyed by a client message id so a retry never sends
 *   twice) and resolve, which hands the conversation back to the bot.
 * - The queue timeout (a durable job at `timeoutAt`) hands a still-unassigned escalation back and
 *   tells the customer, once.
 * Every change is announced on the live bus (ids only). Must never call the model, know about
 * HTTP, or start work before `start()`.
 */
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue, Job } from '../../jobs/queue.ts';
import { JobError, type JobHandler } from '../../jobs/worker.ts';
import type { EventBus } from '../../usage/bus.ts';
import type { FirstPartyPlugin } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import type { WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import type { WhatsAppMessage, WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';
import { AppError, ErrorType, conflict, notFound } from '../../errors.ts';
import type { EscalationLiveEvent, EscalationLiveEventType } from '../../shared/api-escalations.ts';
import type { CustomerMessage, SendToCustomer, SendToCustomerResult } from '../whatsapp/index.ts';
import { createEscalationStore, type Escalation, type EscalationPriority, type EscalationSettings, type EscalationStatus, type EscalationStore, type MessageTemplate, type TimelineEntry } from './store.ts';
import { createToolkitWorker, type ToolkitWorker, type ToolkitWorkerSettings } from './worker.ts';
import { createEscalationsPlugin } from './plugin.ts';

export { ESCALATIONS_PLUGIN_ID, ESCALATIONS_PERMISSIONS } from './plugin.ts';
export { ESCALATION_PRIORITIES, DEFAULT_ESCALATION_SETTINGS } from './store.ts';
export type { Escalation, EscalationPriority, EscalationSettings, EscalationStatus, EscalationStore, MessageTemplate, TimelineEntry } from './store.ts';
export { createToolkitWorker, type ToolkitWorker, type ToolkitWorkerSettings } from './worker.ts';

export const ESCALATION_JOBS = { acknowledge: 'escalations.acknowledge', timeout: 'escalations.timeout' } as const;
const DEFAULT_HISTORY = 200;
const MAX_TIMELINE_NOTE = 300;

/** What the toolkit needs of the WhatsApp toolkit (its repositories and the one way to send). */
export interface EscalationsWhatsApp {
  /** Whether the organisation has a WhatsApp number (the plugin is offered only then). */
  hasInstance(orgId: string): boolean;
  customers: WhatsAppCustomersRepo;
  messages: WhatsAppMessagesRepo;
  sendToCustomer: SendToCustomer;
}

export interface EscalationsToolkitDeps {
  db: Db;
  grants: GrantsRepo;
  queue: JobQueue;
  log: Logger;
  bus?: EventBus;
  whatsapp: EscalationsWhatsApp;
  worker: ToolkitWorkerSettings;
  now?: () => number;
}

export interface HandOverInput {
  orgId: string;
  instanceId: string;
  customerRef: string;
  reason: string;
  summary: string;
  priority: EscalationPriority;
  requestId: string;
  idempotencyKey: string;
}

export interface OperatorEscalationInput {
  orgId: string;
  instanceId: string;
  customerRef: string;
  reason: string;
  summary: string;
  priority: EscalationPriority;
  userId: string;
}

export interface ReplyInput {
  text: string;
  template?: MessageTemplate;
  clientMessageId: string;
}

export interface ReplyOutcome {
  escalation: Escalation;
  usedTemplate: boolean;
  duplicate: boolean;
  sids: string[];
}

export interface EscalationDetail {
  escalation: Escalation;
  timeline: TimelineEntry[];
  /** Oldest first. */
  messages: WhatsAppMessage[];
  truncated: boolean;
}

/** The reply worker's question, asked before it calls the model and again after. */
export interface ConversationHandoff {
  /**
   * True while a person holds the conversation: the model must not be called. Records the
   * customer's message on the escalation's timeline (once, whatever re-runs), unless it is the
   * message whose turn handed over (`requestId` of that turn).
   */
  holds(input: { orgId: string; instanceId: string; customerRef: string; messageId: string; requestId: string }): boolean;
}

export interface EscalationsToolkit {
  plugin: FirstPartyPlugin;
  store: EscalationStore;
  handoff: ConversationHandoff;
  handOver(input: HandOverInput): { escalation: Escalation; created: boolean };
  open(input: OperatorEscalationInput, requestId: string): Escalation;
  assign(e: Escalation, assigneeUserId: string, requestId: string): Escalation;
  reply(e: Escalation, userId: string, input: ReplyInput, requestId: string): Promise<ReplyOutcome>;
  resolve(e: Escalation, userId: string, note: string | null, requestId: string): Escalation;
  detail(e: Escalation, historyLimit?: number): EscalationDetail;
  settings(orgId: string): EscalationSettings;
  updateSettings(orgId: string, patch: Partial<EscalationSettings>): EscalationSettings;
  /** The job handlers (exported for tests that drive a job by hand). */
  handlers: Record<string, JobHandler>;
  jobs: ToolkitWorker;
  start(): void;
  stop(deadlineMs: number): Promise<void>;
}

const clip = (s: string, n = MAX_TIMELINE_NOTE): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** A refused or failed send as the operator's API answer (nothing was sent unless said so). */
export function sendFailure(r: Exclude<SendToCustomerResult, { kind: 'sent' } | { kind: 'accepted_unrecorded' }>): AppError {
  if (r.kind === 'unavailable') {
    return new AppError({ code: 'twilio_unavailable', status: 503, type: ErrorType.api, message: `${r.message} Retry with the same clientMessageId: it is never sent twice.`, headers: { 'retry-after': '5' } });
  }
  if (r.reason === 'twilio_permanent') return new AppError({ code: 'twilio_refused', status: 502, type: ErrorType.upstream, message: r.message });
  if (r.reason === 'invalid_message') return new AppError({ code: 'invalid_message', status: 400, type: ErrorType.invalidRequest, message: r.message });
  return conflict(r.message, r.reason);
}

export function createEscalationsToolkit(deps: EscalationsToolkitDeps): EscalationsToolkit {
  const now = deps.now ?? Date.now;
  const store = createEscalationStore(deps.db);
  const { customers, messages, sendToCustomer } = deps.whatsapp;
  let wakeWorker: () => void = () => {};

  function announce(type: EscalationLiveEventType, e: Escalation, requestId: string): void {
    const event: EscalationLiveEvent = {
      type, orgId: e.orgId, requestId, at: now(), instanceId: e.instanceId, customerRef: e.customerRef, escalationId: e.id,
      status: e.status, priority: e.priority, assigneeUserId: e.assigneeUserId,
    };
    deps.bus?.publish({ ...event });
  }
  const reread = (e: Escalation): Escalation => store.get(e.orgId, e.id) ?? e;
  // Escalations an operator's reply is being sent for right now (one process serves the database):
  // the queue timeout waits for them, else a person's answer and "nobody is available" could both
  // reach the customer, and the conversation go back to the bot mid-reply (review).
  const replying = new Map<string, number>();

  /** Opens and queues its jobs in one transaction: an escalation never exists without its timeout (and the agent's, without its acknowledgement). */
  const openTx = deps.db.transaction((input: Parameters<EscalationStore['insert']>[0], acknowledge: boolean) => {
    const r = store.insert(input);
    if (!r.created) return r;
    store.addEvent(r.escalation, 'opened', input.at, { userId: input.openedByUserId, note: clip(input.reason) });
    deps.queue.enqueue({
      orgId: input.orgId, kind: ESCALATION_JOBS.timeout, dedupeKey: `escalation:${r.escalation.id}:timeout`, payload: { escalationId: r.escalation.id }, runAt: input.timeoutAt,
    });
    if (acknowledge) {
      deps.queue.enqueue({
        orgId: input.orgId, kind: ESCALATION_JOBS.acknowledge, dedupeKey: `escalation:${r.escalation.id}:ack`, payload: { escalationId: r.escalation.id },
        concurrencyKey: `${input.instanceId}:${input.customerRef}`,
      });
    }
    return r;
  });

  function open(input: Omit<Parameters<EscalationStore['insert']>[0], 'timeoutAt' | 'at'>, acknowledge: boolean, requestId: string) {
    const at = now();
    const timeoutAt = at + store.settings(input.orgId).queueTimeoutSeconds * 1000;
    const r = openTx.immediate({ ...input, timeoutAt, at }, acknowledge);
    if (r.created) {
      announce('escalation.created', r.escalation, requestId);
      wakeWorker();
    }
    return r;
  }

  /** Sends under an escalation's key; the outcome as a timeline note. */
  async function sendNotice(e: Escalation, key: string, message: CustomerMessage, signal: AbortSignal): Promise<{ sent: boolean; messageId: string | null; note: string | null }> {
    const r = await sendToCustomer({ orgId: e.orgId, instanceId: e.instanceId, customerRef: e.customerRef, message, idempotencyKey: key, signal });
    if (r.kind === 'sent' || r.kind === 'accepted_unrecorded') {
      return { sent: true, messageId: messages.idempotentParts(e.orgId, e.instanceId, key)[0]?.id ?? null, note: r.usedTemplate ? 'template' : null };
    }
    if (r.kind === 'unavailable') throw new JobError(`Could not send yet (${r.reason}): ${r.message}`, { retryable: true });
    // Refused for good (window closed without a template, paused number…): on the timeline, not retried.
    return { sent: false, messageId: null, note: clip(`not sent (${r.reason}): ${r.message}`) };
  }

  const idOf = (job: Job): string => {
    const v = (job.payload as { escalationId?: unknown } | null)?.escalationId;
    if (typeof v !== 'string') throw new JobError(`Malformed ${job.kind} job payload.`, { retryable: false });
    return v;
  };

  const handlers: Record<string, JobHandler> = {
    async [ESCALATION_JOBS.acknowledge](job, ctx) {
      const e = store.get(job.orgId, idOf(job));
      // Closed before the acknowledgement went out (resolved at once): nothing to acknowledge any more.
      if (!e || e.openedBy !== 'agent' || store.hasEvent(e, 'acknowledged')) return;
      if (!(['pending', 'assigned'] as EscalationStatus[]).includes(e.status)) return;
      const s = store.settings(e.orgId);
      const out = await sendNotice(e, `escalation:${e.id}:ack`, { text: s.acknowledgementText }, ctx.signal);
      store.addEvent(e, 'acknowledged', now(), { messageId: out.messageId, note: out.note });
    },
    async [ESCALATION_JOBS.timeout](job, ctx) {
      let e = store.get(job.orgId, idOf(job));
      if (!e) return;
      if (e.status === 'pending') {
        // The job may run early after a restart or a settings change: the stored time decides.
        if (e.timeoutAt !== null && e.timeoutAt > now() + 1000) throw new JobError('The queue timeout is not due yet.', { retryable: true, retryAfterMs: e.timeoutAt - now() });
        if (replying.has(e.id)) throw new JobError('An operator\'s reply is being sent: the queue timeout waits for it.', { retryable: true, retryAfterMs: 2000 });
        if (store.expire(e, now())) {
          e = reread(e);
          store.addEvent(e, 'expired', now());
          announce('escalation.expired', e, `job_${job.id}`);
          deps.log.info({ escalationId: e.id, instanceId: e.instanceId }, 'escalation timed out in the queue: handed back to the bot');
        }
        e = reread(e);
      }
      // Only a hand-back by the timeout tells the customer; a re-run finds the message already recorded.
      if (e.status !== 'expired' || store.hasEvent(e, 'timeout_message')) return;
      const s = store.settings(e.orgId);
      const message: CustomerMessage = { text: s.timeoutText, ...(s.timeoutTemplate && { template: s.timeoutTemplate }) };
      const out = await sendNotice(e, `escalation:${e.id}:timeout`, message, ctx.signal);
      store.addEvent(e, 'timeout_message', now(), { messageId: out.messageId, note: out.note });
    },
  };

  const jobs = createToolkitWorker('escalations', { queue: deps.queue, log: deps.log, handlers, settings: deps.worker });
  wakeWorker = jobs.wake;

  const toolkit: Omit<EscalationsToolkit, 'plugin'> = {
    store,
    handlers,
    jobs,
    handoff: {
      holds({ orgId, instanceId, customerRef, messageId, requestId }) {
        const e = store.active(orgId, instanceId, customerRef);
        if (!e) return false;
        if (e.openedRequestId !== requestId && store.recordHeldMessage(e, messageId, now())) {
          announce('escalation.customer_message', reread(e), requestId);
        }
        return true;
      },
    },
    handOver(input) {
      return open({
        orgId: input.orgId, instanceId: input.instanceId, customerRef: input.customerRef, priority: input.priority, reason: input.reason, summary: input.summary,
        openedBy: 'agent', openedByUserId: null, openedRequestId: input.requestId, idempotencyKey: input.idempotencyKey,
      }, true, input.requestId);
    },
    open(input, requestId) {
      if (!customers.get(input.orgId, input.instanceId, input.customerRef)) throw notFound('conversation', 'customerRef');
      const r = open({
        orgId: input.orgId, instanceId: input.instanceId, customerRef: input.customerRef, priority: input.priority, reason: input.reason, summary: input.summary,
        openedBy: 'operator', openedByUserId: input.userId, openedRequestId: null, idempotencyKey: null,
      }, false, requestId);
      if (!r.created) throw conflict(`This conversation is already escalated (${r.escalation.id}).`, 'conversation_escalated', 'customerRef');
      return r.escalation;
    },
    assign(e, assigneeUserId, requestId) {
      if (!store.assign(e, assigneeUserId, now())) throw conflict(`This escalation is ${reread(e).status}: it can no longer be assigned.`, 'escalation_closed', 'escalationId');
      const after = reread(e);
      store.addEvent(after, 'assigned', now(), { userId: assigneeUserId });
      announce('escalation.assigned', after, requestId);
      return after;
    },
    async reply(e, userId, input, requestId) {
      if (!(['pending', 'assigned'] as EscalationStatus[]).includes(e.status)) {
        throw conflict(`This escalation is ${e.status}: the conversation is back with the bot. Open a new escalation to answer as a person.`, 'escalation_closed', 'escalationId');
      }
      const key = `escalation:${e.id}:reply:${input.clientMessageId}`;
      replying.set(e.id, (replying.get(e.id) ?? 0) + 1);
      let r: SendToCustomerResult;
      try {
        r = await sendToCustomer({
          orgId: e.orgId, instanceId: e.instanceId, customerRef: e.customerRef, idempotencyKey: key,
          message: { text: input.text, ...(input.template && { template: input.template }) },
        });
      } finally {
        const n = (replying.get(e.id) ?? 1) - 1;
        if (n > 0) replying.set(e.id, n);
        else replying.delete(e.id);
      }
      if (r.kind !== 'sent' && r.kind !== 'accepted_unrecorded') throw sendFailure(r);
      // Whoever answers a waiting conversation owns it (and the queue timeout no longer applies).
      if (store.assignIfPending(e, userId, now())) {
        const assigned = reread(e);
        store.addEvent(assigned, 'assigned', now(), { userId });
        announce('escalation.assigned', assigned, requestId);
      }
      const messageId = messages.idempotentParts(e.orgId, e.instanceId, key)[0]?.id;
      if (messageId && store.recordReply(e, userId, messageId, now())) announce('escalation.replied', reread(e), requestId);
      return { escalation: reread(e), usedTemplate: r.usedTemplate, duplicate: r.duplicate, sids: r.sids };
    },
    resolve(e, userId, note, requestId) {
      if (!store.resolve(e, userId, note, now())) throw conflict(`This escalation is already ${reread(e).status}.`, 'escalation_closed', 'escalationId');
      const after = reread(e);
      store.addEvent(after, 'resolved', now(), { userId, note: note && clip(note) });
      announce('escalation.resolved', after, requestId);
      return after;
    },
    detail(e, historyLimit = DEFAULT_HISTORY) {
      const page = messages.page(e.orgId, e.instanceId, e.customerRef, { limit: historyLimit + 1 });
      return { escalation: e, timeline: store.timeline(e), messages: page.slice(0, historyLimit).reverse(), truncated: page.length > historyLimit };
    },
    settings: (orgId) => store.settings(orgId),
    updateSettings(orgId, patch) {
      const next = { ...store.settings(orgId), ...patch };
      store.putSettings(orgId, next, now());
      return store.settings(orgId);
    },
    start: () => jobs.start(),
    stop: (deadlineMs) => jobs.stop(deadlineMs),
  };
  const plugin = createEscalationsPlugin({ grants: deps.grants, log: deps.log, handOver: toolkit.handOver, hasWhatsApp: deps.whatsapp.hasInstance });
  return { plugin, ...toolkit };
}
