/**
 * Control panel of the E-Commerce toolkit: the catalogue (members read; owners and admins write),
 * orders and their state (operators fulfil or cancel; the agent creates them, Payments marks them
 * paid), and after-sale requests (resolve). Each route is a pipeline: auth and policy → find the
 * resource in the organisation (another organisation's is a 404) → validate → use case → presenter.
 * Validation happens before anything is written. Must never hold business rules (the toolkit and
 * src/control/commerce.ts have them).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { CONTROL_BODY_LIMIT, parseJsonObject, readJson, readRawBody } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import type { RequestState } from '../../request-context.ts';
import { cancelOrderAndPayment, orderWithPayments, type CommerceDeps } from '../../../control/commerce.ts';
import { createProduct, deleteProduct, getProduct, listProducts, updateProduct } from '../../../toolkits/ecommerce/products.ts';
import { getOrder, listOrders } from '../../../toolkits/ecommerce/orders.ts';
import { getAfterSale, listAfterSales } from '../../../toolkits/ecommerce/after-sales.ts';
import { deleted, pageOf } from '../../presenters/common.ts';
import { presentAfterSale, presentOrder, presentOrderDetail, presentProduct } from '../../presenters/commerce.ts';
import { AfterSalesQuery, CancelOrder, CreateProduct, NoOptions, OrdersQuery, ProductsQuery, ResolveAfterSale, UpdateProduct } from './commerce.schema.ts';

const DEFAULT_PAGE = 50;

/** A body that may be left out (an action without options): empty is `{}`, anything else must be a JSON object. */
export async function optionalJson(ctx: Koa.Context): Promise<Record<string, unknown>> {
  const raw = await readRawBody(ctx.req, CONTROL_BODY_LIMIT);
  return raw.length === 0 ? {} : parseJsonObject(raw);
}

export const requestIdOf = (ctx: Koa.Context): string => (ctx.state as RequestState).requestId;

export function commerceRoutes(deps: ControlAuthDeps & CommerceDeps): Router {
  const router = new Router();
  const { products, orders, afterSales } = deps.ecommerce.repos;
  const org = '/organizations/:organizationId';

  router.get(`${org}/products`, requireOrgAction(deps, 'commerce:read'), async function listCatalogue(ctx) {
    const q = validate(ProductsQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listProducts(products, actorOf(ctx).orgId, { q: q.q, active: q.active, limit: q.limit ?? DEFAULT_PAGE, cursor: q.cursor }), presentProduct);
  });

  router.post(`${org}/products`, requireOrgAction(deps, 'commerce:write'), async function addProduct(ctx) {
    const input = validate(CreateProduct, await readJson(ctx));
    ctx.status = 201;
    ctx.body = presentProduct(createProduct(products, actorOf(ctx).orgId, input));
  });

  router.get(`${org}/products/:productId`, requireOrgAction(deps, 'commerce:read'), async function readProduct(ctx) {
    ctx.body = presentProduct(getProduct(products, actorOf(ctx).orgId, ctx.params.productId));
  });

  router.patch(`${org}/products/:productId`, requireOrgAction(deps, 'commerce:write'), async function editProduct(ctx) {
    const cur = getProduct(products, actorOf(ctx).orgId, ctx.params.productId);
    const patch = validate(UpdateProduct, await readJson(ctx));
    ctx.body = presentProduct(updateProduct(products, cur, patch));
  });

  router.delete(`${org}/products/:productId`, requireOrgAction(deps, 'commerce:write'), async function removeProduct(ctx) {
    const p = getProduct(products, actorOf(ctx).orgId, ctx.params.productId);
    deleteProduct(products, p);
    ctx.body = deleted(p.id, 'product');
  });

  router.get(`${org}/orders`, requireOrgAction(deps, 'commerce:read'), async function listOrderPage(ctx) {
    const q = validate(OrdersQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listOrders(orders, actorOf(ctx).orgId, { ...q, limit: q.limit ?? DEFAULT_PAGE }), presentOrder);
  });

  router.get(`${org}/orders/:orderId`, requireOrgAction(deps, 'commerce:read'), async function readOrder(ctx) {
    const { order, payments } = orderWithPayments(deps, getOrder(orders, actorOf(ctx).orgId, ctx.params.orderId));
    ctx.body = presentOrderDetail(order, payments);
  });

  router.post(`${org}/orders/:orderId/fulfill`, requireOrgAction(deps, 'commerce:write'), async function fulfillOrder(ctx) {
    const o = getOrder(orders, actorOf(ctx).orgId, ctx.params.orderId);
    validate(NoOptions, await optionalJson(ctx));
    ctx.body = presentOrder(deps.ecommerce.fulfil(o, requestIdOf(ctx)));
  });

  router.post(`${org}/orders/:orderId/cancel`, requireOrgAction(deps, 'commerce:write'), async function cancelOrder(ctx) {
    const o = getOrder(orders, actorOf(ctx).orgId, ctx.params.orderId);
    const input = validate(CancelOrder, await optionalJson(ctx));
    ctx.body = presentOrder(await cancelOrderAndPayment(deps, o, input.reason ?? null, requestIdOf(ctx)));
  });

  router.get(`${org}/after-sale-requests`, requireOrgAction(deps, 'commerce:read'), async function listAfterSaleRequests(ctx) {
    const q = validate(AfterSalesQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listAfterSales(afterSales, actorOf(ctx).orgId, { ...q, limit: q.limit ?? DEFAULT_PAGE }), presentAfterSale);
  });

  router.get(`${org}/after-sale-requests/:afterSaleId`, requireOrgAction(deps, 'commerce:read'), async function readAfterSaleRequest(ctx) {
    ctx.body = presentAfterSale(getAfterSale(afterSales, actorOf(ctx).orgId, ctx.params.afterSaleId));
  });

  router.post(`${org}/after-sale-requests/:afterSaleId/resolve`, requireOrgAction(deps, 'commerce:write'), async function resolveAfterSaleRequest(ctx) {
    const actor = actorOf(ctx);
    const a = getAfterSale(afterSales, actor.orgId, ctx.params.afterSaleId);
    const input = validate(ResolveAfterSale, await readJson(ctx));
    ctx.body = presentAfterSale(deps.ecommerce.resolveAfterSale(a, input.resolution, actor.userId, requestIdOf(ctx)));
  });

  return router;
}
