/**
 * Pane: the plugins the organisation's requests can use, and the tools of the selected plugin as
 * the model sees them. Moving the selection cancels the previous tools request (a slot scope).
 * It must never format data itself (views/plugins.ts does) or talk HTTP except through the OrgClient.
 */
import type { Plugin } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { attempt, createPanel, createTable, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { PLUGIN_COLUMNS, pluginRow, toolLines } from '../views/plugins.ts';
import { clean } from '../views/text.ts';

export function createPluginsPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Plugins', columns: PLUGIN_COLUMNS, position: { top: 0, left: 0, right: 0, height: '40%' } });
  const tools = createPanel(root, { label: 'Tools', position: { top: '40%', left: 0, right: 0, bottom: 0 } });
  const toolsSlot = createSlot(ctx.scope);
  let items: Plugin[] = [];
  let shownFor: string | null = null;

  async function loadTools(): Promise<void> {
    const p = items[table.selected()];
    if (!p) {
      tools.setContent('No plugin selected.');
      ctx.screen.render();
      return;
    }
    if (shownFor === p.id) return;
    shownFor = p.id;
    tools.setLabel(` Tools of ${clean(p.slug)} `);
    tools.setContent('Loading…');
    ctx.screen.render();
    const list = await attempt(ctx, `Loading the tools of ${clean(p.slug)}`, (s) => ctx.api.pluginTools(p.id, s), toolsSlot.next(`tools:${p.id}`));
    if (!list || shownFor !== p.id) return;
    tools.setContent(toolLines(list).join('\n'));
    tools.setScroll(0);
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const list = await attempt(ctx, 'Loading plugins', (s) => ctx.api.plugins(s));
    if (!list) return;
    items = list;
    shownFor = null;
    table.setRows(items.map(pluginRow), '(no plugins: add an MCP integration first)');
    await loadTools();
  }

  table.list.on('select item', () => void loadTools());
  table.list.key(['l'], () => void load());
  table.list.key(['right', 'enter'], () => tools.focus());
  tools.key(['left', 'escape'], () => table.list.focus());

  return {
    title: 'Plugins',
    help: 'up/down select  right/Enter scroll tools  l reload',
    show() {
      root.show();
      table.list.focus();
      void load();
    },
    hide() {
      toolsSlot.cancel();
      root.hide();
    },
    relayout: () => table.relayout(),
    destroy() {
      toolsSlot.cancel();
      root.destroy();
    },
  };
}
