/**
 * The TUI's layout and key bindings on an injected blessed screen: a header (organisation, role,
 * connection indicator), a tab bar of the registered screens (tui/screens/, windowed so it fits at
 * 80 columns; `g` opens a menu of all of them), the body where one pane is visible at a time, the
 * log pane (console is redirected into it), a message line (errors in red) and the key line of the
 * current screen. `?` shows every key of the current screen. It owns the organisation scope:
 * switching organisation (o) cancels it, which stops the live stream and every request of the old
 * panes. q / C-c resolve `done`; the caller destroys the screen. It must never create or destroy
 * the screen, and calls the API only to list organisations and to probe the connection.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import type { Me, Organization } from '../src/shared/api.ts';
import type { OperatorIdentity } from '../src/shared/api-custom-plugins.ts';
import type { ApiClient, Reachability } from './client.ts';
import { redirectConsole } from './console.ts';
import { createDialogs } from './dialogs.ts';
import { roleAtLeast, type Pane, type PaneContext } from './pane.ts';
import { screensFor, type ScreenDef } from './screen.ts';
import { ALL_SCREENS } from './screens/index.ts';
import type { Scope } from './tasks.ts';
import { sleep } from './tasks.ts';
import { connectionLabel, helpLines, statusKeys, tabBar, type Connection, type TabBar } from './views/chrome.ts';
import { clean, clockTime, describeError } from './views/text.ts';

/** Lines of console and notification history the log pane keeps. */
const LOG_SCROLLBACK = 500;
/** The log pane's height (with its border) on tall and on short terminals. */
const LOG_HEIGHT = 6;
const LOG_HEIGHT_SHORT = 5;
/** How often the connection is probed when nothing else talks to the server. */
export const PROBE_INTERVAL_MS = 5_000;

export interface TuiAppOptions {
  screen: Widgets.Screen;
  client: ApiClient;
  /** The signed-in user (control-panel session) … */
  me: Me | null;
  orgId: string | null;
  /** … or the operator (operator session, `pbo_…` token). */
  operator?: OperatorIdentity;
  /** The root scope; the app makes one child per organisation. */
  scope: Scope;
  /** The registry (tests may pass their own). */
  screens?: readonly ScreenDef[];
}

export interface TuiApp {
  /** Resolves when the operator quits. */
  readonly done: Promise<void>;
  quit(): void;
  readonly orgId: string | null;
  /** The active pane's title. */
  readonly pane: string;
}

export function createTuiApp(opts: TuiAppOptions): TuiApp {
  const { screen } = opts;
  const defs = screensFor(opts.screens ?? ALL_SCREENS, opts.operator ? 'operator' : 'org');
  const logHeight = (): number => ((screen.height as number) < 30 ? LOG_HEIGHT_SHORT : LOG_HEIGHT);
  const header = blessed.box({ parent: screen, top: 0, left: 0, right: 0, height: 1, tags: false, style: { bg: 'blue', fg: 'white', bold: true } });
  // autoFocus off: a click on the tab bar must not take the focus (and with it the keys) from an open dialog.
  const tabs = blessed.box({ parent: screen, top: 1, left: 0, right: 0, height: 1, tags: false, clickable: true, autoFocus: false, style: { bg: 'black', fg: 'white' } } as Widgets.BoxOptions);
  const body = blessed.box({ parent: screen, top: 2, left: 0, right: 0, bottom: logHeight() + 2 });
  const logPane = blessed.log({
    parent: screen, bottom: 2, left: 0, right: 0, height: logHeight(), border: { type: 'line' }, label: ' Log ', tags: false,
    scrollback: LOG_SCROLLBACK, scrollable: true, mouse: true, style: { border: { fg: 'gray' } },
  });
  const message = blessed.text({ parent: screen, bottom: 1, left: 0, right: 0, height: 1, tags: false, style: { fg: 'yellow' } });
  const help = blessed.text({ parent: screen, bottom: 0, left: 0, right: 0, height: 1, tags: false, style: { inverse: true } });
  const dialogs = createDialogs(screen);

  const log = (text: string): void => {
    for (const line of text.split('\n')) logPane.add(`${clockTime(Date.now())} ${clean(line, '')}`);
  };
  const restoreConsole = redirectConsole((level, text) => log(level === 'log' || level === 'info' ? text : `${level}: ${text}`));

  let org: Organization | null = opts.me ? (opts.me.organizations.find((o) => o.id === opts.orgId) ?? opts.me.organizations[0] ?? null) : null;
  let orgScope: Scope = opts.scope.child(`org:${org?.id ?? 'operator'}`);
  let panes: Pane[] = [];
  let active = 0;
  let quitting = false;
  let bar: TabBar = { text: '', spans: [] };
  let connection: Connection = { state: 'online', since: Date.now() };
  let lastOk: number | null = Date.now();
  let helpBox: Widgets.BoxElement | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const say = (text: string, color: 'yellow' | 'red'): void => {
    message.style.fg = color;
    message.setContent(` ${clean(text)}`);
    log(color === 'red' ? `error: ${text}` : text);
    screen.render();
  };
  const notify = (text: string): void => say(text, 'yellow');
  const error = (text: string): void => say(text, 'red');

  function renderChrome(): void {
    const width = screen.width as number;
    const who = opts.operator ? `operator ${clean(opts.operator.name)}` : `${clean(org?.name)}${org?.role ? ` (${org.role})` : ''}`;
    // The organisation comes first: acting on the wrong one is the mistake to prevent.
    header.setContent(` Plugboard: ${who}  ${connectionLabel(connection)}  ${clean(opts.client.baseUrl)}`);
    header.style.bg = connection.state === 'online' ? 'blue' : 'red';
    bar = tabBar(panes.map((p) => p.title), active, width);
    tabs.setContent(bar.text);
    const p = panes[active];
    help.setContent(` ${statusKeys(p?.keys, p?.help ?? '', opts.operator ? null : (org?.role ?? 'member'))}`);
  }

  function showPane(index: number, arg?: unknown): void {
    if (!panes.length) return;
    closeHelp();
    panes[active]?.hide();
    active = (index + panes.length) % panes.length;
    renderChrome();
    panes[active].show();
    if (arg !== undefined) panes[active].open?.(arg);
    screen.render();
  }

  function buildPanes(): void {
    const role = opts.operator ? null : (org?.role ?? 'member');
    const ctx: PaneContext = {
      screen, parent: body, api: opts.client.forOrg(org?.id ?? ''), scope: orgScope, dialogs, notify, error,
      client: opts.client, me: opts.me, org, role,
      can: (needed) => role === null || roleAtLeast(role, needed),
      go: (id, arg) => {
        const i = defs.findIndex((d) => d.id === id);
        if (i === -1) error(`No screen "${id}".`);
        else showPane(i, arg);
      },
      orgChanged: (next) => {
        if (!org || next.id !== org.id) return;
        // The answer of PATCH /organizations/{id} may not carry the caller's role: keep the one we know.
        org = { ...org, ...next, role: next.role ?? org.role };
        ctx.org = org;
        renderChrome();
        screen.render();
      },
    };
    panes = defs.map((d) => d.create(ctx));
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

  function closeHelp(): boolean {
    if (!helpBox) return false;
    helpBox.destroy();
    helpBox = null;
    panes[active]?.show();
    screen.render();
    return true;
  }

  function openHelp(): void {
    const p = panes[active];
    if (!p) return;
    const { lines, dim } = helpLines(p.title, p.keys, p.help, opts.operator ? null : (org?.role ?? 'member'));
    const content = lines.map((l, i) => (dim.includes(i) ? `{gray-fg}${blessed.escape(l)}{/gray-fg}` : blessed.escape(l))).join('\n');
    helpBox = blessed.box({
      parent: screen, top: 'center', left: 'center', width: '90%', height: Math.min(lines.length + 2, (screen.height as number) - 2),
      border: { type: 'line' }, label: ' Help ', tags: true, content, scrollable: true, alwaysScroll: true, keys: true, mouse: true,
      padding: { left: 1, right: 1 }, style: { border: { fg: 'cyan' } },
    });
    helpBox.key(['escape', '?', 'q'], () => closeHelp());
    helpBox.focus();
    helpBox.setFront();
    screen.render();
  }

  async function pickScreen(): Promise<void> {
    const picked = await dialogs.pick('Go to screen', defs.map((d, i) => ({ label: `${d.group.padEnd(13)}${i < 9 ? `${i + 1} ` : '  '}${d.title}`, value: i })));
    if (picked !== null && !quitting) showPane(picked);
  }

  function quit(): void {
    if (quitting) return;
    quitting = true;
    dialogs.closeAll();
    orgScope.cancel('quit');
    for (const p of panes) p.destroy();
    unwatch();
    restoreConsole();
    resolveDone();
  }

  // The connection indicator: every call reports whether the server answered; a probe covers quiet times.
  const unwatch = opts.client.watch((r: Reachability) => {
    const was = connection.state;
    if (r.ok) {
      lastOk = Date.now();
      if (was !== 'online') connection = { state: 'online', since: Date.now() };
    } else if (was !== 'offline') connection = { state: 'offline', since: Date.now(), error: r.error, lastOk };
    if (was !== connection.state) {
      if (connection.state === 'offline') error(`Server unreachable (${r.ok ? '' : clean(r.error)}); what is shown may be stale.`);
      else notify('Server reachable again.');
      renderChrome();
      screen.render();
    }
  });
  void (async () => {
    const probe = opts.scope.child('probe');
    try {
      // Bounded by the root scope: it ends when the TUI quits.
      while (!probe.cancelled) {
        await sleep(PROBE_INTERVAL_MS, probe.signal);
        await opts.client.request('GET', '/healthz', { signal: probe.signal }).catch(() => undefined);
      }
    } catch {
      // cancelled
    }
  })();

  // Global keys are ignored while a dialog or the help is open; C-c always quits (ignoreLocked passes it through text input).
  const global = (fn: () => void) => () => {
    if (!dialogs.open && !helpBox && !quitting) fn();
  };
  screen.key(['C-c'], () => quit());
  screen.key(['q'], global(quit));
  screen.key(['?'], () => {
    if (helpBox) return;
    if (!dialogs.open && !quitting) openHelp();
  });
  screen.key(['tab'], global(() => showPane(active + 1)));
  screen.key(['S-tab'], global(() => showPane(active - 1)));
  screen.key(['g'], global(() => void pickScreen()));
  for (let i = 0; i < Math.min(9, defs.length); i++) screen.key([String(i + 1)], global(() => showPane(i)));
  tabs.on('click', (data: { x: number }) => {
    if (dialogs.open || quitting) return;
    const hit = bar.spans.find((s) => data.x >= s.start && data.x < s.end);
    if (hit) showPane(hit.index);
  });
  screen.key(['o'], global(async () => {
    if (!opts.me) return;
    // The list is fetched afresh: organisations may have been created or left since the TUI started.
    const scope = opts.scope.child('me');
    const orgs = await opts.client.me(scope.signal).then((me) => me.organizations, (err) => {
      if (!scope.cancelled) error(`Listing organisations failed: ${describeError(err)}`);
      return opts.me?.organizations ?? [];
    }).finally(() => scope.cancel('done'));
    if (quitting || dialogs.open) return;
    const picked = await dialogs.pick('Organisation', orgs.map((o) => ({ label: `${clean(o.name)} (${o.role ?? 'member'})  ${o.id}`, value: o })));
    if (picked && picked.id !== org?.id && !quitting) switchOrg(picked);
  }));
  screen.on('resize', () => {
    const h = logHeight();
    logPane.height = h;
    body.bottom = h + 2;
    for (const p of panes) p.relayout();
    logPane.setScrollPerc(100);
    renderChrome();
    screen.render();
  });

  buildPanes();
  showPane(0);
  log(opts.operator ? `Attached to ${opts.client.baseUrl} as operator ${clean(opts.operator.name)}.` : `Attached to ${opts.client.baseUrl} as ${clean(opts.me?.name)}.`);

  return {
    done,
    quit,
    get orgId() {
      return org?.id ?? null;
    },
    get pane() {
      return panes[active]?.title ?? '';
    },
  };
}
