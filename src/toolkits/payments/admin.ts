/**
 * The control panel's use cases of the Payments toolkit that are not the agent's: binding a
 * provider (owner; Stripe secrets sealed), changing its settings, finding payments and refunds in
 * the organisation (another organisation's is a 404, like an unknown id), and their pages.
 * Settings are checked as a whole before anything is written: a bad value is a 400 and nothing
 * changes. Must never know about HTTP, and never return a secret.
 */
import { invalidRequest, notFound } from '../../errors.ts';
import type { Page } from '../ecommerce/support.ts';
import type { ProviderKind } from './providers/index.ts';
import { DEFAULT_SETTINGS, type Binding, type BindingSettings, type Bindings, type StripeSecrets } from './bindings.ts';
import type { Payment, PaymentRowStatus, PaymentStore, Refund, RefundRowStatus } from './store.ts';

export interface BindInput {
  provider: ProviderKind;
  stripe?: StripeSecrets;
  settings?: Partial<BindingSettings>;
}

export interface UpdateBindingInput {
  stripe?: Partial<StripeSecrets>;
  settings?: Partial<BindingSettings>;
}

/** Rules across fields (each field's shape is the route schema's). */
function checkSettings(provider: ProviderKind, s: BindingSettings): void {
  if (provider === 'manual' && (s.instructionsTemplate === null || !s.instructionsTemplate.includes('{reference}'))) {
    throw invalidRequest('A manual binding needs settings.instructionsTemplate containing {reference} (how the payer quotes the payment, e.g. "Transfer {amount} to IBAN … quoting {reference}").', 'settings.instructionsTemplate', 'missing_parameter');
  }
  if (provider !== 'stripe' && (s.successUrl !== null || s.cancelUrl !== null)) {
    throw invalidRequest('successUrl and cancelUrl are for Stripe bindings only.', 'settings.successUrl', 'invalid_value');
  }
}

export function bindProvider(bindings: Bindings, orgId: string, input: BindInput, userId: string): Binding {
  if ((input.provider === 'stripe') !== (input.stripe !== undefined)) {
    throw invalidRequest(input.provider === 'stripe' ? 'A Stripe binding needs stripe.secretKey and stripe.webhookSecret.' : `"stripe" is only for provider "stripe", not "${input.provider}".`, 'stripe', input.provider === 'stripe' ? 'missing_parameter' : 'invalid_value');
  }
  const settings = { ...DEFAULT_SETTINGS, ...input.settings };
  checkSettings(input.provider, settings);
  return bindings.bind(orgId, input.provider, settings, input.stripe ?? null, userId);
}

export function updateBinding(bindings: Bindings, b: Binding, input: UpdateBindingInput): Binding {
  if (input.stripe !== undefined && b.provider !== 'stripe') throw invalidRequest(`"stripe" is only for a Stripe binding; this one is "${b.provider}".`, 'stripe', 'invalid_value');
  if (input.settings === undefined && (input.stripe === undefined || Object.keys(input.stripe).length === 0)) return b;
  const settings = { ...b.settings, ...input.settings };
  checkSettings(b.provider, settings);
  return bindings.update(b, settings, input.stripe ?? {});
}

export function findPayment(store: PaymentStore, orgId: string, id: string): Payment {
  const p = store.get(orgId, id);
  if (!p) throw notFound('payment', 'paymentId');
  return p;
}

export function findRefund(store: PaymentStore, orgId: string, id: string): Refund {
  const r = store.getRefund(orgId, id);
  if (!r) throw notFound('refund', 'refundId');
  return r;
}

const CURSOR = /^(\d{1,15})\.((?:pay|ref)_[0-9a-f]{32})$/;
const parse = (c: string | undefined): { at: number; id: string } | undefined => {
  const m = c ? CURSOR.exec(c) : null;
  return m ? { at: Number(m[1]), id: m[2] } : undefined;
};

function pageOf<T extends { createdAt: number; id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit ? `${last.createdAt}.${last.id}` : null };
}

export function listPayments(store: PaymentStore, orgId: string, q: { status?: PaymentRowStatus; orderId?: string; limit: number; cursor?: string }): Page<Payment> {
  return pageOf(store.list(orgId, { status: q.status, orderId: q.orderId, limit: q.limit + 1, cursor: parse(q.cursor) }), q.limit);
}

export function listRefunds(store: PaymentStore, orgId: string, q: { status?: RefundRowStatus; paymentId?: string; limit: number; cursor?: string }): Page<Refund> {
  return pageOf(store.listRefunds(orgId, { status: q.status, paymentId: q.paymentId, limit: q.limit + 1, cursor: parse(q.cursor) }), q.limit);
}
