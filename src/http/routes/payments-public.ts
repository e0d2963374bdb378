/**
 * The Payments toolkit's public routes, outside the control panel:
 * - `POST /webhooks/payments/stripe/{bindingId}`: one URL per binding (shown on the binding;
 *   configure it in Stripe's dashboard). Unauthenticated except by the signature, which the
 *   provider checks over the exact raw bytes (≤ 512 KiB). Pipeline: raw body → the toolkit's
 *   webhook use case (verify, identify, enqueue a durable lookup) → 200 with what happened; 400 for
 *   a signature that does not verify (nothing stored), 404 for an unknown binding, 503 when the
 *   provider could not be asked (Stripe redelivers).
 * - `GET /payments/sandbox/{ref}`: the page a sandbox pay link opens — a plain text saying what the
 *   payment is and that the shop confirms it (sandbox payments are marked paid by an operator).
 *   Found only by the unguessable ref in the link; it shows the amount and status, nothing else.
 * Must never log a webhook body, change a payment, or show a customer's identity.
 */
import Router from '@koa/router';
import { readRawBody } from '../body.ts';
import { notFound } from '../../errors.ts';
import type { WebhookHandler } from '../../toolkits/payments/webhooks.ts';
import type { Payment } from '../../toolkits/payments/index.ts';
import { formatMoney } from '../../toolkits/ecommerce/index.ts';

/** Stripe's events are small; far larger bodies are refused before they are read. */
export const PAYMENT_WEBHOOK_LIMIT = 512 * 1024;

export interface PaymentPublicDeps {
  webhook: WebhookHandler;
  /** A sandbox payment by the ref in its pay link. */
  sandboxPayment(ref: string): Payment | null;
}

export function paymentPublicRoutes(deps: PaymentPublicDeps): Router {
  const router = new Router();
  router.post('/webhooks/payments/stripe/:bindingId', async function stripeWebhook(ctx) {
    const rawBody = await readRawBody(ctx.req, PAYMENT_WEBHOOK_LIMIT);
    ctx.body = await deps.webhook('stripe', ctx.params.bindingId, { rawBody, headers: ctx.req.headers });
  });
  router.get('/payments/sandbox/:ref', async function sandboxPayPage(ctx) {
    const p = /^sbx_pay_[0-9a-f]{24}$/.test(ctx.params.ref) ? deps.sandboxPayment(ctx.params.ref) : null;
    if (!p) throw notFound('payment', 'ref');
    ctx.type = 'text/plain; charset=utf-8';
    ctx.set('cache-control', 'no-store');
    ctx.body = `Sandbox payment ${p.description}: ${formatMoney(p.amountMinor, p.currency)}, ${p.status}.\n`
      + 'This is a test payment: no money moves. The shop marks it paid (or failed) from its control panel.\n';
  });
  return router;
}
