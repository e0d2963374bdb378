/**
 * Screen: this organisation's custom plugin installations (mode, state, health, pending version).
 * Configure (c: the generated form; secrets stay write-only, empty keeps the stored one), upgrade
 * (u: moves at once when nothing new is asked, otherwise the version waits for consent and the
 * installation keeps its own), accept the pending upgrade (A, owners: consent screen with every
 * permission of the new version, and the config it newly needs), switch off/on (d), uninstall (x),
 * and the installation's plugin log (l).
 */
import type { PluginConfigField, PluginInstallation } from '../../src/shared/api.ts';
import { createDevClient } from '../client-dev.ts';
import { attempt, createPanel, createTable, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { configForm, consentDialog } from '../plugin-dialogs.ts';
import { refusalProblems } from '../views/dev-plugins.ts';
import { configFormFields, parseConfigForm, toolkitLines, toolLine } from '../views/plugin-directory.ts';
import { consentReasonText, CUSTOM_INSTALL_COLUMNS, customInstallDetail, customInstallRow, upgradeNoteText, upgradeOutcome } from '../views/plugin-installs.ts';
import { clean } from '../views/text.ts';
import { call, multiPane, reportFailure, rootBox, run, type LogSource } from './dev-common.ts';

const KEYS: KeyHelp[] = [
  { keys: 'c', does: 'configure', needs: 'admin' },
  { keys: 'u', does: 'upgrade', needs: 'admin' },
  { keys: 'A', does: 'accept upgrade', needs: 'owner' },
  { keys: 'd', does: 'off/on', needs: 'admin' },
  { keys: 'x', does: 'uninstall', needs: 'admin' },
  { keys: 'l', does: 'logs' },
  { keys: 'r', does: 'reload' },
  { keys: 'enter/esc', does: 'detail / list' },
];

const MAX_FORM_ROUNDS = 20;

export function createPluginInstallsPane(ctx: PaneContext): Pane {
  const dev = createDevClient(ctx.api);
  const root = rootBox(ctx);
  const table = createTable(root, { label: 'Custom plugin installations', columns: CUSTOM_INSTALL_COLUMNS, position: { top: 0, left: 0, right: 0, height: '40%' } });
  const detail = createPanel(root, { label: 'Installation', position: { top: '40%', left: 0, right: 0, bottom: 0 } });
  let items: PluginInstallation[] = [];

  const current = (): PluginInstallation | undefined => items[table.selected()];

  function renderDetail(): void {
    const i = current();
    detail.setContent(i ? customInstallDetail(i).join('\n') : 'No custom plugin installed. Install one from the Directory screen.');
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(selectId?: string): Promise<void> {
    const keep = selectId ?? current()?.id;
    const list = await attempt(ctx, 'Loading installations', (s) => dev.installations(s));
    if (!list) return;
    items = list;
    table.setRows(items.map(customInstallRow), '(no custom plugins installed; see the Directory screen)');
    const at = items.findIndex((i) => i.id === keep);
    if (at >= 0) table.list.select(at);
    renderDetail();
  }

  /** The config form for `fields` until the server takes it: `send` gets the parsed config; refusals reopen the form with the values kept. */
  async function withConfig(title: string, intro: string[], fields: readonly PluginConfigField[], current: Record<string, unknown>, send: (config: Record<string, unknown>) => Promise<PluginInstallation | 'cancelled' | { error: unknown }>): Promise<PluginInstallation | null> {
    const values: Record<string, string> = Object.fromEntries(configFormFields(fields, current).map((f) => [f.name, f.value]));
    const stored = new Set(fields.filter((f) => f.type === 'secret' && current[f.key]).map((f) => f.key));
    let problems: string[] = [];
    for (let round = 0; round < MAX_FORM_ROUNDS; round++) {
      const typed = await configForm(ctx.screen, { title, intro, fields, values, problems, storedSecrets: stored, signal: ctx.scope.signal });
      if (!typed) return null;
      Object.assign(values, typed);
      const parsed = parseConfigForm(fields, values, { keepSecrets: true, current });
      if (!parsed.ok) {
        problems = parsed.problems;
        continue;
      }
      const r = await send(parsed.config);
      if (r === 'cancelled') return null;
      if (!('error' in r)) return r;
      const list = refusalProblems(r.error);
      if ((r.error as { code?: string }).code === 'invalid_config' && list.length) {
        problems = list.map((p) => `${p.path.replace(/^\/?(config\/)?/, '')}: ${p.message}`);
        continue;
      }
      await reportFailure(ctx, title, r.error);
      return null;
    }
    ctx.error('Gave up after too many attempts at the configuration.');
    return null;
  }

  const outcome = async <T,>(what: string, fn: (s: AbortSignal) => Promise<T>): Promise<T | 'cancelled' | { error: unknown }> => {
    const r = await call(ctx, what, fn);
    if (r.ok) return r.value;
    return 'cancelled' in r ? 'cancelled' : { error: r.error };
  };

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

  table.list.key(['c'], guarded(ctx, 'admin', 'Configuring', async () => {
    const i = current();
    if (!i) return;
    const entry = await run(ctx, `Loading ${clean(i.slug)} ${clean(i.version)}`, (s) => dev.directoryEntry(i.pluginId, i.version, s));
    if (!entry) return;
    if (!entry.version.config.length) {
      ctx.notify(`${clean(i.slug)} ${clean(i.version)} has no settings.`);
      return;
    }
    const done = await withConfig(`Configure ${clean(i.slug)}`, [`Secrets are write-only: leave one empty to keep it. "-" clears an optional value.`], entry.version.config, i.config,
      (config) => outcome(`Saving the configuration of ${clean(i.slug)}`, (s) => dev.updateInstallation(i.id, { config }, s)));
    if (done) ctx.notify(`Saved the configuration of ${clean(done.slug)}.`);
    await load(i.id);
  }));

  table.list.key(['u'], guarded(ctx, 'admin', 'Upgrading', async () => {
    const i = current();
    if (!i) return;
    const after = await run(ctx, `Upgrading ${clean(i.slug)}`, (s) => dev.upgrade(i.id, undefined, s));
    if (after) ctx.notify(upgradeOutcome(i, after));
    await load(i.id);
  }));

  table.list.key(['S-a', 'A'], guarded(ctx, 'owner', 'Accepting an upgrade', async () => {
    const i = current();
    if (!i) return;
    const p = i.pendingVersion;
    if (!p) {
      ctx.error(`${clean(i.slug)} has no pending version (u asks for the latest).`);
      return;
    }
    const entry = await run(ctx, `Loading ${clean(i.slug)} ${clean(p.version)}`, (s) => dev.directoryEntry(i.pluginId, p.version, s));
    if (!entry) return;
    const v = entry.version;
    const accepted = await consentDialog(ctx.screen, {
      title: `Upgrade ${clean(i.slug)} ${clean(i.version)} → ${clean(p.version)}`,
      intro: [`${clean(i.displayName)} ${clean(p.version)} ${p.reasons.length ? 'asks for your consent because it:' : 'asks for:'}`, ...p.reasons.map((r) => `  • ${consentReasonText(r)}`), ...p.notes.map((n) => `  • ${upgradeNoteText(n)}`)],
      permissions: p.permissions,
      // What was accepted before stays ticked; a new or reworded permission starts unticked unless its author marked it default.
      initial: new Set(p.permissions.filter((x) => (i.acceptedPermissions.includes(x.key) && !p.reasons.some((r) => r.kind === 'permission_changed' && r.key === x.key)) || x.default).map((x) => x.key)),
      after: [`Tools (${v.tools.length}):`, ...v.tools.map((t) => `• ${toolLine(t)}`), ...(v.requires.toolkits.length ? ['', 'Needs on the same WhatsApp number:', ...toolkitLines(v.requires.toolkits)] : [])],
      action: 'accept',
      signal: ctx.scope.signal,
    });
    if (!accepted) return;
    const needsConfig = p.reasons.some((r) => r.kind === 'required_config_added');
    const send = (config: Record<string, unknown> | undefined) =>
      outcome(`Accepting ${clean(i.slug)} ${clean(p.version)}`, (s) => dev.acceptUpgrade(i.id, { version: p.version, acceptedPermissions: accepted, ...(config ? { config } : {}) }, s));
    let done: PluginInstallation | null;
    if (needsConfig) {
      done = await withConfig(`Settings of ${clean(i.slug)} ${clean(p.version)}`, [`${clean(p.version)} needs new settings. Secrets: empty keeps the stored one.`], v.config, i.config, (config) => send(config));
    } else {
      const r = await send(undefined);
      done = r === 'cancelled' ? null : 'error' in r ? (await reportFailure(ctx, `Accepting ${clean(i.slug)} ${clean(p.version)}`, r.error), null) : r;
    }
    if (done) ctx.notify(`${clean(done.slug)} moved to ${clean(done.version)} with your consent.`);
    await load(i.id);
  }));

  table.list.key(['d'], guarded(ctx, 'admin', 'Switching off/on', async () => {
    const i = current();
    if (!i) return;
    const status = i.enabled ? 'disabled' : 'active';
    const r = await run(ctx, `Switching ${clean(i.slug)} ${status === 'active' ? 'on' : 'off'}`, (s) => dev.updateInstallation(i.id, { status }, s));
    if (r) ctx.notify(`${clean(r.slug)} is ${r.enabled ? 'on' : 'off'}${r.status === 'active' ? '' : ' (not offered)'}.`);
    await load(i.id);
  }));

  table.list.key(['x'], guarded(ctx, 'admin', 'Uninstalling', async () => {
    const i = current();
    if (!i) return;
    if (!(await ctx.dialogs.confirm(`Uninstall ${clean(i.slug)} ${clean(i.version)}? Its grants and its configuration go with it.`))) return;
    const r = await run(ctx, `Uninstalling ${clean(i.slug)}`, (s) => dev.uninstall(i.id, s));
    if (r) ctx.notify(`Uninstalled ${clean(i.slug)}.`);
    await load();
  }));

  table.list.key(['l'], () => {
    const i = current();
    if (!i) return;
    const source: LogSource = { kind: 'installation', id: i.id, label: `${clean(i.slug)} ${clean(i.version)} (${i.mode})` };
    ctx.go('plugin-logs', source);
  });

  table.list.key(['r'], () => void load());

  return multiPane({
    title: 'Installed',
    keys: KEYS,
    root,
    focus: () => table.list,
    load: () => load(),
    relayout: () => table.relayout(),
    open(arg) {
      if (typeof arg === 'string') void load(arg);
    },
  });
}
