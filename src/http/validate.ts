/**
 * Turns zod validation failures into 400s that name the offending field, and query strings into
 * single values (a repeated parameter is a 400). `Accepts` lets a route's schema file prove at
 * compile time that it takes every request body the TUI's shared types allow. Must never know a
 * resource or call a use case.
 */
import type { z } from 'zod';
import { invalidRequest } from '../errors.ts';

export function validate<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.length ? issue.path.map(String).join('.') : null;
  const where = param ? `${param}: ` : '';
  const code = issue.code === 'unrecognized_keys' ? 'unknown_parameter' : issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value';
  return (() => {
    throw invalidRequest(`${where}${issue.message}`, param, code);
  })();
}

/** Query parameters as single strings; a repeated one is a 400 naming it. */
export function singleQuery(query: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) throw invalidRequest(`${k} may be given once.`, k, 'invalid_value');
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Compile-time only: `Accepts<typeof Schema, Api.SomeRequest>` fails to type-check unless every
 * value of the shared request type is, by its types, an input the schema takes: no field the
 * schema lacks (strict schemas refuse unknown fields) and no value type it refuses.
 */
export type Accepts<S extends z.ZodType, Request extends z.input<S> & NoExtraKeys<Request, z.input<S>>> = Request;
type NoExtraKeys<R, Input> = { [K in Exclude<keyof R, keyof Input>]: never };
