/**
 * Pane: the latest usage events (GET …/usage-events?limit=50), refreshed with `u`. It must never
 * format data itself (views/usage.ts does) or talk HTTP except through the OrgClient.
 */
import blessed from 'blessed';
import { attempt, createTable, tablePane, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { USAGE_COLUMNS, usageRow, usageSummary } from '../views/usage.ts';

/** Rows fetched per refresh: one screenful and a bit; older events are on the server. */
export const USAGE_PAGE = 50;

export function createUsagePane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Usage', columns: USAGE_COLUMNS, position: { top: 0, left: 0, right: 0, bottom: 0 } });
  // A refresh replaces the previous one still in flight.
  const slot = createSlot(ctx.scope);

  async function load(): Promise<void> {
    const page = await attempt(ctx, 'Loading usage', (s) => ctx.api.usage({ limit: USAGE_PAGE }, s), slot.next('usage'));
    if (!page) return;
    table.setRows(page.data.map(usageRow), '(no usage yet; press u to refresh)');
    table.box.setLabel(` Usage: ${usageSummary(page)} `);
    ctx.screen.render();
  }

  table.list.key(['u', 'l'], () => void load());

  return tablePane({ title: 'Usage', help: 'u refresh', root, table, load, onDestroy: () => slot.cancel() });
}
