/**
 * Pane: the organisation's MCP integrations (health, tool count) with a scrollable detail of the
 * selected one, or (t / Enter) its tools: space allows or denies a tool (the allowlist), L sets a
 * tool's rate limit. a adds, e edits URL, transport (a choice), timeout and credential; forms keep
 * their values after an error. r refreshes the catalog, d disables/enables, x deletes (confirmed).
 * Owners and admins act; members read. It must never format data itself (views/installations.ts
 * does) or talk HTTP except through the OrgClient.
 */
import type { McpIntegration, McpTransport } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { attempt, createPanel, createTable, formUntilDone, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import {
  INTEGRATION_COLUMNS, integrationDetail, integrationRow, parseIntegrationEdit, parseIntegrationForm, parseToolLimit, toggleTool, toolRows, TRANSPORTS,
  type IntegrationEditForm, type IntegrationForm,
} from '../views/installations.ts';
import { clean } from '../views/text.ts';

const KEYS: KeyHelp[] = [
  { keys: 't/enter', does: 'tools' },
  { keys: 'space', does: 'allow/deny tool (in tools)', needs: 'owner' },
  { keys: 'L', does: 'tool rate limit (in tools)', needs: 'owner' },
  { keys: 'esc', does: 'back to the list' },
  { keys: 'a', does: 'add', needs: 'owner' },
  { keys: 'e', does: 'edit URL/transport/timeout/credential', needs: 'owner' },
  { keys: 'r', does: 'refresh catalog', needs: 'owner' },
  { keys: 'd', does: 'disable/enable', needs: 'owner' },
  { keys: 'x', does: 'delete', needs: 'owner' },
  { keys: 'l', does: 'reload' },
  { keys: 'PgUp/PgDn', does: 'scroll the detail' },
];

export function createInstallationsPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'MCP integrations', columns: INTEGRATION_COLUMNS, position: { top: 0, left: 0, right: 0, height: '40%' } });
  const detail = createPanel(root, { label: 'Detail', position: { top: '40%', left: 0, right: 0, bottom: 0 } });
  const tools = blessed.list({
    parent: root, top: '40%', left: 0, right: 0, bottom: 0, border: { type: 'line' }, label: ' Tools ', keys: true, mouse: true, tags: false, hidden: true,
    scrollbar: { ch: ' ', style: { inverse: true } }, style: { border: { fg: 'cyan' }, selected: { inverse: true }, item: {} },
  });
  let items: McpIntegration[] = [];

  const current = (): McpIntegration | undefined => items[table.selected()];
  const toolAt = (): number => (tools as unknown as { selected: number }).selected ?? 0;

  function renderDetail(): void {
    const i = current();
    detail.setContent(i ? integrationDetail(i).join('\n') : ctx.can('owner') ? 'No integration selected. Press a to add one.' : 'No integration.');
    detail.setScroll(0);
    if (!tools.hidden) renderTools();
    ctx.screen.render();
  }

  function renderTools(): void {
    const i = current();
    const at = toolAt();
    tools.setLabel(` Tools of ${clean(i?.slug)}: space allow/deny  L limit  Esc back `);
    tools.setItems((i && i.tools.length ? toolRows(i) : ['(no tools)']) as unknown as blessed.Widgets.BlessedElement[]);
    tools.select(Math.min(at, Math.max(0, (i?.tools.length ?? 1) - 1)));
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const list = await attempt(ctx, 'Loading integrations', (signal) => ctx.api.integrations(signal));
    if (!list) return;
    items = list;
    table.setRows(items.map(integrationRow), ctx.can('owner') ? '(no MCP integrations; press a to add one)' : '(no MCP integrations)');
    renderDetail();
  }

  function replace(updated: McpIntegration): void {
    items = items.map((x) => (x.id === updated.id ? updated : x));
    table.setRows(items.map(integrationRow));
    renderDetail();
  }

  const showTools = (): void => {
    if (!current()) return;
    detail.hide();
    tools.show();
    renderTools();
    tools.focus();
    ctx.screen.render();
  };
  const hideTools = (): void => {
    tools.hide();
    detail.show();
    table.list.focus();
    ctx.screen.render();
  };

  table.list.on('select item', renderDetail);
  table.list.key(['t', 'enter'], showTools);
  tools.key(['escape', 't'], hideTools);
  // The detail scrolls from the table too (it is the only way to reach a long catalog without the tools view).
  table.list.key(['pagedown'], () => {
    detail.scroll(Math.max(1, (detail.height as number) - 3));
    ctx.screen.render();
  });
  table.list.key(['pageup'], () => {
    detail.scroll(-Math.max(1, (detail.height as number) - 3));
    ctx.screen.render();
  });

  tools.key(['space'], guarded(ctx, 'owner', 'Changing the allowlist', async () => {
    const i = current();
    const tool = i?.tools[toolAt()];
    if (!i || !tool) return;
    const toolAllowlist = toggleTool(i, tool.name);
    const r = await attempt(ctx, `Updating the tools of ${clean(i.slug)}`, (s) => ctx.api.updateIntegration(i.id, { toolAllowlist }, s));
    if (!r) return;
    ctx.notify(`${clean(tool.prefixedName)} is ${r.tools.find((t) => t.name === tool.name)?.allowed ? 'allowed' : 'no longer offered'}.`);
    replace(r);
  }));

  tools.key(['S-l'], guarded(ctx, 'owner', 'Setting a tool limit', async () => {
    const i = current();
    const tool = i?.tools[toolAt()];
    if (!i || !tool) return;
    const lim = i.toolRateLimits[tool.name];
    const r = await formUntilDone(ctx, `Rate limit of ${clean(tool.name)}`, [
      { name: 'points' as const, label: 'Calls (empty: none)', value: lim ? String(lim.points) : '' },
      { name: 'seconds' as const, label: 'Per seconds', value: lim ? String(lim.durationSeconds) : '60' },
    ], (v, s) => {
      const parsed = parseToolLimit(i, tool.name, v);
      if (!parsed.ok) throw new Error(parsed.error);
      return ctx.api.updateIntegration(i.id, { toolRateLimits: parsed.limits }, s);
    }, (v) => {
      const parsed = parseToolLimit(i, tool.name, v);
      return parsed.ok ? null : parsed.error;
    });
    if (!r) return;
    ctx.notify(`Limit of ${clean(tool.name)} saved.`);
    replace(r);
    tools.focus();
  }));

  table.list.key(['r'], guarded(ctx, 'owner', 'Refreshing a catalog', async () => {
    const i = current();
    if (!i) return;
    ctx.notify(`Refreshing the catalog of ${clean(i.slug)}…`);
    const r = await attempt(ctx, `Refreshing ${clean(i.slug)}`, (s) => ctx.api.refreshIntegration(i.id, s));
    if (r) ctx.notify(`${clean(r.slug)}: ${r.toolCount} tools in the catalog.`);
    await load();
  }));

  table.list.key(['d'], guarded(ctx, 'owner', 'Disabling an integration', async () => {
    const i = current();
    if (!i) return;
    const status = i.status === 'active' ? 'disabled' : 'active';
    const r = await attempt(ctx, `Setting ${clean(i.slug)} ${status}`, (s) => ctx.api.updateIntegration(i.id, { status }, s));
    if (r) ctx.notify(`${clean(r.slug)} is now ${r.status}.`);
    await load();
  }));

  table.list.key(['x'], guarded(ctx, 'owner', 'Deleting an integration', async () => {
    const i = current();
    if (!i) return;
    if (!(await ctx.dialogs.confirm(`Delete the integration "${clean(i.displayName)}" (${clean(i.slug)})? Its tools disappear from every request.`))) return;
    const r = await attempt(ctx, `Deleting ${clean(i.slug)}`, (s) => ctx.api.deleteIntegration(i.id, s));
    if (r) ctx.notify(`Deleted ${clean(i.slug)}.`);
    await load();
  }));

  table.list.key(['a'], guarded(ctx, 'owner', 'Adding an integration', async () => {
    ctx.notify('Adding an integration connects to it and lists its tools.');
    const created = await formUntilDone(ctx, 'Add an MCP integration', [
      { name: 'slug' as keyof IntegrationForm, label: 'Slug' },
      { name: 'displayName', label: 'Display name' },
      { name: 'url', label: 'URL' },
      { name: 'transport', label: 'Transport', choices: TRANSPORTS },
      { name: 'token', label: 'Bearer token', secret: true },
    ], (v, s) => {
      const parsed = parseIntegrationForm(v);
      if (!parsed.ok) throw new Error(parsed.error);
      return ctx.api.createIntegration(parsed.body, s);
    }, (v) => {
      const parsed = parseIntegrationForm(v);
      return parsed.ok ? null : parsed.error;
    });
    if (created) ctx.notify(`Added ${clean(created.slug)} with ${created.toolCount} tools.`);
    await load();
  }));

  table.list.key(['e'], guarded(ctx, 'owner', 'Editing an integration', async () => {
    const i = current();
    if (!i) return;
    const updated = await formUntilDone(ctx, `Edit ${clean(i.slug)}`, [
      { name: 'displayName' as keyof IntegrationEditForm | 'transport', label: 'Display name', value: i.displayName },
      { name: 'url', label: 'URL', value: i.url },
      { name: 'transport', label: 'Transport', choices: TRANSPORTS, value: i.transport },
      { name: 'timeoutMs', label: 'Timeout ms', value: i.timeoutMs === null ? '' : String(i.timeoutMs) },
      { name: 'credentialType', label: 'Credential', choices: ['none', 'bearer', 'header'], value: i.credential?.type ?? 'none' },
      { name: 'headerName', label: 'Header name', value: i.credential?.name ?? '' },
      { name: 'secret', label: 'Secret (keep)', secret: true },
    ], (v, s) => {
      const parsed = parseIntegrationEdit(i, v, v.transport as McpTransport);
      if (!parsed.ok) throw new Error(parsed.error);
      return ctx.api.updateIntegration(i.id, parsed.patch, s);
    }, (v) => {
      const parsed = parseIntegrationEdit(i, v, v.transport as McpTransport);
      return parsed.ok ? null : parsed.error;
    });
    if (!updated) return;
    ctx.notify(`Saved ${clean(updated.slug)}.`);
    await load();
  }));

  table.list.key(['l'], () => void load());
  tools.key(['l'], () => void load());

  return {
    title: 'Integrations',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      if (tools.hidden) table.list.focus();
      else tools.focus();
      void load();
    },
    hide: () => root.hide(),
    relayout: () => {
      table.relayout();
      if (!tools.hidden) renderTools();
    },
    destroy: () => root.destroy(),
  };
}
