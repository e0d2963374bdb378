/**
 * Pane: orders and their state. The table lists orders newest first (`s` cycles a status filter);
 * the panel below shows the selected order's items, payments and after-sale requests. `f` fulfils
 * a paid order, `c` cancels one waiting for payment (with a reason), `r` resolves an open
 * after-sale request of the order. States only move forward: the actions the state does not
 * allow are greyed. Right/Left move between table and panel. While shown it follows the live
 * stream (order, payment, refund and after-sale events). Never formats data itself.
 */
import blessed from 'blessed';
import type { AfterSaleRequest, Order, OrderStatus } from '../../src/shared/api.ts';
import { attempt, createPanel, createTable, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { ORDER_COLUMNS, ORDER_STATUSES, orderActions, orderDetail, orderRow } from '../views/commerce.ts';
import { clean } from '../views/text.ts';
import { bizEnv, createActionBar, followEvents } from './biz-common.ts';

const PAGE = 100;

export const ORDER_KEYS: KeyHelp[] = [
  { keys: 'f', does: 'fulfil (paid)', needs: 'admin' },
  { keys: 'c', does: 'cancel (unpaid)', needs: 'admin' },
  { keys: 'r', does: 'resolve after-sale', needs: 'admin' },
  { keys: 's', does: 'status filter' },
  { keys: 'right', does: 'details' },
  { keys: 'l', does: 'reload' },
];

export function createOrdersPane(ctx: PaneContext): Pane {
  const env = bizEnv(ctx);
  const role = ctx.role;
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const bar = createActionBar(ctx, root, 0);
  const table = createTable(root, { label: 'Orders', columns: ORDER_COLUMNS, position: { top: 1, left: 0, right: 0, height: '50%' } });
  const detail = createPanel(root, { label: 'Order', position: { top: '50%+1', left: 0, right: 0, bottom: 0 } });
  const slot = createSlot(ctx.scope);
  let items: Order[] = [];
  let afterSales: AfterSaleRequest[] = [];
  let status: OrderStatus | undefined;
  let shownFor: string | null = null;

  const selected = (): Order | undefined => items[table.selected()];

  function renderBar(): void {
    bar.set([...orderActions(selected(), role), { key: 's', label: 'status filter', enabled: true }, { key: 'l', label: 'reload', enabled: true }]);
  }
  bar.recomputeWith(renderBar, load);

  async function loadDetail(force = false): Promise<void> {
    const o = selected();
    renderBar();
    if (!o) {
      shownFor = null;
      detail.setContent('');
      ctx.screen.render();
      return;
    }
    if (!force && shownFor === o.id) return;
    shownFor = o.id;
    const scope = slot.next(`order:${o.id}`);
    const r = await attempt(ctx, `Loading order #${o.number}`, async (s) => {
      const [d, a] = await Promise.all([env.commerce.order(o.id, s), env.commerce.afterSales({ orderId: o.id, limit: 50 }, s)]);
      return { d, a: a.data };
    }, scope);
    if (!r || shownFor !== o.id) return;
    afterSales = r.a;
    detail.setLabel(` Order #${r.d.number} `);
    detail.setContent(orderDetail(r.d, r.a));
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const page = await attempt(ctx, 'Loading orders', (s) => env.commerce.orders({ limit: PAGE, status }, s));
    if (!page) return;
    items = page.data;
    table.box.setLabel(` Orders${status ? ` (${status})` : ''}${page.hasMore ? ` (newest ${PAGE})` : ''} `);
    table.setRows(items.map(orderRow), status ? `(no ${status} orders)` : '(no orders yet: the agent takes them on WhatsApp)');
    await loadDetail(true);
    ctx.screen.render();
  }

  const events = followEvents(ctx, 'orders', ['order.', 'payment.', 'refund.', 'after_sale.'], () => void load());

  table.list.on('select item', () => void loadDetail());
  table.list.key(['right', 'enter'], () => detail.focus());
  detail.key(['left', 'escape'], () => table.list.focus());
  table.list.key(['f'], bar.guarded('f', async () => {
    const o = selected();
    if (!o) return;
    if (!(await ctx.dialogs.confirm(`Mark order #${o.number} fulfilled (delivered or handed over)? This cannot be undone.`))) return;
    const r = await attempt(ctx, `Fulfilling order #${o.number}`, (s) => env.commerce.fulfilOrder(o.id, s));
    if (r) ctx.notify(`Order #${r.number} is ${r.status}.`);
    await load();
  }));
  table.list.key(['c'], bar.guarded('c', async () => {
    const o = selected();
    if (!o) return;
    const f = await ctx.dialogs.form(`Cancel order #${o.number}`, [{ name: 'reason', label: 'Reason (optional)' }]);
    if (!f) return;
    const reason = f.reason.trim();
    const r = await attempt(ctx, `Cancelling order #${o.number}`, (s) => env.commerce.cancelOrder(o.id, reason ? { reason } : {}, s));
    if (r) ctx.notify(`Order #${r.number} is ${r.status}.`);
    await load();
  }));
  table.list.key(['r'], bar.guarded('r', async () => {
    const o = selected();
    if (!o || shownFor !== o.id) return;
    const open = afterSales.filter((a) => a.status === 'open');
    if (!open.length) {
      ctx.notify(`Order #${o.number} has no open after-sale request.`);
      return;
    }
    const a = open.length === 1 ? open[0] : await ctx.dialogs.pick('After-sale request', open.map((x) => ({ label: `${x.type}: ${clean(x.description)}`, value: x })));
    if (!a) return;
    const f = await ctx.dialogs.form(`Resolve the ${a.type} request`, [{ name: 'resolution', label: 'Resolution' }]);
    if (!f || !f.resolution.trim()) return;
    const r = await attempt(ctx, 'Resolving the request', (s) => env.commerce.resolveAfterSale(a.id, f.resolution.trim(), s));
    if (r) ctx.notify(`Resolved the ${r.type} request of order #${r.orderNumber}.`);
    await loadDetail(true);
  }));
  table.list.key(['s'], async () => {
    const i = status ? ORDER_STATUSES.indexOf(status) : -1;
    status = i + 1 < ORDER_STATUSES.length ? ORDER_STATUSES[i + 1] : undefined;
    shownFor = null;
    await load();
  });
  table.list.key(['l'], () => void load());

  return {
    title: 'Orders',
    help: 'f fulfil  c cancel  r resolve after-sale  s status  right details  l reload',
    keys: ORDER_KEYS,
    show() {
      root.show();
      table.list.focus();
      events.start();
      void load();
    },
    hide() {
      events.stop();
      slot.cancel();
      root.hide();
    },
    relayout: () => table.relayout(),
    destroy() {
      events.stop();
      slot.cancel();
      root.destroy();
    },
  };
}
