/**
 * Entry of `plugboard tui`: attaches to a running Plugboard server over HTTP (GET /me picks the
 * organisation), creates the blessed screen, runs the app until the operator quits and always
 * restores the terminal. Resolves with the exit code (0 after quitting, 1 when it could not start).
 * It must never import server code (only src/shared/api.ts types) nor call process.exit.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import { createApiClient } from './client.ts';
import { createTuiApp, type TuiApp } from './app.ts';
import { redirectConsole } from './console.ts';
import type { Me } from '../src/shared/api.ts';
import type { OperatorIdentity } from '../src/shared/api-custom-plugins.ts';
import { createScope } from './tasks.ts';
import { clean, describeError } from './views/text.ts';

export interface RunTuiOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** A control-panel token (`pbc_…`) or an operator token (`pbo_…`). */
  token: string;
  /** Organisation id; default: the first organisation of the token's user. */
  org?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Where start-up failures are written (default process.stderr). */
  errorOutput?: NodeJS.WritableStream;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export async function runTui(opts: RunTuiOptions): Promise<number> {
  const errorOutput = opts.errorOutput ?? process.stderr;
  const fail = (text: string): number => {
    errorOutput.write(`plugboard tui: ${text}\n`);
    return 1;
  };
  const root = createScope('tui');
  const client = createApiClient({ url: opts.url, token: opts.token });
  // An operator token (pbo_…) opens the operator screens; a control-panel token the organisation's.
  const isOperator = opts.token.startsWith('pbo_');
  let me: Me | null = null;
  let operator: OperatorIdentity | undefined;
  try {
    if (isOperator) operator = await client.request<OperatorIdentity>('GET', '/operator/me', { signal: root.signal });
    else me = await client.me(root.signal);
  } catch (err) {
    return fail(`cannot attach to ${opts.url}: ${describeError(err)}`);
  }
  let orgId: string | null = null;
  if (me) {
    const org = opts.org ? me.organizations.find((o) => o.id === opts.org) : me.organizations[0];
    if (!org) return fail(opts.org ? `${clean(me.name)} is not a member of organisation ${clean(opts.org)}.` : `${clean(me.name)} belongs to no organisation.`);
    orgId = org.id;
  }

  // Our own handlers come first: blessed exits the process on these signals when it is their only listener,
  // which would skip the terminal restore and the cancellation below.
  let app: TuiApp | undefined;
  const onSignal = (): void => app?.quit();
  for (const s of SIGNALS) process.on(s, onSignal);
  let screen: Widgets.Screen | undefined;
  try {
    screen = createScreen(opts);
    app = createTuiApp({ screen, client, me, orgId, operator, scope: root });
    screen.render();
    await app.done;
    return 0;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    root.cancel('quit');
    screen?.destroy();
  }
}

/** The screen on the given streams, with the options that keep blessed 0.1.81 well-behaved on modern terminals. */
function createScreen(opts: RunTuiOptions): Widgets.Screen {
  // extended:false skips terminfo's extended capabilities (newer ncurses' Setulc breaks blessed's compiler).
  // (@types/blessed swaps input/output and mistypes tput, hence the cast.)
  const programOptions = { input: opts.input, output: opts.output, extended: false, forceUnicode: true, tput: true };
  // blessed's terminfo compiler console.error()s pages of generated code when it meets a capability it cannot
  // parse (ncurses 6 extended-number entries), then falls back to its own entry, which works: keep that off the
  // terminal and out of the log pane (it is noise to an operator, and the screen works regardless).
  const restoreConsole = redirectConsole(() => undefined);
  let program;
  try {
    program = blessed.program(programOptions as unknown as Widgets.IScreenOptions);
  } finally {
    restoreConsole();
  }
  const screen = blessed.screen({
    program, fullUnicode: true, forceUnicode: true, smartCSR: true, autoPadding: true, resizeTimeout: 300,
    title: 'Plugboard', ignoreLocked: ['C-c'], warnings: false,
  });
  // blessed prints terminfo trouble while drawing too (e.g. `Error on xterm.Setulc`): the screen's own warnings stay off.
  screen.on('warning', () => undefined);
  return screen;
}
