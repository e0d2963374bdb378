/**
 * Control-panel API wire types: the request and response shapes the operator TUI (`tui/`) reads
 * and sends. This is the one file `tui/` may import from `src/`, so it must stay types only:
 * never runtime code, never an import (it would drag server modules into the TUI).
 * Shapes mirror src/http/routes/control/*.ts and src/http/presenters/control.ts.
 */

/** Every error answer: `{"error": {...}}` (OpenAI's shape, shared by /v1 and the control panel). */
export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ListResponse<T> {
  object?: 'list';
  data: T[];
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
export interface UsagePage extends ListResponse<UsageEvent> {
  hasMore: boolean;
  nextCursor: string | null;
}

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

/** One item of `GET /organizations/{orgId}/whatsapp-instances`. */
export interface WhatsAppInstance {
  id: string;
  name: string;
  sender: string;
  status: string;
}

/** `GET`/`PUT /organizations/{orgId}/whatsapp-instances/{iid}/plugins` (request and response). */
export interface InstancePlugins {
  enabledPluginIds: string[];
}
