/**
 * Request schemas of the Escalations and Scheduling routes (routes/control/escalations.ts):
 * escalation actions, settings, scheduled messages and the list queries, checked against the
 * shared request types. Must never hold a rule that needs storage (the conversation exists, the
 * window, states: the toolkits').
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';
import { limit } from './commerce.schema.ts';

const text = (max: number) => z.string().trim().min(1).max(max);
const customerRef = z.string().regex(/^wcr_[A-Za-z0-9_-]{22}$/, 'must be a customer ref (wcr_…)');
const instanceId = z.string().min(1).max(100);
const userId = z.string().min(1).max(100);
const priority = z.enum(['low', 'normal', 'high', 'urgent']);
const isoWithZone = z.string().max(40).regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i, 'must be an ISO 8601 time with a zone, e.g. 2026-05-01T09:00:00Z')
  .transform((v, ctx) => {
    const ms = Date.parse(v);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'is not a valid time' });
      return z.NEVER;
    }
    return ms;
  });

export const template = z.strictObject({
  contentSid: z.string().regex(/^HX[0-9a-fA-F]{32}$/, 'must be HX followed by 32 hex digits'),
  variables: z.record(z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a template variable name'), z.string().min(1).max(1024))
    .refine((v) => Object.keys(v).length <= 100, 'at most 100 variables').optional(),
});

const escalationCursor = z.string().regex(/^\d{1,15}\.esc_[0-9a-f]{32}$/, 'must be a cursor from a previous page');
const scheduledCursor = z.string().regex(/^\d{1,15}\.sch_[0-9a-f]{32}$/, 'must be a cursor from a previous page');

export const EscalationsQuery = z.strictObject({
  status: z.enum(['pending', 'assigned', 'resolved', 'expired', 'active']).optional(),
  instanceId: instanceId.optional(),
  customerRef: customerRef.optional(),
  assignee: userId.optional(),
  limit: limit.optional(),
  cursor: escalationCursor.optional(),
});

export const EscalationDetailQuery = z.strictObject({
  historyLimit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(500)).optional(),
});

export const CreateEscalation = z.strictObject({
  instanceId,
  customerRef,
  reason: text(500),
  summary: z.string().trim().max(4000).optional(),
  priority: priority.optional(),
});

export const AssignEscalation = z.strictObject({ userId: userId.optional() });

export const EscalationReply = z.strictObject({
  text: text(1500),
  template: template.optional(),
  clientMessageId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores').optional(),
});

export const ResolveEscalation = z.strictObject({ note: text(2000).optional() });

export const UpdateEscalationSettings = z.strictObject({
  queueTimeoutSeconds: z.number().int().min(1).max(604_800),
  acknowledgementText: text(1500),
  timeoutText: text(1500),
  timeoutTemplate: template.nullable(),
}).partial();

export const ScheduledMessagesQuery = z.strictObject({
  instanceId: instanceId.optional(),
  customerRef: customerRef.optional(),
  status: z.enum(['scheduled', 'sending', 'sent', 'failed', 'cancelled']).optional(),
  limit: limit.optional(),
  cursor: scheduledCursor.optional(),
}).refine((q) => q.customerRef === undefined || q.instanceId !== undefined, { message: 'customerRef needs instanceId', path: ['customerRef'] });

export const CreateScheduledMessage = z.strictObject({
  instanceId,
  customerRef,
  text: text(1500),
  sendAt: isoWithZone,
  template: template.optional(),
});

export const CancelScheduledMessage = z.strictObject({ reason: text(500).optional() });

export const UpdateSchedulingSettings = z.strictObject({ reminderTemplate: template.nullable() }).partial();

export type CreateEscalationAccepts = Accepts<typeof CreateEscalation, Api.CreateEscalationRequest>;
export type AssignEscalationAccepts = Accepts<typeof AssignEscalation, Api.AssignEscalationRequest>;
export type EscalationReplyAccepts = Accepts<typeof EscalationReply, Api.EscalationReplyRequest>;
export type ResolveEscalationAccepts = Accepts<typeof ResolveEscalation, Api.ResolveEscalationRequest>;
export type UpdateEscalationSettingsAccepts = Accepts<typeof UpdateEscalationSettings, Api.UpdateEscalationSettingsRequest>;
export type CreateScheduledMessageAccepts = Accepts<typeof CreateScheduledMessage, Api.CreateScheduledMessageRequest>;
export type CancelScheduledMessageAccepts = Accepts<typeof CancelScheduledMessage, Api.CancelScheduledMessageRequest>;
export type UpdateSchedulingSettingsAccepts = Accepts<typeof UpdateSchedulingSettings, Api.UpdateSchedulingSettingsRequest>;
