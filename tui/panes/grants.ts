/**
 * Pane: WhatsApp number instances and the plugins granted to each (nothing is granted by
 * default); space toggles the selected plugin's grant with a PUT of the whole list. A server
 * without the WhatsApp channel (404) gets a notice instead of an error. It must never format
 * data itself (views/grants.ts does) or talk HTTP except through the OrgClient.
 */
import type { Plugin, WhatsAppInstance } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { ApiError } from '../client.ts';
import { attempt, createTable, type Pane, type PaneContext } from '../pane.ts';
import { createSlot, isAbortError } from '../tasks.ts';
import { grantLine, instanceLine, toggleGrant, WHATSAPP_UNAVAILABLE } from '../views/grants.ts';
import { clean, describeError } from '../views/text.ts';

export function createGrantsPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const instancesTable = createTable(root, { label: 'WhatsApp numbers', columns: [{ title: 'NAME  SENDER  STATUS', min: 10 }], position: { top: 0, left: 0, width: '45%', bottom: 0 } });
  const grants = createTable(root, { label: 'Granted plugins', columns: [{ title: 'GRANT  PLUGIN', min: 10 }], position: { top: 0, left: '45%', right: 0, bottom: 0 } });
  const notice = blessed.box({ parent: root, top: 'center', left: 'center', width: '80%', height: 5, border: { type: 'line' }, label: ' Grants ', hidden: true, tags: false, align: 'center', valign: 'middle' });
  const slot = createSlot(ctx.scope);
  let instances: WhatsAppInstance[] = [];
  let plugins: Plugin[] = [];
  let enabled: string[] = [];
  let shownFor: string | null = null;

  function showNotice(text: string): void {
    instancesTable.box.hide();
    grants.box.hide();
    notice.setContent(text);
    notice.show();
    ctx.screen.render();
  }

  function renderGrants(): void {
    grants.setRows(plugins.map((p) => [grantLine(p, enabled)]), '(no plugins installed)');
    ctx.screen.render();
  }

  async function loadGrants(): Promise<void> {
    const inst = instances[instancesTable.selected()];
    if (!inst || shownFor === inst.id) return;
    shownFor = inst.id;
    grants.box.setLabel(` Plugins granted to ${clean(inst.name)} `);
    const r = await attempt(ctx, `Loading the grants of ${clean(inst.name)}`, (s) => ctx.api.instancePlugins(inst.id, s), slot.next(`grants:${inst.id}`));
    if (!r || shownFor !== inst.id) return;
    enabled = r.enabledPluginIds;
    renderGrants();
  }

  async function load(): Promise<void> {
    const scope = ctx.scope.child('grants:load');
    try {
      [instances, plugins] = await Promise.all([ctx.api.whatsappInstances(scope.signal), ctx.api.plugins(scope.signal)]);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) showNotice(WHATSAPP_UNAVAILABLE);
      else if (!isAbortError(err)) showNotice(`Could not load WhatsApp numbers: ${describeError(err)}`);
      return;
    } finally {
      scope.cancel('done');
    }
    notice.hide();
    instancesTable.box.show();
    grants.box.show();
    shownFor = null;
    enabled = [];
    instancesTable.setRows(instances.map((i) => [instanceLine(i)]), '(no WhatsApp numbers)');
    renderGrants();
    await loadGrants();
  }

  instancesTable.list.on('select item', () => void loadGrants());
  instancesTable.list.key(['right', 'enter'], () => grants.list.focus());
  instancesTable.list.key(['l'], () => void load());
  grants.list.key(['left', 'escape'], () => instancesTable.list.focus());
  grants.list.key(['space'], async () => {
    const inst = instances[instancesTable.selected()];
    const p = plugins[grants.selected()];
    if (!inst || !p || shownFor !== inst.id) return;
    const next = toggleGrant(enabled, p.id, plugins);
    const r = await attempt(ctx, `Updating the grants of ${clean(inst.name)}`, (s) => ctx.api.setInstancePlugins(inst.id, next, s));
    if (!r || shownFor !== inst.id) return;
    enabled = r.enabledPluginIds;
    ctx.notify(`${clean(p.slug)} ${enabled.includes(p.id) ? 'granted to' : 'revoked from'} ${clean(inst.name)}.`);
    renderGrants();
  });

  return {
    title: 'Grants',
    help: 'right/Enter plugins  space grant/revoke  left back  l reload',
    show() {
      root.show();
      instancesTable.list.focus();
      void load();
    },
    hide() {
      slot.cancel();
      root.hide();
    },
    relayout() {
      instancesTable.relayout();
      grants.relayout();
    },
    destroy() {
      slot.cancel();
      root.destroy();
    },
  };
}
