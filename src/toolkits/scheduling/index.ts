/**
 * The Scheduling toolkit: reminders to a conversation's customer at a time, scheduled by the agent
 * (plugin.ts, `first_party:scheduling`) or an operator. Each one is a row plus a durable job on the
 * shared job table at `sendAt` (stored in one transaction). The job first moves the row
 * `scheduled → sending` (from then on it cannot be cancelled), then sends through WhatsApp's
 * `sendToCustomer` under `scheduled:<id>`, so it goes out exactly once across retries, a killed
 * process and a restart (the key's stored intent is reconciled with Twilio before any resend).
 *
 * A reminder that will fall outside the customer's 24-hour window needs a template (given, or the
 * organisation's `reminderTemplate` with `{text}` filled in); without one it is refused when it is
 * scheduled, not discovered when it fails. Must never call the model, know about HTTP, or start
 * work before `start()`.
 */
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { Job, JobQueue } from '../../jobs/queue.ts';
import { JobError, type JobHandler } from '../../jobs/worker.ts';
import type { EventBus } from '../../usage/bus.ts';
import type { FirstPartyPlugin } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import type { WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import { conflict, invalidRequest, notFound } from '../../errors.ts';
import type { EscalationLiveEvent, EscalationLiveEventType, MessageTemplate } from '../../shared/api-escalations.ts';
import type { SendToCustomer } from '../whatsapp/index.ts';
import { SERVICE_WINDOW_MS } from '../whatsapp/send-to-customer.ts';
import { createToolkitWorker, type ToolkitWorker, type ToolkitWorkerSettings } from '../escalations/worker.ts';
import { createScheduleStore, type ScheduledMessage, type ScheduleInput, type ScheduleStore } from './store.ts';
import { createSchedulingPlugin } from './plugin.ts';

export { SCHEDULING_PLUGIN_ID, SCHEDULING_PERMISSIONS } from './plugin.ts';
export type { ScheduledMessage, ScheduledMessageStatus, ScheduleInput, ScheduleStore } from './store.ts';

export const SCHEDULING_JOBS = { send: 'scheduling.send' } as const;
/** How far ahead a reminder may be scheduled. */
export const MAX_AHEAD_MS = 90 * 24 * 60 * 60_000;
/** A `sendAt` this far in the past is still accepted (clock skew, a slow client): it goes out at once. */
export const PAST_SLACK_MS = 60_000;
export const MAX_TEXT = 1500;
const MAX_TEMPLATE_VARIABLE = 1024;

export interface SchedulingToolkitDeps {
  db: Db;
  grants: GrantsRepo;
  queue: JobQueue;
  log: Logger;
  bus?: EventBus;
  whatsapp: { hasInstance(orgId: string): boolean; customers: WhatsAppCustomersRepo; sendToCustomer: SendToCustomer };
  worker: ToolkitWorkerSettings;
  now?: () => number;
}

export interface SchedulingToolkit {
  plugin: FirstPartyPlugin;
  store: ScheduleStore;
  schedule(input: ScheduleInput, requestId: string): { message: ScheduledMessage; created: boolean };
  cancel(m: ScheduledMessage, reason: string | null, requestId: string): ScheduledMessage;
  reminderTemplate(orgId: string): MessageTemplate | null;
  setReminderTemplate(orgId: string, template: MessageTemplate | null): MessageTemplate | null;
  handlers: Record<string, JobHandler>;
  jobs: ToolkitWorker;
  start(): void;
  stop(deadlineMs: number): Promise<void>;
}

/** The organisation's reminder template with `{text}` filled in (clipped to what a template variable takes). */
export function fillTemplate(t: MessageTemplate, text: string): MessageTemplate {
  if (!t.variables) return { contentSid: t.contentSid };
  const value = text.length > MAX_TEMPLATE_VARIABLE ? `${text.slice(0, MAX_TEMPLATE_VARIABLE - 1)}…` : text;
  return { contentSid: t.contentSid, variables: Object.fromEntries(Object.entries(t.variables).map(([k, v]) => [k, v.replaceAll('{text}', () => value).slice(0, MAX_TEMPLATE_VARIABLE)])) };
}

export function createSchedulingToolkit(deps: SchedulingToolkitDeps): SchedulingToolkit {
  const now = deps.now ?? Date.now;
  const store = createScheduleStore(deps.db);
  const { customers, sendToCustomer } = deps.whatsapp;
  let wakeWorker: () => void = () => {};

  function announce(type: EscalationLiveEventType, m: ScheduledMessage, requestId: string): void {
    const event: EscalationLiveEvent = { type, orgId: m.orgId, requestId, at: now(), instanceId: m.instanceId, customerRef: m.customerRef, scheduledMessageId: m.id, status: m.status };
    deps.bus?.publish({ ...event });
  }
  const reread = (m: ScheduledMessage): ScheduledMessage => store.get(m.orgId, m.id) ?? m;

  const insertTx = deps.db.transaction((input: Parameters<ScheduleStore['insert']>[0]) => {
    const r = store.insert(input);
    if (r.created) {
      deps.queue.enqueue({ orgId: input.orgId, kind: SCHEDULING_JOBS.send, dedupeKey: `scheduled:${r.message.id}`, payload: { scheduledMessageId: r.message.id }, runAt: input.sendAt });
    }
    return r;
  });

  const handlers: Record<string, JobHandler> = {
    async [SCHEDULING_JOBS.send](job: Job, ctx) {
      const id = (job.payload as { scheduledMessageId?: unknown } | null)?.scheduledMessageId;
      if (typeof id !== 'string') throw new JobError('Malformed scheduled message job payload.', { retryable: false });
      let m = store.get(job.orgId, id);
      if (!m) return;
      if (m.status === 'scheduled') {
        store.startSending(m, now());
        m = reread(m);
      }
      // Cancelled (it won the race), or already sent or failed by an earlier run.
      if (m.status !== 'sending') return;
      const r = await sendToCustomer({
        orgId: m.orgId, instanceId: m.instanceId, customerRef: m.customerRef, idempotencyKey: `scheduled:${m.id}`, signal: ctx.signal,
        message: { text: m.text, ...(m.template && { template: m.template }) },
      });
      const requestId = `job_${job.id}`;
      if (r.kind === 'sent' || r.kind === 'accepted_unrecorded') {
        if (store.markSent(m, r.sids, r.usedTemplate, now())) announce('scheduled_message.sent', reread(m), requestId);
        deps.log.info({ scheduledMessageId: m.id, instanceId: m.instanceId, duplicate: r.duplicate, usedTemplate: r.usedTemplate }, 'scheduled message sent');
        return;
      }
      if (r.kind === 'unavailable') throw new JobError(`The scheduled message could not be sent yet (${r.reason}): ${r.message}`, { retryable: true });
      // Refused for good: on the message for the operator, not retried.
      if (store.markFailed(m, `${r.reason}: ${r.message}`.slice(0, 500), now())) announce('scheduled_message.failed', reread(m), requestId);
      deps.log.warn({ scheduledMessageId: m.id, instanceId: m.instanceId, reason: r.reason }, 'scheduled message refused');
    },
  };
  const jobs = createToolkitWorker('scheduling', { queue: deps.queue, log: deps.log, handlers, settings: deps.worker });
  wakeWorker = jobs.wake;

  const toolkit: Omit<SchedulingToolkit, 'plugin'> = {
    store,
    handlers,
    jobs,
    schedule(input, requestId) {
      const at = now();
      const text = input.text.trim();
      if (!text || text.length > MAX_TEXT) throw invalidRequest(`text must be 1..${MAX_TEXT} characters.`, 'text', 'invalid_value');
      if (!Number.isSafeInteger(input.sendAt) || input.sendAt < at - PAST_SLACK_MS || input.sendAt > at + MAX_AHEAD_MS) {
        throw invalidRequest('sendAt must be between now and 90 days ahead.', 'sendAt', 'invalid_value');
      }
      const customer = customers.get(input.orgId, input.instanceId, input.customerRef);
      if (!customer) throw notFound('conversation', 'customerRef');
      const sendAt = Math.max(input.sendAt, at);
      const outsideWindow = customer.lastInboundAt === null || sendAt > customer.lastInboundAt + SERVICE_WINDOW_MS;
      const fallback = store.reminderTemplate(input.orgId);
      const template = input.template ?? (fallback && fillTemplate(fallback, text));
      if (outsideWindow && !template) {
        const closes = customer.lastInboundAt === null ? 'is closed' : `closes at ${new Date(customer.lastInboundAt + SERVICE_WINDOW_MS).toISOString()}`;
        throw conflict(`The customer's 24-hour WhatsApp window ${closes}, before sendAt: a reminder then needs an approved template (give one, or set the organisation's reminderTemplate). Nothing was scheduled.`, 'outside_window', 'sendAt');
      }
      const r = insertTx.immediate({
        orgId: input.orgId, instanceId: input.instanceId, customerRef: input.customerRef, text, template: template ?? null, sendAt,
        createdBy: input.createdBy, createdByUserId: input.userId, idempotencyKey: input.idempotencyKey, outsideWindow, at,
      });
      if (r.created) {
        announce('scheduled_message.created', r.message, requestId);
        wakeWorker();
      }
      return r;
    },
    cancel(m, reason, requestId) {
      if (!store.cancel(m, reason, now())) {
        throw conflict(`This scheduled message is ${reread(m).status}: only a scheduled one can be cancelled.`, 'not_cancellable', 'scheduledMessageId');
      }
      const after = reread(m);
      announce('scheduled_message.cancelled', after, requestId);
      return after;
    },
    reminderTemplate: (orgId) => store.reminderTemplate(orgId),
    setReminderTemplate(orgId, template) {
      store.setReminderTemplate(orgId, template, now());
      return store.reminderTemplate(orgId);
    },
    start: () => jobs.start(),
    stop: (deadlineMs) => jobs.stop(deadlineMs),
  };
  const plugin = createSchedulingPlugin({ grants: deps.grants, log: deps.log, hasWhatsApp: deps.whatsapp.hasInstance, store, schedule: toolkit.schedule, cancel: toolkit.cancel, now });
  return { plugin, ...toolkit };
}
