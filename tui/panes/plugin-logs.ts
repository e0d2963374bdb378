/**
 * Screen: the plugin log — the calls of one installation or of one authored plugin (every
 * installation), newest first, with the detail of the selected call; request and response bodies
 * are there only for sandbox installations (the server keeps them for nothing else). Other screens
 * open it on a source with `ctx.go('plugin-logs', source)`; p picks one here; m loads older calls.
 * The same pane serves the operator session (`/operator/plugin-logs`, any organisation's plugin).
 */
import type { PluginLogEntry, PluginLogPage } from '../../src/shared/api.ts';
import { createDevClient, createOperatorClient, type PageQuery } from '../client-dev.ts';
import { attempt, createPanel, createTable, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { PLUGIN_LOG_COLUMNS, pluginLogDetail, pluginLogRow } from '../views/plugin-logs.ts';
import { clean } from '../views/text.ts';
import { isLogSource, multiPane, rootBox, type LogSource } from './dev-common.ts';

const KEYS: KeyHelp[] = [
  { keys: 'p', does: 'pick plugin' },
  { keys: 'm', does: 'older calls' },
  { keys: 'r', does: 'reload' },
  { keys: 'enter', does: 'detail' },
];
const PAGE = 50;
/** Entries kept in view: older pages beyond this are dropped from the top of what was loaded. */
const MAX_ENTRIES = 1000;

function createLogsPane(ctx: PaneContext, opts: {
  title: string;
  fetch(source: LogSource, q: PageQuery, signal: AbortSignal): Promise<PluginLogPage>;
  sources(signal: AbortSignal): Promise<LogSource[]>;
}): Pane {
  const root = rootBox(ctx);
  const table = createTable(root, { label: 'Plugin log', columns: PLUGIN_LOG_COLUMNS, position: { top: 0, left: 0, right: 0, height: '45%' } });
  const detail = createPanel(root, { label: 'Call', position: { top: '45%', left: 0, right: 0, bottom: 0 } });
  let source: LogSource | null = null;
  let entries: PluginLogEntry[] = [];
  let cursor: string | null = null;
  const loads = createSlot(ctx.scope);

  const current = (): PluginLogEntry | undefined => entries[table.selected()];

  function render(): void {
    table.box.setLabel(` Plugin log${source ? `: ${clean(source.label)}` : ''} `);
    table.setRows(entries.map(pluginLogRow), source ? '(no calls yet)' : '(p picks a plugin or an installation)');
    renderDetail();
  }

  function renderDetail(): void {
    const e = current();
    detail.setContent(e ? pluginLogDetail(e).join('\n') : source ? 'No call selected.' : 'Pick a plugin or an installation with p (or press l on the Installed or Develop screen).');
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(more = false): Promise<void> {
    const s = source;
    if (!s) {
      render();
      return;
    }
    if (more && !cursor) {
      ctx.notify('No older calls.');
      return;
    }
    const page = await attempt(ctx, `Loading the log of ${clean(s.label)}`, (signal) => opts.fetch(s, { limit: PAGE, cursor: more ? (cursor ?? undefined) : undefined }, signal), loads.next('page'));
    if (!page || s !== source) return;
    entries = more ? [...entries, ...page.data].slice(0, MAX_ENTRIES) : page.data;
    cursor = page.hasMore ? page.nextCursor : null;
    render();
    if (more) ctx.notify(`${entries.length} calls loaded${cursor ? '; m for older ones' : ''}.`);
  }

  function openSource(next: LogSource): void {
    source = next;
    entries = [];
    cursor = null;
    table.list.select(0);
    void load();
  }

  table.list.on('select item', renderDetail);
  table.list.key(['enter'], () => {
    detail.focus();
    ctx.screen.render();
  });
  detail.key(['escape', 'left'], () => {
    detail.setScroll(0);
    table.list.focus();
    ctx.screen.render();
  });
  table.list.key(['m'], () => void load(true));
  table.list.key(['r'], () => void load());
  table.list.key(['p'], async () => {
    const list = await attempt(ctx, 'Listing plugins', (s) => opts.sources(s));
    if (!list) return;
    if (!list.length) {
      ctx.notify('No custom plugin to show the log of.');
      return;
    }
    const picked = await ctx.dialogs.pick('Plugin log of', list.map((x) => ({ label: clean(x.label), value: x })));
    if (picked) openSource(picked);
  });

  return multiPane({
    title: opts.title,
    keys: KEYS,
    root,
    focus: () => table.list,
    load: () => load(),
    relayout: () => table.relayout(),
    open(arg) {
      if (isLogSource(arg)) openSource(arg);
    },
    onDestroy: () => loads.cancel(),
  });
}

/** The organisation's screen: an installation's log (members read) or an authored plugin's (admins). */
export function createPluginLogsPane(ctx: PaneContext): Pane {
  const dev = createDevClient(ctx.api);
  return createLogsPane(ctx, {
    title: 'Plugin logs',
    fetch: (s, q, signal) => (s.kind === 'installation' ? dev.installationLogs(s.id, q, signal) : dev.pluginLogs(s.pluginId, q, signal)),
    async sources(signal) {
      const installs = await dev.installations(signal);
      const out: LogSource[] = installs.map((i) => ({ kind: 'installation', id: i.id, label: `${clean(i.slug)} ${clean(i.version)} (${i.mode})` }));
      if (ctx.can('admin')) {
        for (const p of await dev.devPlugins(signal)) out.push({ kind: 'plugin', pluginId: p.id, label: `${clean(p.slug)} (your plugin, every installation)` });
      }
      return out;
    },
  });
}

/** The operator's screen: any organisation's installation or any plugin. */
export function createOperatorLogsPane(ctx: PaneContext): Pane {
  const op = createOperatorClient(ctx.client.request);
  return createLogsPane(ctx, {
    title: 'Logs',
    fetch: (s, q, signal) => op.logs({ ...q, ...(s.kind === 'installation' ? { installationId: s.id } : { pluginId: s.pluginId }) }, signal),
    async sources(signal) {
      const installs = await op.installations({}, signal);
      return installs.filter((i) => i.kind === 'custom').map((i) => ({ kind: 'installation', id: i.id, label: `${clean(i.slug)} ${clean(i.version)} in ${clean(i.organizationId)} (${clean(i.mode)})` }));
    },
  });
}
