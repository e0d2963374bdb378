/**
 * Tool input schemas: MCP JSON Schema → OpenAI function `parameters`, and argument validation
 * (ajv) before any call leaves the gateway. Compiled validators are cached per schema text.
 * A schema is read as draft-07 unless its `$schema` names JSON Schema 2020-12 (custom plugins'
 * tools always do): `items`, `prefixItems` and `dependent*` mean different things in the two.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { JsonSchema } from './types.ts';

/** The `$schema` that makes a tool schema read as JSON Schema 2020-12. */
export const DIALECT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Keys that describe the schema document rather than the value; some upstreams reject them. */
const DOCUMENT_KEYS = new Set(['$schema', '$id', '$comment']);
const MAX_CACHED_VALIDATORS = 2000;

/** A copy of `schema` fit for OpenAI's `parameters`: an object schema without document keys. */
export function toFunctionParameters(schema: JsonSchema | undefined): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema ?? {})) if (!DOCUMENT_KEYS.has(k)) out[k] = v;
  if (out.type === undefined) out.type = 'object';
  if (out.type === 'object' && out.properties === undefined) out.properties = {};
  return out;
}

export interface ArgumentCheck {
  ok: boolean;
  /** Human-readable problems for the model, when not ok. */
  problems: string;
}

export function createArgumentValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  let ajv2020: Ajv2020 | null = null;
  const compilerFor = (schema: JsonSchema): Ajv | Ajv2020 =>
    schema.$schema === DIALECT_2020_12 ? (ajv2020 ??= new Ajv2020({ strict: false, allErrors: true, validateFormats: false })) : ajv;
  const cache = new Map<string, ValidateFunction | null>();
  // Catalog schemas are the same objects request after request (cached until the configuration
  // changes): find their validator by identity before serialising them for the content cache.
  const byObject = new WeakMap<object, ValidateFunction | null>();
  const compile = (schema: JsonSchema): ValidateFunction | null => {
    const known = byObject.get(schema);
    if (known !== undefined) return known;
    const fn = compileByContent(schema);
    byObject.set(schema, fn);
    return fn;
  };
  const compileByContent = (schema: JsonSchema): ValidateFunction | null => {
    // `$schema` is part of the text, so a schema read as 2020-12 never shares a draft-07 validator.
    const key = JSON.stringify(schema);
    let fn = cache.get(key);
    if (fn === undefined) {
      try {
        fn = compilerFor(schema).compile(toFunctionParameters(schema));
      } catch {
        // A schema ajv cannot compile is not held against the caller: the plugin validates.
        fn = null;
      }
      if (cache.size >= MAX_CACHED_VALIDATORS) cache.clear();
      cache.set(key, fn);
    }
    return fn;
  };
  return {
    check(schema: JsonSchema, args: unknown): ArgumentCheck {
      const fn = compile(schema);
      if (!fn || fn(args)) return { ok: true, problems: '' };
      const problems = (fn.errors ?? [])
        .slice(0, 5)
        .map((e) => `${e.instancePath || '(arguments)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
        .join('; ');
      return { ok: false, problems };
    },
  };
}
export type ArgumentValidator = ReturnType<typeof createArgumentValidator>;
