/**
 * Shared helper of the TUI end-to-end tests: runs the real TUI (`node tui/main-cli.ts`) inside
 * tmux on a private socket, against a server URL, with the token in a 0600 token file (never on
 * the command line). Reads the screen with `capture-pane`, types keys, resizes, and waits for
 * screen states with bounded polls (no fixed sleeps: a loaded machine only makes waits longer).
 *
 *   const skip = tmuxSkip();                       // test option: skips only when tmux is missing AND not under CI=true
 *   await using tui = await startTui({ url: t.url, token: ownerToken, cols: 80, rows: 24 });
 *   await tui.waitFor('the keys screen', /Gateway keys/);
 *   tui.keys('n'); tui.type('my key'); tui.keys('Enter');
 *   await tui.quit();                               // q, then asserts exit status 0 and an empty stderr
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/app.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'tui', 'main-cli.ts');
/** Longest wait for one screen state: generous for 2 loaded cores, still bounded. Override with PLUGBOARD_TUI_TEST_TIMEOUT_MS. */
export const SCREEN_TIMEOUT_MS = Number(process.env.PLUGBOARD_TUI_TEST_TIMEOUT_MS) || 45_000;
const POLL_MS = 100;

/** The two sizes every operator task is checked at. */
export const SIZES = [
  { cols: 160, rows: 48 },
  { cols: 80, rows: 24 },
] as const;

/**
 * The `skip` option of a tmux test: a reason when tmux is missing, false otherwise. Under CI=true a
 * missing tmux is not a reason to skip: the test runs and fails on its first tmux command.
 */
export function tmuxSkip(): string | false {
  const v = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  const missing = v.error || v.status !== 0;
  if (!missing) return false;
  if (process.env.CI === 'true') return false;
  const reason = 'tmux is not installed (apt-get install -y tmux): the end-to-end TUI tests need it';
  console.log(`# skipping: ${reason}`);
  return reason;
}

export interface TuiSession extends AsyncDisposable {
  /** Send tmux key names: 'Enter', 'Down', 'Space', 'C-c', 'n', '?' … */
  keys(...keys: string[]): void;
  /** Type literal text (into a form field). */
  type(text: string): void;
  /** The screen now, as text (lines joined by \n). */
  capture(): string;
  /** Polls until the screen matches (substring, RegExp or predicate); fails with the last screen after `timeoutMs`. */
  waitFor(what: string, check: string | RegExp | ((screen: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Polls until the screen no longer matches. */
  waitForGone(what: string, check: string | RegExp, timeoutMs?: number): Promise<string>;
  resize(cols: number, rows: number): void;
  /** Presses q and waits for the process to exit; asserts status 0 and nothing on stderr. */
  quit(): Promise<void>;
  /** What the TUI wrote to stderr (behind the screen). */
  stderr(): string;
  readonly cols: number;
  readonly rows: number;
}

let sessions = 0;

export async function startTui(o: { url: string; token: string; cols?: number; rows?: number; org?: string; env?: Record<string, string> }): Promise<TuiSession> {
  const cols = o.cols ?? 160;
  const rows = o.rows ?? 48;
  const socket = `pb-tui-${process.pid}-${++sessions}`;
  const dir = tempDir('plugboard-tui-');
  const errFile = path.join(dir, 'stderr.txt');
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${o.token}\n`, { mode: 0o600 });
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const env = Object.entries({ TERM: 'xterm-256color', LANG: 'C.UTF-8', NCURSES_NO_UTF8_ACS: '1', ...o.env }).map(([k, v]) => `${k}=${quote(v)}`).join(' ');
  const command = [
    `env ${env}`, quote(process.execPath), quote(CLI), '--url', quote(o.url), '--token-file', quote(tokenFile),
    ...(o.org ? ['--org', quote(o.org)] : []), `2>${quote(errFile)}`,
    // The exit status is printed after the screen is gone, and the pane stays open to show it.
    '; echo "TUI-EXIT:$?"; sleep 600',
  ].join(' ');
  const run = (...args: string[]): string => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 20_000 });
  let size = { cols, rows };
  const capture = (): string => run('capture-pane', '-t', 't', '-p');
  const matches = (screen: string, check: string | RegExp | ((s: string) => boolean)): boolean =>
    typeof check === 'string' ? screen.includes(check) : check instanceof RegExp ? check.test(screen) : check(screen);

  async function poll(what: string, ok: (s: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    // Bounded by the deadline.
    for (;;) {
      try {
        last = capture();
      } catch (err) {
        last = `(capture failed: ${(err as Error).message})`;
      }
      if (ok(last)) return last;
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (${size.cols}x${size.rows}).\n--- screen ---\n${last}\n--- stderr ---\n${readErr()}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  const readErr = (): string => (fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : '');
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    spawnSync('tmux', ['-L', socket, 'kill-server'], { timeout: 10_000 });
  };

  run('new-session', '-d', '-s', 't', '-x', String(cols), '-y', String(rows), command);
  const session: TuiSession = {
    keys: (...keys) => void run('send-keys', '-t', 't', ...keys),
    type: (text) => void run('send-keys', '-t', 't', '-l', text),
    capture,
    waitFor: (what, check, timeoutMs = SCREEN_TIMEOUT_MS) => poll(what, (s) => matches(s, check), timeoutMs),
    waitForGone: (what, check, timeoutMs = SCREEN_TIMEOUT_MS) => poll(what, (s) => !matches(s, check), timeoutMs),
    resize(c, r) {
      size = { cols: c, rows: r };
      run('resize-window', '-t', 't', '-x', String(c), '-y', String(r));
    },
    async quit() {
      session.keys('q');
      await poll('the process to exit', (s) => /TUI-EXIT:\d+/.test(s), SCREEN_TIMEOUT_MS);
      assert.match(capture(), /TUI-EXIT:0/, 'the TUI exits with status 0');
      assert.equal(readErr(), '', 'nothing was written to stderr behind the screen');
    },
    stderr: readErr,
    get cols() {
      return size.cols;
    },
    get rows() {
      return size.rows;
    },
    async [Symbol.asyncDispose]() {
      kill();
    },
  };
  try {
    await session.waitFor('the TUI to start', (s) => s.includes(' Plugboard: ') || /TUI-EXIT:\d+/.test(s));
  } catch (err) {
    kill();
    throw err;
  }
  return session;
}

/** The screen's lines (without the trailing newline). */
export function lines(screen: string): string[] {
  return screen.replace(/\n$/, '').split('\n');
}

/** True when no line of `screen` is wider than `cols` columns (nothing drawn past the edge). */
export function fitsWidth(screen: string, cols: number): boolean {
  return lines(screen).every((l) => [...l].length <= cols);
}

/**
 * Makes the screen titled `title` the active one by pressing Tab (at most once per registered screen)
 * until the tab bar (row 2) shows it as `[N Title]` or `[Title]`. Returns the screen then.
 */
export async function gotoScreen(tui: TuiSession, title: string, maxScreens = 40): Promise<string> {
  const active = new RegExp(`\\[(\\d )?${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]`);
  for (let i = 0; i <= maxScreens; i++) {
    const s = tui.capture();
    const bar = lines(s)[1] ?? '';
    if (active.test(bar)) return s;
    tui.keys('Tab');
    await tui.waitFor(`the tab bar to move on from "${bar.trim()}"`, (x) => (lines(x)[1] ?? '') !== bar);
  }
  throw new Error(`No screen titled ${title} after ${maxScreens} Tabs.\n${tui.capture()}`);
}
