/**
 * Row → API JSON for the Escalations and Scheduling toolkits. Never a customer's raw number (the
 * masked form only), never a secret; message text is the operator's to read, so it is returned.
 */
import type * as Api from '../../shared/api.ts';
import type { Escalation, EscalationSettings, TimelineEntry } from '../../toolkits/escalations/index.ts';
import type { ScheduledMessage } from '../../toolkits/scheduling/index.ts';
import type { WhatsAppMessage } from '../../storage/repos/whatsapp-messages.ts';
import { iso } from './common.ts';
import { presentMessage } from './whatsapp.ts';

export function presentEscalation(e: Escalation, phoneMasked: string | null): Api.Escalation {
  return {
    id: e.id,
    object: 'escalation',
    instanceId: e.instanceId,
    customerRef: e.customerRef,
    phoneMasked,
    status: e.status,
    priority: e.priority,
    reason: e.reason,
    summary: e.summary,
    openedBy: e.openedBy,
    assigneeUserId: e.assigneeUserId,
    timeoutAt: e.status === 'pending' ? iso(e.timeoutAt) : null,
    customerMessagesWhileHeld: e.heldMessages,
    replyCount: e.replyCount,
    resolutionNote: e.resolutionNote,
    resolvedByUserId: e.resolvedBy,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    assignedAt: iso(e.assignedAt),
    closedAt: iso(e.closedAt),
  };
}

export function presentTimelineEntry(t: TimelineEntry): Api.EscalationTimelineEntry {
  return { type: t.type, at: iso(t.at), userId: t.userId, messageId: t.messageId, note: t.note };
}

export function presentEscalationDetail(d: { escalation: Escalation; timeline: TimelineEntry[]; messages: WhatsAppMessage[]; truncated: boolean }, phoneMasked: string | null): Api.EscalationDetail {
  return {
    ...presentEscalation(d.escalation, phoneMasked),
    timeline: d.timeline.map(presentTimelineEntry),
    messages: d.messages.map(presentMessage),
    historyTruncated: d.truncated,
  };
}

export function presentEscalationSettings(s: EscalationSettings): Api.EscalationSettings {
  return { object: 'escalation_settings', ...s };
}

export function presentScheduledMessage(m: ScheduledMessage): Api.ScheduledMessage {
  return {
    id: m.id,
    object: 'scheduled_message',
    instanceId: m.instanceId,
    customerRef: m.customerRef,
    text: m.text,
    template: m.template,
    sendAt: iso(m.sendAt),
    status: m.status,
    createdBy: m.createdBy,
    createdByUserId: m.createdByUserId,
    outsideWindowAtCreation: m.outsideWindow,
    usedTemplate: m.usedTemplate,
    messageSids: m.sids,
    failureReason: m.failureReason,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    sentAt: iso(m.sentAt),
    cancelledAt: iso(m.cancelledAt),
  };
}

export function presentSchedulingSettings(template: Api.MessageTemplate | null): Api.SchedulingSettings {
  return { object: 'scheduling_settings', reminderTemplate: template };
}
