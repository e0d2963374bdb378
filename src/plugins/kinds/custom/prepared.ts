/**
 * A plugin version made ready for calls, once: its catalog (`<slug>__<tool>` with the manifest's
 * descriptions and input schemas, each marked `$schema` 2020-12 — the dialect the manifest
 * validator read them in — so the runtime's argument check reads them so too) and, per tool, the
 * output validator compiled as JSON Schema 2020-12, its timeout and whether it is idempotent. Versions never change, so a
 * prepared version is cached by id (bounded) and no call parses a manifest or compiles a schema.
 * Each version gets its own ajv instance, dropped with it (a shared one keeps every compiled schema).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { CatalogTool } from '../../../storage/repos/plugin-installations.ts';
import { DEFAULT_TOOL_TIMEOUT_MS, TOOL_SCHEMA_DIALECT, type ManifestTool, type PluginManifest } from './manifest.ts';
import { endpointUrl } from './manifest.ts';

/** Prepared versions kept; beyond it the least recently used is dropped (and prepared again when needed). */
const MAX_PREPARED = 256;

export interface PreparedTool {
  name: string;
  idempotent: boolean;
  timeoutMs: number;
  /** Null when there is no outputSchema (or it could not be compiled here). */
  checkOutput: ValidateFunction | null;
}

export interface PreparedVersion {
  versionId: string;
  version: string;
  slug: string;
  /** `baseUrl` + `endpoints.tools`, parsed once. */
  toolsUrl: URL;
  catalog: CatalogTool[];
  tools: ReadonlyMap<string, PreparedTool>;
  manifest: PluginManifest;
}

/** The catalog an installation of this manifest stores (what `GET …/plugins` counts and the model is offered). */
export function catalogOf(manifest: PluginManifest): CatalogTool[] {
  return manifest.tools.map((t: ManifestTool) => ({
    name: t.name,
    prefixedName: `${manifest.slug}__${t.name}`,
    description: t.description,
    inputSchema: { $schema: TOOL_SCHEMA_DIALECT, ...t.inputSchema },
    annotations: { effect: t.effect, confirmation: t.confirmation, idempotent: t.idempotent, permissions: t.permissions },
  }));
}

function compile(ajv: Ajv2020, schema: Record<string, unknown> | undefined): ValidateFunction | null {
  if (!schema) return null;
  try {
    return ajv.compile(schema);
  } catch {
    return null;
  }
}

export function prepareVersion(versionId: string, manifest: PluginManifest): PreparedVersion {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
  const tools = new Map<string, PreparedTool>();
  for (const t of manifest.tools) {
    tools.set(t.name, {
      name: t.name, idempotent: t.idempotent === true, timeoutMs: t.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
      checkOutput: compile(ajv, t.outputSchema),
    });
  }
  return { versionId, version: manifest.version, slug: manifest.slug, toolsUrl: new URL(endpointUrl(manifest.baseUrl, manifest.endpoints.tools)), catalog: catalogOf(manifest), tools, manifest };
}

/** Human-readable validation problems (at most five), for the model. */
export function schemaProblems(fn: ValidateFunction): string {
  return (fn.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(value)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
    .join('; ');
}

/** A bounded, least-recently-used cache of prepared versions. */
export function createPreparedCache(load: (versionId: string) => PluginManifest | null) {
  const cache = new Map<string, PreparedVersion>();
  return {
    get(versionId: string): PreparedVersion | null {
      const hit = cache.get(versionId);
      if (hit) {
        cache.delete(versionId);
        cache.set(versionId, hit);
        return hit;
      }
      const manifest = load(versionId);
      if (!manifest) return null;
      const prepared = prepareVersion(versionId, manifest);
      cache.set(versionId, prepared);
      if (cache.size > MAX_PREPARED) cache.delete(cache.keys().next().value as string);
      return prepared;
    },
  };
}
