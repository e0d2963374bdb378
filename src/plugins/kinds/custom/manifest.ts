/**
 * Validation of custom plugin manifests (`plugboard-plugin.json`): the published JSON Schema
 * (`schemas/plugboard-plugin.schema.json`, ajv 2020-12) plus the checks a schema cannot express
 * (manifest-semantics.ts). Every problem is reported at once as `{ path: JSON Pointer, message }`.
 * The same function serves the developer API, `plugboard plugin validate` and tests.
 * Must never throw (cyclic, huge, deep or non-JSON input included), never fetch or resolve
 * anything, and never hand out a manifest it has not fully checked.
 */
import fs from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { copyPlainJson, pointerSegment, valueAt } from './json-copy.ts';
import type { ManifestProblem, ManifestValidation, PluginManifest, ValidateManifestOptions } from './manifest-types.ts';
import { semanticProblems } from './manifest-semantics.ts';

export * from './manifest-types.ts';
export { endpointUrl, RESERVED_PERMISSION_NAMESPACES, RESERVED_SLUG_PREFIXES, RESERVED_SLUGS } from './manifest-semantics.ts';
export { canonicalJson, diffManifests, toolDefinitionHash, type ConsentReason, type UpgradeDiff, type UpgradeNote } from './manifest-upgrade.ts';
export { MAX_TOOL_SCHEMA_BYTES, MAX_TOOL_SCHEMA_DEPTH, TOOL_SCHEMA_DIALECT } from './tool-schema-check.ts';
export { MAX_PATTERN_LENGTH } from './safe-pattern.ts';

/** Largest manifest, in bytes of JSON (UTF-8). */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Deepest nesting of objects/arrays in a whole manifest (tool schemas sit 4 levels down). */
export const MAX_MANIFEST_DEPTH = 32;
/** Most problems listed; a longer list ends with one "… more problems" entry. */
export const MAX_PROBLEMS = 200;
/** Limits the schema file states (a test keeps the two in step). */
export const MAX_TOOLS = 32;
export const MAX_PERMISSIONS = 32;
export const MAX_CONFIG_FIELDS = 32;
export const MIN_SLUG_LENGTH = 3;
export const MAX_SLUG_LENGTH = 24;
export const MAX_TOOL_TIMEOUT_MS = 30_000;
export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;
/** OpenAI's function-name rule that `<slug>__<tool>` must meet. */
export const MAX_FUNCTION_NAME_LENGTH = 64;

/** Where the published schema lives in the repository. */
export const MANIFEST_SCHEMA_URL = new URL('../../../../schemas/plugboard-plugin.schema.json', import.meta.url);

let schemaText: string | null = null;
let compiled: ValidateFunction | null = null;

/** The published JSON Schema of the manifest, as a fresh object (e.g. to serve it). */
export function manifestJsonSchema(): Record<string, unknown> {
  schemaText ??= fs.readFileSync(MANIFEST_SCHEMA_URL, 'utf8');
  return JSON.parse(schemaText) as Record<string, unknown>;
}

function manifestValidator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, verbose: true, useDefaults: true, strict: true, strictTypes: false, validateFormats: false, logger: false });
  // VS Code shows `patternErrorMessage` to authors; the validator reports it too.
  ajv.addVocabulary(['patternErrorMessage']);
  compiled = ajv.compile(manifestJsonSchema());
  return compiled;
}

const ARTICLE: Record<string, string> = { object: 'an object', array: 'an array', integer: 'an integer', string: 'a string', number: 'a number', boolean: 'a boolean', null: 'null' };

/** One ajv error as a problem, or null for wrappers that only repeat what inner errors say. */
function fromAjv(e: ErrorObject, data: unknown): ManifestProblem | null {
  const at = e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
    case 'allOf':
      return null;
    case 'additionalProperties': {
      const known = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      return { path: `${at}/${pointerSegment(String(p.additionalProperty))}`, message: `is not a known field${known.length > 0 ? ` (known here: ${known.join(', ')})` : ''}` };
    }
    case 'required':
      return { path: `${at}/${pointerSegment(String(p.missingProperty))}`, message: 'is required' };
    case 'pattern':
      return { path: at, message: typeof e.parentSchema?.patternErrorMessage === 'string' ? e.parentSchema.patternErrorMessage : `must match ${String(p.pattern)}` };
    case 'enum':
      return { path: at, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'type':
      return { path: at, message: `must be ${String(p.type).split(',').map((t) => ARTICLE[t] ?? t).join(' or ')}` };
    case 'uniqueItems':
      return { path: `${at}/${Math.max(Number(p.i), Number(p.j))}`, message: `repeats ${at}/${Math.min(Number(p.i), Number(p.j))}` };
    case 'false schema': {
      const parent = valueAt(data, at.slice(0, at.lastIndexOf('/')));
      const type = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>).type : undefined;
      return { path: at, message: /^\/config\/\d+\//.test(at) && typeof type === 'string' ? `is not used by a config field of type "${type}"` : 'is not allowed here' };
    }
    default:
      return { path: at, message: e.message ?? 'is invalid' };
  }
}

const collator = new Intl.Collator('en', { numeric: true });

/** Sorted by path, exact repeats dropped, capped at MAX_PROBLEMS. */
function tidy(problems: ManifestProblem[]): ManifestProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const k = `${p.path}\n${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => collator.compare(a.path, b.path));
  if (unique.length <= MAX_PROBLEMS) return unique;
  return [...unique.slice(0, MAX_PROBLEMS), { path: '', message: `and ${unique.length - MAX_PROBLEMS} more problems not listed` }];
}

/**
 * Validates a manifest given as parsed JSON (or any value). On success the manifest is a fresh
 * copy with the schema's defaults applied (`permissions: []`, `confirmation: "none"`, …).
 */
export function validateManifest(input: unknown, opts: ValidateManifestOptions = {}): ManifestValidation {
  let validate: ValidateFunction;
  try {
    validate = manifestValidator();
  } catch {
    return { ok: false, problems: [{ path: '', message: 'cannot be checked: the manifest schema file is missing or broken on this appliance' }] };
  }
  try {
    const copy = copyPlainJson(input, { maxBytes: MAX_MANIFEST_BYTES, maxDepth: MAX_MANIFEST_DEPTH });
    if (!copy.ok) return { ok: false, problems: tidy(copy.problems) };
    const data = copy.value;
    const problems: ManifestProblem[] = [];
    if (!validate(data)) {
      for (const e of validate.errors ?? []) {
        const problem = fromAjv(e, data);
        if (problem) problems.push(problem);
      }
    }
    problems.push(...semanticProblems(data, opts));
    if (problems.length > 0) return { ok: false, problems: tidy(problems) };
    return { ok: true, manifest: data as PluginManifest };
  } catch {
    // A getter or proxy of the caller's that throws: refused, never thrown.
    return { ok: false, problems: [{ path: '', message: 'could not be read as JSON data' }] };
  }
}

/** Validates manifest text (a file or an HTTP body): size first, then UTF-8 and JSON, then everything else. */
export function validateManifestText(text: string | Uint8Array, opts: ValidateManifestOptions = {}): ManifestValidation {
  const bytes = typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
  if (bytes > MAX_MANIFEST_BYTES) return { ok: false, problems: [{ path: '', message: `is ${bytes} bytes; a manifest may have at most ${MAX_MANIFEST_BYTES}` }] };
  let parsed: unknown;
  try {
    const source = typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text);
    parsed = JSON.parse(source.replace(/^\uFEFF/, ''));
  } catch (err) {
    const what = err instanceof SyntaxError ? `is not valid JSON: ${err.message}` : 'is not valid UTF-8 text';
    return { ok: false, problems: [{ path: '', message: what }] };
  }
  return validateManifest(parsed, opts);
}
