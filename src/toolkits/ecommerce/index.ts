/**
 * The E-Commerce toolkit: a product catalogue per organisation, orders whose totals the appliance
 * computes from catalogue prices, forward-only order states, after-sale requests, and the
 * first-party plugin (`first_party:ecommerce`) that gives the agent its four tools. Built before
 * the plugin runtime (the runtime takes `plugin`), like the WhatsApp toolkit.
 *
 * Use cases (the control panel's and the agent's): catalogue CRUD (products.ts), order creation
 * with stock taken in the same transaction, fulfil and cancel (orders.ts), after-sale requests
 * (after-sales.ts). Only the Payments toolkit moves an order to `paid`, through `orders.markPaid`
 * inside its own transaction. State changes are announced on the live bus.
 * Must never know about HTTP, call a provider or the model, or hold module-level state.
 */
import type { Db } from '../../storage/db.ts';
import type { Logger } from '../../log.ts';
import type { EventBus } from '../../usage/bus.ts';
import type { FirstPartyPlugin } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import { createProductsRepo, type ProductsRepo } from './products.ts';
import { cancelOrder, createOrdersRepo, fulfilOrder, type NewOrder, type Order, type OrdersRepo } from './orders.ts';
import { createAfterSalesRepo, resolveAfterSale, type AfterSale, type AfterSalesRepo } from './after-sales.ts';
import { createEcommercePlugin } from './plugin.ts';
import { publishCommerce } from './support.ts';

export { ECOMMERCE_PLUGIN_ID, ECOMMERCE_PERMISSIONS, orderForModel, customersOrder, toolKey } from './plugin.ts';
export type { Product, ProductInput, ProductPatch } from './products.ts';
export type { Order, OrderItem, OrderStatus } from './orders.ts';
export type { AfterSale, AfterSaleStatus, AfterSaleType } from './after-sales.ts';
export { asTool, currentCustomer, formatMoney, grantRevoked, publishCommerce, toolError, toolResult, type Page } from './support.ts';

export interface EcommerceToolkitDeps {
  db: Db;
  grants: GrantsRepo;
  log: Logger;
  bus?: EventBus;
  now?: () => number;
}

export interface EcommerceRepos {
  products: ProductsRepo;
  orders: OrdersRepo;
  afterSales: AfterSalesRepo;
}

export interface EcommerceToolkit {
  plugin: FirstPartyPlugin;
  repos: EcommerceRepos;
  /** Creates an order for a customer (prices from the catalogue, stock taken) and announces it. */
  createOrder(input: NewOrder, requestId: string): { order: Order; created: boolean };
  /** Operator: paid → fulfilled. */
  fulfil(order: Order, requestId: string): Order;
  /** Operator: pending_payment or paid → cancelled (stock goes back). */
  cancel(order: Order, reason: string | null, requestId: string): Order;
  openAfterSale(input: Parameters<AfterSalesRepo['open']>[0], requestId: string): { request: AfterSale; created: boolean };
  resolveAfterSale(request: AfterSale, resolution: string, userId: string, requestId: string): AfterSale;
}

export function createEcommerceToolkit(deps: EcommerceToolkitDeps): EcommerceToolkit {
  const now = deps.now ?? Date.now;
  const products = createProductsRepo(deps.db, now);
  const orders = createOrdersRepo(deps.db, products, now);
  const afterSales = createAfterSalesRepo(deps.db, now);
  const announce = (type: 'order.created' | 'order.fulfilled' | 'order.cancelled', o: Order, requestId: string): void =>
    publishCommerce(deps.bus, { type, orgId: o.orgId, requestId, orderId: o.id, orderNumber: o.number, amountMinor: o.totalMinor, currency: o.currency });

  const toolkit: Omit<EcommerceToolkit, 'plugin'> = {
    repos: { products, orders, afterSales },
    createOrder(input, requestId) {
      const r = orders.create(input);
      if (r.created) announce('order.created', r.order, requestId);
      return r;
    },
    fulfil(order, requestId) {
      const r = fulfilOrder(orders, order, now());
      if (r.changed) announce('order.fulfilled', r.order, requestId);
      return r.order;
    },
    cancel(order, reason, requestId) {
      const r = cancelOrder(orders, order, reason, now());
      if (r.changed) announce('order.cancelled', r.order, requestId);
      return r.order;
    },
    openAfterSale(input, requestId) {
      const r = afterSales.open(input);
      if (r.created) publishCommerce(deps.bus, { type: 'after_sale.opened', orgId: input.order.orgId, requestId, orderId: input.order.id, orderNumber: input.order.number, afterSaleId: r.request.id });
      return r;
    },
    resolveAfterSale(request, resolution, userId, requestId) {
      const a = resolveAfterSale(afterSales, request, resolution, userId, now());
      publishCommerce(deps.bus, { type: 'after_sale.resolved', orgId: a.orgId, requestId, orderId: a.orderId, orderNumber: a.orderNumber, afterSaleId: a.id });
      return a;
    },
  };
  const plugin = createEcommercePlugin({
    products, orders, afterSales, grants: deps.grants, log: deps.log, createOrder: toolkit.createOrder, openAfterSale: toolkit.openAfterSale,
  });
  return { plugin, ...toolkit };
}
