/**
 * Pane: the grants matrix, every plugin (rows) × every WhatsApp number (columns) on one screen
 * (nothing is granted by default). Up/down pick the plugin, left/right the number, space toggles
 * the cell with a PUT of that number's whole list. A server without the WhatsApp channel (404)
 * gets a notice instead of an error. Admins and owners toggle; members read. It must never format
 * data itself (views/grants.ts does) or talk HTTP except through the OrgClient.
 */
import type { Plugin, WhatsAppInstance } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { ApiError } from '../client.ts';
import { attempt, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { isAbortError } from '../tasks.ts';
import { grantsMatrix, toggleGrant, WHATSAPP_UNAVAILABLE } from '../views/grants.ts';
import { clean, describeError } from '../views/text.ts';

const KEYS: KeyHelp[] = [
  { keys: 'up/down', does: 'plugin' },
  { keys: 'left/right', does: 'number' },
  { keys: 'space', does: 'grant/revoke', needs: 'admin' },
  { keys: 'l', does: 'reload' },
];

export function createGrantsPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const box = blessed.box({ parent: root, top: 0, left: 0, right: 0, bottom: 0, border: { type: 'line' }, label: ' Grants: plugins × numbers ', style: { border: { fg: 'gray' } } });
  const header = blessed.text({ parent: box, top: 0, left: 0, right: 0, height: 1, tags: false, style: { bold: true } });
  const list = blessed.list({ parent: box, top: 1, left: 0, right: 0, bottom: 0, keys: true, mouse: true, tags: false, style: { selected: { inverse: true }, item: {} } });
  let numbers: WhatsAppInstance[] = [];
  let plugins: Plugin[] = [];
  const grants = new Map<string, string[]>();
  let col = 0;
  let notice: string | null = null;

  const row = (): number => (list as unknown as { selected: number }).selected ?? 0;

  function render(): void {
    const width = Math.max(20, (box.width as number) - 2);
    if (notice) {
      header.setContent('');
      list.setItems([notice] as unknown as blessed.Widgets.BlessedElement[]);
    } else if (!numbers.length) {
      header.setContent('');
      list.setItems(['(no WhatsApp numbers: add one on the Numbers screen)'] as unknown as blessed.Widgets.BlessedElement[]);
    } else {
      const m = grantsMatrix(plugins, numbers, grants, { col }, width);
      header.setContent(m.header);
      const at = row();
      list.setItems((m.rows.length ? m.rows : ['(no plugins installed)']) as unknown as blessed.Widgets.BlessedElement[]);
      list.select(Math.min(at, Math.max(0, m.rows.length - 1)));
    }
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const scope = ctx.scope.child('grants:load');
    try {
      [numbers, plugins] = await Promise.all([ctx.api.whatsappInstances(scope.signal), ctx.api.plugins(scope.signal)]);
      const lists = await Promise.all(numbers.map((n) => ctx.api.instancePlugins(n.id, scope.signal)));
      grants.clear();
      numbers.forEach((n, k) => grants.set(n.id, lists[k].enabledPluginIds));
      notice = null;
      col = Math.min(col, Math.max(0, numbers.length - 1));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) notice = WHATSAPP_UNAVAILABLE;
      else if (!isAbortError(err) && !scope.cancelled) ctx.error(`Loading grants failed: ${describeError(err)}`);
    } finally {
      scope.cancel('done');
    }
    render();
  }

  list.key(['left'], () => {
    col = Math.max(0, col - 1);
    render();
  });
  list.key(['right'], () => {
    col = Math.min(Math.max(0, numbers.length - 1), col + 1);
    render();
  });
  list.key(['space'], guarded(ctx, 'admin', 'Changing a grant', async () => {
    const n = numbers[col];
    const p = plugins[row()];
    if (!n || !p) return;
    const next = toggleGrant(grants.get(n.id) ?? [], p.id, plugins);
    const r = await attempt(ctx, `Updating the grants of ${clean(n.name)}`, (s) => ctx.api.setInstancePlugins(n.id, next, s));
    if (!r) return;
    grants.set(n.id, r.enabledPluginIds);
    ctx.notify(`${clean(p.slug)} ${r.enabledPluginIds.includes(p.id) ? 'granted to' : 'revoked from'} ${clean(n.name)}.`);
    render();
  }));
  list.key(['l'], () => void load());

  return {
    title: 'Grants',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      list.focus();
      void load();
    },
    hide: () => root.hide(),
    relayout: render,
    destroy: () => root.destroy(),
  };
}
