/**
 * Pane: payments and refund approvals. The line on top names the bound provider; the upper table
 * lists payments, the lower one refunds (requested ones wait for a person). On a payment: `p` mark
 * paid / `F` mark failed (sandbox), `m` confirm receipt (manual: the exact amount), `c` cancel,
 * `u` refresh from the provider, `R` refund. On a refund: `a` approve, `x` reject, `s` settle a
 * manual one. Right/Left move between the tables. Actions the role, the provider or the state do
 * not allow are greyed and refused locally. While shown it follows the live stream (payment and
 * refund events). The owner binds or re-binds the provider with `b` (a pick of the provider or a
 * change of the current binding, then its form; Stripe's secrets are write-only, the webhook URL
 * to configure is shown after binding and with `w`). Never formats data itself (views/commerce.ts).
 */
import blessed from 'blessed';
import type { BindPaymentProviderRequest, Payment, PaymentBinding, Refund } from '../../src/shared/api.ts';
import type { PaymentAction } from '../client-biz.ts';
import { attempt, createTable, formUntilDone, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import {
  bindingChoices, bindingFormFields, bindingFormTitle, bindingLine, formatMoney, parseBindingForm, stripeWebhookText, PAYMENT_COLUMNS, paymentActions, paymentRow, parseMoney, REFUND_COLUMNS, refundActions, refundRow,
} from '../views/commerce.ts';
import { clean } from '../views/text.ts';
import { bizEnv, createActionBar, followEvents } from './biz-common.ts';

const PAGE = 100;

export const PAYMENT_KEYS: KeyHelp[] = [
  { keys: 'p', does: 'paid (sandbox)', needs: 'admin' },
  { keys: 'F', does: 'failed (sandbox)', needs: 'admin' },
  { keys: 'm', does: 'receipt (manual)', needs: 'admin' },
  { keys: 'c', does: 'cancel', needs: 'admin' },
  { keys: 'u', does: 'refresh', needs: 'admin' },
  { keys: 'R', does: 'refund', needs: 'admin' },
  { keys: 'right', does: 'refunds (left: payments)' },
  { keys: 'a', does: 'approve refund', needs: 'admin' },
  { keys: 'x', does: 'reject refund', needs: 'admin' },
  { keys: 's', does: 'settle refund (manual)', needs: 'admin' },
  { keys: 'l', does: 'reload' },
  { keys: 'b', does: 'bind provider', needs: 'owner' },
  { keys: 'w', does: 'Stripe webhook URL' },
];

export function createPaymentsPane(ctx: PaneContext): Pane {
  const env = bizEnv(ctx);
  const role = ctx.role;
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const provider = blessed.text({ parent: root, top: 0, left: 1, right: 1, height: 1, tags: false, style: { bold: true } });
  const bar = createActionBar(ctx, root, 1);
  const paymentsTable = createTable(root, { label: 'Payments', columns: PAYMENT_COLUMNS, position: { top: 2, left: 0, right: 0, height: '50%-1' } });
  const refundsTable = createTable(root, { label: 'Refunds', columns: REFUND_COLUMNS, position: { top: '50%+1', left: 0, right: 0, bottom: 0 } });
  let payments: Payment[] = [];
  let refunds: Refund[] = [];
  let binding: PaymentBinding | null = null;
  let focus: 'payments' | 'refunds' = 'payments';

  const payment = (): Payment | undefined => payments[paymentsTable.selected()];
  const refund = (): Refund | undefined => refunds[refundsTable.selected()];

  function renderBar(): void {
    const hints = focus === 'payments' ? paymentActions(payment(), role) : refundActions(refund(), role, binding?.provider);
    const owner = ctx.can('owner');
    bar.set([...hints, { key: 'l', label: 'reload', enabled: true },
      { key: 'b', label: 'bind provider', enabled: owner, why: owner ? undefined : `only the owner binds the payment provider (you are ${role ?? 'member'})` }]);
    ctx.screen.render();
  }
  bar.recomputeWith(renderBar, load);

  async function load(): Promise<void> {
    const r = await attempt(ctx, 'Loading payments', async (s) => {
      const [b, p, f] = await Promise.all([env.commerce.paymentBinding(s), env.commerce.payments({ limit: PAGE }, s), env.commerce.refunds({ limit: PAGE }, s)]);
      return { b, p: p.data, f: f.data };
    });
    if (!r) return;
    binding = r.b;
    payments = r.p;
    refunds = r.f;
    provider.setContent(bindingLine(binding));
    const waiting = refunds.filter((x) => x.status === 'requested').length;
    refundsTable.box.setLabel(` Refunds${waiting ? ` (${waiting} waiting for approval)` : ''} `);
    paymentsTable.setRows(payments.map(paymentRow), '(no payments yet)');
    refundsTable.setRows(refunds.map(refundRow), '(no refunds)');
    renderBar();
  }

  async function act(p: Payment, action: PaymentAction, body: object, what: string): Promise<void> {
    const r = await attempt(ctx, `${what} ${clean(p.reference)}`, (s) => env.commerce.paymentAction(p.id, action, body, s));
    if (r) ctx.notify(`Payment ${clean(r.reference)} is ${r.status}${r.failureReason ? ` (${clean(r.failureReason)})` : ''}.`);
    await load();
  }

  const onPayment = (key: string, fn: (p: Payment) => unknown) => paymentsTable.list.key([key], bar.guarded(key, () => {
    const p = payment();
    if (p) return fn(p);
  }));
  onPayment('p', async (p) => {
    if (await ctx.dialogs.confirm(`Mark ${clean(p.reference)} (${formatMoney(p.amountMinor, p.currency)}) paid? The order becomes paid and the customer is told.`)) await act(p, 'mark-paid', {}, 'Marking paid');
  });
  onPayment('F', async (p) => {
    const f = await ctx.dialogs.form(`Mark ${clean(p.reference)} failed`, [{ name: 'reason', label: 'Reason code', value: 'card_declined' }]);
    if (f) await act(p, 'mark-failed', f.reason.trim() ? { reason: f.reason.trim() } : {}, 'Marking failed');
  });
  onPayment('m', async (p) => {
    let values = { amount: formatMoney(p.amountMinor, p.currency).split(' ')[0], note: '' };
    // Bounded by the operator (Esc ends it); a refused amount brings the form back with what was typed.
    for (;;) {
      const f = await ctx.dialogs.form(`Confirm receipt of ${clean(p.reference)} (${formatMoney(p.amountMinor, p.currency)})`, [
        { name: 'amount', label: `Received (${clean(p.currency)})`, value: values.amount },
        { name: 'note', label: 'Note (optional)', value: values.note },
      ]);
      if (!f) return;
      values = f;
      const amount = parseMoney(f.amount, p.currency);
      if ('error' in amount) {
        ctx.error(`Received: ${amount.error}`);
        continue;
      }
      const r = await attempt(ctx, `Confirming ${clean(p.reference)}`, (s) => env.commerce.paymentAction(p.id, 'confirm-receipt', { receivedMinor: amount.minor, ...(f.note.trim() ? { note: f.note.trim() } : {}) }, s));
      if (!r) continue;
      ctx.notify(`Payment ${clean(r.reference)} is ${r.status}.`);
      await load();
      return;
    }
  });
  onPayment('c', async (p) => {
    if (await ctx.dialogs.confirm(`Cancel payment ${clean(p.reference)}? The payer can no longer pay it.`)) await act(p, 'cancel', {}, 'Cancelling');
  });
  onPayment('u', (p) => act(p, 'refresh', {}, 'Refreshing'));
  onPayment('R', async (p) => {
    const left = p.capturedMinor - p.refundedMinor;
    let values = { amount: formatMoney(left, p.currency).split(' ')[0], note: '' };
    for (;;) {
      const f = await ctx.dialogs.form(`Refund ${clean(p.reference)} (up to ${formatMoney(left, p.currency)})`, [
        { name: 'amount', label: `Amount (${clean(p.currency)})`, value: values.amount },
        { name: 'note', label: 'Note (optional)', value: values.note },
      ]);
      if (!f) return;
      values = f;
      const amount = parseMoney(f.amount, p.currency);
      if ('error' in amount) {
        ctx.error(`Amount: ${amount.error}`);
        continue;
      }
      const r = await attempt(ctx, `Refunding ${clean(p.reference)}`, (s) => env.commerce.createRefund(p.id, { amountMinor: amount.minor, ...(f.note.trim() ? { note: f.note.trim() } : {}) }, s));
      if (!r) continue;
      ctx.notify(`Refund of ${formatMoney(r.amountMinor, r.currency)} is ${r.status}.`);
      await load();
      return;
    }
  });

  const onRefund = (key: string, fn: (r: Refund) => unknown) => refundsTable.list.key([key], bar.guarded(key, () => {
    const r = refund();
    if (r) return fn(r);
  }));
  const decide = async (r: Refund, approve: boolean): Promise<void> => {
    const verb = approve ? 'Approve' : 'Reject';
    const f = await ctx.dialogs.form(`${verb} the refund of ${formatMoney(r.amountMinor, r.currency)}`, [{ name: 'note', label: approve ? 'Note (optional)' : 'Reason (optional)' }]);
    if (!f) return;
    const body = f.note.trim() ? { note: f.note.trim() } : {};
    const out = await attempt(ctx, `${approve ? 'Approving' : 'Rejecting'} the refund`, (s) => (approve ? env.commerce.approveRefund(r.id, body, s) : env.commerce.rejectRefund(r.id, body, s)));
    if (out) ctx.notify(`Refund of ${formatMoney(out.amountMinor, out.currency)} is ${out.status}.`);
    await load();
  };
  onRefund('a', (r) => decide(r, true));
  onRefund('x', (r) => decide(r, false));
  onRefund('s', async (r) => {
    const outcome = await ctx.dialogs.pick(`Settle the refund of ${formatMoney(r.amountMinor, r.currency)}`, [
      { label: 'I paid the money back (succeeded)', value: 'succeeded' as const },
      { label: 'I could not pay it back (failed)', value: 'failed' as const },
    ]);
    if (!outcome) return;
    const out = await attempt(ctx, 'Settling the refund', (s) => env.commerce.settleRefund(r.id, { outcome }, s));
    if (out) ctx.notify(`Refund of ${formatMoney(out.amountMinor, out.currency)} is ${out.status}.`);
    await load();
  });

  /** The Stripe webhook dialog: its text is cut to the alert's inner width (80% of the screen, less border and padding). */
  const showWebhook = (b: PaymentBinding): Promise<void> =>
    ctx.dialogs.alert('Stripe webhook', stripeWebhookText(b, Math.floor((ctx.screen.width as number) * 0.8) - 6));

  // Binding: pick a provider (or the current binding's change), then its form; a refusal (ours or the
  // server's) reopens the form with what was typed, secrets included but only ever drawn as `*`.
  const bind = async (): Promise<void> => {
    const current = binding;
    const choice = await ctx.dialogs.pick(current ? `Payment provider (now ${current.provider})` : 'Bind a payment provider', bindingChoices(current));
    if (!choice) return;
    const update = choice === 'update';
    const provider = choice === 'update' ? current!.provider : choice;
    const parse = (v: Parameters<typeof parseBindingForm>[1]) => parseBindingForm(provider, v, update);
    const out = await formUntilDone(ctx, bindingFormTitle(provider, current, update), bindingFormFields(provider, current, update),
      (v, s) => {
        const parsed = parse(v);
        if ('error' in parsed) throw new Error(parsed.error); // not reached: `check` refused it first
        return update ? env.commerce.updatePaymentBinding(parsed.body, s) : env.commerce.bindPaymentProvider(parsed.body as BindPaymentProviderRequest, s);
      },
      (v) => {
        const parsed = parse(v);
        return 'error' in parsed ? parsed.error : null;
      });
    if (!out) return;
    binding = out;
    ctx.notify(update ? `The ${out.provider} binding is changed.`
      : `Bound ${out.provider}${current ? `; the ${current.provider} binding is retired (its payments still reconcile)` : ''}.`);
    await load();
    if (!update && out.stripe) await showWebhook(out);
  };
  const onBoth = (key: string, fn: () => unknown): void => {
    paymentsTable.list.key([key], bar.guarded(key, fn));
    refundsTable.list.key([key], bar.guarded(key, fn));
  };
  onBoth('b', bind);
  onBoth('w', async () => {
    if (binding?.stripe) await showWebhook(binding);
    else ctx.notify(binding ? `The ${binding.provider} provider needs no webhook.` : 'No payment provider bound.');
  });

  const events = followEvents(ctx, 'payments', ['payment.', 'refund.'], () => void load());

  const focusOn = (which: 'payments' | 'refunds'): void => {
    focus = which;
    (which === 'payments' ? paymentsTable : refundsTable).list.focus();
    renderBar();
  };
  paymentsTable.list.on('select item', () => focus === 'payments' && renderBar());
  refundsTable.list.on('select item', () => focus === 'refunds' && renderBar());
  paymentsTable.list.key(['right'], () => focusOn('refunds'));
  refundsTable.list.key(['left', 'escape'], () => focusOn('payments'));
  paymentsTable.list.key(['l'], () => void load());
  refundsTable.list.key(['l'], () => void load());

  return {
    title: 'Payments',
    help: 'p paid  F failed  m receipt  c cancel  u refresh  R refund  right refunds: a approve  x reject  s settle  b bind  w webhook',
    keys: PAYMENT_KEYS,
    show() {
      root.show();
      focusOn(focus);
      events.start();
      void load();
    },
    hide() {
      events.stop();
      root.hide();
    },
    relayout() {
      paymentsTable.relayout();
      refundsTable.relayout();
    },
    destroy() {
      events.stop();
      root.destroy();
    },
  };
}
