/**
 * Control-panel API wire types: the request and response shapes the operator TUI (`tui/`) reads
 * and sends. This is the one file `tui/` may import from `src/`, so it must stay types only:
 * never runtime code, never an import (it would drag server modules into the TUI).
 * The server's presenters (src/http/presenters/*.ts) are annotated with these types and the route
 * schemas (src/http/routes/control/*.schema.ts) are checked against the request types, so `tsc`
 * fails when the server and the TUI drift apart.
 */

/** Every error answer: `{"error": {...}}` (OpenAI's shape, shared by /v1 and the control panel). */
export interface ApiErrorBody {
  /** `problems`: every defect found, for answers that check a whole document (e.g. a plugin manifest). */
  error: { message: string; type: string; param: string | null; code: string | null; problems?: Array<{ path: string; message: string }> };
}

export interface ListResponse<T> {
  object?: 'list';
  data: T[];
}

/** A page of a newest-first list; pass `nextCursor` as `?cursor=` for the next one. */
export interface PageResponse<T> extends ListResponse<T> {
  hasMore: boolean;
  nextCursor: string | null;
}

export type Role = 'owner' | 'admin' | 'member';

export interface Organization {
  id: string;
  object: 'organization';
  name: string;
  settings: { pluginInjection: boolean };
  createdAt: string | null;
  role?: Role;
}

/** `POST /organizations` (the caller becomes its owner). */
export interface CreateOrganizationRequest {
  name: string;
}

/** `PATCH /organizations/{orgId}` (owner only). */
export interface UpdateOrganizationRequest {
  name?: string;
  settings?: { pluginInjection?: boolean };
}

/** One item of `GET /organizations/{orgId}/members`. */
export interface Member {
  userId: string;
  object: 'member';
  name: string;
  role: Role;
  createdAt: string | null;
}

/** `POST /organizations/{orgId}/members` */
export interface CreateMemberRequest {
  name: string;
  role: Role;
}

/** The add answer: the only time the new member's control-panel token (`pbc_…`) is returned. */
export interface CreatedMember extends Member {
  token: string;
}

/** `PATCH /organizations/{orgId}/members/{userId}` */
export interface UpdateMemberRequest {
  role: Role;
}

/** `DELETE /organizations/{orgId}/members/{userId}` */
export interface DeletedMember {
  userId: string;
  object: 'member';
  deleted: true;
}

/** `GET /me` */
export interface Me {
  id: string;
  object: 'user';
  name: string;
  createdAt: string | null;
  organizations: Organization[];
}

export type McpTransport = 'auto' | 'streamable_http' | 'sse';

export type McpCredentialInput = { type: 'bearer'; token: string } | { type: 'header'; name: string; value: string };

export interface ToolRateLimit {
  points: number;
  durationSeconds: number;
}

export interface McpTool {
  name: string;
  prefixedName: string;
  description: string | null;
  inputSchema: unknown;
  annotations: Record<string, unknown> | null;
  allowed: boolean;
}

export interface McpHealth {
  transport: string | null;
  connected: boolean;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** One item of `GET /organizations/{orgId}/mcp-integrations`. */
export interface McpIntegration {
  id: string;
  object: 'mcp_integration';
  kind: 'mcp';
  slug: string;
  displayName: string;
  description: string;
  url: string;
  transport: McpTransport;
  resolvedTransport: string | null;
  credential: { type: 'bearer' | 'header'; name?: string; configured: boolean } | null;
  timeoutMs: number | null;
  toolAllowlist: string[] | null;
  toolRateLimits: Record<string, ToolRateLimit>;
  status: 'active' | 'disabled';
  toolCount: number;
  tools: McpTool[];
  skippedTools: Array<{ name: string; reason: string }>;
  catalogFetchedAt: string | null;
  health: McpHealth;
  createdAt: string | null;
  updatedAt: string | null;
}

/** `POST /organizations/{orgId}/mcp-integrations` (owner only). */
export interface CreateMcpIntegrationRequest {
  slug: string;
  displayName: string;
  description?: string;
  url: string;
  transport?: McpTransport;
  credential?: McpCredentialInput | null;
  timeoutMs?: number | null;
  toolAllowlist?: string[] | null;
  toolRateLimits?: Record<string, ToolRateLimit>;
}

/** `PATCH /organizations/{orgId}/mcp-integrations/{id}` */
export type UpdateMcpIntegrationRequest = Partial<CreateMcpIntegrationRequest> & { status?: 'active' | 'disabled' };

export interface DeletedResponse {
  id: string;
  object: string;
  deleted: true;
}

/** One item of `GET /organizations/{orgId}/plugins`. */
export interface Plugin {
  id: string;
  kind: 'mcp' | 'first_party' | 'custom';
  slug: string;
  displayName: string;
  description: string | null;
  toolCount: number;
}

/** One item of `GET /organizations/{orgId}/plugins/{pluginId}/tools` (OpenAI function shape). */
export interface PluginTool {
  name: string;
  description: string | null;
  parameters: unknown;
}

export interface GatewayKey {
  id: string;
  object: 'gateway_key';
  name: string | null;
  prefix: string;
  last4: string;
  rateLimitRpm: number | null;
  allowedPluginIds: string[] | null;
  createdBy: string | null;
  createdAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  status: 'active' | 'revoked';
}

/** `POST /organizations/{orgId}/keys` */
export interface CreateKeyRequest {
  name?: string;
  rateLimitRpm?: number | null;
  allowedPluginIds?: string[] | null;
}

/** `PATCH /organizations/{orgId}/keys/{keyId}` */
export type UpdateKeyRequest = CreateKeyRequest;

/** The create answer: the only time the secret (`pb_live_…`) is ever returned. */
export interface CreatedGatewayKey extends GatewayKey {
  key: string;
}

export type UsageKind = 'completion' | 'model_turn' | 'tool_call' | 'loop_cap';

export interface UsageEvent {
  id: string;
  object: 'usage_event';
  kind: UsageKind;
  requestId: string | null;
  keyId: string | null;
  instanceId: string | null;
  pluginId: string | null;
  tool: string | null;
  model: string | null;
  status: 'ok' | 'error';
  httpStatus: number | null;
  errorClass: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number | null;
  stream: boolean | null;
  createdAt: string | null;
}

/** `GET /organizations/{orgId}/usage-events?limit=&cursor=` (newest first). */
export type UsagePage = PageResponse<UsageEvent>;

export type LiveEventType =
  | 'request_started'
  | 'model_turn'
  | 'tool_call_started'
  | 'tool_call_finished'
  | 'final_answer'
  | 'loop_cap_reached'
  | 'request_failed';

/** The `data:` JSON of one event of `GET /organizations/{orgId}/events` (text/event-stream). */
export interface LiveEvent {
  type: LiveEventType;
  orgId: string;
  requestId: string;
  /** Unix milliseconds. */
  at: number;
  turn?: number;
  tool?: string;
  callId?: string;
  pluginId?: string | null;
  status?: 'ok' | 'error';
  errorClass?: string | null;
  latencyMs?: number;
  model?: string | null;
  stream?: boolean;
  tools?: number;
  turns?: number;
  cap?: number;
}

export type WhatsAppInstanceStatus = 'active' | 'paused';

/** One item of `GET /organizations/{orgId}/whatsapp-instances`. Never the Twilio auth token. */
export interface WhatsAppInstance {
  id: string;
  object: 'whatsapp_instance';
  name: string;
  /** `whatsapp:+E164`. */
  sender: string;
  messagingServiceSid: string | null;
  twilioAccountSid: string;
  twilioAuthTokenConfigured: true;
  systemPrompt: string;
  model: string;
  /** Null: the appliance default (PLUGBOARD_TOOL_LOOP_CAP). */
  loopCap: number | null;
  status: WhatsAppInstanceStatus;
  /** Paste into Twilio as the number's incoming-message webhook. */
  webhookUrl: string;
  /** Where Twilio reports the delivery status of replies. */
  statusCallbackUrl: string;
  createdAt: string | null;
  updatedAt: string | null;
}

/** `POST /organizations/{orgId}/whatsapp-instances` (owners and admins). */
export interface CreateWhatsAppInstanceRequest {
  name: string;
  sender: string;
  messagingServiceSid?: string | null;
  twilioAccountSid: string;
  twilioAuthToken: string;
  systemPrompt?: string;
  model: string;
  loopCap?: number | null;
  status?: WhatsAppInstanceStatus;
}

/** `PATCH /organizations/{orgId}/whatsapp-instances/{iid}`: a new `twilioAccountSid` needs its `twilioAuthToken`. */
export type UpdateWhatsAppInstanceRequest = Partial<CreateWhatsAppInstanceRequest>;

/** One item of `GET …/whatsapp-instances/{iid}/conversations` (most recent first). Never the raw number. */
export interface WhatsAppConversation {
  object: 'whatsapp_conversation';
  customerRef: string;
  phoneMasked: string;
  lastInboundAt: string | null;
  lastMessageAt: string | null;
  messageCount: number;
}

export type WhatsAppConversationPage = PageResponse<WhatsAppConversation>;

export interface WhatsAppMedia {
  url: string;
  contentType: string | null;
}

/** One item of `GET …/conversations/{customerRef}/messages` (newest first). */
export interface WhatsAppMessage {
  id: string;
  object: 'whatsapp_message';
  direction: 'in' | 'out';
  body: string;
  media: WhatsAppMedia[];
  contentSid: string | null;
  status: string;
  errorCode: number | null;
  twilioSid: string | null;
  replyToMessageId: string | null;
  partIndex: number | null;
  createdAt: string | null;
  sentAt: string | null;
}

export type WhatsAppMessagePage = PageResponse<WhatsAppMessage>;

/** `GET`/`PUT /organizations/{orgId}/whatsapp-instances/{iid}/plugins` (request and response). */
export interface InstancePlugins {
  enabledPluginIds: string[];
}

export type JobStatus = 'queued' | 'running' | 'done' | 'dead';

/** One item of `GET /organizations/{orgId}/jobs` (ids and counts only, never payload text). */
export interface Job {
  id: string;
  object: 'job';
  kind: string;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  instanceId: string | null;
  messageId: string | null;
  lastError: string | null;
  runAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface JobStats {
  queued: number;
  running: number;
  done: number;
  dead: number;
  /** Unix milliseconds (not an ISO string, unlike the other times of this API). */
  oldestQueuedRunAt: number | null;
}

/** `GET /organizations/{orgId}/jobs?status=&kind=&limit=` */
export interface JobList extends ListResponse<Job> {
  stats: JobStats;
}

export type * from './api-custom-plugins.ts';
export type * from './api-commerce.ts';
// Escalations and Scheduling toolkits (issue 12, helper esc).
export type * from './api-escalations.ts';
