/**
 * Query schema of the usage-events route (routes/control/usage.ts): filters, a time range given as
 * ISO 8601 or Unix seconds/milliseconds, and the page cursor. Must never hold a rule that needs storage.
 */
import { z } from 'zod';
import { UsageKinds } from '../../../storage/repos/usage-events.ts';

export const MAX_PAGE = 500;
const time = z.string().transform((s, ctx) => {
  const ms = /^\d+$/.test(s) ? Number(s) * (s.length <= 10 ? 1000 : 1) : Date.parse(s);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or Unix seconds/milliseconds' });
    return z.NEVER;
  }
  return ms;
});
export const UsageQuery = z.strictObject({
  model: z.string().min(1).max(200).optional(),
  keyId: z.string().min(1).max(200).optional(),
  requestId: z.string().min(1).max(200).optional(),
  status: z.enum(['ok', 'error']).optional(),
  kind: z.enum(UsageKinds).optional(),
  pluginId: z.string().min(1).max(200).optional(),
  tool: z.string().min(1).max(200).optional(),
  instanceId: z.string().min(1).max(200).optional(),
  from: time.optional(),
  to: time.optional(),
  cursor: z.string().regex(/^\d+$/, 'must be a cursor from a previous page').optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE)).optional(),
});
