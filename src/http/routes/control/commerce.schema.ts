/**
 * Request schemas of the E-Commerce routes (routes/control/commerce.ts): product bodies, order and
 * after-sale actions, and the list queries, checked against the shared request types. Must never
 * hold a rule that needs storage (SKU uniqueness, order states are the toolkit's).
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';

const MAX_PAGE = 200;
export const limit = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE));

const product = {
  sku: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit'),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000),
  priceMinor: z.number().int().min(1).max(99_999_999),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code of three letters, e.g. EUR').transform((c) => c.toUpperCase()),
  active: z.boolean(),
  stock: z.number().int().min(0).max(10_000_000).nullable(),
};
export const CreateProduct = z.strictObject({
  sku: product.sku,
  name: product.name,
  description: product.description.optional(),
  priceMinor: product.priceMinor,
  currency: product.currency,
  active: product.active.optional(),
  stock: product.stock.optional(),
});
export const UpdateProduct = CreateProduct.partial();

export const ProductsQuery = z.strictObject({
  q: z.string().min(1).max(100).optional(),
  active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: limit.optional(),
  cursor: product.sku.optional(),
});

export const OrdersQuery = z.strictObject({
  status: z.enum(['pending_payment', 'paid', 'fulfilled', 'cancelled']).optional(),
  customerRef: z.string().regex(/^wcr_[A-Za-z0-9_-]{1,100}$/, 'must be a customer ref (wcr_…)').optional(),
  instanceId: z.string().min(1).max(100).optional(),
  limit: limit.optional(),
  cursor: z.string().regex(/^\d{1,10}$/, 'must be a cursor from a previous page').transform(Number).optional(),
});

/** An action without options: the body may be left out or be `{}`. */
export const NoOptions = z.strictObject({});

export const CancelOrder = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

export const AfterSalesQuery = z.strictObject({
  status: z.enum(['open', 'resolved']).optional(),
  orderId: z.string().min(1).max(100).optional(),
  limit: limit.optional(),
  cursor: z.string().regex(/^\d{1,15}\.asr_[0-9a-f]{32}$/, 'must be a cursor from a previous page').optional(),
});

export const ResolveAfterSale = z.strictObject({ resolution: z.string().trim().min(1).max(2000) });

export type CreateProductAccepts = Accepts<typeof CreateProduct, Api.CreateProductRequest>;
export type UpdateProductAccepts = Accepts<typeof UpdateProduct, Api.UpdateProductRequest>;
export type CancelOrderAccepts = Accepts<typeof CancelOrder, Api.CancelOrderRequest>;
export type ResolveAfterSaleAccepts = Accepts<typeof ResolveAfterSale, Api.ResolveAfterSaleRequest>;
