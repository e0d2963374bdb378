/**
 * Pane: gateway keys with their limits (requests per minute, allowed plugins). `n` creates one and
 * shows its secret once beside the gateway base URL (the secret is never stored or logged here);
 * `e` changes the limits; `x` revokes after confirmation. Admins and owners act; members read.
 * It must never format data itself (views/keys.ts does) or talk HTTP except through the clients.
 */
import type { GatewayKey, Plugin } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { consoleClient } from '../client-console.ts';
import { attempt, createTable, formUntilDone, guarded, tablePane, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { allowedLabel, KEY_COLUMNS, keyLimits, keyRow, maskedKey, parseKeyForm, secretMessage, type KeyForm } from '../views/keys.ts';
import { clean } from '../views/text.ts';

const KEYS: KeyHelp[] = [
  { keys: 'n', does: 'new key', needs: 'admin' },
  { keys: 'e', does: 'edit limits', needs: 'admin' },
  { keys: 'x', does: 'revoke', needs: 'admin' },
  { keys: 'l', does: 'reload' },
];

export function createKeysPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Gateway keys', columns: KEY_COLUMNS, position: { top: 0, left: 0, right: 0, bottom: 3 } });
  const info = blessed.box({ parent: root, left: 0, right: 0, bottom: 0, height: 3, border: { type: 'line' }, tags: false, style: { border: { fg: 'gray' } } });
  let items: GatewayKey[] = [];
  let plugins: Plugin[] = [];

  const renderInfo = (): void => {
    const k = items[table.selected()];
    info.setContent(` Gateway base URL: ${clean(ctx.client.baseUrl)}/v1   ${k ? `| ${keyLimits(k, plugins)}` : ''}`);
    ctx.screen.render();
  };

  async function load(): Promise<void> {
    const list = await attempt(ctx, 'Loading keys', (s) => Promise.all([ctx.api.keys(s), ctx.api.plugins(s)]));
    if (!list) return;
    [items, plugins] = list;
    table.setRows(items.map((k) => keyRow(k, plugins)), ctx.can('admin') ? '(no gateway keys; press n to create one)' : '(no gateway keys)');
    renderInfo();
  }

  const fields = (k?: GatewayKey) => [
    { name: 'name' as keyof KeyForm, label: 'Name (optional)', value: k?.name ?? '' },
    { name: 'rpm' as keyof KeyForm, label: 'Requests/min', value: k?.rateLimitRpm ? String(k.rateLimitRpm) : '' },
    { name: 'plugins' as keyof KeyForm, label: 'Plugins', value: k ? allowedLabel(k.allowedPluginIds, plugins) : 'all' },
  ];

  table.list.on('select item', renderInfo);
  // The form names plugins by slug: the list is fetched afresh (a plugin may have been installed since).
  const refreshPlugins = async (): Promise<void> => {
    plugins = (await attempt(ctx, 'Loading plugins', (s) => ctx.api.plugins(s))) ?? plugins;
  };

  table.list.key(['n'], guarded(ctx, 'admin', 'Creating a key', async () => {
    await refreshPlugins();
    ctx.notify(`Plugins: all, none, or slugs separated by commas (${plugins.map((p) => clean(p.slug)).join(', ') || 'none installed'}).`);
    const created = await formUntilDone(ctx, 'New gateway key', fields(), (v, s) => {
      const parsed = parseKeyForm(v, plugins);
      if (!parsed.ok) throw new Error(parsed.error);
      return ctx.api.createKey(parsed.body, s);
    }, (v) => {
      const parsed = parseKeyForm(v, plugins);
      return parsed.ok ? null : parsed.error;
    });
    if (!created) return;
    ctx.notify(`Created key ${maskedKey(created)}.`);
    await load();
    await ctx.dialogs.alert('New gateway key (shown once)', secretMessage(created, ctx.client.baseUrl, plugins));
  }));

  table.list.key(['e'], guarded(ctx, 'admin', 'Editing a key', async () => {
    const k = items[table.selected()];
    if (!k) return;
    await refreshPlugins();
    const updated = await formUntilDone(ctx, `Limits of ${clean(k.name, maskedKey(k))}`, fields(k), (v, s) => {
      const parsed = parseKeyForm(v, plugins);
      if (!parsed.ok) throw new Error(parsed.error);
      return api.updateKey(k.id, parsed.body, s);
    }, (v) => {
      const parsed = parseKeyForm(v, plugins);
      return parsed.ok ? null : parsed.error;
    });
    if (updated) ctx.notify(`Saved ${maskedKey(updated)}.`);
    await load();
  }));

  table.list.key(['x'], guarded(ctx, 'admin', 'Revoking a key', async () => {
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
  }));

  table.list.key(['l'], () => void load());

  return tablePane({ title: 'Keys', help: '', keys: KEYS, root, table, load });
}
