/**
 * The appliance operator's routes (`Authorization: Bearer pbo_…`, an operator token): who am I,
 * the plugin review queue with approve and reject, deprecating and withdrawing any version, every
 * organisation's plugin installations with pause and resume, and any plugin's call log.
 * Pipelines: operator auth → validate → use case → presenter. Must never hold business rules
 * (src/control/plugin-reviews.ts and operator.ts have them) and never accept a control-panel token.
 */
import Router from '@koa/router';
import { operatorOf, requireOperator, type OperatorAuthDeps } from '../../operator-auth.ts';
import { readOptionalJson } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import { approveVersion, listReviews, rejectVersion, reviewOf, versionForOperator, type ReviewDeps } from '../../../control/plugin-reviews.ts';
import { deprecateVersion, withdrawVersion } from '../../../control/developer-plugins.ts';
import { listAllInstallations, operatorLogs, pauseInstallation, resumeInstallation, type OperatorDeps } from '../../../control/operator.ts';
import { listOf, pageOf } from '../../presenters/common.ts';
import { presentReview, presentVersion } from '../../presenters/custom-plugins.ts';
import { presentLogEntry, presentOperatorInstallation } from '../../presenters/plugin-installations.ts';
import { ApproveVersion, NoFields, OperatorInstallationsQuery, OperatorLogQuery, PauseInstallation, RejectVersion } from './plugins.schema.ts';
import type * as Api from '../../../shared/api.ts';

export function operatorPluginRoutes(deps: OperatorAuthDeps & ReviewDeps & OperatorDeps): Router {
  const router = new Router({ prefix: '/operator' });
  const auth = requireOperator(deps);

  router.get('/me', auth, async function operatorMe(ctx) {
    const op = operatorOf(ctx);
    ctx.body = { object: 'operator', tokenId: op.tokenId, name: op.name } satisfies Api.OperatorIdentity;
  });

  router.get('/plugin-reviews', auth, async function listPluginReviews(ctx) {
    ctx.body = listOf(listReviews(deps).map(presentReview));
  });

  router.get('/plugin-versions/:versionId', auth, async function getPluginVersionForReview(ctx) {
    ctx.body = presentReview(reviewOf(deps, versionForOperator(deps, ctx.params.versionId)));
  });

  router.post('/plugin-versions/:versionId/approve', auth, async function approvePluginVersion(ctx) {
    const input = validate(ApproveVersion, await readOptionalJson(ctx));
    ctx.body = presentVersion(approveVersion(deps, ctx.params.versionId, operatorOf(ctx).name, input.note));
  });

  router.post('/plugin-versions/:versionId/reject', auth, async function rejectPluginVersion(ctx) {
    const input = validate(RejectVersion, await readOptionalJson(ctx));
    ctx.body = presentVersion(rejectVersion(deps, ctx.params.versionId, operatorOf(ctx).name, input.reason));
  });

  router.post('/plugin-versions/:versionId/deprecate', auth, async function operatorDeprecateVersion(ctx) {
    validate(NoFields, await readOptionalJson(ctx));
    ctx.body = presentVersion(deprecateVersion(deps, versionForOperator(deps, ctx.params.versionId)));
  });

  router.post('/plugin-versions/:versionId/withdraw', auth, async function operatorWithdrawVersion(ctx) {
    validate(NoFields, await readOptionalJson(ctx));
    const v = withdrawVersion(deps, versionForOperator(deps, ctx.params.versionId));
    deps.onChange();
    ctx.body = presentVersion(v);
  });

  router.get('/plugin-installations', auth, async function listAllPluginInstallations(ctx) {
    const q = validate(OperatorInstallationsQuery, singleQuery(ctx.request.query));
    ctx.body = listOf(listAllInstallations(deps, q).map(presentOperatorInstallation));
  });

  router.post('/plugin-installations/:id/pause', auth, async function pausePluginInstallation(ctx) {
    const input = validate(PauseInstallation, await readOptionalJson(ctx));
    ctx.body = presentOperatorInstallation(await pauseInstallation(deps, ctx.params.id, input.reason ?? '', operatorOf(ctx).name));
  });

  router.post('/plugin-installations/:id/resume', auth, async function resumePluginInstallation(ctx) {
    validate(NoFields, await readOptionalJson(ctx));
    ctx.body = presentOperatorInstallation(resumeInstallation(deps, ctx.params.id));
  });

  router.get('/plugin-logs', auth, async function operatorPluginLogs(ctx) {
    const q = validate(OperatorLogQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(operatorLogs(deps, { pluginId: q.pluginId, installationId: q.installationId, limit: q.limit ?? 50, cursor: q.cursor }), presentLogEntry);
  });

  return router;
}
