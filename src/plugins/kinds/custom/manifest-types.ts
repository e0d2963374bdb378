/**
 * The custom plugin manifest (`plugboard-plugin.json`) as TypeScript sees it once validated, with
 * the schema's defaults applied. The JSON Schema in `schemas/plugboard-plugin.schema.json` is the
 * source of truth; these types mirror it and must never allow more than it does.
 */

export const TOOLKIT_SLUGS = ['payments', 'ecommerce', 'escalations', 'scheduling', 'whatsapp'] as const;
export type ToolkitSlug = (typeof TOOLKIT_SLUGS)[number];

export const TOOL_EFFECTS = ['read', 'write', 'money', 'message'] as const;
export type ToolEffect = (typeof TOOL_EFFECTS)[number];

export const TOOL_CONFIRMATIONS = ['none', 'human'] as const;
export type ToolConfirmation = (typeof TOOL_CONFIRMATIONS)[number];

export const CONFIG_FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'select', 'secret'] as const;
export type ConfigFieldType = (typeof CONFIG_FIELD_TYPES)[number];

/** The only authentication mode today: Standard Webhooks v1 signatures (HMAC-SHA256, `whsec_` secret). */
export const AUTH_MODE_STANDARD_WEBHOOKS_HMAC = 'standard-webhooks-hmac';
export type AuthMode = typeof AUTH_MODE_STANDARD_WEBHOOKS_HMAC;

/** A JSON Schema object (a tool's input or output schema). */
export type ToolJsonSchema = Record<string, unknown>;

export interface ManifestPermission {
  key: string;
  label: string;
  description: string;
  default: boolean;
}

export interface ManifestToolkitRequirement {
  /** Satisfied when one of these toolkits is granted to the same WhatsApp number instance. */
  any: ToolkitSlug[];
  reason: string;
}

export interface ManifestConfigOption {
  value: string;
  label: string;
}

export interface ManifestConfigField {
  key: string;
  label: string;
  description?: string;
  type: ConfigFieldType;
  required: boolean;
  default?: string | number | boolean;
  pattern?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  options?: ManifestConfigOption[];
}

export interface ManifestTool {
  name: string;
  description: string;
  inputSchema: ToolJsonSchema;
  outputSchema?: ToolJsonSchema;
  permissions: string[];
  effect: ToolEffect;
  confirmation: ToolConfirmation;
  idempotent: boolean;
  timeoutMs: number;
}

export interface ManifestContact {
  email: string;
  name?: string;
  url?: string;
  privacyPolicyUrl?: string;
  termsUrl?: string;
}

export interface PluginManifest {
  $schema?: string;
  schemaVersion: 1;
  slug: string;
  name: string;
  version: string;
  description: string;
  baseUrl: string;
  endpoints: { tools: string; health?: string };
  auth: { mode: AuthMode };
  contact: ManifestContact;
  permissions: ManifestPermission[];
  requires?: { toolkits?: ManifestToolkitRequirement[] };
  config: ManifestConfigField[];
  tools: ManifestTool[];
}

/** One defect of a manifest: where (JSON Pointer into the manifest; "" is the whole) and what. */
export interface ManifestProblem {
  path: string;
  message: string;
}

export interface ValidateManifestOptions {
  /**
   * Whether an `http:` base URL is acceptable (the appliance passes its allowed-networks policy,
   * e.g. loopback in tests). Called with the parsed URL; must not do DNS. Default: never.
   */
  allowHttpUrl?: (url: URL) => boolean;
}

export type ManifestValidation = { ok: true; manifest: PluginManifest } | { ok: false; problems: ManifestProblem[] };
