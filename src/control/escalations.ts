/**
 * Control-panel use cases of the Escalations and Scheduling toolkits that need more than one
 * toolkit's rules: finding an escalation or a scheduled message in the organisation (another
 * organisation's is a 404), list pages with their cursors, who may be assigned (an owner or admin
 * of the organisation), and the masked number shown beside a conversation. Everything else is the
 * toolkits' own. Must never know about HTTP.
 */
import { invalidRequest, notFound } from '../errors.ts';
import type { OrganizationsRepo } from '../storage/repos/organizations.ts';
import type { WhatsAppCustomersRepo } from '../storage/repos/whatsapp-customers.ts';
import type { Escalation, EscalationStatus, EscalationsToolkit } from '../toolkits/escalations/index.ts';
import type { ScheduledMessage, ScheduledMessageStatus, SchedulingToolkit } from '../toolkits/scheduling/index.ts';
import { takePage, type Page } from './page.ts';

export interface EscalationControlDeps {
  orgs: OrganizationsRepo;
  customers: WhatsAppCustomersRepo;
  escalations: EscalationsToolkit;
  scheduling: SchedulingToolkit;
}

export function getEscalation(d: EscalationControlDeps, orgId: string, id: string): Escalation {
  const e = /^esc_[0-9a-f]{32}$/.test(id) ? d.escalations.store.get(orgId, id) : null;
  if (!e) throw notFound('escalation', 'escalationId');
  return e;
}

export function getScheduledMessage(d: EscalationControlDeps, orgId: string, id: string): ScheduledMessage {
  const m = /^sch_[0-9a-f]{32}$/.test(id) ? d.scheduling.store.get(orgId, id) : null;
  if (!m) throw notFound('scheduled_message', 'scheduledMessageId');
  return m;
}

/** The masked number of a conversation's customer (null once the number's records are gone). */
export function phoneMaskedOf(d: Pick<EscalationControlDeps, 'customers'>, orgId: string, instanceId: string, customerRef: string): string | null {
  return d.customers.get(orgId, instanceId, customerRef)?.phoneMasked ?? null;
}

/** `<at>.<id>` of a previous page's last item. */
function decodeCursor(cursor: string | undefined): { at: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const m = /^(\d{1,15})\.((?:esc|sch)_[0-9a-f]{32})$/.exec(cursor);
  if (!m) throw invalidRequest('cursor: must be a cursor from a previous page', 'cursor', 'invalid_value');
  return { at: Number(m[1]), id: m[2] };
}

export function listEscalations(d: EscalationControlDeps, orgId: string, userId: string, q: {
  status?: EscalationStatus | 'active'; instanceId?: string; customerRef?: string; assignee?: string; limit: number; cursor?: string;
}): Page<Escalation> {
  const statuses: EscalationStatus[] | undefined = q.status === 'active' ? ['pending', 'assigned'] : q.status ? [q.status] : undefined;
  const rows = d.escalations.store.list(orgId, {
    statuses, instanceId: q.instanceId, customerRef: q.customerRef, assignee: q.assignee === 'me' ? userId : q.assignee, limit: q.limit + 1, cursor: decodeCursor(q.cursor),
  });
  return takePage(rows, q.limit, (last) => `${last.createdAt}.${last.id}`);
}

export function listScheduledMessages(d: EscalationControlDeps, orgId: string, q: {
  instanceId?: string; customerRef?: string; status?: ScheduledMessageStatus; limit: number; cursor?: string;
}): Page<ScheduledMessage> {
  const rows = d.scheduling.store.list(orgId, { instanceId: q.instanceId, customerRef: q.customerRef, status: q.status, limit: q.limit + 1, cursor: decodeCursor(q.cursor) });
  return takePage(rows, q.limit, (last) => `${last.sendAt}.${last.id}`);
}

/** An escalation goes to an owner or admin of its organisation (members read only). */
export function assignableUser(d: Pick<EscalationControlDeps, 'orgs'>, orgId: string, userId: string): string {
  const m = d.orgs.getMember(orgId, userId);
  if (!m || (m.role !== 'owner' && m.role !== 'admin')) {
    throw invalidRequest('userId: must be an owner or admin of this organization.', 'userId', 'invalid_assignee');
  }
  return userId;
}
