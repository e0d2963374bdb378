/**
 * What every pane shares: the context the app hands it (screen, body box, the organisation's API
 * client, its cancellation scope, dialogs, notify), the Pane contract the app drives, a table
 * widget (header line + selectable rows laid out by views/text.ts) and `attempt`, which runs one
 * API call in a child scope and reports failures. Panes never build the app layout or quit.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import type { Me, Organization, Role } from '../src/shared/api.ts';
import type { ApiClient, OrgClient } from './client.ts';
import type { Dialogs, FormField } from './dialogs.ts';
import type { Scope } from './tasks.ts';
import { isAbortError } from './tasks.ts';
import { describeError, formatTable, type Column } from './views/text.ts';

export interface PaneContext {
  screen: Widgets.Screen;
  /** The body area every pane fills (one visible at a time). */
  parent: Widgets.BoxElement;
  api: OrgClient;
  /** The organisation's scope: cancelled when the operator switches organisation or quits. */
  scope: Scope;
  dialogs: Dialogs;
  /** A one-line message for the status bar (also kept in the log pane). */
  notify(message: string): void;
  /** The same, in red: something failed. */
  error(message: string): void;
  /** The whole client: calls outside the organisation (operator routes, /me) and area clients built on `request`. */
  client: ApiClient;
  /** The signed-in user (null in an operator session). */
  me: Me | null;
  /** The organisation in view (null in an operator session). */
  org: Organization | null;
  /** The user's role in it ('member' when unknown; null in an operator session). */
  role: Role | null;
  /** True when the session may perform actions that need `needed` (operators: always). */
  can(needed: Role): boolean;
  /** Shows `screenId` (e.g. a drill-down into another screen); `arg` goes to that pane's `open(arg)`. */
  go(screenId: string, arg?: unknown): void;
  /** The organisation in view was changed (renamed in Settings): the header and `org` show it at once. Another organisation's is ignored. */
  orgChanged?(next: Organization): void;
}

/** One key of a screen, for the status bar and the `?` help overlay. */
export interface KeyHelp {
  /** As typed: `n`, `space`, `enter`, `C-r`. */
  keys: string;
  does: string;
  /** The least role that may use it: shown greyed in the help and left out of the status bar below it. */
  needs?: Role;
}

export interface Pane {
  readonly title: string;
  /** Key help for the status bar (used when `keys` is absent). */
  readonly help: string;
  /** Every key of the screen (status bar and `?` help overlay). */
  readonly keys?: readonly KeyHelp[];
  /** Called by `ctx.go(id, arg)` after `show()`: select or open what `arg` names. */
  open?(arg: unknown): void;
  /** Makes the pane visible, focuses it and reloads its data. */
  show(): void;
  hide(): void;
  /** Re-renders rows for the current width (after a resize). */
  relayout(): void;
  destroy(): void;
}

/** The Pane of a view built around one table that reloads whenever it is shown. */
export function tablePane(opts: { title: string; help: string; keys?: readonly KeyHelp[]; root: Widgets.BoxElement; table: TableWidget; load: () => Promise<void>; onDestroy?: () => void }): Pane {
  return {
    title: opts.title,
    help: opts.help,
    keys: opts.keys,
    show() {
      opts.root.show();
      opts.table.list.focus();
      void opts.load();
    },
    hide: () => opts.root.hide(),
    relayout: () => opts.table.relayout(),
    destroy() {
      opts.onDestroy?.();
      opts.root.destroy();
    },
  };
}

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** True when `role` is at least `needed` (owner > admin > member). */
export function roleAtLeast(role: Role | null | undefined, needed: Role): boolean {
  return RANK[role ?? 'member'] >= RANK[needed];
}

/**
 * Wraps a key handler that needs `needed`: below it the key only says why nothing happens (the
 * server would answer 403 anyway; this keeps the operator from filling a form in vain).
 */
export function guarded(ctx: PaneContext, needed: Role, what: string, fn: () => unknown): () => void {
  return () => {
    if (!ctx.can(needed)) {
      ctx.error(`${what} needs the ${needed} role (you are ${ctx.role ?? 'member'}).`);
      return;
    }
    void fn();
  };
}

/** Runs `fn` with a fresh child scope of `parent`; failures are reported, cancellations are silent. */
export async function attempt<T>(ctx: PaneContext, what: string, fn: (signal: AbortSignal) => Promise<T>, parent: Scope = ctx.scope): Promise<T | undefined> {
  const scope = parent.child(what);
  try {
    return await fn(scope.signal);
  } catch (err) {
    if (!isAbortError(err) && !scope.cancelled) ctx.error(`${what} failed: ${describeError(err)}`);
    return undefined;
  } finally {
    scope.cancel('done');
  }
}

/**
 * A form that keeps its values after an error: opens `fields`, checks them with `check` (a message
 * or null), runs `submit`; on a refusal (local or from the server) it reopens with what was typed and
 * the error in red. Resolves with the result, or undefined when the operator cancels (Esc).
 */
export async function formUntilDone<K extends string, T>(
  ctx: PaneContext,
  title: string,
  fields: Array<FormField<K>>,
  submit: (values: Record<K, string>, signal: AbortSignal) => Promise<T>,
  check: (values: Record<K, string>) => string | null = () => null,
): Promise<T | undefined> {
  let current = fields;
  let error: string | undefined;
  // Bounded by the operator: every round waits for a submit, and Esc ends it.
  for (;;) {
    const values = await ctx.dialogs.form(title, current, { error });
    if (!values || ctx.scope.cancelled) return undefined;
    current = current.map((f) => ({ ...f, value: values[f.name] }));
    error = check(values) ?? undefined;
    if (error) {
      ctx.error(`${title}: ${error}`);
      continue;
    }
    const scope = ctx.scope.child(title);
    try {
      return await submit(values, scope.signal);
    } catch (err) {
      if (isAbortError(err) || scope.cancelled) return undefined;
      error = describeError(err);
      ctx.error(`${title} failed: ${error}`);
    } finally {
      scope.cancel('done');
    }
  }
}

export interface TableWidget {
  box: Widgets.BoxElement;
  list: Widgets.ListElement;
  /** Shows `rows` (or `empty` when there are none); keeps the selection where possible. */
  setRows(rows: string[][], empty?: string): void;
  relayout(): void;
  selected(): number;
}

/** Where a widget sits in its parent (blessed's numbers, percentages and `center`). */
export type Place = { top?: number | string; left?: number | string; right?: number | string; bottom?: number | string; width?: number | string; height?: number | string };

const selectedStyle = { selected: { inverse: true }, item: {} };

/** A bordered box with a column header and a keyboard-driven list of rows. */
export function createTable(parent: Widgets.Node, opts: { label: string; columns: Column[]; position: Place }): TableWidget {
  const box = blessed.box({ parent, ...opts.position, border: { type: 'line' }, label: ` ${opts.label} `, tags: false, style: { border: { fg: 'gray' } } });
  const header = blessed.text({ parent: box, top: 0, left: 0, right: 0, height: 1, tags: false, style: { bold: true } });
  const list = blessed.list({ parent: box, top: 1, left: 0, right: 0, bottom: 0, keys: true, mouse: true, tags: false, style: selectedStyle });
  let rows: string[][] = [];
  let empty = '';
  const width = (): number => Math.max(10, (box.width as number) - ((box.iwidth as unknown as number) ?? 2));
  const render = (): void => {
    const t = formatTable(opts.columns, rows, width());
    header.setContent(t.header);
    const index = (list as unknown as { selected: number }).selected ?? 0;
    list.setItems((rows.length ? t.lines : [empty]) as unknown as Widgets.BlessedElement[]);
    list.select(Math.min(index, Math.max(0, rows.length - 1)));
  };
  list.on('focus', () => box.style.border && (box.style.border.fg = 'cyan'));
  list.on('blur', () => box.style.border && (box.style.border.fg = 'gray'));
  return {
    box,
    list,
    setRows(next, emptyText = '(none)') {
      rows = next;
      empty = emptyText;
      render();
    },
    relayout: render,
    selected: () => (rows.length ? ((list as unknown as { selected: number }).selected ?? 0) : -1),
  };
}

/** A bordered, scrollable text panel (details, tool lists). */
export function createPanel(parent: Widgets.Node, opts: { label: string; position: Place }): Widgets.BoxElement {
  return blessed.box({
    parent, ...opts.position, border: { type: 'line' }, label: ` ${opts.label} `, tags: false, scrollable: true, alwaysScroll: true,
    keys: true, mouse: true, scrollbar: { ch: ' ', style: { inverse: true } }, style: { border: { fg: 'gray' } },
  });
}
