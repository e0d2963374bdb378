/**
 * The state and the endpoint logic of the loopback Stripe fake: Checkout Sessions (create,
 * retrieve, list by PaymentIntent, expire), PaymentIntent retrieve, Refunds (create, retrieve),
 * and the test controls that play the payer's part (pay, fail, expire).
 *
 * Test-only. Stripe's rules are enforced, not assumed: a refund never exceeds what was captured
 * minus what was refunded, an object is visible only to its own account, a session past
 * `expires_at` is expired. Must never perform I/O; `stripe-api.ts` owns HTTP.
 */
import {
  expandParam, FakeStripeError, intParam, invalidParam, isObject, metadataParam, onlyKnown, requireParam, stringParam, type FormObject,
} from './stripe-api-form.ts';
import {
  chargeJson, paymentIntentJson, refundJson, sessionJson, stripeId,
  type FakeCharge, type FakeLineItem, type FakePaymentIntent, type FakeRefund, type FakeSession, type RefundStatus,
} from './stripe-api-objects.ts';

/** Stripe's largest amount (8 digits) and its Checkout window for `expires_at`. */
const MAX_AMOUNT = 99_999_999;
const MIN_EXPIRY_SEC = 30 * 60;
const MAX_EXPIRY_SEC = 24 * 60 * 60;
const MAX_LINE_ITEMS = 100;
/** Stripe's minimum charge per currency (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts), for the few the tests use. */
const MIN_CHARGE: Record<string, number> = { usd: 50, eur: 50, gbp: 30 };

const SESSION_CREATE_PARAMS = ['mode', 'line_items', 'currency', 'metadata', 'client_reference_id', 'expires_at', 'success_url', 'cancel_url', 'payment_intent_data', 'expand'] as const;
const REFUND_CREATE_PARAMS = ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand'] as const;
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

export type StripeState = ReturnType<typeof createStripeState>;

export function createStripeState(now: () => Date) {
  const sessions = new Map<string, FakeSession>();
  const intents = new Map<string, FakePaymentIntent>();
  const charges = new Map<string, FakeCharge>();
  const refunds = new Map<string, FakeRefund>();
  let refundsStartAs: RefundStatus = 'succeeded';
  const seconds = () => Math.floor(now().getTime() / 1000);

  function missing(kind: string, id: string, param = 'id'): FakeStripeError {
    return new FakeStripeError({ status: 404, type: 'invalid_request_error', message: `No such ${kind}: '${id}'`, code: 'resource_missing', param });
  }

  /** A session past `expires_at` is expired the moment anyone looks at it, as on Stripe. */
  function session(account: string | null, id: string): FakeSession {
    const s = sessions.get(id);
    if (!s || (account !== null && s.account !== account)) throw missing('checkout.session', id, 'session');
    if (s.status === 'open' && seconds() >= s.expiresAt) s.status = 'expired';
    return s;
  }
  function intent(account: string | null, id: string): FakePaymentIntent {
    const pi = intents.get(id);
    if (!pi || (account !== null && pi.account !== account)) throw missing('payment_intent', id, 'intent');
    return pi;
  }
  function refund(account: string | null, id: string): FakeRefund {
    const r = refunds.get(id);
    if (!r || (account !== null && r.account !== account)) throw missing('refund', id, 'refund');
    return r;
  }

  function renderSession(s: FakeSession, expand: string[]): Record<string, unknown> {
    checkExpand(expand, ['payment_intent', 'payment_intent.latest_charge']);
    const pi = expand.some((e) => e.startsWith('payment_intent')) && s.paymentIntentId ? intents.get(s.paymentIntentId) : undefined;
    return sessionJson(s, pi ? renderIntent(pi, expand.includes('payment_intent.latest_charge') ? ['latest_charge'] : []) : null);
  }
  function renderIntent(pi: FakePaymentIntent, expand: string[]): Record<string, unknown> {
    checkExpand(expand, ['latest_charge']);
    const ch = expand.includes('latest_charge') && pi.latestChargeId ? charges.get(pi.latestChargeId) : undefined;
    return paymentIntentJson(pi, ch ? chargeJson(ch) : null);
  }

  function lineItems(form: FormObject): FakeLineItem[] {
    const raw = requireParam(form, 'line_items');
    if (!Array.isArray(raw) || raw.length === 0) throw invalidParam('Invalid array: line_items', 'line_items');
    if (raw.length > MAX_LINE_ITEMS) throw invalidParam(`line_items may contain at most ${MAX_LINE_ITEMS} items`, 'line_items');
    return raw.map((item, i) => {
      const p = `line_items[${i}]`;
      if (!isObject(item)) throw invalidParam(`Invalid hash: ${p}`, p);
      onlyKnown(item, ['price_data', 'quantity'], p);
      const pd = requireParam(item, 'price_data', `${p}[price_data]`);
      if (!isObject(pd)) throw invalidParam(`Invalid hash: ${p}[price_data]`, `${p}[price_data]`);
      onlyKnown(pd, ['currency', 'unit_amount', 'product_data'], `${p}[price_data]`);
      const product = requireParam(pd, 'product_data', `${p}[price_data][product_data]`);
      if (!isObject(product)) throw invalidParam(`Invalid hash: ${p}[price_data][product_data]`, `${p}[price_data][product_data]`);
      onlyKnown(product, ['name', 'description'], `${p}[price_data][product_data]`);
      const currency = stringParam(pd, 'currency', { param: `${p}[price_data][currency]`, required: true })!.toLowerCase();
      if (!/^[a-z]{3}$/.test(currency)) throw invalidParam(`Invalid currency: ${currency}`, `${p}[price_data][currency]`);
      return {
        name: stringParam(product, 'name', { param: `${p}[price_data][product_data][name]`, required: true, max: 5000 })!,
        description: stringParam(product, 'description', { param: `${p}[price_data][product_data][description]`, max: 5000 }),
        unitAmount: intParam(pd, 'unit_amount', { param: `${p}[price_data][unit_amount]`, required: true, min: 0, max: MAX_AMOUNT })!,
        quantity: intParam(item, 'quantity', { param: `${p}[quantity]`, required: true, min: 1, max: 999_999 })!,
        currency,
      };
    });
  }

  function url(form: FormObject, name: string): string | null {
    const v = stringParam(form, name, { max: 5000 });
    if (v !== null && !/^https?:\/\/[^\s]+$/.test(v)) throw invalidParam(`Not a valid URL`, name, 'url_invalid');
    return v;
  }

  return {
    createSession(account: string, form: FormObject): Record<string, unknown> {
      onlyKnown(form, SESSION_CREATE_PARAMS);
      const mode = stringParam(form, 'mode') ?? 'payment';
      if (mode !== 'payment') throw invalidParam(`The fake models only mode=payment, not ${mode}.`, 'mode');
      const items = lineItems(form);
      const currency = items[0].currency;
      if (items.some((x) => x.currency !== currency)) throw invalidParam('All line items must use the same currency.', 'line_items');
      const top = stringParam(form, 'currency');
      if (top !== null && top.toLowerCase() !== currency) throw invalidParam(`currency (${top}) does not match the line items (${currency}).`, 'currency');
      const total = items.reduce((sum, x) => sum + x.unitAmount * x.quantity, 0);
      if (total > MAX_AMOUNT) throw invalidParam(`Amount must be no more than ${MAX_AMOUNT}`, 'line_items', 'amount_too_large');
      if (total < (MIN_CHARGE[currency] ?? 1)) {
        throw invalidParam(`The Checkout Session's total amount due must add up to at least ${MIN_CHARGE[currency] ?? 1} ${currency}`, 'line_items', 'amount_too_small');
      }
      const created = seconds();
      const expiresAt = intParam(form, 'expires_at') ?? created + MAX_EXPIRY_SEC;
      if (expiresAt < created + MIN_EXPIRY_SEC) throw invalidParam('The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.', 'expires_at');
      if (expiresAt > created + MAX_EXPIRY_SEC) throw invalidParam('The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.', 'expires_at');
      const pid = form.payment_intent_data;
      if (pid !== undefined && !isObject(pid)) throw invalidParam('Invalid hash: payment_intent_data', 'payment_intent_data');
      if (pid) onlyKnown(pid, ['description', 'metadata'], 'payment_intent_data');
      const s: FakeSession = {
        id: stripeId('cs_test_', 58),
        account,
        created,
        expiresAt,
        status: 'open',
        paymentStatus: 'unpaid',
        currency,
        amountTotal: total,
        lineItems: items,
        metadata: metadataParam(form, 'metadata'),
        clientReferenceId: stringParam(form, 'client_reference_id', { max: 200 }),
        customerEmail: null,
        successUrl: url(form, 'success_url'),
        cancelUrl: url(form, 'cancel_url'),
        locale: null,
        paymentIntentData: {
          description: pid ? stringParam(pid, 'description', { param: 'payment_intent_data[description]', max: 1000 }) : null,
          metadata: pid ? metadataParam(pid, 'metadata', 'payment_intent_data[metadata]') : {},
        },
        // Since API version 2022-08-01 a payment-mode session has no PaymentIntent until the payer confirms.
        paymentIntentId: null,
      };
      const expand = expandParam(form);
      checkExpand(expand, ['payment_intent', 'payment_intent.latest_charge']);
      sessions.set(s.id, s);
      return renderSession(s, expand);
    },

    retrieveSession: (account: string, id: string, expand: string[]) => renderSession(session(account, id), expand),

    listSessions(account: string, query: FormObject): Record<string, unknown> {
      onlyKnown(query, ['payment_intent', 'limit', 'expand']);
      const pi = stringParam(query, 'payment_intent');
      const limit = intParam(query, 'limit', { min: 1, max: 100 }) ?? 10;
      const all = [...sessions.values()].filter((s) => s.account === account && (pi === null || s.paymentIntentId === pi));
      const data = all.reverse().slice(0, limit).map((s) => renderSession(session(account, s.id), []));
      return { object: 'list', data, has_more: all.length > limit, url: '/v1/checkout/sessions' };
    },

    expireSession(account: string, id: string, form: FormObject): Record<string, unknown> {
      onlyKnown(form, ['expand']);
      const s = session(account, id);
      if (s.status !== 'open') {
        throw new FakeStripeError({ status: 400, type: 'invalid_request_error', message: `Only Checkout Sessions with a status in ["open"] can be expired. This session has status "${s.status}".` });
      }
      s.status = 'expired';
      return renderSession(s, expandParam(form));
    },

    retrievePaymentIntent: (account: string, id: string, expand: string[]) => renderIntent(intent(account, id), expand),

    createRefund(account: string, form: FormObject): Record<string, unknown> {
      onlyKnown(form, REFUND_CREATE_PARAMS);
      const piId = stringParam(form, 'payment_intent');
      const chId = stringParam(form, 'charge');
      if ((piId === null) === (chId === null)) throw invalidParam('You must pass exactly one of payment_intent or charge.', 'payment_intent');
      const amount = intParam(form, 'amount', { min: 1, max: MAX_AMOUNT });
      const reason = stringParam(form, 'reason');
      if (reason !== null && !REFUND_REASONS.includes(reason)) throw invalidParam(`Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`, 'reason');
      const metadata = metadataParam(form, 'metadata');
      const pi = piId !== null ? intent(account, piId) : intent(account, chargeOf(account, chId!).paymentIntentId);
      const charge = pi.latestChargeId === null || pi.status !== 'succeeded' ? undefined : charges.get(pi.latestChargeId);
      if (!charge) {
        throw new FakeStripeError({ status: 400, type: 'invalid_request_error', message: `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, param: 'payment_intent' });
      }
      const remaining = charge.amount - charge.amountRefunded;
      if (remaining === 0) {
        throw new FakeStripeError({ status: 400, type: 'invalid_request_error', code: 'charge_already_refunded', message: `Charge ${charge.id} has already been refunded.` });
      }
      const value = amount ?? remaining;
      if (value > remaining) {
        throw new FakeStripeError({
          status: 400, type: 'invalid_request_error', code: 'amount_too_large', param: 'amount',
          message: `Refund amount (${money(value, charge.currency)}) is greater than unrefunded amount on charge (${money(remaining, charge.currency)})`,
        });
      }
      const r: FakeRefund = {
        id: stripeId('re_'), account, created: seconds(), amount: value, currency: charge.currency, chargeId: charge.id,
        paymentIntentId: pi.id, status: refundsStartAs, reason, metadata,
      };
      charge.amountRefunded += value;
      refunds.set(r.id, r);
      return refundJson(r);
    },

    retrieveRefund: (account: string, id: string) => refundJson(refund(account, id)),

    // ---- test controls: the payer's and Stripe's side of things ----

    /** The payer pays: a succeeded PaymentIntent and Charge for the full amount; session complete/paid. */
    markPaid(id: string): void {
      const s = openSession(id);
      const pi = newIntent(s, 'succeeded');
      const ch: FakeCharge = {
        id: stripeId('ch_'), account: s.account, created: seconds(), amount: s.amountTotal, amountRefunded: 0, currency: s.currency,
        paymentIntentId: pi.id, description: pi.description, metadata: {},
      };
      charges.set(ch.id, ch);
      Object.assign(pi, { amountReceived: s.amountTotal, latestChargeId: ch.id });
      Object.assign(s, { status: 'complete', paymentStatus: 'paid', paymentIntentId: pi.id });
    },
    /** A delayed (async) payment method was submitted: session complete, still unpaid, PaymentIntent processing. */
    markProcessing(id: string): void {
      const s = openSession(id);
      const pi = newIntent(s, 'processing');
      Object.assign(s, { status: 'complete', paymentStatus: 'unpaid', paymentIntentId: pi.id });
    },
    /** The payment failed (Stripe's `checkout.session.async_payment_failed`): PaymentIntent back to requires_payment_method. */
    markFailed(id: string): void {
      const s = session(null, id);
      const existing = s.paymentIntentId ? intents.get(s.paymentIntentId) : undefined;
      if (s.status === 'expired' || s.paymentStatus === 'paid') throw new Error(`Session ${id} is ${s.status}/${s.paymentStatus}; cannot fail it.`);
      const pi = existing ?? newIntent(s, 'requires_payment_method');
      Object.assign(pi, {
        status: 'requires_payment_method',
        lastPaymentError: { code: 'card_declined', decline_code: 'generic_decline', message: 'Your card was declined.', type: 'card_error' },
      });
      Object.assign(s, { status: 'complete', paymentStatus: 'unpaid', paymentIntentId: pi.id });
    },
    /** The session's time ran out. */
    markExpired(id: string): void {
      const s = openSession(id);
      s.status = 'expired';
    },
    /** Moves a refund on (e.g. pending → succeeded, or → failed, which gives the amount back). */
    setRefundStatus(id: string, status: RefundStatus): void {
      const r = refund(null, id);
      const counted = (x: RefundStatus) => x !== 'failed' && x !== 'canceled';
      const ch = charges.get(r.chargeId)!;
      if (counted(r.status) && !counted(status)) ch.amountRefunded -= r.amount;
      if (!counted(r.status) && counted(status)) ch.amountRefunded += r.amount;
      r.status = status;
    },
    /** The status new refunds start in (Stripe: card refunds are usually `succeeded` or briefly `pending`). */
    startRefundsAs(status: RefundStatus): void {
      refundsStartAs = status;
    },
    sessionJson: (id: string) => renderSession(session(null, id), []),
    paymentIntentJson: (id: string) => renderIntent(intent(null, id), []),
    chargeJson: (id: string) => {
      const ch = charges.get(id);
      if (!ch) throw new Error(`No fake charge ${id}.`);
      return chargeJson(ch);
    },
    refundJson: (id: string) => refundJson(refund(null, id)),
    sessionCount: (account?: string) => [...sessions.values()].filter((s) => account === undefined || s.account === account).length,
  };

  function openSession(id: string): FakeSession {
    const s = session(null, id);
    if (s.status !== 'open') throw new Error(`Session ${id} is ${s.status}, not open.`);
    return s;
  }
  function newIntent(s: FakeSession, status: FakePaymentIntent['status']): FakePaymentIntent {
    const pi: FakePaymentIntent = {
      id: stripeId('pi_'), account: s.account, created: seconds(), amount: s.amountTotal, amountReceived: 0, currency: s.currency, status,
      description: s.paymentIntentData.description, metadata: { ...s.paymentIntentData.metadata }, latestChargeId: null, lastPaymentError: null, canceledAt: null,
    };
    intents.set(pi.id, pi);
    return pi;
  }
  function chargeOf(account: string, id: string): FakeCharge {
    const ch = charges.get(id);
    if (!ch || ch.account !== account) throw missing('charge', id, 'charge');
    return ch;
  }
}

function checkExpand(expand: string[], allowed: string[]): void {
  for (const e of expand) {
    if (!allowed.includes(e)) throw invalidParam(`This property cannot be expanded (${e}). The fake expands only ${allowed.join(', ')}.`, 'expand');
  }
}

function money(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
}
