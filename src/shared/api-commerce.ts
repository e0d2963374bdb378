/**
 * Wire types of the E-Commerce and Payments toolkits' control-panel API (catalogue, orders,
 * after-sale requests, payments, refunds, the payment-provider binding) and their live events.
 * Types only: never runtime code, never an import but other shared/api*.ts files.
 * Money is always an integer in the currency's minor unit (`priceMinor: 1250` + `currency: "EUR"` is
 * 12.50 EUR); times are ISO strings.
 */

export interface Product {
  id: string;
  object: 'product';
  /** Unique per organisation; what the agent orders by. */
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  /** Inactive products are hidden from the agent and cannot be ordered. */
  active: boolean;
  /** Null: not tracked. Otherwise decremented when an order is created, and orders beyond it are refused. */
  stock: number | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** `POST /organizations/{orgId}/products` (owners and admins). */
export interface CreateProductRequest {
  sku: string;
  name: string;
  description?: string;
  priceMinor: number;
  currency: string;
  active?: boolean;
  stock?: number | null;
}

/** `PATCH /organizations/{orgId}/products/{productId}` */
export type UpdateProductRequest = Partial<CreateProductRequest>;

export type OrderStatus = 'pending_payment' | 'paid' | 'fulfilled' | 'cancelled';

export interface OrderItem {
  line: number;
  /** The product at order time (null once it was deleted). */
  productId: string | null;
  sku: string;
  name: string;
  /** The catalogue price when the order was created. */
  unitPriceMinor: number;
  quantity: number;
  lineTotalMinor: number;
}

export interface Order {
  id: string;
  object: 'order';
  /** Per organisation, from 1 ("order #12"). */
  number: number;
  status: OrderStatus;
  /** The WhatsApp number instance the order was taken on. */
  instanceId: string | null;
  customerRef: string;
  currency: string;
  /** Computed by the appliance from catalogue prices. */
  totalMinor: number;
  items: OrderItem[];
  cancelReason: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  paidAt: string | null;
  fulfilledAt: string | null;
  cancelledAt: string | null;
}

/** `GET /organizations/{orgId}/orders/{orderId}`: the order with its payments. */
export interface OrderDetail extends Order {
  payments: Payment[];
}

/** `POST /organizations/{orgId}/orders/{orderId}/cancel` */
export interface CancelOrderRequest {
  reason?: string;
}

export type AfterSaleType = 'return' | 'refund' | 'complaint';
export type AfterSaleStatus = 'open' | 'resolved';

export interface AfterSaleRequest {
  id: string;
  object: 'after_sale_request';
  orderId: string;
  orderNumber: number;
  type: AfterSaleType;
  description: string;
  status: AfterSaleStatus;
  resolution: string | null;
  resolvedByUserId: string | null;
  instanceId: string | null;
  customerRef: string;
  createdAt: string | null;
  updatedAt: string | null;
  resolvedAt: string | null;
}

/** `POST /organizations/{orgId}/after-sale-requests/{id}/resolve` */
export interface ResolveAfterSaleRequest {
  resolution: string;
}

export type PaymentProviderKind = 'sandbox' | 'manual' | 'stripe';
/** `created`: stored, provider not yet confirmed; `pending`: waiting for the payer; the rest are final. */
export type PaymentStatus = 'created' | 'pending' | 'succeeded' | 'failed' | 'canceled' | 'expired';

export interface Payment {
  id: string;
  object: 'payment';
  orderId: string;
  bindingId: string;
  provider: PaymentProviderKind;
  /** The reference sent to the provider (unique per binding). */
  reference: string;
  amountMinor: number;
  currency: string;
  description: string;
  status: PaymentStatus;
  /** The page the payer opens (sandbox, Stripe Checkout). */
  payUrl: string | null;
  /** What the payer is told instead of a link (manual: bank details with the reference). */
  instructions: string | null;
  capturedMinor: number;
  refundedMinor: number;
  failureReason: string | null;
  /** The last provider error while creating or checking it (safe text), if any. */
  lastError: string | null;
  expiresAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  settledAt: string | null;
}

/** `POST …/payments/{paymentId}/mark-failed` (sandbox binding). */
export interface MarkPaymentFailedRequest {
  reason?: string;
}

/** `POST …/payments/{paymentId}/confirm-receipt` (manual binding): the money arrived. */
export interface ConfirmReceiptRequest {
  /** When given, must equal the amount (no partial payments). */
  receivedMinor?: number;
  note?: string;
}

export type RefundReason = 'requested_by_customer' | 'duplicate' | 'fraudulent';
/** `requested` waits for a person; `approved` is being sent to the provider; `pending` the provider has it. */
export type RefundStatus = 'requested' | 'rejected' | 'approved' | 'pending' | 'succeeded' | 'failed' | 'canceled';

export interface Refund {
  id: string;
  object: 'refund';
  paymentId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  reason: RefundReason;
  note: string;
  status: RefundStatus;
  requestedBy: 'agent' | 'operator';
  requestedByUserId: string | null;
  decidedByUserId: string | null;
  decisionNote: string | null;
  decidedAt: string | null;
  failureReason: string | null;
  lastError: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  settledAt: string | null;
}

/** `POST …/payments/{paymentId}/refunds` (owners and admins: approved at once). Default amount: what is left. */
export interface CreateRefundRequest {
  amountMinor?: number;
  reason?: RefundReason;
  note?: string;
}

/** `POST …/refunds/{refundId}/approve` and `…/reject`. */
export interface RefundDecisionRequest {
  note?: string;
}

/** `POST …/refunds/{refundId}/settle` (manual binding): the operator paid it back, or could not. */
export interface SettleRefundRequest {
  outcome: 'succeeded' | 'failed';
  reason?: string;
}

/** An approved WhatsApp template (Twilio Content API) and its variables; `{order}`, `{amount}`, `{reference}` are filled in. */
export interface PaymentTemplate {
  contentSid: string;
  variables?: Record<string, string>;
}

export interface PaymentBindingSettings {
  /** Stripe Checkout: where the payer lands afterwards (null: Stripe's own page). */
  successUrl: string | null;
  cancelUrl: string | null;
  /** Manual: what the payer is told; must contain `{reference}` (also `{amount}`, `{description}`). */
  instructionsTemplate: string | null;
  /** Sent when a payment succeeded and the customer's 24-hour window has closed. */
  paidTemplate: PaymentTemplate | null;
  /** Sent inside the window; `{order}`, `{amount}` and `{reference}` are filled in. Null: a built-in text. */
  paidText: string | null;
  /** True (default): refunds the agent asks for wait for a person's approval. */
  refundsRequireApproval: boolean;
  /** How long a payment link stays valid (clamped to what the provider allows). */
  linkExpiresInSeconds: number;
}

export interface PaymentBinding {
  id: string;
  object: 'payment_binding';
  provider: PaymentProviderKind;
  status: 'active' | 'retired';
  settings: PaymentBindingSettings;
  /** Stripe only: never the secrets themselves. */
  stripe: {
    secretKeyConfigured: true;
    /** e.g. `sk_test_…4242`. */
    secretKeyHint: string;
    webhookSecretConfigured: true;
    livemode: boolean;
    /** Configure this URL as the Stripe webhook endpoint (events `checkout.session.*`, `payment_intent.*`, `charge.refunded`, `refund.*`). */
    webhookUrl: string;
  } | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** `PUT /organizations/{orgId}/payment-binding` (owner): binds a provider, retiring the previous binding. */
export interface BindPaymentProviderRequest {
  provider: PaymentProviderKind;
  stripe?: { secretKey: string; webhookSecret: string };
  settings?: Partial<PaymentBindingSettings>;
}

/** `PATCH /organizations/{orgId}/payment-binding` (owner): settings and, for Stripe, rotated secrets. */
export interface UpdatePaymentBindingRequest {
  stripe?: { secretKey?: string; webhookSecret?: string };
  settings?: Partial<PaymentBindingSettings>;
}

/** Live events of the two toolkits on `GET /organizations/{orgId}/events`. */
export type CommerceLiveEventType =
  | 'order.created' | 'order.paid' | 'order.fulfilled' | 'order.cancelled'
  | 'payment.created' | 'payment.succeeded' | 'payment.failed' | 'payment.canceled' | 'payment.expired'
  | 'refund.requested' | 'refund.approved' | 'refund.rejected' | 'refund.succeeded' | 'refund.failed'
  | 'after_sale.opened' | 'after_sale.resolved';

/** The `data:` JSON of a commerce live event: ids and amounts, never customer text. */
export interface CommerceLiveEvent {
  type: CommerceLiveEventType;
  orgId: string;
  /** The request or job that caused it. */
  requestId: string;
  at: number;
  orderId?: string;
  orderNumber?: number;
  paymentId?: string;
  refundId?: string;
  afterSaleId?: string;
  amountMinor?: number;
  currency?: string;
}
