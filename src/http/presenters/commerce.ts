/**
 * E-Commerce and Payments rows → API JSON (src/shared/api-commerce.ts): products, orders, after-sale
 * requests, payments, refunds and the provider binding. Never a secret (a binding shows only a
 * hint of its Stripe key), never a customer's phone number (orders carry the customer ref).
 */
import type * as Api from '../../shared/api.ts';
import type { AfterSale, Order, Product } from '../../toolkits/ecommerce/index.ts';
import type { Binding, Payment, Refund } from '../../toolkits/payments/index.ts';
import { iso } from './common.ts';

export function presentProduct(p: Product): Api.Product {
  return {
    id: p.id, object: 'product', sku: p.sku, name: p.name, description: p.description, priceMinor: p.priceMinor, currency: p.currency,
    active: p.active, stock: p.stock, createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt),
  };
}

export function presentOrder(o: Order): Api.Order {
  return {
    id: o.id, object: 'order', number: o.number, status: o.status, instanceId: o.instanceId, customerRef: o.customerRef, currency: o.currency,
    totalMinor: o.totalMinor, items: o.items.map((i) => ({ ...i })), cancelReason: o.cancelReason, createdAt: iso(o.createdAt), updatedAt: iso(o.updatedAt),
    paidAt: iso(o.paidAt), fulfilledAt: iso(o.fulfilledAt), cancelledAt: iso(o.cancelledAt),
  };
}

export function presentOrderDetail(o: Order, payments: Payment[]): Api.OrderDetail {
  return { ...presentOrder(o), payments: payments.map(presentPayment) };
}

export function presentAfterSale(a: AfterSale): Api.AfterSaleRequest {
  return {
    id: a.id, object: 'after_sale_request', orderId: a.orderId, orderNumber: a.orderNumber, type: a.type, description: a.description, status: a.status,
    resolution: a.resolution, resolvedByUserId: a.resolvedBy, instanceId: a.instanceId, customerRef: a.customerRef,
    createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt), resolvedAt: iso(a.resolvedAt),
  };
}

export function presentPayment(p: Payment): Api.Payment {
  return {
    id: p.id, object: 'payment', orderId: p.orderId, bindingId: p.bindingId, provider: p.provider, reference: p.reference, amountMinor: p.amountMinor,
    currency: p.currency, description: p.description, status: p.status, payUrl: p.payUrl, instructions: p.instructions, capturedMinor: p.capturedMinor,
    refundedMinor: p.refundedMinor, failureReason: p.failureReason, lastError: p.lastError, expiresAt: iso(p.expiresAt),
    createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt), settledAt: iso(p.settledAt),
  };
}

export function presentRefund(r: Refund): Api.Refund {
  return {
    id: r.id, object: 'refund', paymentId: r.paymentId, orderId: r.orderId, amountMinor: r.amountMinor, currency: r.currency, reason: r.reason, note: r.note,
    status: r.status, requestedBy: r.requestedBy, requestedByUserId: r.requestedByUser, decidedByUserId: r.decidedByUser, decisionNote: r.decisionNote,
    decidedAt: iso(r.decidedAt), failureReason: r.failureReason, lastError: r.lastError, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt), settledAt: iso(r.settledAt),
  };
}

export function presentBinding(b: Binding, webhookUrl: string): Api.PaymentBinding {
  return {
    id: b.id, object: 'payment_binding', provider: b.provider, status: b.status, settings: { ...b.settings },
    stripe: b.provider === 'stripe'
      ? { secretKeyConfigured: true, secretKeyHint: b.secretKeyHint ?? '', webhookSecretConfigured: true, livemode: b.livemode, webhookUrl }
      : null,
    createdAt: iso(b.createdAt), updatedAt: iso(b.updatedAt),
  };
}
