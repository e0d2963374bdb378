/**
 * Pane: the organisation's settings (name, plugin injection) and what each role may do. e renames,
 * i toggles plugin injection; both owners only. It must never format data itself.
 */
import type { Organization } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { consoleClient } from '../client-console.ts';
import { attempt, createPanel, formUntilDone, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { settingsLines } from '../views/members.ts';
import { clean } from '../views/text.ts';

const KEYS: KeyHelp[] = [
  { keys: 'e', does: 'rename', needs: 'owner' },
  { keys: 'i', does: 'plugin injection on/off', needs: 'owner' },
  { keys: 'l', does: 'reload' },
];

export function createSettingsPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const panel = createPanel(root, { label: 'Organisation', position: { top: 0, left: 0, right: 0, bottom: 0 } });
  let org: Organization | null = ctx.org;

  const render = (): void => {
    panel.setContent(org ? settingsLines(org, ctx.role, ctx.client.baseUrl).join('\n') : '');
    ctx.screen.render();
  };
  async function load(): Promise<void> {
    const o = await attempt(ctx, 'Loading the organisation', (s) => api.organization(s));
    if (o) {
      org = o;
      ctx.orgChanged?.(o); // renamed elsewhere since the TUI started: the header follows
    }
    render();
  }
  panel.key(['e'], guarded(ctx, 'owner', 'Renaming the organisation', async () => {
    if (!org) return;
    const o = await formUntilDone(ctx, 'Rename the organisation', [{ name: 'name' as const, label: 'Name', value: org.name }],
      (v, s) => api.updateOrganization({ name: v.name.trim() }, s), (v) => (v.name.trim() ? null : 'The name is required.'));
    if (!o) return;
    org = o;
    ctx.orgChanged?.(o);
    ctx.notify(`Renamed to ${clean(o.name)}.`);
    render();
  }));
  panel.key(['i'], guarded(ctx, 'owner', 'Changing plugin injection', async () => {
    if (!org) return;
    const current = org;
    const o = await attempt(ctx, 'Changing plugin injection', (s) => api.updateOrganization({ settings: { pluginInjection: !current.settings.pluginInjection } }, s));
    if (!o) return;
    org = o;
    ctx.notify(`Plugin injection is ${o.settings.pluginInjection ? 'on' : 'off'}.`);
    render();
  }));
  panel.key(['l'], () => void load());

  return {
    title: 'Settings',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      panel.focus();
      void load();
    },
    hide: () => root.hide(),
    relayout: render,
    destroy: () => root.destroy(),
  };
}
