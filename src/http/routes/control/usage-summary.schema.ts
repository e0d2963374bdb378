/**
 * Query schemas of the usage summary (routes/control/usage-summary.ts) and of the audit log
 * (routes/control/audit-log.ts). Times are ISO 8601 or Unix seconds/milliseconds, as on the
 * usage-events route. Must never hold a rule that needs storage.
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api-usage.ts';
import type { Accepts } from '../../validate.ts';

const time = z.string().transform((s, ctx) => {
  const ms = /^\d+$/.test(s) ? Number(s) * (s.length <= 10 ? 1000 : 1) : Date.parse(s);
  if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or Unix seconds/milliseconds' });
    return z.NEVER;
  }
  return ms;
});
const count = (max: number) => z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(max));

export const MAX_GROUPS = 200;
export const UsageSummaryQuery = z.strictObject({
  range: z.enum(['1h', '24h', '7d']),
  groupBy: z.enum(['key', 'model', 'tool', 'instance', 'plugin']).optional(),
  kind: z.enum(['completion', 'model_turn', 'tool_call', 'loop_cap']).optional(),
  bucket: z.enum(['1m', '5m', '15m', '1h', '6h', '1d']).optional(),
  to: time.optional(),
  limit: count(MAX_GROUPS).optional(),
});
export type UsageSummaryQueryAccepts = Accepts<typeof UsageSummaryQuery, Api.UsageSummaryQuery>;

export const MAX_AUDIT_PAGE = 500;
const id = z.string().min(1).max(200);
export const AuditLogQuery = z.strictObject({
  cursor: z.string().regex(/^\d+$/, 'must be a cursor from a previous page').optional(),
  limit: count(MAX_AUDIT_PAGE).optional(),
  actorId: id.optional(),
  method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE']).optional(),
  action: id.optional(),
  targetId: id.optional(),
  outcome: z.enum(['ok', 'error']).optional(),
  from: time.optional(),
  to: time.optional(),
});
export type AuditLogQueryAccepts = Accepts<typeof AuditLogQuery, Api.AuditLogQuery>;
