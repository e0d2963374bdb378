/**
 * Control-panel use cases that span the E-Commerce and Payments toolkits: an order with its
 * payments, and cancelling an order (its open payment is stopped at the provider first, so a
 * customer cannot pay for a cancelled order; if the lookup shows it was paid meanwhile, the order
 * is paid and then cancelled, and the operator refunds it). Everything else the routes call is the
 * toolkits' own. Must never know about HTTP.
 */
import type { Logger } from '../log.ts';
import type { EcommerceToolkit, Order } from '../toolkits/ecommerce/index.ts';
import type { Payment, PaymentsToolkit } from '../toolkits/payments/index.ts';

export interface CommerceDeps {
  ecommerce: EcommerceToolkit;
  payments: PaymentsToolkit;
  log: Logger;
}

export function orderWithPayments(d: CommerceDeps, order: Order): { order: Order; payments: Payment[] } {
  return { order, payments: d.payments.store.forOrder(order.orgId, order.id) };
}

export async function cancelOrderAndPayment(d: CommerceDeps, order: Order, reason: string | null, requestId: string): Promise<Order> {
  const open = d.payments.store.openForOrder(order.id);
  if (open && open.status === 'pending' && order.status === 'pending_payment') {
    try {
      await d.payments.core.operator(open, 'cancel', {}, requestId);
    } catch (err) {
      // The poll keeps watching it; a payment that still arrives finds the order cancelled and is refunded by hand.
      d.log.warn({ orderId: order.id, paymentId: open.id, err: { message: String((err as Error)?.message).slice(0, 300) } }, 'open payment of a cancelled order could not be stopped at the provider');
    }
  }
  const current = d.ecommerce.repos.orders.get(order.orgId, order.id) ?? order;
  return d.ecommerce.cancel(current, reason, requestId);
}
