/**
 * Control panel: usage events with filters and cursor pagination (newest first).
 */
import Router from '@koa/router';
import { z } from 'zod';
import { invalidRequest } from '../../../errors.ts';
import type { UsageEventsRepo } from '../../../storage/repos/usage-events.ts';
import { UsageKinds } from '../../../storage/repos/usage-events.ts';
import type { UsageRecorder } from '../../../usage/recorder.ts';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { validate } from '../../validate.ts';
import { presentUsageEvent } from '../../presenters/control.ts';

const MAX_PAGE = 500;
const time = z.string().transform((s, ctx) => {
  const ms = /^\d+$/.test(s) ? Number(s) * (s.length <= 10 ? 1000 : 1) : Date.parse(s);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or Unix seconds/milliseconds' });
    return z.NEVER;
  }
  return ms;
});
const Query = z.strictObject({
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

export function usageRoutes(deps: ControlAuthDeps & { usage: UsageEventsRepo; recorder: UsageRecorder }): Router {
  const router = new Router();
  router.get('/organizations/:organizationId/usage-events', requireOrgAction(deps, 'usage:read'), async function listUsage(ctx) {
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ctx.request.query)) {
      if (Array.isArray(v)) throw invalidRequest(`${k} may be given once.`, k, 'invalid_value');
      raw[k] = v;
    }
    const q = validate(Query, raw);
    const limit = q.limit ?? 50;
    deps.recorder.flush();
    const rows = deps.usage.query({
      orgId: actorOf(ctx).orgId, model: q.model, keyId: q.keyId, requestId: q.requestId, status: q.status, kind: q.kind,
      pluginId: q.pluginId, tool: q.tool, instanceId: q.instanceId, from: q.from, to: q.to,
      beforeId: q.cursor === undefined ? undefined : Number(q.cursor), limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const hasMore = rows.length > limit;
    ctx.body = { object: 'list', data: page.map(presentUsageEvent), hasMore, nextCursor: hasMore ? String(page[page.length - 1].id) : null };
  });
  return router;
}
