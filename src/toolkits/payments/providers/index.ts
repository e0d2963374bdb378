/**
 * The payment providers' small composition root: one binding (an organisation's chosen provider
 * and its settings) in, one `PaymentProvider` out. The Payments toolkit builds the binding from
 * its storage (unsealing Stripe secrets there) and never reaches into a provider module itself.
 *
 * Must never read configuration or secrets on its own: everything arrives in the binding.
 */
import type { LocalPaymentStore } from './local-store.ts';
import { createManualProvider, type ManualProvider } from './manual.ts';
import { createSandboxProvider, type SandboxProvider } from './sandbox.ts';
import { createStripeProvider, type StripeProviderConfig } from './stripe.ts';
import type { PaymentProvider } from './types.ts';

export type ProviderBinding =
  | { kind: 'sandbox'; scope: string; payBaseUrl: string }
  | { kind: 'manual'; scope: string; instructionsTemplate: string }
  | ({ kind: 'stripe' } & StripeProviderConfig);

export interface ProviderDeps {
  /** Where sandbox and manual keep their state (the toolkit's SQLite store, or memory in tests). */
  localStore: LocalPaymentStore;
  now: () => Date;
}

export function createPaymentProvider(binding: ProviderBinding, deps: ProviderDeps): PaymentProvider {
  switch (binding.kind) {
    case 'sandbox':
      return createSandboxProvider({ store: deps.localStore, scope: binding.scope, payBaseUrl: binding.payBaseUrl, now: deps.now });
    case 'manual':
      return createManualProvider({ store: deps.localStore, scope: binding.scope, instructionsTemplate: binding.instructionsTemplate, now: deps.now });
    case 'stripe': {
      const { kind: _kind, ...config } = binding;
      return createStripeProvider(config, { now: deps.now });
    }
  }
}

/** Narrowing helpers for the operator actions only in-process providers have. */
export const isSandbox = (p: PaymentProvider): p is SandboxProvider => p.kind === 'sandbox';
export const isManual = (p: PaymentProvider): p is ManualProvider => p.kind === 'manual';

export { createMemoryPaymentStore, type LocalPaymentRecord, type LocalPaymentStore, type LocalRefundRecord } from './local-store.ts';
export { STRIPE_CAPABILITIES, STRIPE_DEFAULTS, STRIPE_METADATA } from './stripe.ts';
export { SANDBOX_CAPABILITIES, SANDBOX_MAGIC } from './sandbox.ts';
export { MANUAL_CAPABILITIES, formatMinor } from './manual.ts';
export { deriveIdempotencyKey } from './idempotency-key.ts';
export * from './types.ts';
