/**
 * Screen: the plugin directory — published plugins of every organisation and this organisation's
 * own (whose unpublished versions install in sandbox mode). The detail shows what an installer
 * must read first. Install (i): the configuration form generated from the version's `config[]`
 * (values kept after a refusal), then the consent screen listing every permission with its label
 * and description, then the install; v picks another version to view and install.
 */
import type { DirectoryPlugin, DirectoryPluginDetail, InstallPluginRequest } from '../../src/shared/api.ts';
import { createDevClient } from '../client-dev.ts';
import { attempt, createPanel, createTable, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { configForm, consentDialog } from '../plugin-dialogs.ts';
import { createSlot } from '../tasks.ts';
import { refusalProblems } from '../views/dev-plugins.ts';
import {
  configFormFields, directoryDetail, DIRECTORY_COLUMNS, directoryRow, initialConsent, parseConfigForm, toolkitLines, toolLine,
} from '../views/plugin-directory.ts';
import { clean, describeError } from '../views/text.ts';
import { call, multiPane, reportFailure, rootBox } from './dev-common.ts';

const KEYS: KeyHelp[] = [
  { keys: 'i', does: 'install', needs: 'admin' },
  { keys: 'v', does: 'version' },
  { keys: 'r', does: 'reload' },
];

/** Attempts at the config form before the install gives up (each one after a refusal keeps the values). */
const MAX_FORM_ROUNDS = 20;

export function createDirectoryPane(ctx: PaneContext): Pane {
  const dev = createDevClient(ctx.api);
  const root = rootBox(ctx);
  const table = createTable(root, { label: 'Plugin directory', columns: DIRECTORY_COLUMNS, position: { top: 0, left: 0, right: 0, height: '40%' } });
  const detail = createPanel(root, { label: 'What installing means', position: { top: '40%', left: 0, right: 0, bottom: 0 } });
  let items: DirectoryPlugin[] = [];
  let shown: DirectoryPluginDetail | null = null;
  /** A version picked with v (by plugin id); otherwise the latest installable. */
  const picked = new Map<string, string>();
  const detailSlot = createSlot(ctx.scope);

  const current = (): DirectoryPlugin | undefined => items[table.selected()];

  async function loadDetail(): Promise<void> {
    const d = current();
    if (!d) {
      shown = null;
      detail.setContent('The directory is empty: nothing is published yet, and this organisation has no plugin of its own.');
      ctx.screen.render();
      return;
    }
    const version = picked.get(d.id) ?? d.latestVersion ?? d.versions[0]?.version;
    const r = await call(ctx, `Loading ${clean(d.slug)}`, (s) => dev.directoryEntry(d.id, version ?? undefined, s), detailSlot.next(d.id));
    if (!r.ok) {
      if (!('cancelled' in r)) detail.setContent(`Loading ${clean(d.slug)} failed: ${describeError(r.error)}`);
      ctx.screen.render();
      return;
    }
    shown = r.value;
    detail.setContent(directoryDetail(r.value).join('\n'));
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const keep = current()?.id;
    const list = await attempt(ctx, 'Loading the directory', (s) => dev.directory(s));
    if (!list) return;
    items = list;
    table.setRows(items.map(directoryRow), '(nothing in the directory yet)');
    const at = items.findIndex((d) => d.id === keep);
    if (at >= 0) table.list.select(at);
    await loadDetail();
  }

  table.list.on('select item', () => void loadDetail());

  table.list.key(['v'], async () => {
    const d = current();
    if (!d || !d.versions.length) return;
    const v = await ctx.dialogs.pick(`Versions of ${clean(d.slug)}`, d.versions.map((x) => ({ label: `${clean(x.version)}  ${x.status}`, value: x.version })));
    if (!v) return;
    picked.set(d.id, v);
    await loadDetail();
  });

  table.list.key(['i'], guarded(ctx, 'admin', 'Installing', async () => {
    const d = current();
    if (!d) return;
    const entry = shown && shown.id === d.id ? shown : null;
    if (!entry) {
      ctx.error('The plugin is still loading; try again in a moment.');
      return;
    }
    const v = entry.version;
    if (!v.installable) {
      ctx.error(`${clean(d.slug)} ${clean(v.version)} is ${v.status} and cannot be installed.`);
      return;
    }
    if (entry.installation) ctx.notify(`Note: this organisation has ${clean(d.slug)} ${clean(entry.installation.version)} installed already.`);
    const intro = [`${clean(entry.name)} ${clean(v.version)} installs in ${v.mode} mode; its calls go to ${clean(v.baseUrl)}.`];
    if (v.mode === 'sandbox') intro.push('Sandbox: for trying your own unpublished version here; its plugin log keeps request and response bodies.');
    // Values typed into the form survive every refusal (ours or the server's) until the install succeeds or is cancelled.
    const values: Record<string, string> = Object.fromEntries(configFormFields(v.config).map((f) => [f.name, f.value]));
    let problems: string[] = [];
    let accepted: string[] | null = null;
    for (let round = 0; round < MAX_FORM_ROUNDS; round++) {
      let config: Record<string, unknown> = {};
      if (v.config.length) {
        const typed = await configForm(ctx.screen, { title: `Configure ${clean(d.slug)} ${clean(v.version)}`, intro, fields: v.config, values, problems, signal: ctx.scope.signal });
        if (!typed) return;
        Object.assign(values, typed);
        const parsed = parseConfigForm(v.config, values);
        if (!parsed.ok) {
          problems = parsed.problems;
          continue;
        }
        config = parsed.config;
      }
      accepted ??= await consentDialog(ctx.screen, {
        title: `Permissions of ${clean(d.slug)} ${clean(v.version)}`,
        intro: [`${clean(entry.name)} by ${clean(entry.contact.name ?? entry.contact.email)} <${clean(entry.contact.email)}>`, `Mode ${v.mode}; calls go to ${clean(v.baseUrl)} (with this configuration, secrets included).`],
        permissions: v.permissions,
        initial: initialConsent(v.permissions),
        after: [
          `Tools (${v.tools.length}):`, ...v.tools.map((t) => `• ${toolLine(t)}`),
          ...(v.requires.toolkits.length ? ['', 'Needs on the same WhatsApp number:', ...toolkitLines(v.requires.toolkits)] : []),
          '', 'Nothing is granted by default: grant it to a WhatsApp number afterwards.',
        ],
        action: 'install',
        signal: ctx.scope.signal,
      });
      if (!accepted) return;
      const body: InstallPluginRequest = { pluginId: d.id, version: v.version, config, acceptedPermissions: accepted };
      ctx.notify(`Installing ${clean(d.slug)} ${clean(v.version)}…`);
      const r = await call(ctx, `Installing ${clean(d.slug)}`, (s) => dev.install(body, s));
      if (r.ok) {
        ctx.notify(`Installed ${clean(r.value.slug)} ${clean(r.value.version)} in ${r.value.mode} mode (${r.value.id}). Grant it to a number to use it.`);
        await load();
        return;
      }
      if ('cancelled' in r) return;
      const list = refusalProblems(r.error);
      if ((r.error as { code?: string }).code === 'invalid_config' && list.length && v.config.length) {
        // The server's own check: back to the form with its problems and the values as typed.
        problems = list.map((p) => `${p.path.replace(/^\/?(config\/)?/, '')}: ${p.message}`);
        continue;
      }
      await reportFailure(ctx, `Installing ${clean(d.slug)}`, r.error);
      return;
    }
    ctx.error('Gave up after too many attempts at the configuration.');
  }));

  table.list.key(['r'], () => void load());

  return multiPane({
    title: 'Directory',
    keys: KEYS,
    root,
    focus: () => table.list,
    load,
    relayout: () => table.relayout(),
    onDestroy: () => detailSlot.cancel(),
  });
}
