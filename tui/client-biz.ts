/**
 * The TUI's calls to the business toolkits' control-panel API (E-Commerce, Payments; Escalations and
 * Scheduling in client-inbox.ts): one typed method per route, built on the shared ApiClient's
 * `request` so the bearer token, `X-Org-Id`, timeouts and ApiError stay in one place (tui/client.ts).
 * It must never touch the screen or import server code (only src/shared/api*.ts types).
 */
import type {
  AfterSaleRequest, BindPaymentProviderRequest, CancelOrderRequest, ConfirmReceiptRequest, CreateProductRequest, CreateRefundRequest, DeletedResponse,
  MarkPaymentFailedRequest, Order, OrderDetail, OrderStatus, PageResponse, Payment, PaymentBinding, PaymentStatus, Product,
  Refund, RefundDecisionRequest, RefundStatus, SettleRefundRequest, UpdatePaymentBindingRequest, UpdateProductRequest,
} from '../src/shared/api.ts';
import type { ApiClient } from './client.ts';

/** What the business clients need of the ApiClient (tests may pass a stand-in). */
export type Requester = Pick<ApiClient, 'request'>;

export interface ProductQuery { q?: string; active?: boolean; limit?: number; cursor?: string }
export interface OrderQuery { status?: OrderStatus; customerRef?: string; instanceId?: string; limit?: number; cursor?: string }
export interface PaymentQuery { status?: PaymentStatus; orderId?: string; limit?: number; cursor?: string }
export interface RefundQuery { status?: RefundStatus; paymentId?: string; limit?: number; cursor?: string }
export interface AfterSaleQuery { status?: 'open' | 'resolved'; orderId?: string; limit?: number; cursor?: string }

/** Operator actions on one payment; which ones a binding supports is the server's decision (409 otherwise). */
export type PaymentAction = 'mark-paid' | 'mark-failed' | 'confirm-receipt' | 'cancel' | 'refresh';

export interface CommerceClient {
  readonly orgId: string;
  products(q: ProductQuery, signal: AbortSignal): Promise<PageResponse<Product>>;
  createProduct(body: CreateProductRequest, signal: AbortSignal): Promise<Product>;
  updateProduct(id: string, patch: UpdateProductRequest, signal: AbortSignal): Promise<Product>;
  deleteProduct(id: string, signal: AbortSignal): Promise<DeletedResponse>;
  orders(q: OrderQuery, signal: AbortSignal): Promise<PageResponse<Order>>;
  order(id: string, signal: AbortSignal): Promise<OrderDetail>;
  fulfilOrder(id: string, signal: AbortSignal): Promise<Order>;
  cancelOrder(id: string, body: CancelOrderRequest, signal: AbortSignal): Promise<Order>;
  afterSales(q: AfterSaleQuery, signal: AbortSignal): Promise<PageResponse<AfterSaleRequest>>;
  resolveAfterSale(id: string, resolution: string, signal: AbortSignal): Promise<AfterSaleRequest>;
  /** The organisation's payment binding, or null when none is bound (404). */
  paymentBinding(signal: AbortSignal): Promise<PaymentBinding | null>;
  /** Owner: binds a provider, retiring the current binding (PUT). The answer carries only a hint of Stripe's key. */
  bindPaymentProvider(body: BindPaymentProviderRequest, signal: AbortSignal): Promise<PaymentBinding>;
  /** Owner: the current binding's settings and, for Stripe, rotated secrets (PATCH; same binding, same webhook URL). */
  updatePaymentBinding(body: UpdatePaymentBindingRequest, signal: AbortSignal): Promise<PaymentBinding>;
  payments(q: PaymentQuery, signal: AbortSignal): Promise<PageResponse<Payment>>;
  payment(id: string, signal: AbortSignal): Promise<Payment>;
  paymentAction(id: string, action: PaymentAction, body: MarkPaymentFailedRequest | ConfirmReceiptRequest | Record<string, never>, signal: AbortSignal): Promise<Payment>;
  createRefund(paymentId: string, body: CreateRefundRequest, signal: AbortSignal): Promise<Refund>;
  refunds(q: RefundQuery, signal: AbortSignal): Promise<PageResponse<Refund>>;
  refund(id: string, signal: AbortSignal): Promise<Refund>;
  approveRefund(id: string, body: RefundDecisionRequest, signal: AbortSignal): Promise<Refund>;
  rejectRefund(id: string, body: RefundDecisionRequest, signal: AbortSignal): Promise<Refund>;
  settleRefund(id: string, body: SettleRefundRequest, signal: AbortSignal): Promise<Refund>;
}

/** `?a=1&b=x` from the defined values (empty string when none). */
export function queryString(q: object): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  return qs.size ? `?${qs}` : '';
}

/** `GET …` that answers null on 404 (something not configured yet) and throws everything else. */
export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if ((err as { name?: string; status?: number })?.name === 'ApiError' && (err as { status: number }).status === 404) return null;
    throw err;
  }
}

export function createCommerceClient(api: Requester, orgId: string): CommerceClient {
  const base = `/organizations/${encodeURIComponent(orgId)}`;
  const call = <T>(method: string, path: string, signal: AbortSignal, body?: unknown): Promise<T> => api.request<T>(method, base + path, { orgId, body, signal });
  const id = encodeURIComponent;
  return {
    orgId,
    products: (q, s) => call('GET', `/products${queryString(q)}`, s),
    createProduct: (body, s) => call('POST', '/products', s, body),
    updateProduct: (pid, patch, s) => call('PATCH', `/products/${id(pid)}`, s, patch),
    deleteProduct: (pid, s) => call('DELETE', `/products/${id(pid)}`, s),
    orders: (q, s) => call('GET', `/orders${queryString(q)}`, s),
    order: (oid, s) => call('GET', `/orders/${id(oid)}`, s),
    fulfilOrder: (oid, s) => call('POST', `/orders/${id(oid)}/fulfill`, s, {}),
    cancelOrder: (oid, body, s) => call('POST', `/orders/${id(oid)}/cancel`, s, body),
    afterSales: (q, s) => call('GET', `/after-sale-requests${queryString(q)}`, s),
    resolveAfterSale: (aid, resolution, s) => call('POST', `/after-sale-requests/${id(aid)}/resolve`, s, { resolution }),
    paymentBinding: (s) => orNull(call<PaymentBinding>('GET', '/payment-binding', s)),
    bindPaymentProvider: (body, s) => call('PUT', '/payment-binding', s, body),
    updatePaymentBinding: (body, s) => call('PATCH', '/payment-binding', s, body),
    payments: (q, s) => call('GET', `/payments${queryString(q)}`, s),
    payment: (pid, s) => call('GET', `/payments/${id(pid)}`, s),
    paymentAction: (pid, action, body, s) => call('POST', `/payments/${id(pid)}/${action}`, s, body),
    createRefund: (pid, body, s) => call('POST', `/payments/${id(pid)}/refunds`, s, body),
    refunds: (q, s) => call('GET', `/refunds${queryString(q)}`, s),
    refund: (rid, s) => call('GET', `/refunds/${id(rid)}`, s),
    approveRefund: (rid, body, s) => call('POST', `/refunds/${id(rid)}/approve`, s, body),
    rejectRefund: (rid, body, s) => call('POST', `/refunds/${id(rid)}/reject`, s, body),
    settleRefund: (rid, body, s) => call('POST', `/refunds/${id(rid)}/settle`, s, body),
  };
}
