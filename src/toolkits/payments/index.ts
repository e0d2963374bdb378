/**
 * The Payments toolkit: one payment-provider binding per organisation (sandbox, manual, Stripe;
 * the seam in ./providers), payments for E-Commerce orders, refunds a person approves, Stripe
 * webhooks turned into durable lookups, a poll of pending payments, and the customer's "we got
 * your payment" message — plus the first-party plugin (`first_party:payments`) with the agent's
 * three tools. Built before the plugin runtime, after the WhatsApp and E-Commerce toolkits it uses
 * (sending through `sendToCustomer`; orders through E-Commerce's repository).
 *
 * "Payments owns payment confirmation" (seed 001): status only ever comes from a provider lookup
 * (core.ts); a succeeded payment moves its order to `paid` and enqueues the customer's message in
 * one transaction (notify.ts sends it exactly once). Its worker (jobs.ts) runs on the shared job
 * table and starts after the WhatsApp channel's, which hands back jobs a killed process left.
 * Must never know about HTTP, call the model, or start work before `start()`.
 */
import type { Db } from '../../storage/db.ts';
import type { SecretBox } from '../../storage/secret-box.ts';
import type { Logger } from '../../log.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { EventBus } from '../../usage/bus.ts';
import type { FirstPartyPlugin } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import type { SendToCustomer } from '../whatsapp/index.ts';
import type { EcommerceToolkit } from '../ecommerce/index.ts';
import { createBindings, type Bindings } from './bindings.ts';
import { createPaymentStore, type PaymentStore } from './store.ts';
import { createPaymentsCore, type PaymentsCore } from './core.ts';
import { createRefunds, type Refunds } from './refunds.ts';
import { createNotifyPaidHandler } from './notify.ts';
import { createPaymentJobs, type PaymentJobs, type PaymentWorkerSettings } from './jobs.ts';
import { createWebhookHandler, type WebhookHandler } from './webhooks.ts';
import { createPaymentsPlugin } from './plugin.ts';

export { PAYMENTS_PLUGIN_ID, PAYMENTS_PERMISSIONS } from './plugin.ts';
export { PAYMENT_JOBS } from './errors.ts';
export type { Binding, BindingSettings, PaymentTemplate } from './bindings.ts';
export type { Payment, Refund, PaymentRowStatus, RefundRowStatus } from './store.ts';
export type { OperatorAction } from './core.ts';
export type { WebhookOutcome } from './webhooks.ts';
export type { PaymentWorkerSettings } from './jobs.ts';

export interface PaymentsToolkitDeps {
  db: Db;
  box: SecretBox;
  grants: GrantsRepo;
  queue: JobQueue;
  log: Logger;
  bus?: EventBus;
  ecommerce: EcommerceToolkit;
  sendToCustomer: SendToCustomer;
  /** PLUGBOARD_PUBLIC_BASE_URL: webhook URLs and sandbox pay links. */
  publicBaseUrl: string;
  stripeApiBaseUrl: string;
  /** Interval of the poll of a pending payment. */
  pollIntervalMs: number;
  /** Wait after Twilio's 429 before a notification is retried. */
  rateLimitDelayMs: number;
  worker: PaymentWorkerSettings;
  now?: () => number;
}

export interface PaymentsToolkit {
  plugin: FirstPartyPlugin;
  bindings: Bindings;
  store: PaymentStore;
  core: PaymentsCore;
  refunds: Refunds;
  jobs: PaymentJobs;
  /** A provider webhook for one binding (the route hands over the raw bytes). */
  webhook: WebhookHandler;
  /** Where a Stripe binding's events must be sent (configure it in Stripe's dashboard). */
  webhookUrl(bindingId: string): string;
  start(): void;
  stop(deadlineMs: number): Promise<void>;
}

export function createPaymentsToolkit(deps: PaymentsToolkitDeps): PaymentsToolkit {
  const now = deps.now ?? Date.now;
  const orders = deps.ecommerce.repos.orders;
  const bindings = createBindings({
    db: deps.db, box: deps.box, now, stripeApiBaseUrl: deps.stripeApiBaseUrl, sandboxPayBaseUrl: `${deps.publicBaseUrl}/payments/sandbox`,
  });
  const store = createPaymentStore(deps.db);
  // The worker is built last; enqueuers nudge it through this indirection.
  let wakeWorker: () => void = () => {};
  const wake = (): void => wakeWorker();
  const core = createPaymentsCore({ db: deps.db, store, bindings, orders, queue: deps.queue, log: deps.log, bus: deps.bus, now, pollIntervalMs: deps.pollIntervalMs, wake });
  const refunds = createRefunds({
    db: deps.db, store, bindings, queue: deps.queue, log: deps.log, bus: deps.bus, now, wake,
    reconcileLater: (p, key) => void core.enqueueReconcile(p, key),
  });
  const notifyPaid = createNotifyPaidHandler({ store, orders, bindings, sendToCustomer: deps.sendToCustomer, log: deps.log, rateLimitDelayMs: deps.rateLimitDelayMs });
  const jobs = createPaymentJobs({ queue: deps.queue, store, core, refunds, notifyPaid, log: deps.log, now, worker: deps.worker });
  wakeWorker = jobs.wake;
  const webhook = createWebhookHandler({ bindings, store, core, queue: deps.queue, log: deps.log, wake });
  const plugin = createPaymentsPlugin({ bindings, store, orders, core, refunds, grants: deps.grants, log: deps.log });
  return {
    plugin, bindings, store, core, refunds, jobs, webhook,
    webhookUrl: (bindingId) => `${deps.publicBaseUrl}/webhooks/payments/stripe/${encodeURIComponent(bindingId)}`,
    start: () => jobs.start(),
    stop: (deadlineMs) => jobs.stop(deadlineMs),
  };
}
