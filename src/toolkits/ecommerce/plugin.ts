/**
 * The first-party E-Commerce plugin (`first_party:ecommerce`, slug `ecommerce`): the agent's tools
 * over the catalogue and the current customer's orders — search products, create an order, read
 * the customer's orders, open an after-sale request.
 *
 * The schemas have no price, total or state field and refuse unknown fields, and the use cases
 * read prices from the catalogue: the model can neither set a price nor mark anything paid or
 * fulfilled (those are Payments' and the operator's). Orders and requests belong to the
 * conversation's customer; on the plain API path (no conversation) those tools refuse. Each write
 * is keyed by (request, tool, arguments), so a re-run tool loop finds its first order.
 * Must never throw out of `call`, and never show one customer another customer's order.
 */
import crypto from 'node:crypto';
import type { Logger } from '../../log.ts';
import type { FirstPartyPlugin, PluginHandle, ToolCallContext, ToolDescriptor, ToolOutcome } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import type { ProductsRepo, Product } from './products.ts';
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, type Order, type OrdersRepo } from './orders.ts';
import { AFTER_SALE_TYPES, MAX_AFTER_SALE_TEXT, type AfterSale, type AfterSalesRepo } from './after-sales.ts';
import { asTool, currentCustomer, formatMoney, grantRevoked, toolError, toolResult } from './support.ts';

export const ECOMMERCE_PLUGIN_ID = 'first_party:ecommerce';
export const ECOMMERCE_SLUG = 'ecommerce';
/** The platform permission each tool exercises (seed 001's `toolkit:<NAME>:<action>`; no custom plugin may claim one). */
export const ECOMMERCE_PERMISSIONS = {
  search_products: 'toolkit:ECOMMERCE:catalog_read',
  create_order: 'toolkit:ECOMMERCE:order_create',
  get_my_orders: 'toolkit:ECOMMERCE:order_read',
  open_after_sale_request: 'toolkit:ECOMMERCE:after_sale_create',
} as const;
const RATE_LIMITS = {
  search_products: { points: 300, durationSeconds: 60 },
  create_order: { points: 60, durationSeconds: 60 },
  get_my_orders: { points: 300, durationSeconds: 60 },
  open_after_sale_request: { points: 60, durationSeconds: 60 },
} as const;
const SEARCH_LIMIT = 20;
const RECENT_ORDERS = 10;
const DESCRIPTION_CHARS = 300;

const ORDER_NUMBER = { type: 'integer', minimum: 1, maximum: 1_000_000_000, description: 'The order number, as the customer or a previous tool result gave it (e.g. 12 for order #12).' };

export const ECOMMERCE_TOOLS: readonly ToolDescriptor[] = [
  {
    name: 'search_products',
    description: 'Search the shop\'s catalogue by words of a product\'s name, SKU or description (leave query out to list products). Use it before creating an order to find exact SKUs, and to answer questions about products, prices and availability. Only products that can be ordered are returned.',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 100, description: 'Words to look for, e.g. "helmet".' },
        limit: { type: 'integer', minimum: 1, maximum: SEARCH_LIMIT, description: `At most this many products (default ${SEARCH_LIMIT}).` },
      },
      additionalProperties: false,
    },
  },
  {
    name: 'create_order',
    description: 'Create an order for the current customer from catalogue SKUs and quantities, once the customer has confirmed what they want. Prices and the total come from the catalogue (you cannot set them); the order starts unpaid (pending_payment). Then offer a payment link (payments__create_payment_link) if Payments is available.',
    inputSchema: {
      type: 'object',
      properties: {
        items: {
          type: 'array', minItems: 1, maxItems: MAX_ORDER_LINES, description: 'The products and how many of each.',
          items: {
            type: 'object',
            properties: {
              sku: { type: 'string', minLength: 1, maxLength: 64, description: 'The exact SKU from search_products.' },
              quantity: { type: 'integer', minimum: 1, maximum: MAX_LINE_QUANTITY },
            },
            required: ['sku', 'quantity'],
            additionalProperties: false,
          },
        },
      },
      required: ['items'],
      additionalProperties: false,
    },
  },
  {
    name: 'get_my_orders',
    description: 'Read the current customer\'s orders (the most recent ones, or one by its number): items, total and status (pending_payment, paid, fulfilled, cancelled). Use it when the customer asks about an order.',
    inputSchema: { type: 'object', properties: { orderNumber: ORDER_NUMBER }, additionalProperties: false },
  },
  {
    name: 'open_after_sale_request',
    description: 'Record a return, refund or complaint request about one of the current customer\'s orders, for a person to handle. It does not move money or change the order: tell the customer the shop will follow up.',
    inputSchema: {
      type: 'object',
      properties: {
        orderNumber: ORDER_NUMBER,
        type: { type: 'string', enum: [...AFTER_SALE_TYPES] },
        description: { type: 'string', minLength: 1, maxLength: MAX_AFTER_SALE_TEXT, description: 'What the customer wants and why, in a sentence or two.' },
      },
      required: ['orderNumber', 'type', 'description'],
      additionalProperties: false,
    },
  },
];

export interface EcommercePluginDeps {
  products: ProductsRepo;
  orders: OrdersRepo;
  afterSales: AfterSalesRepo;
  grants: GrantsRepo;
  /** Creates an order and announces it (the toolkit's use case). */
  createOrder(input: Parameters<OrdersRepo['create']>[0], requestId: string): { order: Order; created: boolean };
  /** Opens an after-sale request and announces it. */
  openAfterSale(input: Parameters<AfterSalesRepo['open']>[0], requestId: string): { request: AfterSale; created: boolean };
  log: Logger;
}

/** The key of one agent write: the same request, tool and arguments find the first result. */
export function toolKey(ctx: ToolCallContext, tool: string, args: unknown): string {
  const fp = crypto.createHash('sha256').update(JSON.stringify([tool, ctx.instanceId, ctx.customerRef, args])).digest('base64url').slice(0, 22);
  return `tool:${ctx.requestId}:${fp}`;
}

export function orderForModel(o: Order): Record<string, unknown> {
  return {
    orderNumber: o.number, status: o.status, total: formatMoney(o.totalMinor, o.currency), totalMinor: o.totalMinor, currency: o.currency,
    items: o.items.map((i) => ({ sku: i.sku, name: i.name, quantity: i.quantity, unitPrice: formatMoney(i.unitPriceMinor, o.currency), lineTotal: formatMoney(i.lineTotalMinor, o.currency) })),
    createdAt: new Date(o.createdAt).toISOString(),
  };
}

function productForModel(p: Product): Record<string, unknown> {
  const description = p.description.length > DESCRIPTION_CHARS ? `${p.description.slice(0, DESCRIPTION_CHARS)}…` : p.description;
  return {
    sku: p.sku, name: p.name, ...(description && { description }), price: formatMoney(p.priceMinor, p.currency), priceMinor: p.priceMinor, currency: p.currency,
    available: p.stock === null || p.stock > 0, ...(p.stock !== null && { inStock: p.stock }),
  };
}

/** The order if it is the current customer's; another customer's order looks like none. */
export function customersOrder(orders: OrdersRepo, orgId: string, customerRef: string, orderNumber: number): Order | ToolOutcome {
  const o = orders.byNumber(orgId, orderNumber);
  if (!o || o.customerRef !== customerRef) return toolError(`The customer has no order #${orderNumber}. Use ecommerce__get_my_orders to see their orders.`, 'order_not_found');
  return o;
}

export function createEcommercePlugin(deps: EcommercePluginDeps): FirstPartyPlugin {
  async function run(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const revoked = grantRevoked(deps.grants, ctx, ECOMMERCE_PLUGIN_ID);
    if (revoked) return revoked;
    if (tool === 'search_products') {
      const found = deps.products.search(ctx.orgId, typeof args.query === 'string' ? args.query.trim() || null : null, typeof args.limit === 'number' ? args.limit : SEARCH_LIMIT);
      return toolResult({ count: found.length, products: found.map(productForModel) });
    }
    const who = currentCustomer(ctx);
    if ('isError' in who) return who;
    if (tool === 'create_order') {
      const items = (args.items as Array<{ sku: string; quantity: number }>).map((i) => ({ sku: i.sku, quantity: i.quantity }));
      const { order, created } = deps.createOrder({ orgId: who.orgId, instanceId: who.instanceId, customerRef: who.customerRef, items, idempotencyKey: toolKey(ctx, tool, items) }, ctx.requestId);
      return toolResult({ ...orderForModel(order), ...(!created && { note: 'This order was already created earlier in this conversation turn; it was not created twice.' }) });
    }
    if (tool === 'get_my_orders') {
      if (typeof args.orderNumber === 'number') {
        const o = customersOrder(deps.orders, who.orgId, who.customerRef, args.orderNumber);
        return 'isError' in o ? o : toolResult({ orders: [orderForModel(o)] });
      }
      const list = deps.orders.list(who.orgId, { customerRef: who.customerRef, limit: RECENT_ORDERS });
      return toolResult({ count: list.length, orders: list.map(orderForModel) });
    }
    if (tool === 'open_after_sale_request') {
      const o = customersOrder(deps.orders, who.orgId, who.customerRef, args.orderNumber as number);
      if ('isError' in o) return o;
      const { request, created } = deps.openAfterSale({
        order: o, instanceId: who.instanceId, customerRef: who.customerRef, type: args.type as AfterSale['type'], description: String(args.description),
        idempotencyKey: toolKey(ctx, tool, [o.id, args.type, args.description]),
      }, ctx.requestId);
      return toolResult({
        requestId: request.id, orderNumber: o.number, type: request.type, status: request.status,
        note: created ? 'Recorded for the shop\'s team; a person will follow up. Nothing was refunded or changed yet.' : 'Already recorded earlier in this turn.',
      });
    }
    return toolError(`The E-Commerce toolkit has no tool "${tool}".`, 'unknown_tool');
  }

  const handle: PluginHandle = {
    id: ECOMMERCE_PLUGIN_ID,
    kind: 'first_party',
    slug: ECOMMERCE_SLUG,
    displayName: 'E-Commerce',
    description: 'Product catalogue and the customer\'s orders: search products, create orders at catalogue prices, read orders, open after-sale requests.',
    rateLimits: RATE_LIMITS,
    tools: () => [...ECOMMERCE_TOOLS],
    call: (tool, args, ctx) => asTool(() => run(tool, args, ctx), (err) => deps.log.error({ tool, requestId: ctx.requestId, err: { message: String((err as Error)?.message).slice(0, 300) } }, 'ecommerce tool failed')),
  };
  return {
    slug: ECOMMERCE_SLUG,
    displayName: handle.displayName,
    description: handle.description,
    // Offered once the organisation has a catalogue (grants still decide which numbers use it).
    forOrg: (orgId) => (deps.products.hasAny(orgId) ? handle : null),
  };
}
