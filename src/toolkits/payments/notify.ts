/**
 * Telling the customer their payment arrived: one job per paid payment (enqueued in the same
 * transaction that moved the order to `paid`), sent through the WhatsApp toolkit's `sendToCustomer`
 * under the key `payment:<id>:paid`, so it goes out exactly once across retries and restarts.
 * Inside the 24-hour window the text is sent, outside it the binding's `paidTemplate`; without a
 * template outside the window the job is dead-lettered with a message saying how to fix it
 * (set the template, then requeue). Must never call Twilio itself or log a phone number.
 */
import type { Logger } from '../../log.ts';
import type { Job } from '../../jobs/queue.ts';
import { JobError, type JobContext } from '../../jobs/worker.ts';
import type { CustomerMessage, SendToCustomer } from '../whatsapp/index.ts';
import type { OrdersRepo } from '../ecommerce/orders.ts';
import { formatMoney } from '../ecommerce/support.ts';
import type { BindingSettings, Bindings } from './bindings.ts';
import type { PaymentStore } from './store.ts';

export const DEFAULT_PAID_TEXT = 'Thank you! We received your payment of {amount} for order #{order}.';

/** `{order}`, `{amount}`, `{reference}` filled in (function replacements: a `$&` stays literal). */
function fill(text: string, v: { order: string; amount: string; reference: string }): string {
  return text.replaceAll('{order}', () => v.order).replaceAll('{amount}', () => v.amount).replaceAll('{reference}', () => v.reference);
}

export function paidMessage(settings: BindingSettings, v: { order: string; amount: string; reference: string }): CustomerMessage {
  const message: CustomerMessage = { text: fill(settings.paidText ?? DEFAULT_PAID_TEXT, v) };
  const t = settings.paidTemplate;
  if (t) {
    const variables = t.variables ? Object.fromEntries(Object.entries(t.variables).map(([k, val]) => [k, fill(val, v)])) : undefined;
    message.template = { contentSid: t.contentSid, ...(variables && { variables }) };
  }
  return message;
}

export interface NotifyDeps {
  store: PaymentStore;
  orders: OrdersRepo;
  bindings: Bindings;
  sendToCustomer: SendToCustomer;
  log: Logger;
  /** Wait after Twilio's 429 (it sends no Retry-After). */
  rateLimitDelayMs: number;
}

export function createNotifyPaidHandler(deps: NotifyDeps) {
  return async function notifyPaid(job: Job, ctx: JobContext): Promise<void> {
    const paymentId = (job.payload as { paymentId?: unknown } | null)?.paymentId;
    if (typeof paymentId !== 'string') throw new JobError('Malformed payment notification job.', { retryable: false });
    const p = deps.store.get(job.orgId, paymentId);
    if (!p || p.status !== 'succeeded' || !p.instanceId || !p.customerRef) return;
    const order = deps.orders.get(job.orgId, p.orderId);
    const binding = deps.bindings.get(job.orgId, p.bindingId);
    if (!order || !binding) return;
    const message = paidMessage(binding.settings, { order: String(order.number), amount: formatMoney(p.amountMinor, p.currency), reference: p.reference });
    const r = await deps.sendToCustomer({
      orgId: job.orgId, instanceId: p.instanceId, customerRef: p.customerRef, message, idempotencyKey: `payment:${p.id}:paid`, signal: ctx.signal,
    });
    if (r.kind === 'sent' || r.kind === 'accepted_unrecorded') {
      deps.log.info({ paymentId: p.id, orderId: order.id, duplicate: r.duplicate, usedTemplate: r.usedTemplate }, 'payment confirmation sent to the customer');
      return;
    }
    if (r.kind === 'refused') {
      const fix = r.reason === 'outside_window' && !binding.settings.paidTemplate
        ? ' The customer\'s 24-hour window has closed and the payment binding has no paidTemplate: set one (PATCH /organizations/{id}/payment-binding), then requeue this job.'
        : '';
      throw new JobError(`The payment confirmation was refused (${r.reason}): ${r.message}${fix}`, { retryable: false });
    }
    throw new JobError(`The payment confirmation could not be sent yet (${r.reason}): ${r.message}`, {
      retryable: true, ...(r.httpStatus === 429 && { retryAfterMs: deps.rateLimitDelayMs }),
    });
  };
}
