/**
 * Turns zod validation failures into 400s that name the offending field.
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
