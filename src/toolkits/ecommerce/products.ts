/**
 * The catalogue of one organisation: products (SKU, name, description, price in minor units,
 * currency, active, optional stock) with their repository and use cases (create, update, delete,
 * list, the agent's search). Rules: a SKU is unique per organisation (a duplicate is a 409 naming
 * it, also when only the unique index catches a race); prices are whole minor units from 1 to
 * 99,999,999; currencies are ISO 4217 letters, stored upper case. Stock is changed here only by an
 * operator; orders decrement it in their own transaction (orders.ts).
 * Must never know about HTTP, and never let a caller outside the organisation see a product.
 */
import crypto from 'node:crypto';
import type { Db } from '../../storage/db.ts';
import { conflict, notFound } from '../../errors.ts';
import type { Page } from './support.ts';

export const MAX_PRICE_MINOR = 99_999_999;

export interface Product {
  id: string;
  orgId: string;
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  active: boolean;
  stock: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ProductInput {
  sku: string;
  name: string;
  description?: string;
  priceMinor: number;
  currency: string;
  active?: boolean;
  stock?: number | null;
}

export type ProductPatch = Partial<ProductInput>;

interface Row {
  id: string;
  org_id: string;
  sku: string;
  name: string;
  description: string;
  price_minor: number;
  currency: string;
  active: number;
  stock: number | null;
  created_at: number;
  updated_at: number;
}

export const toProduct = (r: Row): Product => ({
  id: r.id, orgId: r.org_id, sku: r.sku, name: r.name, description: r.description, priceMinor: r.price_minor,
  currency: r.currency, active: r.active === 1, stock: r.stock, createdAt: r.created_at, updatedAt: r.updated_at,
});

/** `prd_…`, `ord_…`: a prefix and 32 hex digits. */
export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replace(/-/g, '')}`;
}

/** LIKE pattern for a user's search text (% and _ are literal). */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function createProductsRepo(db: Db, now: () => number = Date.now) {
  const stmts = {
    insert: db.prepare(`
      INSERT INTO commerce_products (id, org_id, sku, name, description, price_minor, currency, active, stock, created_at, updated_at)
      VALUES (@id, @orgId, @sku, @name, @description, @priceMinor, @currency, @active, @stock, @now, @now)`),
    get: db.prepare('SELECT * FROM commerce_products WHERE org_id = ? AND id = ?'),
    bySku: db.prepare('SELECT * FROM commerce_products WHERE org_id = ? AND sku = ?'),
    list: db.prepare(`
      SELECT * FROM commerce_products WHERE org_id = @orgId AND (@active IS NULL OR active = @active)
        AND (@q IS NULL OR sku LIKE @q ESCAPE '\\' OR name LIKE @q ESCAPE '\\')
        AND (@after IS NULL OR sku > @after)
      ORDER BY sku LIMIT @limit`),
    search: db.prepare(`
      SELECT * FROM commerce_products WHERE org_id = @orgId AND active = 1
        AND (@q IS NULL OR sku LIKE @q ESCAPE '\\' OR name LIKE @q ESCAPE '\\' OR description LIKE @q ESCAPE '\\')
      ORDER BY name, sku LIMIT @limit`),
    update: db.prepare(`
      UPDATE commerce_products SET sku = @sku, name = @name, description = @description, price_minor = @priceMinor, currency = @currency,
        active = @active, stock = @stock, updated_at = @now
      WHERE org_id = @orgId AND id = @id`),
    delete: db.prepare('DELETE FROM commerce_products WHERE org_id = ? AND id = ?'),
    any: db.prepare('SELECT 1 FROM commerce_products WHERE org_id = ? LIMIT 1').pluck(),
    // Only when enough is left (or stock is not tracked): the check and the write are one statement.
    take: db.prepare('UPDATE commerce_products SET stock = stock - @qty, updated_at = @now WHERE org_id = @orgId AND id = @id AND stock IS NOT NULL AND stock >= @qty'),
    giveBack: db.prepare('UPDATE commerce_products SET stock = stock + @qty, updated_at = @now WHERE org_id = @orgId AND id = @id AND stock IS NOT NULL'),
  };
  const row = (r: unknown): Product | null => (r ? toProduct(r as Row) : null);

  return {
    create(orgId: string, input: ProductInput): Product {
      const p = {
        id: newId('prd'), orgId, sku: input.sku, name: input.name, description: input.description ?? '', priceMinor: input.priceMinor,
        currency: input.currency.toUpperCase(), active: input.active === false ? 0 : 1, stock: input.stock ?? null, now: now(),
      };
      stmts.insert.run(p);
      return row(stmts.get.get(orgId, p.id)) as Product;
    },
    get: (orgId: string, id: string): Product | null => row(stmts.get.get(orgId, id)),
    bySku: (orgId: string, sku: string): Product | null => row(stmts.bySku.get(orgId, sku)),
    /** By SKU ascending; `after` is the last SKU of the previous page. */
    list(orgId: string, opts: { q?: string; active?: boolean; limit: number; after?: string }): Product[] {
      return (stmts.list.all({
        orgId, active: opts.active === undefined ? null : opts.active ? 1 : 0, q: opts.q ? likePattern(opts.q) : null, after: opts.after ?? null, limit: opts.limit,
      }) as Row[]).map(toProduct);
    },
    /** Active products only (what the agent may offer), by name. */
    search(orgId: string, query: string | null, limit: number): Product[] {
      return (stmts.search.all({ orgId, q: query ? likePattern(query) : null, limit }) as Row[]).map(toProduct);
    },
    update(cur: Product, patch: ProductPatch): Product {
      const next = { ...cur, ...patch, currency: (patch.currency ?? cur.currency).toUpperCase() };
      stmts.update.run({
        orgId: cur.orgId, id: cur.id, sku: next.sku, name: next.name, description: next.description, priceMinor: next.priceMinor,
        currency: next.currency, active: next.active ? 1 : 0, stock: next.stock, now: now(),
      });
      return row(stmts.get.get(cur.orgId, cur.id)) as Product;
    },
    delete: (orgId: string, id: string): boolean => stmts.delete.run(orgId, id).changes === 1,
    hasAny: (orgId: string): boolean => stmts.any.get(orgId) !== undefined,
    /** Takes `qty` from a tracked stock; false when not enough is left. Call inside the order's transaction. */
    takeStock: (orgId: string, id: string, qty: number): boolean => stmts.take.run({ orgId, id, qty, now: now() }).changes === 1,
    /** Puts `qty` back (a cancelled order), for products that still exist and track stock. */
    giveBackStock: (orgId: string, id: string, qty: number): void => void stmts.giveBack.run({ orgId, id, qty, now: now() }),
  };
}
export type ProductsRepo = ReturnType<typeof createProductsRepo>;

// Use cases ---------------------------------------------------------------------------------------

export function getProduct(products: ProductsRepo, orgId: string, id: string): Product {
  const p = products.get(orgId, id);
  if (!p) throw notFound('product', 'productId');
  return p;
}

export function createProduct(products: ProductsRepo, orgId: string, input: ProductInput): Product {
  assertSkuFree(products, orgId, input.sku);
  return uniquely(input.sku, () => products.create(orgId, input));
}

/** An empty patch changes nothing. */
export function updateProduct(products: ProductsRepo, cur: Product, patch: ProductPatch): Product {
  if (Object.keys(patch).length === 0) return cur;
  if (patch.sku !== undefined && patch.sku !== cur.sku) assertSkuFree(products, cur.orgId, patch.sku);
  return uniquely(patch.sku ?? cur.sku, () => products.update(cur, patch));
}

/** Orders keep their own copy of each item, so a product can go; `active: false` hides it instead. */
export function deleteProduct(products: ProductsRepo, p: Product): void {
  products.delete(p.orgId, p.id);
}

export function listProducts(products: ProductsRepo, orgId: string, q: { q?: string; active?: boolean; limit: number; cursor?: string }): Page<Product> {
  const rows = products.list(orgId, { q: q.q, active: q.active, limit: q.limit + 1, after: q.cursor });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? items[items.length - 1].sku : null };
}

function assertSkuFree(products: ProductsRepo, orgId: string, sku: string): void {
  if (products.bySku(orgId, sku)) throw conflict(`A product with SKU "${sku}" already exists.`, 'sku_taken', 'sku');
}

function uniquely<T>(sku: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict(`A product with SKU "${sku}" already exists.`, 'sku_taken', 'sku');
    throw err;
  }
}
