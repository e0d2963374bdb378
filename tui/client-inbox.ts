/**
 * The TUI's calls to the Escalations (human handoff) and Scheduling (reminders) control-panel API,
 * plus the WhatsApp conversation list the reminder form picks from. Built on the shared
 * ApiClient's `request` like client-biz.ts. It must never touch the screen or import server code.
 */
import type {
  CancelScheduledMessageRequest, CreateScheduledMessageRequest, Escalation, EscalationDetail, EscalationListQuery, EscalationPage,
  EscalationReplyRequest, EscalationReplyResponse, EscalationSettings, Me, Role, ScheduledMessage, ScheduledMessageListQuery,
  ScheduledMessagePage, WhatsAppConversationPage,
} from '../src/shared/api.ts';
import { orNull, queryString, type Requester } from './client-biz.ts';

export interface InboxClient {
  readonly orgId: string;
  escalations(q: EscalationListQuery, signal: AbortSignal): Promise<EscalationPage>;
  escalation(id: string, signal: AbortSignal, historyLimit?: number): Promise<EscalationDetail>;
  /** To `userId`, or to the caller when left out. */
  assign(id: string, userId: string | undefined, signal: AbortSignal): Promise<Escalation>;
  reply(id: string, body: EscalationReplyRequest, signal: AbortSignal): Promise<EscalationReplyResponse>;
  resolve(id: string, note: string | undefined, signal: AbortSignal): Promise<Escalation>;
  /** Null when the server has no escalations toolkit (404). */
  escalationSettings(signal: AbortSignal): Promise<EscalationSettings | null>;
  scheduled(q: ScheduledMessageListQuery, signal: AbortSignal): Promise<ScheduledMessagePage>;
  schedule(body: CreateScheduledMessageRequest, signal: AbortSignal): Promise<ScheduledMessage>;
  cancelScheduled(id: string, body: CancelScheduledMessageRequest, signal: AbortSignal): Promise<ScheduledMessage>;
  conversations(instanceId: string, q: { limit?: number; cursor?: string }, signal: AbortSignal): Promise<WhatsAppConversationPage>;
  /** The caller's role in this organisation and user id (to grey out actions and to say "me"). */
  whoami(signal: AbortSignal): Promise<{ userId: string; role: Role | null }>;
}

export function createInboxClient(api: Requester, orgId: string): InboxClient {
  const base = `/organizations/${encodeURIComponent(orgId)}`;
  const call = <T>(method: string, path: string, signal: AbortSignal, body?: unknown): Promise<T> => api.request<T>(method, base + path, { orgId, body, signal });
  const id = encodeURIComponent;
  return {
    orgId,
    escalations: (q, s) => call('GET', `/escalations${queryString(q)}`, s),
    escalation: (eid, s, historyLimit) => call('GET', `/escalations/${id(eid)}${queryString({ historyLimit })}`, s),
    assign: (eid, userId, s) => call('POST', `/escalations/${id(eid)}/assign`, s, userId ? { userId } : {}),
    reply: (eid, body, s) => call('POST', `/escalations/${id(eid)}/reply`, s, body),
    resolve: (eid, note, s) => call('POST', `/escalations/${id(eid)}/resolve`, s, note ? { note } : {}),
    escalationSettings: (s) => orNull(call<EscalationSettings>('GET', '/escalation-settings', s)),
    scheduled: (q, s) => call('GET', `/scheduled-messages${queryString(q)}`, s),
    schedule: (body, s) => call('POST', '/scheduled-messages', s, body),
    cancelScheduled: (sid, body, s) => call('POST', `/scheduled-messages/${id(sid)}/cancel`, s, body),
    conversations: (iid, q, s) => call('GET', `/whatsapp-instances/${id(iid)}/conversations${queryString(q)}`, s),
    async whoami(s) {
      const me = await api.request<Me>('GET', '/me', { signal: s });
      return { userId: me.id, role: me.organizations.find((o) => o.id === orgId)?.role ?? null };
    },
  };
}
