/**
 * Pure views of the E-Commerce and Payments screens: money in minor units shown and parsed, table
 * rows of products, orders, payments and refunds, an order's detail text, the product form's
 * fields and its parsing, and which actions a role and a state allow (so panes grey out the rest).
 * Never import blessed or call the API. Every server string goes through clean().
 */
import type {
  AfterSaleRequest, BindPaymentProviderRequest, CreateProductRequest, Order, OrderDetail, Payment, PaymentBinding, PaymentBindingSettings,
  PaymentProviderKind, Product, Refund, Role, UpdatePaymentBindingRequest,
} from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

/** ISO 4217 currencies without minor units (the API stores whole units for them). */
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const decimals = (currency: string): number => (ZERO_DECIMAL.has(currency.toUpperCase()) ? 0 : 2);

/** `1250, 'EUR'` → `12.50 EUR` (the same text the agent tells customers). */
export function formatMoney(minor: number, currency: string): string {
  const d = decimals(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const whole = d ? Math.floor(abs / 10 ** d) : abs;
  const frac = d ? `.${String(abs % 10 ** d).padStart(d, '0')}` : '';
  return `${sign}${whole}${frac} ${clean(currency)}`;
}

/** `12.5` / `12,50` / `12` in `currency` → minor units, or an error sentence for the status line. */
export function parseMoney(text: string, currency: string): { minor: number } | { error: string } {
  const d = decimals(currency);
  const t = text.trim().replace(',', '.');
  const re = d ? /^(\d{1,9})(?:\.(\d{1,2}))?$/ : /^(\d{1,9})$/;
  const m = re.exec(t);
  if (!m) return { error: d ? `"${clean(text, '')}" is not an amount like 12.50` : `"${clean(text, '')}" is not a whole amount (${currency} has no cents)` };
  const minor = Number(m[1]) * 10 ** d + (d ? Number((m[2] ?? '').padEnd(d, '0') || '0') : 0);
  if (minor < 1) return { error: 'the amount must be more than zero' };
  return { minor };
}

/** Owners and admins act; members read (the server enforces it, the TUI greys out what would be refused). */
export function canAct(role: Role | null | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

export interface ActionHint {
  key: string;
  label: string;
  /** False: shown greyed out and refused locally with `why`. */
  enabled: boolean;
  why?: string;
}

export const READ_ONLY = 'members can read only: ask an owner or admin';

/** A blessed-tagged action bar: enabled actions plain, the others grey. Labels are our constants, never server text. */
export function actionBar(hints: ActionHint[]): string {
  return hints.map((h) => (h.enabled ? `${h.key} ${h.label}` : `{gray-fg}${h.key} ${h.label}{/gray-fg}`)).join('  ');
}

// Catalogue ---------------------------------------------------------------------------------

export const PRODUCT_COLUMNS: Column[] = [
  { title: 'SKU', width: 14 },
  { title: 'NAME', min: 12 },
  { title: 'PRICE', width: 13, align: 'right' },
  { title: 'STOCK', width: 7, align: 'right', drop: 2 },
  { title: 'ACTIVE', width: 8 },
  { title: 'UPDATED', width: 14, drop: 1 },
];

export function productRow(p: Product): string[] {
  return [clean(p.sku), clean(p.name), formatMoney(p.priceMinor, p.currency), p.stock === null ? '-' : String(p.stock), p.active ? 'active' : 'inactive', shortTime(p.updatedAt)];
}

export type ProductField = 'sku' | 'name' | 'price' | 'currency' | 'stock' | 'description';

/** The product form's fields, prefilled from `p` when editing (the price as `12.50`). */
export function productFormFields(p?: Product, defaultCurrency = 'EUR'): Array<{ name: ProductField; label: string; value: string }> {
  return [
    { name: 'sku', label: 'SKU', value: p?.sku ?? '' },
    { name: 'name', label: 'Name', value: p?.name ?? '' },
    { name: 'price', label: 'Price (12.50)', value: p ? formatMoney(p.priceMinor, p.currency).split(' ')[0] : '' },
    { name: 'currency', label: 'Currency', value: p?.currency ?? defaultCurrency },
    { name: 'stock', label: 'Stock (- = none)', value: p ? (p.stock === null ? '-' : String(p.stock)) : '-' },
    { name: 'description', label: 'Description', value: p?.description ?? '' },
  ];
}

/** The form's answers → a create body, or an error naming the field. The server validates again. */
export function parseProductForm(v: Record<ProductField, string>): { body: CreateProductRequest } | { error: string } {
  const currency = v.currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return { error: 'Currency: three letters, e.g. EUR' };
  const price = parseMoney(v.price, currency);
  if ('error' in price) return { error: `Price: ${price.error}` };
  const s = v.stock.trim();
  let stock: number | null = null;
  if (s !== '' && s !== '-') {
    if (!/^\d{1,8}$/.test(s)) return { error: 'Stock: a whole number, or - when not tracked' };
    stock = Number(s);
  }
  return { body: { sku: v.sku.trim(), name: v.name.trim(), priceMinor: price.minor, currency, stock, description: v.description } };
}

/** Only the fields that changed (a PATCH that leaves the rest alone). */
export function productPatch(before: Product, body: CreateProductRequest): Partial<CreateProductRequest> {
  const patch: Partial<CreateProductRequest> = {};
  if (body.sku !== before.sku) patch.sku = body.sku;
  if (body.name !== before.name) patch.name = body.name;
  if (body.priceMinor !== before.priceMinor) patch.priceMinor = body.priceMinor;
  if (body.currency !== before.currency) patch.currency = body.currency;
  if ((body.stock ?? null) !== before.stock) patch.stock = body.stock ?? null;
  if ((body.description ?? '') !== before.description) patch.description = body.description;
  return patch;
}

// Orders ------------------------------------------------------------------------------------

export const ORDER_STATUSES = ['pending_payment', 'paid', 'fulfilled', 'cancelled'] as const;

export const ORDER_COLUMNS: Column[] = [
  { title: '#', width: 5, align: 'right' },
  { title: 'STATUS', width: 15 },
  { title: 'TOTAL', width: 13, align: 'right' },
  { title: 'ITEMS', min: 12 },
  { title: 'CUSTOMER', width: 18, drop: 2 },
  { title: 'CREATED', width: 14, drop: 1 },
];

export function orderRow(o: Order): string[] {
  const items = o.items.map((i) => `${i.quantity}x ${clean(i.sku)}`).join(', ');
  return [String(o.number), o.status, formatMoney(o.totalMinor, o.currency), items || '-', clean(o.customerRef), shortTime(o.createdAt)];
}

/** States move forward only: what an operator may still do with the order. */
export function orderActions(o: Order | undefined, role: Role | null | undefined): ActionHint[] {
  const act = canAct(role);
  const why = (ok: boolean, state: string): string | undefined => (!act ? READ_ONLY : ok ? undefined : state);
  const fulfil = !!o && o.status === 'paid';
  const cancel = !!o && o.status === 'pending_payment';
  return [
    { key: 'f', label: 'fulfil', enabled: act && fulfil, why: why(fulfil, 'only a paid order can be fulfilled') },
    { key: 'c', label: 'cancel', enabled: act && cancel, why: why(cancel, 'only an order waiting for payment can be cancelled') },
    { key: 'r', label: 'resolve after-sale', enabled: act, why: act ? undefined : READ_ONLY },
  ];
}

/** Most important first (the panel is 4 lines tall at 80×24): state and total, the items, payments, after-sales, then who. */
export function orderDetail(o: OrderDetail, afterSales: AfterSaleRequest[]): string {
  const lines = [`Order #${o.number}  ${o.status}  ${formatMoney(o.totalMinor, o.currency)}  created ${shortTime(o.createdAt)}`];
  for (const i of o.items) lines.push(`  ${i.quantity} x ${clean(i.sku)} ${clean(i.name)} @ ${formatMoney(i.unitPriceMinor, o.currency)} = ${formatMoney(i.lineTotalMinor, o.currency)}`);
  if (o.paidAt) lines.push(`Paid ${shortTime(o.paidAt)}`);
  if (o.fulfilledAt) lines.push(`Fulfilled ${shortTime(o.fulfilledAt)}`);
  if (o.cancelledAt) lines.push(`Cancelled ${shortTime(o.cancelledAt)}${o.cancelReason ? `: ${clean(o.cancelReason)}` : ''}`);
  lines.push(`Payments:${o.payments.length ? '' : ' (none)'}`);
  for (const p of o.payments) lines.push(`  ${clean(p.reference)} ${p.provider} ${p.status} ${formatMoney(p.amountMinor, p.currency)}${p.refundedMinor ? ` refunded ${formatMoney(p.refundedMinor, p.currency)}` : ''}`);
  lines.push(`After-sale requests:${afterSales.length ? '' : ' (none)'}`);
  for (const a of afterSales) lines.push(`  ${a.type} ${a.status}: ${clean(a.description)}${a.resolution ? ` -> ${clean(a.resolution)}` : ''}`);
  lines.push(`Customer ${clean(o.customerRef)} on WhatsApp number ${clean(o.instanceId)}`);
  return lines.join('\n');
}

// Payments ----------------------------------------------------------------------------------

export const PAYMENT_COLUMNS: Column[] = [
  { title: 'REFERENCE', width: 18 },
  { title: 'PROVIDER', width: 8, drop: 2 },
  { title: 'STATUS', width: 10 },
  { title: 'AMOUNT', width: 13, align: 'right' },
  { title: 'REFUNDED', width: 13, align: 'right', drop: 1 },
  { title: 'NOTE', min: 8 },
];

export function paymentRow(p: Payment): string[] {
  const note = p.failureReason ?? p.lastError ?? p.description;
  return [clean(p.reference), p.provider, p.status, formatMoney(p.amountMinor, p.currency), p.refundedMinor ? formatMoney(p.refundedMinor, p.currency) : '-', clean(note)];
}

export const REFUND_COLUMNS: Column[] = [
  { title: 'STATUS', width: 10 },
  { title: 'AMOUNT', width: 13, align: 'right' },
  { title: 'BY', width: 8 },
  { title: 'REASON', width: 21, drop: 1 },
  { title: 'NOTE', min: 8 },
  { title: 'CREATED', width: 14, drop: 2 },
];

export function refundRow(r: Refund): string[] {
  const note = r.decisionNote ? `${r.note ? `${r.note} / ` : ''}${r.decisionNote}` : r.note;
  return [r.status, formatMoney(r.amountMinor, r.currency), r.requestedBy, r.reason, clean(r.failureReason ?? note), shortTime(r.createdAt)];
}

/** The binding's one-line summary above the payments table. */
export function bindingLine(b: PaymentBinding | null): string {
  if (!b) return 'No payment provider bound (the owner binds one with b).';
  const approval = b.settings.refundsRequireApproval ? 'refunds the agent asks for need approval' : 'agent refunds go straight to the provider';
  const stripe = b.stripe ? `  ${b.stripe.livemode ? 'LIVE' : 'test'} key ${clean(b.stripe.secretKeyHint)}` : '';
  return `Provider: ${b.provider}${stripe}  (${approval})`;
}

/** Which operator actions the binding's provider supports for a payment in its state. */
export function paymentActions(p: Payment | undefined, role: Role | null | undefined): ActionHint[] {
  const act = canAct(role);
  const open = !!p && (p.status === 'created' || p.status === 'pending');
  const refundable = !!p && p.status === 'succeeded' && p.capturedMinor > p.refundedMinor;
  const hint = (key: string, label: string, ok: boolean, why: string): ActionHint => ({ key, label, enabled: act && ok, why: !act ? READ_ONLY : ok ? undefined : why });
  return [
    hint('p', 'paid', open && p?.provider === 'sandbox', 'only an open sandbox payment can be marked paid'),
    hint('F', 'failed', open && p?.provider === 'sandbox', 'only an open sandbox payment can be marked failed'),
    hint('m', 'confirm receipt', open && p?.provider === 'manual', 'only an open manual payment can be confirmed'),
    hint('c', 'cancel', open, 'only an open payment can be cancelled'),
    hint('u', 'refresh', !!p, 'no payment selected'),
    hint('R', 'refund', refundable, 'only a paid payment with money left can be refunded'),
  ];
}

export function refundActions(r: Refund | undefined, role: Role | null | undefined, provider: string | undefined): ActionHint[] {
  const act = canAct(role);
  const requested = r?.status === 'requested';
  const settle = !!r && provider === 'manual' && (r.status === 'approved' || r.status === 'pending');
  const hint = (key: string, label: string, ok: boolean, why: string): ActionHint => ({ key, label, enabled: act && ok, why: !act ? READ_ONLY : ok ? undefined : why });
  return [
    hint('a', 'approve', requested, 'only a requested refund can be approved'),
    hint('x', 'reject', requested, 'only a requested refund can be rejected'),
    hint('s', 'settle', settle, 'only a manual refund being paid back can be settled'),
  ];
}

// Binding the payment provider (owner) ------------------------------------------------------

/** A new binding of one provider, or a change of the current binding's settings (and Stripe secrets). */
export type BindingChoice = PaymentProviderKind | 'update';

/**
 * The owner's choices, the current binding's change first. Binding again retires the current
 * binding (its payments keep reconciling) and gives Stripe a new webhook URL; a change keeps both.
 * Labels fit the pick list at 80 columns.
 */
export function bindingChoices(current: PaymentBinding | null): Array<{ label: string; value: BindingChoice }> {
  return [
    ...(current ? [{ label: `change the ${current.provider} binding (same id)`, value: 'update' as const }] : []),
    { label: 'sandbox: test payments, marked paid by hand', value: 'sandbox' },
    { label: 'manual: bank transfer or cash', value: 'manual' },
    { label: 'stripe: Checkout links and webhooks', value: 'stripe' },
  ];
}

export type BindingField =
  | 'instructions' | 'secretKey' | 'webhookSecret' | 'successUrl' | 'cancelUrl' | 'paidText' | 'paidTemplate' | 'templateVars' | 'approval' | 'linkExpires';

/** The shape of a form field (the same as the shell's FormField; views do not import the dialogs). */
export interface BindingFormField {
  name: BindingField;
  label: string;
  value: string;
  secret?: boolean;
  choices?: readonly string[];
}

export const APPROVAL_CHOICES = ['required', 'not required'] as const;

/** `43200` → `12h`: the largest unit that divides it. */
export function formatDuration(seconds: number): string {
  for (const [unit, n] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) if (seconds % n === 0) return `${seconds / n}${unit}`;
  return `${seconds}s`;
}

/** `12h`, `30m`, `1d`, `900s` or `900` → seconds; the server checks the range (and clamps to the provider's). */
export function parseDuration(text: string): { seconds: number } | { error: string } {
  const m = /^(\d{1,7})\s*([smhd]?)$/i.exec(text.trim());
  if (!m) return { error: `"${clean(text, '')}" is not a duration like 12h, 30m or 1d` };
  const unit = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 }[m[2].toLowerCase() as '' | 's' | 'm' | 'h' | 'd'];
  return { seconds: Number(m[1]) * unit };
}

/** `{ 1: '{order}', 2: '{amount}' }` → `1={order}; 2={amount}` (the form's one-line text). */
export function formatTemplateVariables(vars: Record<string, string> | undefined): string {
  return Object.entries(vars ?? {}).map(([k, v]) => `${k}=${v}`).join('; ');
}

/** The form's `name=value; name=value` → the template's variables (empty text: none). */
export function parseTemplateVariables(text: string): { variables: Record<string, string> } | { error: string } {
  const variables: Record<string, string> = {};
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf('=');
    const name = at > 0 ? part.slice(0, at).trim() : '';
    const value = at > 0 ? part.slice(at + 1).trim() : '';
    if (!/^[A-Za-z0-9_]{1,64}$/.test(name) || !value) return { error: `"${clean(part, '')}" is not name=value (e.g. 1={order}; 2={amount})` };
    variables[name] = value;
  }
  return { variables };
}

/**
 * The binding form of `provider`: its own fields first (manual: the instructions; Stripe: the two
 * secrets, then the return URLs), then the settings every provider has. Settings are prefilled from
 * `current` (a re-bind carries them over; provider-specific ones only from the same provider). The
 * secrets are never prefilled: the server never returns them (`update`: empty keeps the stored one).
 */
export function bindingFormFields(provider: PaymentProviderKind, current: PaymentBinding | null, update: boolean): BindingFormField[] {
  const s: Partial<PaymentBindingSettings> = current?.settings ?? {};
  const same = current?.provider === provider;
  const fields: BindingFormField[] = [];
  if (provider === 'manual') fields.push({ name: 'instructions', label: 'Instructions', value: same ? (s.instructionsTemplate ?? '') : '' });
  if (provider === 'stripe') {
    fields.push(
      { name: 'secretKey', label: update ? 'New secret key' : 'Secret key', value: '', secret: true },
      { name: 'webhookSecret', label: update ? 'New webhook sec.' : 'Webhook secret', value: '', secret: true },
      { name: 'successUrl', label: 'Success URL', value: same ? (s.successUrl ?? '') : '' },
      { name: 'cancelUrl', label: 'Cancel URL', value: same ? (s.cancelUrl ?? '') : '' },
    );
  }
  fields.push(
    { name: 'paidText', label: 'Paid text', value: s.paidText ?? '' },
    { name: 'paidTemplate', label: 'Paid template HX', value: s.paidTemplate?.contentSid ?? '' },
    { name: 'templateVars', label: 'Template vars', value: formatTemplateVariables(s.paidTemplate?.variables) },
    { name: 'approval', label: 'Refund approval', value: s.refundsRequireApproval === false ? 'not required' : 'required', choices: APPROVAL_CHOICES },
    { name: 'linkExpires', label: 'Link valid for', value: formatDuration(s.linkExpiresInSeconds ?? 43_200) },
  );
  return fields;
}

/** The form title: what happens to the current binding, and that secrets are write-only. */
export function bindingFormTitle(provider: PaymentProviderKind, current: PaymentBinding | null, update: boolean): string {
  if (update) return `Change the ${provider} binding${provider === 'stripe' ? ' (empty secret: keep)' : ''}`;
  return `Bind ${provider}${current ? ` (retires the ${current.provider} binding)` : ''}`;
}

/**
 * The form's answers → the PUT (bind) or PATCH (update) body, or an error naming the field. Only
 * the fields of `provider` are sent; the server checks each value and the rules across fields
 * (a manual binding's `{reference}`, Stripe's key shapes) and its refusal brings the form back.
 */
export function parseBindingForm(provider: PaymentProviderKind, v: Partial<Record<BindingField, string>>, update: boolean):
  { body: BindPaymentProviderRequest | UpdatePaymentBindingRequest } | { error: string } {
  const text = (f: BindingField): string | null => (v[f] ?? '').trim() || null;
  const settings: Partial<PaymentBindingSettings> = {};
  if (provider === 'manual') settings.instructionsTemplate = text('instructions');
  if (provider === 'stripe') {
    settings.successUrl = text('successUrl');
    settings.cancelUrl = text('cancelUrl');
  }
  settings.paidText = text('paidText');
  const sid = text('paidTemplate');
  const vars = parseTemplateVariables(v.templateVars ?? '');
  if ('error' in vars) return { error: `Template vars: ${vars.error}` };
  const hasVars = Object.keys(vars.variables).length > 0;
  if (!sid && hasVars) return { error: 'Template vars: set the paid template (HX…) too, or clear the variables' };
  settings.paidTemplate = sid ? { contentSid: sid, ...(hasVars ? { variables: vars.variables } : {}) } : null;
  settings.refundsRequireApproval = (v.approval ?? 'required') !== 'not required';
  const expiry = parseDuration(v.linkExpires ?? '12h');
  if ('error' in expiry) return { error: `Link valid for: ${expiry.error}` };
  settings.linkExpiresInSeconds = expiry.seconds;
  // Secrets are sent as typed (never trimmed into something else), and only to Stripe.
  const secretKey = v.secretKey ?? '';
  const webhookSecret = v.webhookSecret ?? '';
  if (update) {
    const stripe = provider === 'stripe' && (secretKey || webhookSecret) ? { ...(secretKey ? { secretKey } : {}), ...(webhookSecret ? { webhookSecret } : {}) } : undefined;
    return { body: { ...(stripe ? { stripe } : {}), settings } };
  }
  if (provider === 'stripe' && (!secretKey || !webhookSecret)) return { error: 'Stripe needs both the secret key (sk_… or rk_…) and the webhook signing secret (whsec_…)' };
  return { body: { provider, ...(provider === 'stripe' ? { stripe: { secretKey, webhookSecret } } : {}), settings } };
}

export const STRIPE_WEBHOOK_EVENTS = [
  'checkout.session.completed', 'checkout.session.async_payment_succeeded', 'checkout.session.async_payment_failed',
  'checkout.session.expired', 'charge.refunded', 'refund.updated',
] as const;

/**
 * What to tell the owner after binding Stripe: the webhook endpoint (cut into lines of `width` by
 * us, not by the terminal, so the dialog's height is right and the URL reads whole at 160 columns)
 * and its events, one per line. Never a secret: only the key's hint.
 */
export function stripeWebhookText(b: PaymentBinding, width: number): string {
  if (!b.stripe) return `The ${b.provider} provider needs no webhook.`;
  const w = Math.max(20, width);
  const url = clean(b.stripe.webhookUrl);
  const urlLines: string[] = [];
  for (let i = 0; i < url.length; i += w) urlLines.push(url.slice(i, i + w));
  return [
    'Configure this endpoint in Stripe',
    '(Dashboard > Developers > Webhooks):',
    '',
    ...urlLines,
    '',
    'with the events:',
    ...STRIPE_WEBHOOK_EVENTS.map((e) => `  ${e}`),
    '',
    `Key ${clean(b.stripe.secretKeyHint)} (${b.stripe.livemode ? 'LIVE' : 'test mode'}).`,
    'The secrets are stored sealed, never shown.',
  ].join('\n');
}
