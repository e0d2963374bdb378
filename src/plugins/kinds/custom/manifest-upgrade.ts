/**
 * The upgrade rule of custom plugins (issue 11): an installation moves to a new manifest version by
 * itself only when nothing it was consented to grows. New permissions, a permission whose wording
 * changed, a new or stricter toolkit requirement, a new tool, any change of a tool's definition
 * hash, a base URL on another origin (config secrets travel there) or a new required config field
 * need an owner's consent first; the installation keeps the version it has until then.
 * Must never treat a change as harmless because it is hard to compare: when in doubt, ask.
 */
import { createHash } from 'node:crypto';
import type { ManifestTool, PluginManifest } from './manifest-types.ts';

/**
 * Canonical JSON (RFC 8785 style): object keys sorted by UTF-16 code units, no whitespace, numbers
 * as ECMAScript prints them. Input is plain JSON data (a validated manifest).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** What of a tool the installer consented to; defaults applied so an omitted default hashes as written. */
type HashedTool = Pick<ManifestTool, 'name' | 'description' | 'inputSchema' | 'effect'> & Partial<ManifestTool>;

/**
 * SHA-256 (hex) of a tool's definition: name, description, inputSchema, outputSchema,
 * permissions (as a set), effect and confirmation, in canonical JSON. `idempotent` and `timeoutMs`
 * are operational and left out.
 */
export function toolDefinitionHash(tool: HashedTool): string {
  const definition = {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema ?? null,
    permissions: [...new Set(tool.permissions ?? [])].sort(),
    effect: tool.effect,
    confirmation: tool.confirmation ?? 'none',
  };
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

export type ConsentReason =
  | { kind: 'permission_added'; key: string }
  | { kind: 'permission_changed'; key: string }
  | { kind: 'toolkit_requirement_added'; any: string[] }
  | { kind: 'tool_added'; name: string }
  | { kind: 'tool_changed'; name: string }
  | { kind: 'base_url_origin_changed'; from: string; to: string }
  | { kind: 'required_config_added'; key: string };

export type UpgradeNote = { kind: 'tool_removed'; name: string } | { kind: 'permission_removed'; key: string } | { kind: 'toolkit_requirement_relaxed'; any: string[] };

export interface UpgradeDiff {
  /** True when an owner must accept before installations move to `to`. */
  needsConsent: boolean;
  /** Why consent is needed (empty when it is not). */
  reasons: ConsentReason[];
  /** Changes that reduce what the plugin may do: shown, never blocking. */
  notes: UpgradeNote[];
}

type DiffInput = Pick<PluginManifest, 'baseUrl' | 'permissions' | 'tools' | 'config'> & { requires?: PluginManifest['requires'] };

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** What moving installations from manifest `from` to manifest `to` asks of their owners. */
export function diffManifests(from: DiffInput, to: DiffInput): UpgradeDiff {
  const reasons: ConsentReason[] = [];
  const notes: UpgradeNote[] = [];
  const oldPerms = new Map(from.permissions.map((p) => [p.key, p]));
  for (const p of to.permissions) {
    const old = oldPerms.get(p.key);
    if (!old) reasons.push({ kind: 'permission_added', key: p.key });
    else if (old.label !== p.label || old.description !== p.description) reasons.push({ kind: 'permission_changed', key: p.key });
  }
  const newKeys = new Set(to.permissions.map((p) => p.key));
  for (const p of from.permissions) if (!newKeys.has(p.key)) notes.push({ kind: 'permission_removed', key: p.key });

  // A requirement "one of B" is already implied by an old "one of A" when A ⊆ B.
  const oldReqs = (from.requires?.toolkits ?? []).map((r) => new Set<string>(r.any));
  const newReqs = (to.requires?.toolkits ?? []).map((r) => new Set<string>(r.any));
  const implied = (r: Set<string>, by: Set<string>[]) => by.some((a) => [...a].every((t) => r.has(t)));
  for (const r of newReqs) if (!implied(r, oldReqs)) reasons.push({ kind: 'toolkit_requirement_added', any: [...r].sort() });
  for (const r of oldReqs) if (!implied(r, newReqs)) notes.push({ kind: 'toolkit_requirement_relaxed', any: [...r].sort() });

  const oldTools = new Map(from.tools.map((t) => [t.name, toolDefinitionHash(t)]));
  for (const t of to.tools) {
    const old = oldTools.get(t.name);
    if (old === undefined) reasons.push({ kind: 'tool_added', name: t.name });
    else if (old !== toolDefinitionHash(t)) reasons.push({ kind: 'tool_changed', name: t.name });
  }
  const newTools = new Set(to.tools.map((t) => t.name));
  for (const t of from.tools) if (!newTools.has(t.name)) notes.push({ kind: 'tool_removed', name: t.name });

  const [a, b] = [originOf(from.baseUrl), originOf(to.baseUrl)];
  if (a !== b) reasons.push({ kind: 'base_url_origin_changed', from: a, to: b });

  const oldRequired = new Set(from.config.filter((f) => f.required).map((f) => f.key));
  // A newly required field without a default needs a value the installation may not have.
  for (const f of to.config) if (f.required && f.default === undefined && !oldRequired.has(f.key)) reasons.push({ kind: 'required_config_added', key: f.key });
  return { needsConsent: reasons.length > 0, reasons, notes };
}
