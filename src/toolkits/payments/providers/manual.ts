/**
 * The `manual` payment provider: bank transfer or cash, how many small businesses are paid today.
 * There is no pay link: the payer gets an instructions text (the organisation's bank details with
 * the payment's reference and amount filled in), and a payment changes state only when an operator
 * confirms the money arrived (or cancels it, or it expires). Refunds are paid back by hand and
 * stay `pending` until the operator confirms them.
 *
 * Must never mark anything paid by itself, call out of the process, or accept a webhook.
 */
import { createLocalLedger } from './local-ledger.ts';
import type { LocalPaymentStore } from './local-store.ts';
import { checkCreateInput, checkRefundInput } from './validate.ts';
import { PaymentErrorCode, paymentError, type PaymentProvider, type PaymentSnapshot, type ProviderCapabilities, type RefundSnapshot } from './types.ts';

export const MANUAL_CAPABILITIES: ProviderCapabilities = {
  payment: 'instructions',
  webhooks: false,
  operatorActions: true,
  // A transfer can take days; a cash pickup is usually today.
  minExpirySeconds: 60,
  maxExpirySeconds: 30 * 24 * 60 * 60,
};

const MAX_TEMPLATE = 1000;
const MAX_NOTE = 500;

export interface ManualProviderDeps {
  store: LocalPaymentStore;
  scope: string;
  /**
   * What the payer is told, with `{reference}`, `{amount}` (e.g. `12.50 EUR`) and `{description}`
   * filled in. Must contain `{reference}`: it is how the operator matches a transfer to a payment.
   */
  instructionsTemplate: string;
  now: () => Date;
}

export interface ManualProvider extends PaymentProvider {
  readonly kind: 'manual';
  /** The operator confirms the money arrived. `receivedMinor`, when given, must equal the amount (no partial payments). */
  confirmReceived(providerRef: string, confirmation?: { receivedMinor?: number; note?: string }): Promise<PaymentSnapshot>;
  /** The operator paid a refund back (`succeeded`) or could not (`failed`). */
  settleRefund(refundRef: string, outcome: 'succeeded' | 'failed', reason?: string): Promise<RefundSnapshot>;
}

/** `1250 EUR` → `12.50 EUR`, with the currency's own number of decimals (JPY 0, KWD 3). */
export function formatMinor(amountMinor: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // An unknown code keeps two decimals; the input rules already checked its shape.
  }
  return `${(amountMinor / 10 ** digits).toFixed(digits)} ${currency}`;
}

export function createManualProvider(deps: ManualProviderDeps): ManualProvider {
  const template = deps.instructionsTemplate;
  if (typeof template !== 'string' || !template.includes('{reference}') || template.length > MAX_TEMPLATE) {
    throw new TypeError(`instructionsTemplate must contain {reference} and be at most ${MAX_TEMPLATE} characters.`);
  }
  const ledger = createLocalLedger({ store: deps.store, scope: deps.scope, prefix: 'man', now: deps.now });
  const fill = (p: { reference: string; amountMinor: number; currency: string; description: string }) =>
    template
      // Function replacements: a `$&` in a reference or description stays literal text.
      .replaceAll('{reference}', () => p.reference)
      .replaceAll('{amount}', () => formatMinor(p.amountMinor, p.currency))
      .replaceAll('{description}', () => p.description);

  return {
    kind: 'manual',
    capabilities: MANUAL_CAPABILITIES,

    async createPayment(raw) {
      const input = checkCreateInput(raw, MANUAL_CAPABILITIES, deps.now());
      const p = ledger.create(input);
      return { providerRef: p.providerRef, status: p.status, payUrl: null, instructions: fill(input), expiresAt: input.expiresAt };
    },

    getPayment: async (ref) => ledger.get(ref),
    cancelPayment: async (ref) => ledger.cancel(ref),

    async refundPayment(input) {
      checkRefundInput(input);
      return ledger.refund(input, () => ({ status: 'pending', failureReason: null }));
    },

    getRefund: async (ref) => ledger.getRefund(ref),

    async parseWebhook() {
      throw paymentError(PaymentErrorCode.unsupported, 'The manual provider has no webhooks; an operator confirms each payment.');
    },

    async confirmReceived(ref, confirmation = {}) {
      const current = ledger.get(ref);
      if (confirmation.receivedMinor !== undefined && confirmation.receivedMinor !== current.amountMinor) {
        throw paymentError(PaymentErrorCode.invalidInput, `Received ${confirmation.receivedMinor} but the payment is for ${current.amountMinor} ${current.currency}; partial payments are not supported.`);
      }
      const note = confirmation.note;
      if (note !== undefined && (typeof note !== 'string' || note.length > MAX_NOTE)) {
        throw paymentError(PaymentErrorCode.invalidInput, `note must be at most ${MAX_NOTE} characters.`);
      }
      return ledger.settle(ref, 'succeeded', note === undefined ? {} : { note });
    },

    settleRefund: async (ref, outcome, reason) => ledger.settleRefund(ref, outcome, reason ?? null),
  };
}
