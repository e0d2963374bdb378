/**
 * Wire types of custom plugins (issue 11): the developer area, the plugin directory, custom plugin
 * installations, plugin logs and the operator's review and pause routes. Types only: no runtime
 * code and no import at all (shared/api.ts re-exports it; the TUI imports it through there).
 */

/** Calls per window of one tool (the same shape as an MCP integration's). */
export interface PluginToolRateLimit {
  points: number;
  durationSeconds: number;
}

/** One defect of a manifest (or of an install's config): a JSON Pointer and what is wrong there. */
export interface ManifestProblem {
  path: string;
  message: string;
}

export type PluginVersionStatus = 'private' | 'submitted' | 'published' | 'rejected' | 'deprecated' | 'withdrawn';

export interface PluginPermission {
  key: string;
  label: string;
  description: string;
  /** A hint for consent screens (pre-ticked); every permission must still be accepted. */
  default: boolean;
}

export interface PluginToolkitRequirement {
  /** Met when one of these toolkits (`first_party:<slug>`) is granted to the same WhatsApp number instance. */
  any: string[];
  reason: string;
}

export interface PluginToolSummary {
  name: string;
  prefixedName: string;
  description: string;
  effect: 'read' | 'write' | 'money' | 'message';
  confirmation: 'none' | 'human';
  idempotent: boolean;
  timeoutMs: number;
  permissions: string[];
  inputSchema: unknown;
  outputSchema: unknown | null;
}

export interface PluginConfigField {
  key: string;
  label: string;
  description: string | null;
  type: 'string' | 'number' | 'integer' | 'boolean' | 'select' | 'secret';
  required: boolean;
  default: string | number | boolean | null;
  pattern: string | null;
  maxLength: number | null;
  minimum: number | null;
  maximum: number | null;
  options: Array<{ value: string; label: string }> | null;
}

export interface PluginContact {
  email: string;
  name: string | null;
  url: string | null;
  privacyPolicyUrl: string | null;
  termsUrl: string | null;
}

/** Why moving an installation to another version needs its owner's consent. */
export type PluginConsentReason =
  | { kind: 'permission_added'; key: string }
  | { kind: 'permission_changed'; key: string }
  | { kind: 'toolkit_requirement_added'; any: string[] }
  | { kind: 'tool_added'; name: string }
  | { kind: 'tool_changed'; name: string }
  | { kind: 'base_url_origin_changed'; from: string; to: string }
  | { kind: 'required_config_added'; key: string };

/** Changes that take something away (never blocking). */
export type PluginUpgradeNote = { kind: 'tool_removed'; name: string } | { kind: 'permission_removed'; key: string } | { kind: 'toolkit_requirement_relaxed'; any: string[] };

export interface PluginChanges {
  needsConsent: boolean;
  reasons: PluginConsentReason[];
  notes: PluginUpgradeNote[];
}

// Developer area --------------------------------------------------------------------------------

/** One version of an authored plugin, as its developer sees it. */
export interface CustomPluginVersion {
  id: string;
  object: 'custom_plugin_version';
  pluginId: string;
  version: string;
  status: PluginVersionStatus;
  name: string;
  description: string;
  baseUrl: string;
  manifestUrl: string | null;
  manifestSha256: string;
  toolCount: number;
  /** The operator's reason when rejected (or a note when approved). */
  reviewNote: string | null;
  submittedAt: string | null;
  reviewedAt: string | null;
  publishedAt: string | null;
  deprecatedAt: string | null;
  withdrawnAt: string | null;
  createdAt: string | null;
}

/** `GET …/developer/plugins/{pluginId}/versions/{version}`: with the stored manifest. */
export interface CustomPluginVersionDetail extends CustomPluginVersion {
  manifest: Record<string, unknown>;
}

/** An authored plugin (`GET /organizations/{orgId}/developer/plugins[/{pluginId}]`). */
export interface CustomPlugin {
  id: string;
  object: 'custom_plugin';
  slug: string;
  name: string;
  description: string;
  latestVersion: string;
  latestPublishedVersion: string | null;
  versions: CustomPluginVersion[];
  secretRotation: { rotatedAt: string | null; previousSecretExpiresAt: string | null };
  createdAt: string | null;
  updatedAt: string | null;
}

/**
 * `POST /organizations/{orgId}/developer/plugins` and `POST …/developer/plugins/{pluginId}/versions`:
 * exactly one of `manifest` (the manifest itself) and `manifestUrl` (fetched, https).
 */
export interface RegisterCustomPluginRequest {
  manifest?: Record<string, unknown>;
  manifestUrl?: string;
}
export type CreatePluginVersionRequest = RegisterCustomPluginRequest;

/** The register answer: the only time the signing secret (`whsec_…`) is returned. */
export interface RegisteredCustomPlugin extends CustomPlugin {
  version: string;
  signingSecret: string;
}

/** `POST …/developer/plugins/{pluginId}/rotate-secret` (default overlap 86400 s, at most 7 days; 0 = the old secret stops at once). */
export interface RotatePluginSecretRequest {
  overlapSeconds?: number;
}

export interface RotatedPluginSecret {
  object: 'signing_secret';
  pluginId: string;
  signingSecret: string;
  previousSecretExpiresAt: string | null;
}

// Directory -------------------------------------------------------------------------------------

export interface DirectoryVersionSummary {
  version: string;
  status: PluginVersionStatus;
  publishedAt: string | null;
  createdAt: string | null;
}

/** One item of `GET /organizations/{orgId}/plugin-directory`. */
export interface DirectoryPlugin {
  id: string;
  object: 'directory_plugin';
  slug: string;
  name: string;
  description: string;
  contact: PluginContact;
  /** The version an install without `version` gets (null: nothing installable). */
  latestVersion: string | null;
  versions: DirectoryVersionSummary[];
  /** Authored by this organisation (its unpublished versions install in sandbox mode). */
  ownPlugin: boolean;
  installation: { id: string; version: string; state: PluginInstallationState } | null;
}

/** `GET …/plugin-directory/{pluginId}?version=`: what an installer reviews before installing. */
export interface DirectoryPluginDetail extends DirectoryPlugin {
  version: {
    version: string;
    status: PluginVersionStatus;
    baseUrl: string;
    /** The mode an installation of this version would have here. */
    mode: 'sandbox' | 'live';
    installable: boolean;
    permissions: PluginPermission[];
    tools: PluginToolSummary[];
    config: PluginConfigField[];
    requires: { toolkits: PluginToolkitRequirement[] };
  };
}

// Installations ---------------------------------------------------------------------------------

export type PluginInstallationState = 'active' | 'disabled' | 'paused' | 'withdrawn' | 'needs_consent' | 'update_available';

/** One item of `GET /organizations/{orgId}/plugin-installations`. Secret config values are masked. */
export interface PluginInstallation {
  id: string;
  object: 'plugin_installation';
  kind: 'custom';
  pluginId: string;
  slug: string;
  displayName: string;
  description: string;
  version: string;
  versionStatus: PluginVersionStatus;
  mode: 'sandbox' | 'live';
  /** Whether its tools are offered: on, not paused, version not withdrawn. */
  status: 'active' | 'disabled';
  state: PluginInstallationState;
  /** The organisation's own switch (PATCH `status`). */
  enabled: boolean;
  pausedByOperator: { reason: string; pausedAt: string | null } | null;
  pendingVersion: (PluginChanges & { version: string; permissions: PluginPermission[] }) | null;
  /** Secret fields show `••••••••` when set, null when empty. */
  config: Record<string, string | number | boolean | null>;
  acceptedPermissions: string[];
  permissions: PluginPermission[];
  requires: { toolkits: PluginToolkitRequirement[] };
  toolAllowlist: string[] | null;
  toolRateLimits: Record<string, PluginToolRateLimit>;
  toolCount: number;
  tools: Array<{ name: string; prefixedName: string; description: string; allowed: boolean }>;
  health: { connected: boolean; lastSuccessAt: string | null; lastError: string | null; lastErrorAt: string | null; consecutiveFailures: number };
  createdAt: string | null;
  updatedAt: string | null;
}

/**
 * `POST /organizations/{orgId}/plugin-installations`. `acceptedPermissions` must name every
 * permission the version declares (each one shown to the installer), no more and no fewer.
 */
export interface InstallPluginRequest {
  pluginId: string;
  version?: string;
  config?: Record<string, unknown>;
  acceptedPermissions: string[];
  toolAllowlist?: string[] | null;
  toolRateLimits?: Record<string, PluginToolRateLimit>;
}

/** `PATCH …/plugin-installations/{id}`: config keys given are set (`null` clears one); others are kept. */
export interface UpdatePluginInstallationRequest {
  config?: Record<string, unknown>;
  toolAllowlist?: string[] | null;
  toolRateLimits?: Record<string, PluginToolRateLimit>;
  status?: 'active' | 'disabled';
}

/** `POST …/plugin-installations/{id}/upgrade`: moves at once when nothing needs consent, else marks the version pending. */
export interface UpgradePluginInstallationRequest {
  version?: string;
}

/** `POST …/plugin-installations/{id}/accept-upgrade` (owners): consent to the pending version. */
export interface AcceptPluginUpgradeRequest {
  version: string;
  acceptedPermissions: string[];
  config?: Record<string, unknown>;
}

// Plugin logs -----------------------------------------------------------------------------------

/** One call of a custom plugin (newest first). Bodies only for sandbox installations, secrets redacted. */
export interface PluginLogEntry {
  id: string;
  object: 'plugin_log_entry';
  pluginId: string;
  version: string;
  installationId: string;
  organizationId: string;
  instanceId: string | null;
  requestId: string;
  webhookId: string;
  tool: string;
  mode: 'sandbox' | 'live';
  status: 'ok' | 'error';
  httpStatus: number | null;
  errorClass: string | null;
  error: string | null;
  latencyMs: number;
  attempts: number;
  requestBody: string | null;
  responseBody: string | null;
  createdAt: string | null;
}

/** A page of plugin log entries; pass `nextCursor` as `?cursor=` for the next one. */
export interface PluginLogPage {
  object?: 'list';
  data: PluginLogEntry[];
  hasMore: boolean;
  nextCursor: string | null;
}

// Operator --------------------------------------------------------------------------------------

/** `GET /operator/me`. */
export interface OperatorIdentity {
  object: 'operator';
  tokenId: string;
  name: string;
}

/** One item of `GET /operator/plugin-reviews` (oldest submission first). */
export interface PluginReview {
  id: string;
  object: 'plugin_review';
  pluginId: string;
  slug: string;
  version: string;
  name: string;
  description: string;
  organizationId: string;
  organizationName: string | null;
  baseUrl: string;
  contact: PluginContact;
  permissions: PluginPermission[];
  tools: PluginToolSummary[];
  requires: { toolkits: PluginToolkitRequirement[] };
  /** The latest published version and what this one changes against it. */
  previousPublishedVersion: string | null;
  changes: PluginChanges | null;
  submittedAt: string | null;
  manifest: Record<string, unknown>;
}

/** `POST /operator/plugin-versions/{versionId}/reject`. */
export interface RejectPluginVersionRequest {
  reason: string;
}

/** `POST /operator/plugin-versions/{versionId}/approve` (optional note for the developer). */
export interface ApprovePluginVersionRequest {
  note?: string;
}

/** One item of `GET /operator/plugin-installations` (every organisation's, any kind). */
export interface OperatorInstallation {
  id: string;
  object: 'operator_installation';
  organizationId: string;
  kind: 'mcp' | 'custom';
  slug: string;
  displayName: string;
  status: 'active' | 'disabled';
  pluginId: string | null;
  version: string | null;
  mode: 'sandbox' | 'live' | null;
  pausedByOperator: { reason: string; pausedAt: string | null; pausedBy: string } | null;
  health: { lastSuccessAt: string | null; lastError: string | null; lastErrorAt: string | null };
}

/** `POST /operator/plugin-installations/{id}/pause`. */
export interface PauseInstallationRequest {
  reason?: string;
}
