/**
 * A provider webhook for one binding (Stripe: `POST /webhooks/payments/stripe/{bindingId}`): verified
 * by the provider (the SDK's signature check), reduced to "look payment X up", and turned into a
 * durable reconcile job — never a state change by itself. The answer tells the HTTP layer what to
 * say: 400 for a webhook that cannot be trusted (nothing stored), 503 when identifying the payment
 * needed the provider and it failed (the provider redelivers), 200 otherwise, including events for
 * payments this binding does not have (another organisation's, or made outside Plugboard): they
 * are acknowledged and ignored. Must never log the body or move a payment here.
 */
import { AppError, ErrorType, notFound } from '../../errors.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../log.ts';
import { PaymentErrorCode, PaymentProviderError, type ProviderEvent, type WebhookRequest } from './providers/index.ts';
import type { Bindings } from './bindings.ts';
import type { PaymentsCore } from './core.ts';
import type { PaymentStore } from './store.ts';
import { PAYMENT_JOBS } from './errors.ts';

export interface WebhookOutcome {
  received: true;
  /** `queued`: a lookup was scheduled; `duplicate`: that event was already queued; `ignored`: nothing of ours. */
  outcome: 'queued' | 'duplicate' | 'ignored';
  reason?: string;
}

export interface WebhookDeps {
  bindings: Bindings;
  store: PaymentStore;
  core: PaymentsCore;
  queue: JobQueue;
  log: Logger;
  wake(): void;
}

export function createWebhookHandler(deps: WebhookDeps) {
  return async function handleWebhook(provider: 'stripe', bindingId: string, request: WebhookRequest): Promise<WebhookOutcome> {
    const binding = deps.bindings.findForWebhook(bindingId);
    if (!binding || binding.provider !== provider) throw notFound('payment_binding', 'bindingId');
    let event: ProviderEvent;
    try {
      event = await deps.bindings.providerFor(binding).parseWebhook(request);
    } catch (err) {
      if (!(err instanceof PaymentProviderError)) throw err;
      if (err.code === PaymentErrorCode.webhookInvalid) {
        throw new AppError({ code: 'webhook_invalid', status: 400, type: ErrorType.invalidRequest, message: err.message, param: 'Stripe-Signature' });
      }
      deps.log.warn({ bindingId, code: err.code }, 'payment webhook could not be resolved; the provider will redeliver it');
      throw new AppError({ code: 'provider_unavailable', status: 503, type: ErrorType.upstream, message: 'The payment provider could not be reached to identify this event; deliver it again later.', headers: { 'retry-after': '30' } });
    }
    if (event.kind === 'ignored') return { received: true, outcome: 'ignored', reason: `event type ${event.eventType} is not used` };
    if (event.kind === 'refund') {
      const refund = deps.store.refundByProviderRef(binding.orgId, event.refundRef);
      if (refund) {
        const r = deps.queue.enqueue({ orgId: binding.orgId, kind: PAYMENT_JOBS.refundReconcile, dedupeKey: `payments.refund_reconcile:${refund.id}:${event.eventId}`, payload: { refundId: refund.id }, concurrencyKey: `payment:${refund.paymentId}` });
        deps.wake();
        return { received: true, outcome: r.created ? 'queued' : 'duplicate' };
      }
      if (event.providerRef === null) return { received: true, outcome: 'ignored', reason: 'no refund of this binding has that id' };
    }
    const payment = deps.store.byProviderRef(binding.id, event.providerRef as string);
    if (!payment) return { received: true, outcome: 'ignored', reason: 'no payment of this binding has that reference' };
    const created = deps.core.enqueueReconcile(payment, `evt:${event.eventId}`);
    return { received: true, outcome: created ? 'queued' : 'duplicate' };
  };
}
export type WebhookHandler = ReturnType<typeof createWebhookHandler>;
