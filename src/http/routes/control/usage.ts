/**
 * Control panel: usage events with filters and cursor pagination (newest first), for every member.
 * The route is a pipeline: auth and policy → validate the query → use case → presenter.
 * Must never hold business rules (src/control/usage.ts has them).
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { singleQuery, validate } from '../../validate.ts';
import { usagePage, type UsageDeps } from '../../../control/usage.ts';
import { pageOf } from '../../presenters/common.ts';
import { presentUsageEvent } from '../../presenters/usage.ts';
import { UsageQuery } from './usage.schema.ts';

export function usageRoutes(deps: ControlAuthDeps & UsageDeps): Router {
  const router = new Router();
  router.get('/organizations/:organizationId/usage-events', requireOrgAction(deps, 'usage:read'), async function listUsage(ctx) {
    const q = validate(UsageQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(usagePage(deps, actorOf(ctx).orgId, { ...q, limit: q.limit ?? 50 }), presentUsageEvent);
  });
  return router;
}
