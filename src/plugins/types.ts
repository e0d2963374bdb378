/**
 * The plugin runtime's contracts: one surface over every plugin kind.
 *
 * A plugin (first-party module, MCP server, next a custom HTTP plugin) only has to list its tools
 * and call one; naming, allowlists, rate limits, argument validation, scrubbing and auditing
 * are the runtime's job, so a new kind plugs in without touching the tool loop. An installed kind
 * implements `PluginKind`; the runtime is built from a map of them.
 * Must never import HTTP/Koa code.
 */
import type { Installation, InstallationKind } from '../storage/repos/plugin-installations.ts';

/** What a plugin handle says it is: a first-party plugin, or the kind of its installation. */
export type PluginHandleKind = 'first_party' | InstallationKind;

/** JSON Schema object as sent by a plugin (MCP `inputSchema`). */
export type JsonSchema = Record<string, unknown>;

/** One tool as its plugin describes it, before prefixing. */
export interface ToolDescriptor {
  /** The plugin's own tool name (e.g. MCP `name`). */
  name: string;
  description: string;
  inputSchema: JsonSchema;
  annotations?: Record<string, unknown>;
}

/** Who is calling a tool, and within which limits. */
export interface ToolCallContext {
  orgId: string;
  requestId: string;
  /** Gateway key id on the API path; null on in-process paths. */
  keyId: string | null;
  /** WhatsApp number instance when the call happens inside a conversation. */
  instanceId: string | null;
  /** Privacy-preserving customer identifier (keyed HMAC), never a raw phone number. */
  customerRef: string | null;
  /** The WhatsApp number instance the caller named for sending (`X-Plugboard-WhatsApp-Instance`) on the API path. */
  senderInstanceId?: string | null;
  /** Aborted when the caller disconnects or the request deadline passes. */
  signal: AbortSignal;
  timeoutMs: number;
}

/** What the model reads back from a tool: already text, not yet capped or scrubbed. */
export interface ToolOutcome {
  isError: boolean;
  text: string;
  /** For tool errors: a short class for usage events (`tool_error`, `timeout`, `transport`, ...). */
  errorClass?: string;
}

/** A plugin as installed for one organisation. */
export interface PluginHandle {
  /** `first_party:<slug>` for first-party plugins, the installation UUID otherwise. */
  readonly id: string;
  readonly kind: PluginHandleKind;
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  /**
   * Its tools act for the current customer of a conversation and fail anywhere else (Escalations,
   * Scheduling): listed and grantable, but never injected into a call without a conversation.
   */
  readonly conversationOnly?: boolean;
  /** Default per-tool rate limits of a first-party plugin (installations carry their own). */
  readonly rateLimits?: Record<string, { points: number; durationSeconds: number }>;
  /** Tools offered (the cached catalog for remote kinds), before allowlists. */
  tools(): ToolDescriptor[];
  call(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome>;
}

/**
 * A first-party plugin module, registered at start-up. `forOrg` returns the plugin as it applies to
 * one organisation, or null where it is not usable there (e.g. WhatsApp without a number instance).
 */
export interface FirstPartyPlugin {
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  forOrg(orgId: string): PluginHandle | null;
}

/** How an installation's plugin is doing, as its kind sees it (live connection first, stored health otherwise). */
export interface InstallationHealth {
  connected: boolean;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/**
 * One kind of installed plugin ('mcp' now, 'custom' next): turns an installation row into a plugin
 * handle, re-lists and stores its catalog, reports its health, and owns its connections and its
 * own settings table. The runtime hands a kind only installations of its own `kind`.
 */
export interface PluginKind {
  readonly kind: InstallationKind;
  /** The installation as a plugin: `tools()` from the stored catalog; `call()` never throws. */
  handle(inst: Installation): PluginHandle;
  /** Re-lists the catalog, stores it and records health; resolves with the stored installation. */
  refresh(inst: Installation): Promise<Installation>;
  health(inst: Installation): InstallationHealth;
  /** Forgets the installation's live state (deleted, disabled); a running call may finish. */
  drop(installationId: string): Promise<void>;
  /** Closes every connection (shutdown). */
  closeAll(): Promise<void>;
}
