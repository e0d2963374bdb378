/**
 * Pane: the organisation's MCP integrations (health, tool count, detail of the selected one) with
 * refresh catalog (r), disable/enable (d), delete (x, confirmed) and add (a, a small form).
 * Layout is built once; `load()` is the only data updater. It must never format data itself
 * (views/installations.ts does) or talk HTTP except through the OrgClient.
 */
import type { McpIntegration } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { attempt, createPanel, createTable, tablePane, type Pane, type PaneContext } from '../pane.ts';
import { INTEGRATION_COLUMNS, integrationDetail, integrationRow, parseIntegrationForm, type IntegrationForm } from '../views/installations.ts';
import { clean } from '../views/text.ts';

export function createInstallationsPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'MCP integrations', columns: INTEGRATION_COLUMNS, position: { top: 0, left: 0, right: 0, height: '50%' } });
  const detail = createPanel(root, { label: 'Detail', position: { top: '50%', left: 0, right: 0, bottom: 0 } });
  let items: McpIntegration[] = [];

  const current = (): McpIntegration | undefined => items[table.selected()];

  function renderDetail(): void {
    const i = current();
    detail.setContent(i ? integrationDetail(i).join('\n') : 'No integration selected. Press a to add one.');
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const list = await attempt(ctx, 'Loading integrations', (signal) => ctx.api.integrations(signal));
    if (!list) return;
    items = list;
    table.setRows(items.map(integrationRow), '(no MCP integrations; press a to add one)');
    renderDetail();
  }

  table.list.on('select item', renderDetail);

  table.list.key(['r'], async () => {
    const i = current();
    if (!i) return;
    ctx.notify(`Refreshing the catalog of ${clean(i.slug)}…`);
    const r = await attempt(ctx, `Refreshing ${clean(i.slug)}`, (s) => ctx.api.refreshIntegration(i.id, s));
    if (r) ctx.notify(`${clean(r.slug)}: ${r.toolCount} tools in the catalog.`);
    await load();
  });

  table.list.key(['d'], async () => {
    const i = current();
    if (!i) return;
    const status = i.status === 'active' ? 'disabled' : 'active';
    const r = await attempt(ctx, `Setting ${clean(i.slug)} ${status}`, (s) => ctx.api.updateIntegration(i.id, { status }, s));
    if (r) ctx.notify(`${clean(r.slug)} is now ${r.status}.`);
    await load();
  });

  table.list.key(['x'], async () => {
    const i = current();
    if (!i) return;
    if (!(await ctx.dialogs.confirm(`Delete the integration "${clean(i.displayName)}" (${clean(i.slug)})? Its tools disappear from every request.`))) return;
    const r = await attempt(ctx, `Deleting ${clean(i.slug)}`, (s) => ctx.api.deleteIntegration(i.id, s));
    if (r) ctx.notify(`Deleted ${clean(i.slug)}.`);
    await load();
  });

  table.list.key(['a'], async () => {
    const form = await ctx.dialogs.form<keyof IntegrationForm>('Add an MCP integration', [
      { name: 'slug', label: 'Slug' },
      { name: 'displayName', label: 'Display name' },
      { name: 'url', label: 'URL' },
      { name: 'transport', label: 'Transport', value: 'auto' },
      { name: 'token', label: 'Bearer token', secret: true },
    ]);
    if (!form) return;
    const parsed = parseIntegrationForm(form);
    if (!parsed.ok) {
      await ctx.dialogs.alert('Not added', parsed.error);
      return;
    }
    ctx.notify(`Connecting to ${clean(parsed.body.url)} and listing its tools…`);
    const created = await attempt(ctx, `Adding ${clean(parsed.body.slug)}`, (s) => ctx.api.createIntegration(parsed.body, s));
    if (created) ctx.notify(`Added ${clean(created.slug)} with ${created.toolCount} tools.`);
    await load();
  });

  table.list.key(['l'], () => void load());

  return tablePane({ title: 'Integrations', help: 'a add  r refresh catalog  d disable/enable  x delete  l reload', root, table, load });
}
