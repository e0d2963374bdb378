/**
 * The objects the loopback Stripe fake keeps, and their JSON as Stripe's API renders it
 * (Checkout Session, PaymentIntent, Charge, Refund, Event). Every field Stripe always returns for
 * these objects is present (checked against `fixtures/stripe-openapi-excerpt.json` by the
 * contract test); fields the fake does not model are `null` or empty, as Stripe leaves them on a
 * card payment through hosted Checkout.
 *
 * Test-only. Must never share state between accounts: every object belongs to one account.
 */
import crypto from 'node:crypto';

export type SessionStatus = 'open' | 'complete' | 'expired';
export type SessionPaymentStatus = 'paid' | 'unpaid' | 'no_payment_required';
export type PaymentIntentStatus = 'requires_payment_method' | 'processing' | 'succeeded' | 'canceled';
export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

export interface FakeLineItem {
  name: string;
  description: string | null;
  unitAmount: number;
  quantity: number;
  currency: string;
}

export interface FakeSession {
  id: string;
  account: string;
  created: number;
  expiresAt: number;
  status: SessionStatus;
  paymentStatus: SessionPaymentStatus;
  currency: string;
  amountTotal: number;
  lineItems: FakeLineItem[];
  metadata: Record<string, string>;
  clientReferenceId: string | null;
  customerEmail: string | null;
  successUrl: string | null;
  cancelUrl: string | null;
  locale: string | null;
  paymentIntentData: { description: string | null; metadata: Record<string, string> };
  paymentIntentId: string | null;
}

export interface FakePaymentIntent {
  id: string;
  account: string;
  created: number;
  amount: number;
  amountReceived: number;
  currency: string;
  status: PaymentIntentStatus;
  description: string | null;
  metadata: Record<string, string>;
  latestChargeId: string | null;
  lastPaymentError: { code: string; decline_code: string | null; message: string; type: 'card_error' } | null;
  canceledAt: number | null;
}

export interface FakeCharge {
  id: string;
  account: string;
  created: number;
  amount: number;
  amountRefunded: number;
  currency: string;
  paymentIntentId: string;
  description: string | null;
  metadata: Record<string, string>;
}

export interface FakeRefund {
  id: string;
  account: string;
  created: number;
  amount: number;
  currency: string;
  chargeId: string;
  paymentIntentId: string;
  status: RefundStatus;
  reason: string | null;
  metadata: Record<string, string>;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A Stripe-looking id: prefix + random alphanumerics (`cs_test_` + 58, `pi_` + 24, …). */
export function stripeId(prefix: string, length = 24): string {
  const bytes = crypto.randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

const NULL_ADDRESS = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };

/** Checkout Session JSON; `expanded` is `payment_intent` rendered in place of its id, when asked. */
export function sessionJson(s: FakeSession, expandedPaymentIntent: unknown): Record<string, unknown> {
  const paid = s.paymentStatus === 'paid';
  return {
    id: s.id,
    object: 'checkout.session',
    adaptive_pricing: { enabled: false },
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: s.amountTotal,
    amount_total: s.amountTotal,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: s.cancelUrl,
    client_reference_id: s.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: s.created,
    currency: s.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null },
    customer: null,
    customer_account: null,
    customer_creation: 'if_required',
    customer_details: s.status === 'complete'
      ? { address: NULL_ADDRESS, business_name: null, email: s.customerEmail ?? 'payer@example.com', individual_name: null, name: 'Test Payer', phone: null, tax_exempt: 'none', tax_ids: [] }
      : null,
    customer_email: s.customerEmail,
    discounts: [],
    expires_at: s.expiresAt,
    integration_identifier: null,
    invoice: null,
    invoice_creation: { enabled: false, invoice_data: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: null, metadata: {}, rendering_options: null } },
    livemode: false,
    locale: s.locale,
    managed_payments: null,
    metadata: { ...s.metadata },
    mode: 'payment',
    origin_context: null,
    payment_intent: expandedPaymentIntent ?? s.paymentIntentId,
    payment_link: null,
    payment_method_collection: 'if_required',
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_status: s.paymentStatus,
    permissions: null,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: s.status,
    submit_type: null,
    subscription: null,
    success_url: s.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted',
    // Stripe shows the hosted page's URL only while the session can still be paid.
    url: s.status === 'open' && !paid ? `https://checkout.stripe.com/c/pay/${s.id}` : null,
    wallet_options: null,
  };
}

export function paymentIntentJson(pi: FakePaymentIntent, expandedCharge: unknown): Record<string, unknown> {
  return {
    id: pi.id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: pi.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: pi.amountReceived,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: pi.canceledAt,
    cancellation_reason: pi.canceledAt === null ? null : 'abandoned',
    capture_method: 'automatic_async',
    client_secret: `${pi.id}_secret_${pi.id.slice(3, 20)}`,
    confirmation_method: 'automatic',
    created: pi.created,
    currency: pi.currency,
    customer: null,
    customer_account: null,
    description: pi.description,
    excluded_payment_method_types: null,
    last_payment_error: pi.lastPaymentError,
    latest_charge: expandedCharge ?? pi.latestChargeId,
    livemode: false,
    managed_payments: null,
    metadata: { ...pi.metadata },
    next_action: null,
    on_behalf_of: null,
    payment_method: pi.latestChargeId === null ? null : `pm_${pi.id.slice(3)}`,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: pi.status,
    transfer_group: null,
  };
}

export function chargeJson(c: FakeCharge): Record<string, unknown> {
  return {
    id: c.id,
    object: 'charge',
    amount: c.amount,
    amount_captured: c.amount,
    amount_refunded: c.amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: `txn_${c.id.slice(3)}`,
    billing_details: { address: NULL_ADDRESS, email: 'payer@example.com', name: 'Test Payer', phone: null, tax_id: null },
    calculated_statement_descriptor: 'PLUGBOARD TEST',
    captured: true,
    created: c.created,
    currency: c.currency,
    customer: null,
    description: c.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: { ...c.metadata },
    on_behalf_of: null,
    outcome: { advice_code: null, network_advice_code: null, network_decline_code: null, network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    paid: true,
    payment_intent: c.paymentIntentId,
    payment_method: `pm_${c.paymentIntentId.slice(3)}`,
    payment_method_details: { card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034, funding: 'credit', country: 'US' }, type: 'card' },
    receipt_email: null,
    receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/${c.id}`,
    refunded: c.amountRefunded >= c.amount,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export function refundJson(r: FakeRefund): Record<string, unknown> {
  return {
    id: r.id,
    object: 'refund',
    amount: r.amount,
    application: null,
    balance_transaction: r.status === 'succeeded' ? `txn_${r.id.slice(3)}` : null,
    charge: r.chargeId,
    created: r.created,
    currency: r.currency,
    customer: null,
    customer_account: null,
    destination_details: { card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
    metadata: { ...r.metadata },
    payment_intent: r.paymentIntentId,
    payment_method: `pm_${r.paymentIntentId.slice(3)}`,
    reason: r.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: r.status,
    transfer_reversal: null,
    ...(r.status === 'failed' && { failure_reason: 'declined' }),
  };
}

/** An Event as Stripe delivers it to a webhook endpoint. */
export function eventJson(type: string, object: Record<string, unknown>, opts: { created: number; apiVersion: string; previousAttributes?: Record<string, unknown> }): Record<string, unknown> {
  return {
    id: stripeId('evt_'),
    object: 'event',
    api_version: opts.apiVersion,
    created: opts.created,
    data: { object, ...(opts.previousAttributes && { previous_attributes: opts.previousAttributes }) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}
