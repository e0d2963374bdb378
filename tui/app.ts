/**
 * The TUI's layout and key bindings on an injected blessed screen: a header with the tabs, the
 * body where one pane is visible at a time, the log pane (console is redirected into it) and a
 * status line. It owns the organisation scope: switching organisation (o) cancels it, which stops
 * the live stream and every request of the old panes. q / C-c resolve `done`; the caller destroys
 * the screen. It must never create or destroy the screen, and calls the API only to list the
 * organisations for the picker (everything else is a pane's job).
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import type { Me, Organization } from '../src/shared/api.ts';
import type { ApiClient } from './client.ts';
import { redirectConsole } from './console.ts';
import { createDialogs } from './dialogs.ts';
import type { Pane, PaneContext } from './pane.ts';
import { createGrantsPane } from './panes/grants.ts';
import { createInstallationsPane } from './panes/installations.ts';
import { createKeysPane } from './panes/keys.ts';
import { createLiveLogPane } from './panes/live-log.ts';
import { createPluginsPane } from './panes/plugins.ts';
import { createUsagePane } from './panes/usage.ts';
import type { Scope } from './tasks.ts';
import { clean, clockTime, describeError } from './views/text.ts';

/** Pane factories in tab order (keys 1…6). */
const PANES: ReadonlyArray<(ctx: PaneContext) => Pane> = [
  createInstallationsPane, createPluginsPane, createKeysPane, createGrantsPane, createUsagePane, createLiveLogPane,
];
/** Lines of console and notification history the log pane keeps. */
const LOG_SCROLLBACK = 500;
const LOG_HEIGHT = 6;

export interface TuiAppOptions {
  screen: Widgets.Screen;
  client: ApiClient;
  me: Me;
  orgId: string;
  /** The root scope; the app makes one child per organisation. */
  scope: Scope;
}

export interface TuiApp {
  /** Resolves when the operator quits. */
  readonly done: Promise<void>;
  quit(): void;
  readonly orgId: string;
  /** The active pane's title. */
  readonly pane: string;
}

export function createTuiApp(opts: TuiAppOptions): TuiApp {
  const { screen } = opts;
  const header = blessed.box({ parent: screen, top: 0, left: 0, right: 0, height: 1, tags: false, style: { bg: 'blue', fg: 'white', bold: true } });
  const body = blessed.box({ parent: screen, top: 1, left: 0, right: 0, bottom: LOG_HEIGHT + 2 });
  const logPane = blessed.log({
    parent: screen, bottom: 2, left: 0, right: 0, height: LOG_HEIGHT, border: { type: 'line' }, label: ' Log ', tags: false,
    scrollback: LOG_SCROLLBACK, scrollable: true, style: { border: { fg: 'gray' } },
  });
  const message = blessed.text({ parent: screen, bottom: 1, left: 0, right: 0, height: 1, tags: false, style: { fg: 'yellow' } });
  const help = blessed.text({ parent: screen, bottom: 0, left: 0, right: 0, height: 1, tags: false, style: { inverse: true } });
  const dialogs = createDialogs(screen);

  const log = (text: string): void => {
    for (const line of text.split('\n')) logPane.add(`${clockTime(Date.now())} ${clean(line, '')}`);
  };
  const restoreConsole = redirectConsole((level, text) => log(level === 'log' || level === 'info' ? text : `${level}: ${text}`));
  screen.on('warning', (text: string) => console.warn(text));

  let org: Organization = opts.me.organizations.find((o) => o.id === opts.orgId) ?? opts.me.organizations[0];
  let orgScope: Scope = opts.scope.child(`org:${org.id}`);
  let panes: Pane[] = [];
  let active = 0;
  let quitting = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const notify = (text: string): void => {
    message.setContent(` ${text}`);
    log(text);
    screen.render();
  };

  function renderChrome(): void {
    const tabs = panes.map((p, i) => (i === active ? `[${i + 1} ${p.title}]` : `${i + 1} ${p.title}`)).join(' ');
    // The organisation comes first: acting on the wrong one is the mistake to prevent.
    header.setContent(` Plugboard: ${clean(org.name)}${org.role ? ` (${org.role})` : ''}  ${tabs}  ${clean(opts.client.baseUrl)}`);
    help.setContent(` ${panes[active]?.help ?? ''}  |  Tab/1-6 panes  o org  q quit`);
  }

  function showPane(index: number): void {
    if (!panes.length) return;
    panes[active]?.hide();
    active = (index + panes.length) % panes.length;
    renderChrome();
    panes[active].show();
    screen.render();
  }

  function buildPanes(): void {
    const ctx: PaneContext = { screen, parent: body, api: opts.client.forOrg(org.id), scope: orgScope, dialogs, notify };
    panes = PANES.map((make) => make(ctx));
  }

  function switchOrg(next: Organization): void {
    dialogs.closeAll();
    orgScope.cancel('organisation switched');
    for (const p of panes) p.destroy();
    org = next;
    orgScope = opts.scope.child(`org:${org.id}`);
    buildPanes();
    notify(`Switched to ${clean(org.name)}.`);
    showPane(active);
  }

  function quit(): void {
    if (quitting) return;
    quitting = true;
    dialogs.closeAll();
    orgScope.cancel('quit');
    for (const p of panes) p.destroy();
    restoreConsole();
    resolveDone();
  }

  // Global keys are ignored while a dialog is open; C-c always quits (ignoreLocked passes it through text input).
  const global = (fn: () => void) => () => {
    if (!dialogs.open && !quitting) fn();
  };
  screen.key(['C-c'], () => quit());
  screen.key(['q'], global(quit));
  screen.key(['tab'], global(() => showPane(active + 1)));
  screen.key(['S-tab'], global(() => showPane(active - 1)));
  PANES.forEach((_, i) => screen.key([String(i + 1)], global(() => showPane(i))));
  screen.key(['o'], global(async () => {
    // The list is fetched afresh: organisations may have been created or left since the TUI started.
    const scope = opts.scope.child('me');
    const orgs = await opts.client.me(scope.signal).then((me) => me.organizations, (err) => {
      if (!scope.cancelled) notify(`Listing organisations failed: ${describeError(err)}`);
      return opts.me.organizations;
    }).finally(() => scope.cancel('done'));
    if (quitting || dialogs.open) return;
    const picked = await dialogs.pick('Organisation', orgs.map((o) => ({ label: `${clean(o.name)} (${o.role ?? 'member'})  ${o.id}`, value: o })));
    if (picked && picked.id !== org.id && !quitting) switchOrg(picked);
  }));
  screen.on('resize', () => {
    for (const p of panes) p.relayout();
    logPane.setScrollPerc(100);
    renderChrome();
    screen.render();
  });

  buildPanes();
  showPane(0);
  log(`Attached to ${opts.client.baseUrl} as ${clean(opts.me.name)}.`);

  return {
    done,
    quit,
    get orgId() {
      return org.id;
    },
    get pane() {
      return panes[active]?.title ?? '';
    },
  };
}
