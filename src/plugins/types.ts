/**
 * The plugin runtime's contracts: one surface over every plugin kind.
 *
 * A kind (first-party module, MCP server, later HTTP manifest plugin) only has to list its tools
 * and call one; naming, allowlists, rate limits, argument validation, scrubbing and auditing
 * are the runtime's job, so a new kind plugs in without touching the tool loop.
 * Must never import HTTP/Koa code.
 */

export const PluginKind = {
  firstParty: 'first_party',
  mcp: 'mcp',
  http: 'http',
} as const;
export type PluginKindValue = (typeof PluginKind)[keyof typeof PluginKind];

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
  readonly kind: PluginKindValue;
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
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
