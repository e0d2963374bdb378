/**
 * Pure views of the E-Commerce and Payments screens: money in minor units shown and parsed, table
 * rows of products, orders, payments and refunds, an order's detail text, the product form's
 * fields and its parsing, and which actions a role and a state allow (so panes grey out the rest).
 * Never import blessed or call the API. Every server string goes through clean().
 */
import type {
  AfterSaleRequest, CreateProductRequest, Order, OrderDetail, Payment, PaymentBinding, Product, Refund, Role,
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
  if (!b) return 'No payment provider bound (an owner binds one with PUT /payment-binding).';
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
