/**
 * The `sandbox` payment provider: in-process and deterministic, for tests and sandbox installs.
 * No network, no secrets; state sits in the injected `LocalPaymentStore`.
 *
 * Deterministic outcomes by the last two digits of `amountMinor` (documented for operators and
 * plugin authors, like Stripe's test card numbers):
 *   - `…01` the payment is declined: paying it (`markPaid`) ends `failed` with `card_declined`;
 *   - `…02` refunds of it fail: a refund ends `failed` with `declined`;
 *   - `…03` the provider refuses the create (`provider_rejected`), as an account that cannot take it;
 *   - anything else behaves: paying succeeds, refunds succeed at once.
 * `markPaid` / `markFailed` are the operator's (and the tests') hands, from the API and the TUI.
 * Must never call out of the process or use randomness: refs derive from binding scope + reference.
 */
import { createLocalLedger } from './local-ledger.ts';
import type { LocalPaymentStore } from './local-store.ts';
import { checkCreateInput, checkRefundInput } from './validate.ts';
import { PaymentErrorCode, paymentError, type PaymentProvider, type PaymentSnapshot, type ProviderCapabilities } from './types.ts';

/** The last two digits that script an outcome. */
export const SANDBOX_MAGIC = { declined: 1, refundFails: 2, createRejected: 3 } as const;

export const SANDBOX_CAPABILITIES: ProviderCapabilities = {
  payment: 'link',
  webhooks: false,
  operatorActions: true,
  minExpirySeconds: 60,
  maxExpirySeconds: 30 * 24 * 60 * 60,
};

export interface SandboxProviderDeps {
  store: LocalPaymentStore;
  /** The binding id (payment refs derive from it). */
  scope: string;
  /** Base of the pay link; the ref is appended. The toolkit points it at its own sandbox pay page. */
  payBaseUrl: string;
  now: () => Date;
}

export interface SandboxProvider extends PaymentProvider {
  readonly kind: 'sandbox';
  /** The payer paid (or, for an amount ending in 01, tried and was declined). */
  markPaid(providerRef: string): Promise<PaymentSnapshot>;
  /** The payment failed, for a reason the operator gives. */
  markFailed(providerRef: string, reason?: string): Promise<PaymentSnapshot>;
}

const lastTwo = (amountMinor: number) => amountMinor % 100;

export function createSandboxProvider(deps: SandboxProviderDeps): SandboxProvider {
  const base = new URL(deps.payBaseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('payBaseUrl must be http(s).');
  const payBase = deps.payBaseUrl.replace(/\/+$/, '');
  const ledger = createLocalLedger({ store: deps.store, scope: deps.scope, prefix: 'sbx', now: deps.now });

  return {
    kind: 'sandbox',
    capabilities: SANDBOX_CAPABILITIES,

    async createPayment(raw) {
      const input = checkCreateInput(raw, SANDBOX_CAPABILITIES, deps.now());
      if (lastTwo(input.amountMinor) === SANDBOX_MAGIC.createRejected) {
        throw paymentError(PaymentErrorCode.rejected, 'Sandbox: amounts ending in 03 are refused by the provider.');
      }
      const p = ledger.create(input);
      return {
        providerRef: p.providerRef,
        status: p.status,
        payUrl: p.status === 'pending' ? `${payBase}/${encodeURIComponent(p.providerRef)}` : null,
        instructions: null,
        expiresAt: input.expiresAt,
      };
    },

    getPayment: async (ref) => ledger.get(ref),
    cancelPayment: async (ref) => ledger.cancel(ref),

    async refundPayment(input) {
      checkRefundInput(input);
      return ledger.refund(input, (p) =>
        lastTwo(p.amountMinor) === SANDBOX_MAGIC.refundFails ? { status: 'failed', failureReason: 'declined' } : { status: 'succeeded', failureReason: null },
      );
    },

    getRefund: async (ref) => ledger.getRefund(ref),

    async parseWebhook() {
      throw paymentError(PaymentErrorCode.unsupported, 'The sandbox provider sends no webhooks; its operator actions change payments directly.');
    },

    async markPaid(ref) {
      const p = ledger.get(ref);
      if (p.status === 'pending' && lastTwo(p.amountMinor) === SANDBOX_MAGIC.declined) {
        return ledger.settle(ref, 'failed', { failureReason: 'card_declined' });
      }
      return ledger.settle(ref, 'succeeded');
    },

    markFailed: async (ref, reason = 'marked_failed_by_operator') => ledger.settle(ref, 'failed', { failureReason: reason }),
  };
}
