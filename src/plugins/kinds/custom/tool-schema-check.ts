/**
 * Checks a custom plugin tool's `inputSchema` / `outputSchema`: a JSON Schema 2020-12 object schema,
 * bounded in bytes and depth, with local `#/…` references only, safe patterns, accepted by ajv's
 * meta-schema and compiled by ajv in strict mode (so a misspelt keyword is caught at registration,
 * not at the first call). Bounds are checked before ajv ever sees the schema.
 * Must never fetch anything (no remote `$ref`, no `loadSchema`) nor keep compiled schemas.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { jsonDepth, pointerSegment, valueAt } from './json-copy.ts';
import { patternProblem } from './safe-pattern.ts';

/** Largest tool schema, in bytes of JSON. */
export const MAX_TOOL_SCHEMA_BYTES = 16 * 1024;
/** Deepest tool schema, in nested JSON objects/arrays (about 10 levels of nested object properties). */
export const MAX_TOOL_SCHEMA_DEPTH = 20;
/** The only `$schema` a tool schema may name: the dialect it is read in (MCP's default too). */
export const TOOL_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

export interface SchemaProblem {
  path: string;
  message: string;
}

/** Keywords whose value is one subschema. */
const SCHEMA_KEYWORDS = ['additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'items', 'additionalItems'];
/** Keywords whose value is an array of subschemas. */
const ARRAY_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
/** Keywords whose value maps names to subschemas. */
const MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
/** Keywords that move references outside this document or make them dynamic. */
const REFUSED_KEYWORDS: Record<string, string> = {
  $id: 'would change the base of references; tool schemas are self-contained, so leave it out',
  $dynamicRef: 'is not supported in tool schemas; use a local "$ref": "#/…"',
  $dynamicAnchor: 'is not supported in tool schemas',
  $recursiveRef: 'is not supported in tool schemas; use a local "$ref": "#/…"',
  $recursiveAnchor: 'is not supported in tool schemas',
};
const LOCAL_REF = /^#(\/[^#]*)?$/;

const OPTIONS = {
  allErrors: true,
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
  validateFormats: false,
  logger: false,
} as const;

let metaAjv: Ajv2020 | null = null;
/** The meta-schema checker, shared: validateSchema() adds nothing to the instance. */
function metaChecker(): Ajv2020 {
  metaAjv ??= new Ajv2020(OPTIONS);
  return metaAjv;
}

/**
 * A compiler for one schema, dropped afterwards: ajv's code-generation scope keeps every compiled
 * schema's values even after removeSchema(), so a shared instance would grow with each manifest.
 * Without meta-schemas it is cheap to build; the meta check ran on metaChecker() before.
 */
function oneShotCompiler(): Ajv2020 {
  return new Ajv2020({ ...OPTIONS, meta: false, validateSchema: false });
}

/** Walks schema positions only (not `enum`/`const`/`default` values), without recursion. */
function walkSchema(root: unknown, base: string, visit: (node: Record<string, unknown>, path: string, isRoot: boolean) => void): void {
  const stack: Array<[unknown, string, boolean]> = [[root, base, true]];
  // Bounded: the schema was already checked to be plain JSON of at most MAX_TOOL_SCHEMA_BYTES.
  while (stack.length > 0) {
    const [node, path, isRoot] = stack.pop() as [unknown, string, boolean];
    if (node === null || typeof node !== 'object' || Array.isArray(node)) continue;
    const obj = node as Record<string, unknown>;
    visit(obj, path, isRoot);
    for (const k of SCHEMA_KEYWORDS) if (k in obj) stack.push([obj[k], `${path}/${k}`, false]);
    for (const k of ARRAY_KEYWORDS) {
      const v = obj[k];
      if (Array.isArray(v)) v.forEach((s, i) => stack.push([s, `${path}/${k}/${i}`, false]));
    }
    if (Array.isArray(obj.items)) obj.items.forEach((s, i) => stack.push([s, `${path}/items/${i}`, false]));
    for (const k of MAP_KEYWORDS) {
      const v = obj[k];
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [name, s] of Object.entries(v)) stack.push([s, `${path}/${k}/${pointerSegment(name)}`, false]);
      }
    }
  }
}

/**
 * ajv's own schema errors as problems under `base`: wrappers (anyOf/oneOf of the meta-schema) left
 * out, and one problem per place (the meta-schema's alternatives would repeat it).
 */
function metaProblems(errors: ErrorObject[] | null | undefined, base: string, schema: unknown): SchemaProblem[] {
  const byPath = new Map<string, string>();
  for (const e of errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === '$dynamicRef' || byPath.has(e.instancePath)) continue;
    const p = e.params as Record<string, unknown>;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'type') message = `must be ${String(p.type).split(',').join(' or ')}`;
    if (e.keyword === 'enum') message = `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.instancePath.endsWith('/items') && Array.isArray(valueAt(schema, e.instancePath))) message += ' (in JSON Schema 2020-12 a tuple is written with prefixItems)';
    byPath.set(e.instancePath, message);
  }
  return [...byPath].map(([path, message]) => ({ path: `${base}${path}`, message: `is not valid JSON Schema: ${message}` }));
}

/** What a local `#/…` reference (a percent-encoded JSON Pointer) points to, or undefined. */
function refTarget(schema: unknown, ref: string): unknown {
  try {
    return valueAt(schema, decodeURIComponent(ref.slice(1)));
  } catch {
    return undefined;
  }
}

/**
 * Problems of one tool schema at `base` (e.g. `/tools/0/inputSchema`). `input` schemas must also
 * refuse unknown arguments (`additionalProperties: false`): the model's arguments are checked
 * against them before any call leaves the appliance.
 */
export function toolSchemaProblems(schema: Record<string, unknown>, base: string, kind: 'input' | 'output'): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > MAX_TOOL_SCHEMA_BYTES) return [{ path: base, message: `is ${bytes} bytes; a tool schema may have at most ${MAX_TOOL_SCHEMA_BYTES}` }];
  const depth = jsonDepth(schema);
  if (depth > MAX_TOOL_SCHEMA_DEPTH) return [{ path: base, message: `is nested ${depth} levels deep; a tool schema may nest at most ${MAX_TOOL_SCHEMA_DEPTH}` }];
  if (schema.type !== 'object') problems.push({ path: `${base}/type`, message: 'must be "object": tool arguments and results are JSON objects' });
  if (kind === 'input' && schema.additionalProperties !== false) {
    problems.push({ path: `${base}/additionalProperties`, message: 'must be false: a strict input schema refuses arguments it does not name' });
  }
  const validator = metaChecker();
  walkSchema(schema, base, (node, path, isRoot) => {
    for (const k of Object.keys(node)) {
      if (!(k in validator.RULES.keywords)) problems.push({ path: `${path}/${pointerSegment(k)}`, message: 'is not a JSON Schema 2020-12 keyword (a strict schema has no unknown keywords; check the spelling)' });
    }
    for (const [k, why] of Object.entries(REFUSED_KEYWORDS)) if (k in node) problems.push({ path: `${path}/${pointerSegment(k)}`, message: why });
    if ('$schema' in node && (!isRoot || node.$schema !== TOOL_SCHEMA_DIALECT)) {
      problems.push({ path: `${path}/$schema`, message: isRoot ? `must be "${TOOL_SCHEMA_DIALECT}" or left out: tool schemas are read as JSON Schema 2020-12` : 'may only appear at the top of a tool schema' });
    }
    if ('$ref' in node) {
      const ref = node.$ref;
      if (typeof ref !== 'string' || !LOCAL_REF.test(ref)) {
        problems.push({ path: `${path}/$ref`, message: 'must be a local reference such as "#/$defs/address": remote references are never fetched' });
      } else if (ref !== '#' && refTarget(schema, ref) === undefined) {
        problems.push({ path: `${path}/$ref`, message: `points to nothing in this schema (${ref})` });
      }
    }
    if (typeof node.pattern === 'string') {
      const why = patternProblem(node.pattern);
      if (why) problems.push({ path: `${path}/pattern`, message: why });
    }
    const pp = node.patternProperties;
    if (pp && typeof pp === 'object' && !Array.isArray(pp)) {
      for (const key of Object.keys(pp)) {
        const why = patternProblem(key);
        if (why) problems.push({ path: `${path}/patternProperties/${pointerSegment(key)}`, message: why });
      }
    }
  });
  try {
    // The meta-schema check resolves nothing and runs no author pattern, so it runs whatever else
    // was found; compiling waits until the schema is known to be self-contained and safe.
    if (!validator.validateSchema(schema)) return [...problems, ...metaProblems(validator.errors, base, schema)];
    if (problems.length > 0) return problems;
    oneShotCompiler().compile(schema);
  } catch (err) {
    // e.g. an unknown `$schema` (already reported above) or a `$ref` to nothing.
    if (problems.length > 0) return problems;
    return [{ path: base, message: `does not compile as JSON Schema: ${(err as Error).message}` }];
  }
  return [];
}
