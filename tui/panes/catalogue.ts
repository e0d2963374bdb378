/**
 * Pane: the product catalogue. `a` adds a product, `e` edits the selected one (a form prefilled
 * with it; after a refusal the form comes back with what was typed), `t` toggles active (inactive
 * products are hidden from the agent), `d` deletes after confirmation, `/` searches, `l` reloads.
 * Members see the list with the actions greyed. Never formats data itself (views/commerce.ts).
 */
import blessed from 'blessed';
import type { Product } from '../../src/shared/api.ts';
import { attempt, createTable, tablePane, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { canAct, parseProductForm, PRODUCT_COLUMNS, productFormFields, productPatch, productRow, READ_ONLY, type ProductField } from '../views/commerce.ts';
import { clean } from '../views/text.ts';
import { bizEnv, createActionBar } from './biz-common.ts';

const PAGE = 200;

export const CATALOGUE_KEYS: KeyHelp[] = [
  { keys: 'a', does: 'add', needs: 'admin' },
  { keys: 'e', does: 'edit', needs: 'admin' },
  { keys: 't', does: 'active on/off', needs: 'admin' },
  { keys: 'd', does: 'delete', needs: 'admin' },
  { keys: '/', does: 'search' },
  { keys: 'l', does: 'reload' },
];

export function createCataloguePane(ctx: PaneContext): Pane {
  const env = bizEnv(ctx);
  const role = ctx.role;
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const bar = createActionBar(ctx, root, 0);
  const table = createTable(root, { label: 'Catalogue', columns: PRODUCT_COLUMNS, position: { top: 1, left: 0, right: 0, bottom: 0 } });
  let items: Product[] = [];
  let search = '';

  function renderBar(): void {
    const act = canAct(role);
    const why = act ? undefined : READ_ONLY;
    const sel = !!items[table.selected()];
    bar.set([
      { key: 'a', label: 'add', enabled: act, why },
      { key: 'e', label: 'edit', enabled: act && sel, why: why ?? 'no product selected' },
      { key: 't', label: 'active on/off', enabled: act && sel, why: why ?? 'no product selected' },
      { key: 'd', label: 'delete', enabled: act && sel, why: why ?? 'no product selected' },
      { key: '/', label: 'search', enabled: true },
      { key: 'l', label: 'reload', enabled: true },
    ]);
  }
  bar.recomputeWith(renderBar, load);

  async function load(): Promise<void> {
    const page = await attempt(ctx, 'Loading the catalogue', (s) => env.commerce.products({ limit: PAGE, q: search || undefined }, s));
    if (!page) return;
    items = page.data;
    const more = page.hasMore ? ` (first ${PAGE}; / to search)` : '';
    table.box.setLabel(` Catalogue${search ? `: "${clean(search)}"` : ''}${more} `);
    table.setRows(items.map(productRow), search ? '(no product matches)' : '(no products; press a to add one)');
    renderBar();
    ctx.screen.render();
  }

  /** Shows the form until it parses and the server accepts it, or the operator presses Esc. */
  async function productForm(title: string, before: Product | undefined): Promise<void> {
    let fields = productFormFields(before);
    // Bounded by the operator: every round needs an answer, Esc ends it.
    for (;;) {
      const answer = await ctx.dialogs.form<ProductField>(title, fields);
      if (!answer) return;
      fields = fields.map((f) => ({ ...f, value: answer[f.name] }));
      const parsed = parseProductForm(answer);
      if ('error' in parsed) {
        ctx.error(parsed.error);
        continue;
      }
      const saved = before
        ? await attempt(ctx, `Saving ${clean(before.sku)}`, (s) => env.commerce.updateProduct(before.id, productPatch(before, parsed.body), s))
        : await attempt(ctx, 'Adding the product', (s) => env.commerce.createProduct(parsed.body, s));
      if (!saved) continue;
      ctx.notify(`${before ? 'Saved' : 'Added'} ${clean(saved.sku)} ${clean(saved.name)}.`);
      await load();
      return;
    }
  }

  table.list.on('select item', () => {
    renderBar();
    ctx.screen.render();
  });
  table.list.key(['a'], bar.guarded('a', () => productForm('New product', undefined)));
  table.list.key(['e'], bar.guarded('e', () => {
    const p = items[table.selected()];
    if (p) return productForm(`Edit ${clean(p.sku)}`, p);
  }));
  table.list.key(['t'], bar.guarded('t', async () => {
    const p = items[table.selected()];
    if (!p) return;
    const r = await attempt(ctx, `Updating ${clean(p.sku)}`, (s) => env.commerce.updateProduct(p.id, { active: !p.active }, s));
    if (r) ctx.notify(`${clean(r.sku)} is now ${r.active ? 'active' : 'inactive (hidden from the agent)'}.`);
    await load();
  }));
  table.list.key(['d'], bar.guarded('d', async () => {
    const p = items[table.selected()];
    if (!p) return;
    if (!(await ctx.dialogs.confirm(`Delete ${clean(p.sku)} "${clean(p.name)}"? Past orders keep their copy of it.`))) return;
    const r = await attempt(ctx, `Deleting ${clean(p.sku)}`, (s) => env.commerce.deleteProduct(p.id, s));
    if (r) ctx.notify(`Deleted ${clean(p.sku)}.`);
    await load();
  }));
  table.list.key(['/'], async () => {
    const f = await ctx.dialogs.form('Search products (empty: all)', [{ name: 'q', label: 'Name or SKU', value: search }]);
    if (!f) return;
    search = f.q.trim();
    await load();
  });
  table.list.key(['l'], () => void load());

  return tablePane({ title: 'Catalogue', help: 'a add  e edit  t active  d delete  / search  l reload', keys: CATALOGUE_KEYS, root, table, load });
}
