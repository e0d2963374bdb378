/**
 * After-sale requests: a customer's return, refund or complaint about one of their orders, opened
 * by the agent (`open`) and resolved by an operator (`open` → `resolved`, never back). A refund
 * request here is the customer's ask on record; moving money is the Payments toolkit's refund,
 * which a person approves. Must never know about HTTP, and never open a request on an order of
 * another customer.
 */
import type { Db } from '../../storage/db.ts';
import { conflict, notFound } from '../../errors.ts';
import { newId } from './products.ts';
import type { Order } from './orders.ts';
import type { Page } from './support.ts';

export type AfterSaleType = 'return' | 'refund' | 'complaint';
export type AfterSaleStatus = 'open' | 'resolved';
export const AFTER_SALE_TYPES: readonly AfterSaleType[] = ['return', 'refund', 'complaint'];
export const MAX_AFTER_SALE_TEXT = 2000;

export interface AfterSale {
  id: string;
  orgId: string;
  orderId: string;
  orderNumber: number;
  instanceId: string | null;
  customerRef: string;
  type: AfterSaleType;
  description: string;
  status: AfterSaleStatus;
  resolution: string | null;
  resolvedBy: string | null;
  createdAt: number;
  updatedAt: number;
  resolvedAt: number | null;
}

interface Row {
  id: string;
  org_id: string;
  order_id: string;
  order_number: number;
  instance_id: string | null;
  customer_ref: string;
  type: AfterSaleType;
  description: string;
  status: AfterSaleStatus;
  resolution: string | null;
  resolved_by: string | null;
  created_at: number;
  updated_at: number;
  resolved_at: number | null;
}

const toAfterSale = (r: Row): AfterSale => ({
  id: r.id, orgId: r.org_id, orderId: r.order_id, orderNumber: r.order_number, instanceId: r.instance_id, customerRef: r.customer_ref,
  type: r.type, description: r.description, status: r.status, resolution: r.resolution, resolvedBy: r.resolved_by,
  createdAt: r.created_at, updatedAt: r.updated_at, resolvedAt: r.resolved_at,
});

const SELECT = 'SELECT a.*, o.number AS order_number FROM commerce_after_sales a JOIN commerce_orders o ON o.id = a.order_id';

export function createAfterSalesRepo(db: Db, now: () => number = Date.now) {
  const stmts = {
    insert: db.prepare(`
      INSERT INTO commerce_after_sales (id, org_id, order_id, instance_id, customer_ref, type, description, status, idempotency_key, created_at, updated_at)
      VALUES (@id, @orgId, @orderId, @instanceId, @customerRef, @type, @description, 'open', @idempotencyKey, @now, @now)
      ON CONFLICT (org_id, idempotency_key) DO NOTHING`),
    get: db.prepare(`${SELECT} WHERE a.org_id = ? AND a.id = ?`),
    byKey: db.prepare(`${SELECT} WHERE a.org_id = ? AND a.idempotency_key = ?`),
    list: db.prepare(`
      ${SELECT} WHERE a.org_id = @orgId AND (@status IS NULL OR a.status = @status) AND (@orderId IS NULL OR a.order_id = @orderId)
        AND (@before IS NULL OR (a.created_at, a.id) < (@beforeAt, @before))
      ORDER BY a.created_at DESC, a.id DESC LIMIT @limit`),
    resolve: db.prepare(`
      UPDATE commerce_after_sales SET status = 'resolved', resolution = @resolution, resolved_by = @userId, resolved_at = @at, updated_at = @at
      WHERE org_id = @orgId AND id = @id AND status = 'open'`),
  };
  const one = (r: unknown): AfterSale | null => (r ? toAfterSale(r as Row) : null);
  return {
    /** Opens a request; the same idempotency key returns the first one (`created: false`). */
    open(input: { order: Order; instanceId: string | null; customerRef: string; type: AfterSaleType; description: string; idempotencyKey: string | null }): { request: AfterSale; created: boolean } {
      const id = newId('asr');
      const changes = stmts.insert.run({
        id, orgId: input.order.orgId, orderId: input.order.id, instanceId: input.instanceId, customerRef: input.customerRef,
        type: input.type, description: input.description, idempotencyKey: input.idempotencyKey, now: now(),
      }).changes;
      if (changes === 1) return { request: one(stmts.get.get(input.order.orgId, id)) as AfterSale, created: true };
      return { request: one(stmts.byKey.get(input.order.orgId, input.idempotencyKey)) as AfterSale, created: false };
    },
    get: (orgId: string, id: string): AfterSale | null => one(stmts.get.get(orgId, id)),
    list(orgId: string, q: { status?: AfterSaleStatus; orderId?: string; limit: number; cursor?: { at: number; id: string } }): AfterSale[] {
      return (stmts.list.all({
        orgId, status: q.status ?? null, orderId: q.orderId ?? null, before: q.cursor?.id ?? null, beforeAt: q.cursor?.at ?? null, limit: q.limit,
      }) as Row[]).map(toAfterSale);
    },
    resolve: (orgId: string, id: string, resolution: string, userId: string | null, at: number): boolean =>
      stmts.resolve.run({ orgId, id, resolution, userId, at }).changes === 1,
  };
}
export type AfterSalesRepo = ReturnType<typeof createAfterSalesRepo>;

export function getAfterSale(repo: AfterSalesRepo, orgId: string, id: string): AfterSale {
  const a = repo.get(orgId, id);
  if (!a) throw notFound('after_sale_request', 'afterSaleId');
  return a;
}

/** Newest first; the cursor is `<createdAt>.<id>` of the last item. */
export function listAfterSales(repo: AfterSalesRepo, orgId: string, q: { status?: AfterSaleStatus; orderId?: string; limit: number; cursor?: string }): Page<AfterSale> {
  const m = q.cursor ? /^(\d{1,15})\.(asr_[0-9a-f]{32})$/.exec(q.cursor) : null;
  const rows = repo.list(orgId, { status: q.status, orderId: q.orderId, limit: q.limit + 1, cursor: m ? { at: Number(m[1]), id: m[2] } : undefined });
  const items = rows.slice(0, q.limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > q.limit ? `${last.createdAt}.${last.id}` : null };
}

/** An operator closes the request with what was done. Resolving a resolved request is a 409 (its resolution stays). */
export function resolveAfterSale(repo: AfterSalesRepo, a: AfterSale, resolution: string, userId: string, at: number): AfterSale {
  if (a.status === 'resolved') throw conflict('This after-sale request is already resolved.', 'after_sale_resolved', 'afterSaleId');
  if (!repo.resolve(a.orgId, a.id, resolution, userId, at)) throw conflict('This after-sale request changed meanwhile; read it again.', 'after_sale_changed', 'afterSaleId');
  return repo.get(a.orgId, a.id) as AfterSale;
}
