/**
 * What the custom plugin screens share: a call whose failure the screen handles itself (a refused
 * manifest or config shows every problem, not one red line), a two-box layout (table above,
 * detail below), a Pane over several focusable lists, and the argument other screens pass to
 * the plugin log screen. Built on the shell's pane.ts; never formats data (views/ do).
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import { type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { textViewer } from '../plugin-dialogs.ts';
import { isAbortError, type Scope } from '../tasks.ts';
import { hasProblems, problemLines } from '../views/dev-plugins.ts';
import { describeError } from '../views/text.ts';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown } | { ok: false; cancelled: true };

/** Runs one call in a child scope and hands back its failure (cancellation is its own case, never reported). */
export async function call<T>(ctx: PaneContext, what: string, fn: (signal: AbortSignal) => Promise<T>, parent: Scope = ctx.scope): Promise<Outcome<T>> {
  const scope = parent.child(what);
  try {
    return { ok: true, value: await fn(scope.signal) };
  } catch (err) {
    if (isAbortError(err) || scope.cancelled) return { ok: false, cancelled: true };
    return { ok: false, error: err };
  } finally {
    scope.cancel('done');
  }
}

/** Reports a failure: an answer with a problem list opens it whole (scrollable); anything else is one red line. */
export async function reportFailure(ctx: PaneContext, what: string, err: unknown): Promise<void> {
  if (hasProblems(err)) {
    ctx.error(`${what} failed: ${describeError(err)}`);
    await textViewer(ctx.screen, `${what} refused`, [describeError(err), '', ...problemLines(err, '')], ctx.scope.signal);
    return;
  }
  ctx.error(`${what} failed: ${describeError(err)}`);
}

/** `call` + `reportFailure`: the value, or undefined after the failure was shown. */
export async function run<T>(ctx: PaneContext, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const r = await call(ctx, what, fn);
  if (r.ok) return r.value;
  if (!('cancelled' in r)) await reportFailure(ctx, what, r.error);
  return undefined;
}

/** Which plugin log the log screen shows (`ctx.go('plugin-logs', source)`). */
export type LogSource =
  | { kind: 'installation'; id: string; label: string }
  | { kind: 'plugin'; pluginId: string; label: string };

export function isLogSource(x: unknown): x is LogSource {
  const s = x as LogSource | null;
  return !!s && typeof s === 'object' && typeof s.label === 'string' && ((s.kind === 'installation' && typeof s.id === 'string') || (s.kind === 'plugin' && typeof s.pluginId === 'string'));
}

/** A pane over a root box with several focusable lists; `focus` says which one gets the focus on show. */
export function multiPane(opts: {
  title: string;
  keys: readonly KeyHelp[];
  root: Widgets.BoxElement;
  focus: () => Widgets.BlessedElement;
  load: () => Promise<void>;
  relayout: () => void;
  open?: (arg: unknown) => void;
  onDestroy?: () => void;
}): Pane {
  return {
    title: opts.title,
    help: opts.keys.map((k) => `${k.keys} ${k.does}`).join('  '),
    keys: opts.keys,
    open: opts.open,
    show() {
      opts.root.show();
      opts.focus().focus();
      void opts.load();
    },
    hide: () => opts.root.hide(),
    relayout: opts.relayout,
    destroy() {
      opts.onDestroy?.();
      opts.root.destroy();
    },
  };
}

export function rootBox(ctx: PaneContext): Widgets.BoxElement {
  return blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
}
