/**
 * Control panel (issue 13): the usage summary for every member, and the audit log of
 * control-panel writes for owners (`/organizations/{id}/audit-log`) and for the appliance operator
 * (`/operator/audit-log`, every organisation). Pipelines: auth and policy → validate the query →
 * use case → presenter. Must never hold business rules (src/control/usage-summary.ts, audit-log.ts).
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { requireOperator, type OperatorAuthDeps } from '../../operator-auth.ts';
import { singleQuery, validate } from '../../validate.ts';
import { usageSummary, type SummaryDeps } from '../../../control/usage-summary.ts';
import { auditPage } from '../../../control/audit-log.ts';
import type { AuditLogRepo } from '../../../storage/repos/audit-log.ts';
import { pageOf } from '../../presenters/common.ts';
import { presentAuditEntry, presentUsageSummary } from '../../presenters/usage-summary.ts';
import { AuditLogQuery, UsageSummaryQuery } from './usage-summary.schema.ts';

export function usageSummaryRoutes(deps: ControlAuthDeps & OperatorAuthDeps & SummaryDeps & { audit: Pick<AuditLogRepo, 'query'> }): Router {
  const router = new Router();
  router.get('/organizations/:organizationId/usage/summary', requireOrgAction(deps, 'usage:read'), async function usageSummaryRoute(ctx) {
    const q = validate(UsageSummaryQuery, singleQuery(ctx.request.query));
    ctx.body = presentUsageSummary(usageSummary(deps, actorOf(ctx).orgId, { ...q, limit: q.limit ?? 20 }));
  });
  router.get('/organizations/:organizationId/audit-log', requireOrgAction(deps, 'audit:read'), async function orgAuditLog(ctx) {
    const q = validate(AuditLogQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(auditPage(deps.audit, actorOf(ctx).orgId, { ...q, limit: q.limit ?? 50 }), presentAuditEntry);
  });
  router.get('/operator/audit-log', requireOperator(deps), async function operatorAuditLog(ctx) {
    const q = validate(AuditLogQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(auditPage(deps.audit, null, { ...q, limit: q.limit ?? 50 }), presentAuditEntry);
  });
  return router;
}
