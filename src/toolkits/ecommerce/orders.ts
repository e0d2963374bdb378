/**
 * Orders: their repository and use cases. An order is created for one customer from catalogue
 * SKUs and quantities only: unit prices, line totals and the total are read and computed here, in
 * the same transaction that checks every product is active and takes tracked stock (refused when
 * not enough is left, so two customers cannot buy the last item twice). States move forward only
 * (`pending_payment` → `paid` → `fulfilled`, or `cancelled` before fulfilment; the migration's
 * trigger enforces it too); only Payments moves an order to `paid` (`markPaid`, inside its own
 * transaction), only an operator fulfils or cancels. Asking for the state an order is already in
 * changes nothing (a double click). Must never take a price, total or state from a caller.
 */
import type { Db } from '../../storage/db.ts';
import { conflict, invalidRequest, notFound } from '../../errors.ts';
import { MAX_PRICE_MINOR, newId, type ProductsRepo } from './products.ts';
import type { Page } from './support.ts';

export type OrderStatus = 'pending_payment' | 'paid' | 'fulfilled' | 'cancelled';
/** Most lines in one order, and most of one SKU in a line. */
export const MAX_ORDER_LINES = 20;
export const MAX_LINE_QUANTITY = 100;

export interface OrderItem {
  line: number;
  productId: string | null;
  sku: string;
  name: string;
  unitPriceMinor: number;
  quantity: number;
  lineTotalMinor: number;
}

export interface Order {
  id: string;
  orgId: string;
  number: number;
  instanceId: string | null;
  customerRef: string;
  status: OrderStatus;
  currency: string;
  totalMinor: number;
  items: OrderItem[];
  cancelReason: string | null;
  createdAt: number;
  updatedAt: number;
  paidAt: number | null;
  fulfilledAt: number | null;
  cancelledAt: number | null;
}

export interface NewOrder {
  orgId: string;
  instanceId: string;
  customerRef: string;
  items: Array<{ sku: string; quantity: number }>;
  /** The agent's key (request + arguments): the same key returns the first order instead of a second. */
  idempotencyKey: string | null;
}

interface Row {
  id: string;
  org_id: string;
  number: number;
  instance_id: string | null;
  customer_ref: string;
  status: OrderStatus;
  currency: string;
  total_minor: number;
  cancel_reason: string | null;
  created_at: number;
  updated_at: number;
  paid_at: number | null;
  fulfilled_at: number | null;
  cancelled_at: number | null;
}

interface ItemRow {
  line: number;
  product_id: string | null;
  sku: string;
  name: string;
  unit_price_minor: number;
  quantity: number;
  line_total_minor: number;
}

export function createOrdersRepo(db: Db, products: ProductsRepo, now: () => number = Date.now) {
  const stmts = {
    get: db.prepare('SELECT * FROM commerce_orders WHERE org_id = ? AND id = ?'),
    byNumber: db.prepare('SELECT * FROM commerce_orders WHERE org_id = ? AND number = ?'),
    byKey: db.prepare('SELECT * FROM commerce_orders WHERE org_id = ? AND idempotency_key = ?'),
    items: db.prepare('SELECT * FROM commerce_order_items WHERE order_id = ? ORDER BY line'),
    nextNumber: db.prepare('SELECT COALESCE(MAX(number), 0) + 1 FROM commerce_orders WHERE org_id = ?').pluck(),
    insert: db.prepare(`
      INSERT INTO commerce_orders (id, org_id, number, instance_id, customer_ref, status, currency, total_minor, item_count, idempotency_key, created_at, updated_at)
      VALUES (@id, @orgId, @number, @instanceId, @customerRef, 'pending_payment', @currency, @totalMinor, @itemCount, @idempotencyKey, @now, @now)`),
    insertItem: db.prepare(`
      INSERT INTO commerce_order_items (order_id, line, product_id, sku, name, unit_price_minor, quantity, line_total_minor)
      VALUES (@orderId, @line, @productId, @sku, @name, @unitPriceMinor, @quantity, @lineTotalMinor)`),
    list: db.prepare(`
      SELECT * FROM commerce_orders WHERE org_id = @orgId AND (@status IS NULL OR status = @status)
        AND (@customerRef IS NULL OR customer_ref = @customerRef) AND (@instanceId IS NULL OR instance_id = @instanceId)
        AND (@before IS NULL OR number < @before)
      ORDER BY number DESC LIMIT @limit`),
    markPaid: db.prepare("UPDATE commerce_orders SET status = 'paid', paid_at = @at, updated_at = @at WHERE org_id = @orgId AND id = @id AND status = 'pending_payment'"),
    fulfil: db.prepare("UPDATE commerce_orders SET status = 'fulfilled', fulfilled_at = @at, updated_at = @at WHERE org_id = @orgId AND id = @id AND status = 'paid'"),
    cancel: db.prepare(`
      UPDATE commerce_orders SET status = 'cancelled', cancel_reason = @reason, cancelled_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status IN ('pending_payment', 'paid')`),
  };

  const toOrder = (r: Row): Order => ({
    id: r.id, orgId: r.org_id, number: r.number, instanceId: r.instance_id, customerRef: r.customer_ref, status: r.status,
    currency: r.currency, totalMinor: r.total_minor, cancelReason: r.cancel_reason, createdAt: r.created_at, updatedAt: r.updated_at,
    paidAt: r.paid_at, fulfilledAt: r.fulfilled_at, cancelledAt: r.cancelled_at,
    items: (stmts.items.all(r.id) as ItemRow[]).map((i) => ({
      line: i.line, productId: i.product_id, sku: i.sku, name: i.name, unitPriceMinor: i.unit_price_minor, quantity: i.quantity, lineTotalMinor: i.line_total_minor,
    })),
  });
  const one = (r: unknown): Order | null => (r ? toOrder(r as Row) : null);

  const create = db.transaction((input: NewOrder): { order: Order; created: boolean } => {
    if (input.idempotencyKey) {
      const prior = one(stmts.byKey.get(input.orgId, input.idempotencyKey));
      if (prior) return { order: prior, created: false };
    }
    // The same SKU twice is one line with both quantities.
    const wanted = new Map<string, number>();
    for (const it of input.items) wanted.set(it.sku, (wanted.get(it.sku) ?? 0) + it.quantity);
    if (wanted.size === 0) throw invalidRequest('An order needs at least one item.', 'items', 'empty_order');
    if (wanted.size > MAX_ORDER_LINES) throw invalidRequest(`An order has at most ${MAX_ORDER_LINES} different products.`, 'items', 'order_too_large');
    const lines: OrderItem[] = [];
    let currency: string | null = null;
    let total = 0;
    for (const [sku, quantity] of wanted) {
      const p = products.bySku(input.orgId, sku);
      if (!p) throw invalidRequest(`There is no product with SKU "${sku}" in the catalogue. Search the catalogue and use an exact SKU. No order was created.`, 'items', 'unknown_sku');
      if (!p.active) throw invalidRequest(`"${p.name}" (SKU ${p.sku}) is not available for ordering. No order was created.`, 'items', 'product_inactive');
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) {
        throw invalidRequest(`The quantity of ${p.sku} must be a whole number from 1 to ${MAX_LINE_QUANTITY}. No order was created.`, 'items', 'invalid_quantity');
      }
      if (currency !== null && p.currency !== currency) {
        throw invalidRequest(`Products priced in different currencies (${currency}, ${p.currency}) cannot be in one order. No order was created.`, 'items', 'mixed_currency');
      }
      currency = p.currency;
      if (p.stock !== null && !products.takeStock(input.orgId, p.id, quantity)) {
        throw conflict(`Only ${p.stock} of "${p.name}" (SKU ${p.sku}) ${p.stock === 1 ? 'is' : 'are'} left; ${quantity} cannot be ordered. No order was created.`, 'insufficient_stock', 'items');
      }
      lines.push({ line: lines.length + 1, productId: p.id, sku: p.sku, name: p.name, unitPriceMinor: p.priceMinor, quantity, lineTotalMinor: p.priceMinor * quantity });
      total += p.priceMinor * quantity;
    }
    if (total > MAX_PRICE_MINOR) throw invalidRequest(`The order total is above what one payment can take (${MAX_PRICE_MINOR} minor units). Split it into smaller orders.`, 'items', 'order_too_large');
    const id = newId('ord');
    const at = now();
    stmts.insert.run({
      id, orgId: input.orgId, number: stmts.nextNumber.get(input.orgId), instanceId: input.instanceId, customerRef: input.customerRef,
      currency, totalMinor: total, itemCount: lines.length, idempotencyKey: input.idempotencyKey, now: at,
    });
    for (const l of lines) stmts.insertItem.run({ orderId: id, ...l });
    return { order: one(stmts.get.get(input.orgId, id)) as Order, created: true };
  });

  const cancel = db.transaction((o: Order, reason: string | null, at: number): boolean => {
    if (stmts.cancel.run({ orgId: o.orgId, id: o.id, reason, at }).changes !== 1) return false;
    // Stock taken by the order goes back (products deleted since are skipped).
    for (const it of o.items) if (it.productId) products.giveBackStock(o.orgId, it.productId, it.quantity);
    return true;
  });

  return {
    get: (orgId: string, id: string): Order | null => one(stmts.get.get(orgId, id)),
    byNumber: (orgId: string, n: number): Order | null => one(stmts.byNumber.get(orgId, n)),
    list(orgId: string, q: { status?: OrderStatus; customerRef?: string; instanceId?: string; limit: number; before?: number }): Order[] {
      return (stmts.list.all({
        orgId, status: q.status ?? null, customerRef: q.customerRef ?? null, instanceId: q.instanceId ?? null, before: q.before ?? null, limit: q.limit,
      }) as Row[]).map(toOrder);
    },
    /** Prices, totals and stock in one transaction; throws an AppError (nothing written) when a rule fails. */
    create: (input: NewOrder) => create.immediate(input),
    /** pending_payment → paid; false when it was not pending (already paid, or cancelled). Safe inside a caller's transaction. */
    markPaid: (orgId: string, id: string, at: number): boolean => stmts.markPaid.run({ orgId, id, at }).changes === 1,
    fulfil: (orgId: string, id: string, at: number): boolean => stmts.fulfil.run({ orgId, id, at }).changes === 1,
    cancel: (o: Order, reason: string | null, at: number): boolean => cancel.immediate(o, reason, at),
  };
}
export type OrdersRepo = ReturnType<typeof createOrdersRepo>;

// Use cases ---------------------------------------------------------------------------------------

export function getOrder(orders: OrdersRepo, orgId: string, id: string): Order {
  const o = orders.get(orgId, id);
  if (!o) throw notFound('order', 'orderId');
  return o;
}

export function listOrders(orders: OrdersRepo, orgId: string, q: { status?: OrderStatus; customerRef?: string; instanceId?: string; limit: number; cursor?: number }): Page<Order> {
  const rows = orders.list(orgId, { ...q, limit: q.limit + 1, before: q.cursor });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? String(items[items.length - 1].number) : null };
}

/** An operator hands the goods over: only a paid order. Fulfilling a fulfilled order changes nothing. */
export function fulfilOrder(orders: OrdersRepo, o: Order, at: number): { order: Order; changed: boolean } {
  if (o.status === 'fulfilled') return { order: o, changed: false };
  if (o.status === 'pending_payment') throw conflict(`Order #${o.number} is not paid yet; only a paid order can be fulfilled.`, 'order_not_paid', 'orderId');
  if (o.status === 'cancelled') throw conflict(`Order #${o.number} is cancelled; it cannot be fulfilled.`, 'order_cancelled', 'orderId');
  if (!orders.fulfil(o.orgId, o.id, at)) throw conflict(`Order #${o.number} changed meanwhile; read it again.`, 'order_changed', 'orderId');
  return { order: orders.get(o.orgId, o.id) as Order, changed: true };
}

/** An operator cancels an order before fulfilment (its tracked stock goes back). Cancelling again changes nothing. */
export function cancelOrder(orders: OrdersRepo, o: Order, reason: string | null, at: number): { order: Order; changed: boolean } {
  if (o.status === 'cancelled') return { order: o, changed: false };
  if (o.status === 'fulfilled') throw conflict(`Order #${o.number} is fulfilled; it can no longer be cancelled (open an after-sale request instead).`, 'order_fulfilled', 'orderId');
  if (!orders.cancel(o, reason, at)) throw conflict(`Order #${o.number} changed meanwhile; read it again.`, 'order_changed', 'orderId');
  return { order: orders.get(o.orgId, o.id) as Order, changed: true };
}
