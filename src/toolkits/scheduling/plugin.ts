/**
 * The first-party Scheduling plugin (`first_party:scheduling`, slug `scheduling`): the agent
 * schedules a reminder to the current customer (at a time, or in some minutes), lists the
 * customer's reminders, and cancels one that has not started sending. Reminders belong to the
 * conversation: another customer's reminder looks like none. Each create is keyed by (request,
 * tool, arguments), so a re-run tool loop finds its first reminder. Must never throw out of `call`.
 */
import type { Logger } from '../../log.ts';
import type { FirstPartyPlugin, PluginHandle, ToolCallContext, ToolDescriptor, ToolOutcome } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import { isAppError } from '../../errors.ts';
import { asTool, currentCustomer, grantRevoked, toolError, toolResult } from '../ecommerce/support.ts';
import { toolKey } from '../ecommerce/plugin.ts';
import type { ScheduledMessage, ScheduleInput, ScheduleStore } from './store.ts';

export const SCHEDULING_PLUGIN_ID = 'first_party:scheduling';
export const SCHEDULING_SLUG = 'scheduling';
export const SCHEDULING_PERMISSIONS = {
  schedule_reminder: 'toolkit:SCHEDULING:reminder_create',
  list_my_reminders: 'toolkit:SCHEDULING:reminder_read',
  cancel_reminder: 'toolkit:SCHEDULING:reminder_cancel',
} as const;
const MAX_MINUTES = 90 * 24 * 60;
const RECENT = 20;

export const SCHEDULING_TOOLS: readonly ToolDescriptor[] = [
  {
    name: 'schedule_reminder',
    description: 'Schedule a WhatsApp message to the current customer at a later time (a reminder of an appointment, a pickup, a payment). Give either inMinutes or sendAt. The text is sent as written, exactly once, unless cancelled first. Only use it when the customer asked for a reminder or agreed to one.',
    inputSchema: {
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 1500, description: 'The message the customer will receive.' },
        inMinutes: { type: 'integer', minimum: 1, maximum: MAX_MINUTES, description: 'Send this many minutes from now.' },
        sendAt: { type: 'string', minLength: 10, maxLength: 40, description: 'Send at this time: ISO 8601 with a zone, e.g. 2026-05-01T09:00:00+02:00.' },
      },
      required: ['text'],
      additionalProperties: false,
    },
  },
  {
    name: 'list_my_reminders',
    description: 'List the current customer\'s reminders (the most recent 20): id, text, time and status (scheduled, sending, sent, failed, cancelled).',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  {
    name: 'cancel_reminder',
    description: 'Cancel one of the current customer\'s scheduled reminders by its id (from schedule_reminder or list_my_reminders). A reminder that is already being sent or was sent cannot be cancelled.',
    inputSchema: {
      type: 'object',
      properties: { reminderId: { type: 'string', pattern: '^sch_[0-9a-f]{32}$', description: 'The reminder\'s id (sch_…).' } },
      required: ['reminderId'],
      additionalProperties: false,
    },
  },
];

export interface SchedulingPluginDeps {
  grants: GrantsRepo;
  /** Offered (listed, grantable) only to organisations with a WhatsApp number: it acts inside its conversations. */
  hasWhatsApp(orgId: string): boolean;
  log: Logger;
  store: ScheduleStore;
  schedule(input: ScheduleInput, requestId: string): { message: ScheduledMessage; created: boolean };
  cancel(m: ScheduledMessage, reason: string | null, requestId: string): ScheduledMessage;
  now: () => number;
}

const forModel = (m: ScheduledMessage): Record<string, unknown> => ({
  reminderId: m.id, text: m.text, sendAt: new Date(m.sendAt).toISOString(), status: m.status,
});

export function createSchedulingPlugin(deps: SchedulingPluginDeps): FirstPartyPlugin {
  async function run(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const revoked = grantRevoked(deps.grants, ctx, SCHEDULING_PLUGIN_ID);
    if (revoked) return revoked;
    const who = currentCustomer(ctx);
    if ('isError' in who) return who;
    if (tool === 'schedule_reminder') {
      const hasIn = typeof args.inMinutes === 'number';
      const hasAt = typeof args.sendAt === 'string';
      if (hasIn === hasAt) return toolError('Give exactly one of inMinutes or sendAt. Nothing was scheduled.', 'invalid_arguments');
      const sendAt = hasIn ? deps.now() + (args.inMinutes as number) * 60_000 : Date.parse(args.sendAt as string);
      if (!Number.isFinite(sendAt) || (hasAt && !/(Z|[+-]\d{2}:?\d{2})$/i.test(args.sendAt as string))) {
        return toolError('sendAt must be an ISO 8601 time with a zone (e.g. 2026-05-01T09:00:00+02:00). Nothing was scheduled.', 'invalid_arguments');
      }
      try {
        const { message, created } = deps.schedule({
          ...who, text: String(args.text), sendAt, createdBy: 'agent', userId: null, idempotencyKey: toolKey(ctx, tool, [args.text, args.inMinutes ?? null, args.sendAt ?? null]),
        }, ctx.requestId);
        return toolResult({ ...forModel(message), note: created ? 'Scheduled. Tell the customer when it will arrive.' : 'Already scheduled earlier in this turn; not scheduled twice.' });
      } catch (err) {
        if (isAppError(err) && err.code === 'outside_window') {
          return toolError('That time is after the customer\'s 24-hour WhatsApp window closes and the shop has no reminder template, so WhatsApp would not deliver it. Offer an earlier time (within 24 hours of the customer\'s last message). Nothing was scheduled.', 'outside_window');
        }
        throw err;
      }
    }
    if (tool === 'list_my_reminders') {
      const list = deps.store.list(who.orgId, { instanceId: who.instanceId, customerRef: who.customerRef, limit: RECENT });
      return toolResult({ count: list.length, reminders: list.map(forModel), now: new Date(deps.now()).toISOString() });
    }
    if (tool === 'cancel_reminder') {
      const m = deps.store.get(who.orgId, String(args.reminderId));
      if (!m || m.instanceId !== who.instanceId || m.customerRef !== who.customerRef) {
        return toolError('The customer has no reminder with that id. Use scheduling__list_my_reminders to see them.', 'reminder_not_found');
      }
      return toolResult(forModel(deps.cancel(m, 'cancelled by the agent at the customer\'s request', ctx.requestId)));
    }
    return toolError(`The Scheduling toolkit has no tool "${tool}".`, 'unknown_tool');
  }

  const handle: PluginHandle = {
    id: SCHEDULING_PLUGIN_ID,
    kind: 'first_party',
    // Useless without a customer to act for: never injected on the plain API path.
    conversationOnly: true,
    slug: SCHEDULING_SLUG,
    displayName: 'Scheduling',
    description: 'Reminders: the agent schedules a WhatsApp message to the current customer at a time, lists and cancels them.',
    rateLimits: { schedule_reminder: { points: 60, durationSeconds: 60 }, list_my_reminders: { points: 300, durationSeconds: 60 }, cancel_reminder: { points: 60, durationSeconds: 60 } },
    tools: () => [...SCHEDULING_TOOLS],
    call: (tool, args, ctx) => asTool(() => run(tool, args, ctx), (err) => deps.log.error({ tool, requestId: ctx.requestId, err: { message: String((err as Error)?.message).slice(0, 300) } }, 'scheduling tool failed')),
  };
  return { slug: SCHEDULING_SLUG, displayName: handle.displayName, description: handle.description, forOrg: (orgId) => (deps.hasWhatsApp(orgId) ? handle : null) };
}
