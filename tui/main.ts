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
import { createScope } from './tasks.ts';
import { clean, describeError } from './views/text.ts';

export interface RunTuiOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** A control-panel token (`pbc_…`). */
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
  let me;
  try {
    me = await client.me(root.signal);
  } catch (err) {
    return fail(`cannot attach to ${opts.url}: ${describeError(err)}`);
  }
  const org = opts.org ? me.organizations.find((o) => o.id === opts.org) : me.organizations[0];
  if (!org) return fail(opts.org ? `${clean(me.name)} is not a member of organisation ${clean(opts.org)}.` : `${clean(me.name)} belongs to no organisation.`);

  // Our own handlers come first: blessed exits the process on these signals when it is their only listener,
  // which would skip the terminal restore and the cancellation below.
  let app: TuiApp | undefined;
  const onSignal = (): void => app?.quit();
  for (const s of SIGNALS) process.on(s, onSignal);
  let screen: Widgets.Screen | undefined;
  try {
    let note: string | null;
    ({ screen, note } = createScreen(opts));
    app = createTuiApp({ screen, client, me, orgId: org.id, scope: root });
    if (note) console.warn(note); // console now writes to the log pane
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
function createScreen(opts: RunTuiOptions): { screen: Widgets.Screen; note: string | null } {
  // extended:false skips terminfo's extended capabilities (newer ncurses' Setulc breaks blessed's compiler).
  // (@types/blessed swaps input/output and mistypes tput, hence the cast.)
  const programOptions = { input: opts.input, output: opts.output, extended: false, forceUnicode: true, tput: true };
  // blessed's terminfo compiler console.error()s pages of generated code when it meets a capability it cannot
  // parse (ncurses 6 extended-number entries), then falls back to its own entry; keep that off the terminal.
  const diagnostics: string[] = [];
  const restoreConsole = redirectConsole((_level, text) => diagnostics.push(text));
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
  const failed = diagnostics.filter((d) => d.startsWith('Error on ')).length;
  const note = diagnostics.length ? `terminfo: blessed could not compile ${failed} capabilities and uses its built-in entry (details suppressed)` : null;
  return { screen, note };
}
