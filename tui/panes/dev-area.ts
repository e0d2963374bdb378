/**
 * Screen: the developer area (owners and admins of the authoring organisation). The plugins this
 * organisation authored (top), the versions of the selected one (bottom left) and the detail
 * (bottom right). Register a plugin from a manifest URL or a file on this machine (n), add a
 * version (v), submit a version for review (s), deprecate (d) or withdraw (w) one, rotate the
 * signing secret (k; the new secret is shown once), open the plugin's call log (l). Enter moves to
 * the versions, Esc back. A refused manifest shows every problem with its JSON Pointer.
 */
import type { CustomPlugin, CustomPluginVersion, RegisterCustomPluginRequest } from '../../src/shared/api.ts';
import { createDevClient } from '../client-dev.ts';
import { readManifestFile } from '../manifest-file.ts';
import { attempt, createPanel, createTable, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import {
  DEV_PLUGIN_COLUMNS, devPluginDetail, devPluginRow, parseManifestSource, signingSecretMessage, VERSION_COLUMNS, versionActions, versionRow,
  versionsNewestFirst, type VersionAction,
} from '../views/dev-plugins.ts';
import { clean } from '../views/text.ts';
import { multiPane, rootBox, run, type LogSource } from './dev-common.ts';

const KEYS: KeyHelp[] = [
  { keys: 'n', does: 'register', needs: 'admin' },
  { keys: 'v', does: 'new version', needs: 'admin' },
  { keys: 's', does: 'submit', needs: 'admin' },
  { keys: 'd', does: 'deprecate', needs: 'admin' },
  { keys: 'w', does: 'withdraw', needs: 'admin' },
  { keys: 'k', does: 'rotate secret', needs: 'admin' },
  { keys: 'l', does: 'logs', needs: 'admin' },
  { keys: 'enter/esc', does: 'versions / plugins' },
  { keys: 'r', does: 'reload' },
];

const ACTION_WORDS: Record<VersionAction, { verb: string; done: string; question?: string }> = {
  submit: { verb: 'Submitting', done: 'submitted for review' },
  deprecate: { verb: 'Deprecating', done: 'deprecated', question: 'Installations keep working; nobody can install it any more.' },
  withdraw: { verb: 'Withdrawing', done: 'withdrawn', question: 'Its installations stop at once and it can never be installed again.' },
};

export function createDevAreaPane(ctx: PaneContext): Pane {
  const dev = createDevClient(ctx.api);
  const root = rootBox(ctx);
  const plugins = createTable(root, { label: 'Your plugins (developer area)', columns: DEV_PLUGIN_COLUMNS, position: { top: 0, left: 0, right: 0, height: '40%' } });
  const versions = createTable(root, { label: 'Versions', columns: VERSION_COLUMNS, position: { top: '40%', left: 0, width: '45%', bottom: 0 } });
  const detail = createPanel(root, { label: 'Detail', position: { top: '40%', left: '45%', right: 0, bottom: 0 } });
  let items: CustomPlugin[] = [];
  let shownVersions: CustomPluginVersion[] = [];
  let lastSource = '';
  const loads = createSlot(ctx.scope);

  const plugin = (): CustomPlugin | undefined => items[plugins.selected()];
  const version = (): CustomPluginVersion | undefined => shownVersions[versions.selected()];

  function renderDetail(): void {
    const p = plugin();
    detail.setContent(p ? devPluginDetail(p, version()).join('\n') : 'No plugin yet. n registers one from its manifest (a URL or a plugboard-plugin.json file).');
    detail.setScroll(0);
    ctx.screen.render();
  }

  function renderVersions(): void {
    const p = plugin();
    shownVersions = p ? versionsNewestFirst(p) : [];
    versions.setRows(shownVersions.map(versionRow), p ? '(no versions)' : '');
    renderDetail();
  }

  async function load(selectId?: string): Promise<void> {
    if (!ctx.can('admin')) {
      plugins.setRows([], '(the developer area is for owners and admins)');
      renderVersions();
      return;
    }
    const keep = selectId ?? plugin()?.id;
    const keepVersion = version()?.version;
    const list = await attempt(ctx, 'Loading your plugins', (s) => dev.devPlugins(s), loads.next('load'));
    if (!list) return;
    items = list;
    plugins.setRows(items.map(devPluginRow), '(no plugins yet; n registers one from a manifest URL or file)');
    const at = items.findIndex((p) => p.id === keep);
    if (at >= 0) plugins.list.select(at);
    renderVersions();
    const vAt = shownVersions.findIndex((v) => v.version === keepVersion);
    if (vAt >= 0 && !selectId) versions.list.select(vAt);
    renderDetail();
  }

  /** The register/new-version body from what was typed: a URL is sent as is, a file is read here. */
  async function manifestBody(title: string): Promise<RegisterCustomPluginRequest | null> {
    const form = await ctx.dialogs.form(title, [{ name: 'source', label: 'Manifest URL or file', value: lastSource }]);
    if (!form) return null;
    lastSource = form.source.trim();
    const src = parseManifestSource(form.source);
    if (src.kind === 'error') {
      ctx.error(src.message);
      return null;
    }
    if (src.kind === 'url') return { manifestUrl: src.url };
    const file = readManifestFile(src.path);
    if (!file.ok) {
      ctx.error(file.message);
      return null;
    }
    return { manifest: file.manifest };
  }

  plugins.list.on('select item', renderVersions);
  versions.list.on('select item', renderDetail);
  plugins.list.key(['enter'], () => {
    if (shownVersions.length) versions.list.focus();
    ctx.screen.render();
  });
  versions.list.key(['escape', 'left'], () => {
    plugins.list.focus();
    ctx.screen.render();
  });

  const bind = (keys: string[], fn: () => void): void => {
    plugins.list.key(keys, fn);
    versions.list.key(keys, fn);
  };

  bind(['n'], guarded(ctx, 'admin', 'Registering a plugin', async () => {
    const body = await manifestBody('Register a plugin');
    if (!body) return;
    ctx.notify(body.manifestUrl ? `Fetching ${clean(body.manifestUrl)} and registering…` : 'Registering…');
    const created = await run(ctx, 'Registering the plugin', (s) => dev.register(body, s));
    if (!created) return;
    ctx.notify(`Registered ${clean(created.slug)} ${clean(created.version)} (private). Its signing secret is shown once.`);
    await ctx.dialogs.alert('Plugin registered', signingSecretMessage(created.slug, created.signingSecret));
    await load(created.id);
  }));

  bind(['v'], guarded(ctx, 'admin', 'Adding a version', async () => {
    const p = plugin();
    if (!p) return;
    const body = await manifestBody(`New version of ${clean(p.slug)}`);
    if (!body) return;
    const v = await run(ctx, `Adding a version to ${clean(p.slug)}`, (s) => dev.addVersion(p.id, body, s));
    if (!v) return;
    ctx.notify(`${clean(p.slug)} ${clean(v.version)} added (private): install it here in sandbox mode, or s to submit it.`);
    await load(p.id);
  }));

  const versionAction = (action: VersionAction) => guarded(ctx, 'admin', ACTION_WORDS[action].verb, async () => {
    const p = plugin();
    const v = version();
    if (!p || !v) return;
    const words = ACTION_WORDS[action];
    if (!versionActions(v.status).includes(action)) {
      ctx.error(`${clean(p.slug)} ${clean(v.version)} is ${v.status}: it cannot be ${words.done}.`);
      return;
    }
    const question = words.question ? `${action[0].toUpperCase()}${action.slice(1)} ${clean(p.slug)} ${clean(v.version)}? ${words.question}` : `Submit ${clean(p.slug)} ${clean(v.version)} for review? It can never change after this.`;
    if (!(await ctx.dialogs.confirm(question))) return;
    const done = await run(ctx, `${words.verb} ${clean(p.slug)} ${clean(v.version)}`, (s) => dev.versionAction(p.id, v.version, action, s));
    if (done) ctx.notify(`${clean(p.slug)} ${clean(done.version)} ${words.done} (${done.status}).`);
    await load();
  });
  bind(['s'], versionAction('submit'));
  bind(['d'], versionAction('deprecate'));
  bind(['w'], versionAction('withdraw'));

  bind(['k'], guarded(ctx, 'admin', 'Rotating the signing secret', async () => {
    const p = plugin();
    if (!p) return;
    const form = await ctx.dialogs.form(`Rotate the signing secret of ${clean(p.slug)}`, [
      { name: 'overlap', label: 'Old one signs for (s)', value: '86400' },
    ]);
    if (!form) return;
    const overlap = form.overlap.trim() === '' ? undefined : Number(form.overlap.trim());
    if (overlap !== undefined && (!Number.isInteger(overlap) || overlap < 0 || overlap > 604_800)) {
      ctx.error('The overlap is a whole number of seconds from 0 (stop the old secret now) to 604800 (7 days).');
      return;
    }
    const r = await run(ctx, `Rotating the secret of ${clean(p.slug)}`, (s) => dev.rotateSecret(p.id, overlap, s));
    if (!r) return;
    ctx.notify(`New signing secret for ${clean(p.slug)}; it is shown once.`);
    await ctx.dialogs.alert('New signing secret', signingSecretMessage(p.slug, r.signingSecret, r.previousSecretExpiresAt));
    await load(p.id);
  }));

  bind(['l'], guarded(ctx, 'admin', 'The plugin log', () => {
    const p = plugin();
    if (!p) return;
    const source: LogSource = { kind: 'plugin', pluginId: p.id, label: `${clean(p.slug)} (every installation)` };
    ctx.go('plugin-logs', source);
  }));

  bind(['r'], () => void load());

  return multiPane({
    title: 'Develop',
    keys: KEYS,
    root,
    focus: () => plugins.list,
    load: () => load(),
    relayout() {
      plugins.relayout();
      versions.relayout();
    },
    onDestroy: () => loads.cancel(),
  });
}
