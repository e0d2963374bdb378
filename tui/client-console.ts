/**
 * Typed calls of the console core (issue 13) built on OrgClient.call: WhatsApp numbers, their
 * conversations and messages, jobs and the dead letter, members, organisation settings, key
 * updates and the audit log. It must never touch the screen or import server code (wire types only).
 */
import type {
  CreatedMember, CreateMemberRequest, CreateWhatsAppInstanceRequest, DeletedMember, DeletedResponse, GatewayKey, Job, JobList, JobStatus,
  ListResponse, Member, Organization, Role, UpdateKeyRequest, UpdateOrganizationRequest, UpdateWhatsAppInstanceRequest, UsagePage,
  WhatsAppConversationPage, WhatsAppInstance, WhatsAppMessagePage,
} from '../src/shared/api.ts';
import type { AuditLogPage, UsageSummary, UsageSummaryGroupBy, UsageSummaryKind, UsageSummaryRange } from '../src/shared/api-usage.ts';
import type { OrgClient } from './client.ts';

const id = encodeURIComponent;

export function consoleClient(api: OrgClient) {
  return {
    instances: async (s: AbortSignal) => (await api.call<ListResponse<WhatsAppInstance>>('GET', '/whatsapp-instances', s)).data,
    createInstance: (body: CreateWhatsAppInstanceRequest, s: AbortSignal) => api.call<WhatsAppInstance>('POST', '/whatsapp-instances', s, body),
    updateInstance: (iid: string, patch: UpdateWhatsAppInstanceRequest, s: AbortSignal) => api.call<WhatsAppInstance>('PATCH', `/whatsapp-instances/${id(iid)}`, s, patch),
    deleteInstance: (iid: string, s: AbortSignal) => api.call<DeletedResponse>('DELETE', `/whatsapp-instances/${id(iid)}`, s),
    conversations: (iid: string, q: { limit?: number; cursor?: string }, s: AbortSignal) =>
      api.call<WhatsAppConversationPage>('GET', `/whatsapp-instances/${id(iid)}/conversations`, s, undefined, q),
    messages: (iid: string, customerRef: string, q: { limit?: number; cursor?: string }, s: AbortSignal) =>
      api.call<WhatsAppMessagePage>('GET', `/whatsapp-instances/${id(iid)}/conversations/${id(customerRef)}/messages`, s, undefined, q),
    jobs: (q: { status?: JobStatus; kind?: string; limit?: number }, s: AbortSignal) => api.call<JobList>('GET', '/jobs', s, undefined, q),
    requeueJob: (jobId: string, s: AbortSignal) => api.call<Job>('POST', `/jobs/${id(jobId)}/requeue`, s),
    members: async (s: AbortSignal) => (await api.call<ListResponse<Member>>('GET', '/members', s)).data,
    addMember: (body: CreateMemberRequest, s: AbortSignal) => api.call<CreatedMember>('POST', '/members', s, body),
    setRole: (userId: string, role: Role, s: AbortSignal) => api.call<Member>('PATCH', `/members/${id(userId)}`, s, { role }),
    removeMember: (userId: string, s: AbortSignal) => api.call<DeletedMember>('DELETE', `/members/${id(userId)}`, s),
    organization: (s: AbortSignal) => api.call<Organization>('GET', '', s),
    updateOrganization: (body: UpdateOrganizationRequest, s: AbortSignal) => api.call<Organization>('PATCH', '', s, body),
    updateKey: (kid: string, body: UpdateKeyRequest, s: AbortSignal) => api.call<GatewayKey>('PATCH', `/keys/${id(kid)}`, s, body),
    usageEvents: (q: UsageEventFilter & { limit?: number; cursor?: string }, s: AbortSignal) =>
      api.call<UsagePage>('GET', '/usage-events', s, undefined, q as Record<string, string | number | undefined>),
    usageSummary: (q: { range: UsageSummaryRange; groupBy?: UsageSummaryGroupBy; kind?: UsageSummaryKind }, s: AbortSignal) =>
      api.call<UsageSummary>('GET', '/usage/summary', s, undefined, q),
    auditLog: (q: { cursor?: string; limit?: number; outcome?: 'ok' | 'error'; method?: string }, s: AbortSignal) =>
      api.call<AuditLogPage>('GET', '/audit-log', s, undefined, q),
  };
}

/** The filters of `GET …/usage-events` the TUI offers (empty values are left out). */
export interface UsageEventFilter {
  requestId?: string;
  kind?: string;
  status?: string;
  model?: string;
  tool?: string;
  keyId?: string;
  instanceId?: string;
}

export type ConsoleClient = ReturnType<typeof consoleClient>;
