/**
 * Request schemas of the Payments routes (routes/control/payments.ts): the provider binding (Stripe
 * secrets by shape only), operator actions on payments and refunds, and the list queries, checked
 * against the shared request types. Must never hold a rule that needs storage or crosses fields
 * (a manual binding's instructions, Stripe-only URLs: the toolkit's admin.ts).
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';
import { limit } from './commerce.schema.ts';

const httpUrl = z.string().max(2000).regex(/^https?:\/\/\S+$/, 'must be an http(s) URL');
const text = (max: number) => z.string().trim().min(1).max(max);

const template = z.strictObject({
  contentSid: z.string().regex(/^HX[0-9a-fA-F]{32}$/, 'must be HX followed by 32 hex digits'),
  variables: z.record(z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a template variable name'), z.string().min(1).max(1024))
    .refine((v) => Object.keys(v).length <= 100, 'at most 100 variables').optional(),
});

const settings = z.strictObject({
  successUrl: httpUrl.nullable(),
  cancelUrl: httpUrl.nullable(),
  instructionsTemplate: text(1000).nullable(),
  paidTemplate: template.nullable(),
  paidText: text(1500).nullable(),
  refundsRequireApproval: z.boolean(),
  linkExpiresInSeconds: z.number().int().min(60).max(30 * 24 * 60 * 60),
}).partial();

const secretKey = z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,247}$/, 'must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_…)');
const webhookSecret = z.string().regex(/^whsec_[A-Za-z0-9+/=]{8,250}$/, 'must be a Stripe webhook signing secret (whsec_…)');

export const BindProvider = z.strictObject({
  provider: z.enum(['sandbox', 'manual', 'stripe']),
  stripe: z.strictObject({ secretKey, webhookSecret }).optional(),
  settings: settings.optional(),
});

export const UpdateBinding = z.strictObject({
  stripe: z.strictObject({ secretKey: secretKey.optional(), webhookSecret: webhookSecret.optional() }).optional(),
  settings: settings.optional(),
});

const cursor = z.string().regex(/^\d{1,15}\.(pay|ref)_[0-9a-f]{32}$/, 'must be a cursor from a previous page');
export const PaymentsQuery = z.strictObject({
  status: z.enum(['created', 'pending', 'succeeded', 'failed', 'canceled', 'expired']).optional(),
  orderId: z.string().min(1).max(100).optional(),
  limit: limit.optional(),
  cursor: cursor.optional(),
});
export const RefundsQuery = z.strictObject({
  status: z.enum(['requested', 'rejected', 'approved', 'pending', 'succeeded', 'failed', 'canceled']).optional(),
  paymentId: z.string().min(1).max(100).optional(),
  limit: limit.optional(),
  cursor: cursor.optional(),
});

export const MarkFailed = z.strictObject({ reason: z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a short code such as card_declined').optional() });
export const ConfirmReceipt = z.strictObject({ receivedMinor: z.number().int().min(1).max(99_999_999).optional(), note: text(500).optional() });
export const CreateRefund = z.strictObject({
  amountMinor: z.number().int().min(1).max(99_999_999).optional(),
  reason: z.enum(['requested_by_customer', 'duplicate', 'fraudulent']).optional(),
  note: text(500).optional(),
});
export const RefundDecision = z.strictObject({ note: text(500).optional() });
export const SettleRefund = z.strictObject({ outcome: z.enum(['succeeded', 'failed']), reason: text(200).optional() });

export type BindProviderAccepts = Accepts<typeof BindProvider, Api.BindPaymentProviderRequest>;
export type UpdateBindingAccepts = Accepts<typeof UpdateBinding, Api.UpdatePaymentBindingRequest>;
export type MarkFailedAccepts = Accepts<typeof MarkFailed, Api.MarkPaymentFailedRequest>;
export type ConfirmReceiptAccepts = Accepts<typeof ConfirmReceipt, Api.ConfirmReceiptRequest>;
export type CreateRefundAccepts = Accepts<typeof CreateRefund, Api.CreateRefundRequest>;
export type RefundDecisionAccepts = Accepts<typeof RefundDecision, Api.RefundDecisionRequest>;
export type SettleRefundAccepts = Accepts<typeof SettleRefund, Api.SettleRefundRequest>;
