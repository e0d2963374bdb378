/**
 * Tool input schemas: MCP JSON Schema → OpenAI function `parameters`, and argument validation
 * (ajv) before any call leaves the gateway. Compiled validators are cached per schema text.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { JsonSchema } from './types.ts';

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
    const key = JSON.stringify(schema);
    let fn = cache.get(key);
    if (fn === undefined) {
      try {
        fn = ajv.compile(toFunctionParameters(schema));
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
