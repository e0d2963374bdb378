/**
 * Pane: gateway keys. `n` creates one and shows its secret once in a dialog (it is never stored
 * or logged here); `x` revokes the selected key after confirmation. It must never format data
 * itself (views/keys.ts does) or talk HTTP except through the OrgClient.
 */
import type { GatewayKey } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { attempt, createTable, tablePane, type Pane, type PaneContext } from '../pane.ts';
import { KEY_COLUMNS, keyRow, maskedKey, secretMessage } from '../views/keys.ts';
import { clean } from '../views/text.ts';

export function createKeysPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Gateway keys', columns: KEY_COLUMNS, position: { top: 0, left: 0, right: 0, bottom: 0 } });
  let items: GatewayKey[] = [];

  async function load(): Promise<void> {
    const list = await attempt(ctx, 'Loading keys', (s) => ctx.api.keys(s));
    if (!list) return;
    items = list;
    table.setRows(items.map(keyRow), '(no gateway keys; press n to create one)');
    ctx.screen.render();
  }

  table.list.key(['n'], async () => {
    const form = await ctx.dialogs.form('New gateway key', [{ name: 'name', label: 'Name (optional)' }]);
    if (!form) return;
    const name = form.name.trim();
    const created = await attempt(ctx, 'Creating a key', (s) => ctx.api.createKey(name ? { name } : {}, s));
    if (!created) return;
    ctx.notify(`Created key ${maskedKey(created)}.`);
    await load();
    await ctx.dialogs.alert('New gateway key (shown once)', secretMessage(created));
  });

  table.list.key(['x'], async () => {
    const k = items[table.selected()];
    if (!k) return;
    if (k.status === 'revoked') {
      ctx.notify(`${maskedKey(k)} is already revoked.`);
      return;
    }
    if (!(await ctx.dialogs.confirm(`Revoke the key "${clean(k.name, '(unnamed)')}" (${maskedKey(k)})? Applications using it stop working at once.`))) return;
    const r = await attempt(ctx, 'Revoking the key', (s) => ctx.api.revokeKey(k.id, s));
    if (r) ctx.notify(`Revoked ${maskedKey(r)}.`);
    await load();
  });

  table.list.key(['l'], () => void load());

  return tablePane({ title: 'Keys', help: 'n new key  x revoke  l reload', root, table, load });
}
