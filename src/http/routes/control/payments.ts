/**
 * Control panel of the Payments toolkit: the provider binding (members read; the owner binds and
 * changes it, Stripe secrets sealed and never returned), payments and the operator's hands on them
 * (sandbox mark paid / failed, manual confirm receipt, cancel, check now), refunds and their
 * approval (owners and admins). Each route is a pipeline: auth and policy → find the resource in
 * the organisation (another organisation's is a 404) → validate → use case → presenter; nothing is
 * written before validation passes. Must never hold business rules or return a secret.
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import type { PaymentsToolkit, OperatorAction } from '../../../toolkits/payments/index.ts';
import { bindProvider, findPayment, findRefund, listPayments, listRefunds, updateBinding } from '../../../toolkits/payments/admin.ts';
import { bindingOrNotFound } from '../../../toolkits/payments/bindings.ts';
import { providerFailure } from '../../../toolkits/payments/errors.ts';
import { pageOf } from '../../presenters/common.ts';
import { presentBinding, presentPayment, presentRefund } from '../../presenters/commerce.ts';
import { NoOptions } from './commerce.schema.ts';
import { optionalJson, requestIdOf } from './commerce.ts';
import { BindProvider, ConfirmReceipt, CreateRefund, MarkFailed, PaymentsQuery, RefundDecision, RefundsQuery, SettleRefund, UpdateBinding } from './payments.schema.ts';

const DEFAULT_PAGE = 50;

export function paymentRoutes(deps: ControlAuthDeps & { payments: PaymentsToolkit }): Router {
  const router = new Router();
  const { payments } = deps;
  const { store, bindings } = payments;
  const org = '/organizations/:organizationId';
  const binding = (b: Parameters<typeof presentBinding>[0]) => presentBinding(b, payments.webhookUrl(b.id));

  router.get(`${org}/payment-binding`, requireOrgAction(deps, 'payments:read'), async function readBinding(ctx) {
    ctx.body = binding(bindingOrNotFound(bindings, actorOf(ctx).orgId));
  });

  router.put(`${org}/payment-binding`, requireOrgAction(deps, 'payments:bind'), async function bindPaymentProvider(ctx) {
    const actor = actorOf(ctx);
    const input = validate(BindProvider, await readJson(ctx));
    ctx.body = binding(bindProvider(bindings, actor.orgId, input, actor.userId));
  });

  router.patch(`${org}/payment-binding`, requireOrgAction(deps, 'payments:bind'), async function updatePaymentBinding(ctx) {
    const cur = bindingOrNotFound(bindings, actorOf(ctx).orgId);
    const input = validate(UpdateBinding, await readJson(ctx));
    ctx.body = binding(updateBinding(bindings, cur, input));
  });

  router.get(`${org}/payments`, requireOrgAction(deps, 'payments:read'), async function listPaymentPage(ctx) {
    const q = validate(PaymentsQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listPayments(store, actorOf(ctx).orgId, { ...q, limit: q.limit ?? DEFAULT_PAGE }), presentPayment);
  });

  router.get(`${org}/payments/:paymentId`, requireOrgAction(deps, 'payments:read'), async function readPayment(ctx) {
    ctx.body = presentPayment(findPayment(store, actorOf(ctx).orgId, ctx.params.paymentId));
  });

  const actions: Array<[string, OperatorAction, typeof NoOptions | typeof MarkFailed | typeof ConfirmReceipt]> = [
    ['mark-paid', 'mark_paid', NoOptions], ['mark-failed', 'mark_failed', MarkFailed], ['confirm-receipt', 'confirm_receipt', ConfirmReceipt], ['cancel', 'cancel', NoOptions],
  ];
  for (const [path, action, schema] of actions) {
    router.post(`${org}/payments/:paymentId/${path}`, requireOrgAction(deps, 'payments:write'), async function paymentOperatorAction(ctx) {
      const p = findPayment(store, actorOf(ctx).orgId, ctx.params.paymentId);
      const input = validate(schema, await optionalJson(ctx)) as { reason?: string; receivedMinor?: number; note?: string };
      ctx.body = presentPayment(await payments.core.operator(p, action, input, requestIdOf(ctx)));
    });
  }

  router.post(`${org}/payments/:paymentId/refresh`, requireOrgAction(deps, 'payments:write'), async function refreshPayment(ctx) {
    const p = findPayment(store, actorOf(ctx).orgId, ctx.params.paymentId);
    validate(NoOptions, await optionalJson(ctx));
    try {
      ctx.body = presentPayment(await payments.core.reconcile(p, { requestId: requestIdOf(ctx) }));
    } catch (err) {
      throw providerFailure(err);
    }
  });

  router.post(`${org}/payments/:paymentId/refunds`, requireOrgAction(deps, 'payments:write'), async function refundPayment(ctx) {
    const actor = actorOf(ctx);
    const p = findPayment(store, actor.orgId, ctx.params.paymentId);
    const input = validate(CreateRefund, await optionalJson(ctx));
    const { refund } = payments.refunds.request({
      payment: p, amountMinor: input.amountMinor, reason: input.reason ?? 'requested_by_customer', note: input.note ?? '', by: 'operator', userId: actor.userId,
      idempotencyKey: null, requestId: requestIdOf(ctx),
    });
    ctx.status = 201;
    ctx.body = presentRefund(refund);
  });

  router.get(`${org}/refunds`, requireOrgAction(deps, 'payments:read'), async function listRefundPage(ctx) {
    const q = validate(RefundsQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listRefunds(store, actorOf(ctx).orgId, { ...q, limit: q.limit ?? DEFAULT_PAGE }), presentRefund);
  });

  router.get(`${org}/refunds/:refundId`, requireOrgAction(deps, 'payments:read'), async function readRefund(ctx) {
    ctx.body = presentRefund(findRefund(store, actorOf(ctx).orgId, ctx.params.refundId));
  });

  router.post(`${org}/refunds/:refundId/approve`, requireOrgAction(deps, 'payments:write'), async function approveRefund(ctx) {
    const actor = actorOf(ctx);
    const r = findRefund(store, actor.orgId, ctx.params.refundId);
    const input = validate(RefundDecision, await optionalJson(ctx));
    ctx.body = presentRefund(payments.refunds.approve(r, actor.userId, input.note ?? null, requestIdOf(ctx)));
  });

  router.post(`${org}/refunds/:refundId/reject`, requireOrgAction(deps, 'payments:write'), async function rejectRefund(ctx) {
    const actor = actorOf(ctx);
    const r = findRefund(store, actor.orgId, ctx.params.refundId);
    const input = validate(RefundDecision, await optionalJson(ctx));
    ctx.body = presentRefund(payments.refunds.reject(r, actor.userId, input.note ?? null, requestIdOf(ctx)));
  });

  router.post(`${org}/refunds/:refundId/settle`, requireOrgAction(deps, 'payments:write'), async function settleRefund(ctx) {
    const r = findRefund(store, actorOf(ctx).orgId, ctx.params.refundId);
    const input = validate(SettleRefund, await readJson(ctx));
    ctx.body = presentRefund(await payments.refunds.settleManual(r, input.outcome, input.reason ?? null, requestIdOf(ctx)));
  });

  return router;
}
