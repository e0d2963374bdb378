/**
 * Pure views of the app's chrome: the tab bar (a window of tabs around the active one that fits
 * the width, with ‹ › when tabs are hidden, and the column span of each shown tab for mouse
 * clicks), the status-bar key line for a role, the `?` help text and the connection indicator.
 * Never import blessed or do I/O.
 */
import type { Role } from '../../src/shared/api.ts';
import type { KeyHelp } from '../pane.ts';
import { clean, clockTime, displayWidth, truncate } from './text.ts';

export interface TabBar {
  text: string;
  /** Where each visible tab sits (0-based columns, end exclusive). */
  spans: Array<{ index: number; start: number; end: number }>;
}

const label = (title: string, i: number, active: boolean): string => {
  const n = i < 9 ? `${i + 1} ` : '';
  return active ? `[${n}${title}]` : ` ${n}${title} `;
};

/** The tabs around `active` that fit in `width` columns; the active tab is always whole. */
export function tabBar(titles: readonly string[], active: number, width: number): TabBar {
  if (!titles.length) return { text: '', spans: [] };
  const labels = titles.map((t, i) => label(clean(t), i, i === active));
  // Grow a window around the active tab, alternating right and left, while it fits with its arrows.
  let lo = active;
  let hi = active;
  const cost = (a: number, b: number): number => {
    let w = 0;
    for (let i = a; i <= b; i++) w += displayWidth(labels[i]);
    return w + (a > 0 ? 2 : 0) + (b < labels.length - 1 ? 2 : 0);
  };
  for (let grew = true; grew;) {
    grew = false;
    if (hi + 1 < labels.length && cost(lo, hi + 1) <= width) {
      hi++;
      grew = true;
    }
    if (lo > 0 && cost(lo - 1, hi) <= width) {
      lo--;
      grew = true;
    }
  }
  let text = lo > 0 ? '‹ ' : '';
  const spans: TabBar['spans'] = [];
  for (let i = lo; i <= hi; i++) {
    const start = displayWidth(text);
    text += labels[i];
    spans.push({ index: i, start, end: displayWidth(text) });
  }
  if (hi < labels.length - 1) text += ' ›';
  return { text: truncate(text, width), spans };
}

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };
const allowed = (k: KeyHelp, role: Role | null): boolean => role === null || !k.needs || RANK[role] >= RANK[k.needs];

/** The status bar: the keys this role may use, then the global ones. */
export function statusKeys(keys: readonly KeyHelp[] | undefined, fallback: string, role: Role | null): string {
  const own = keys ? keys.filter((k) => allowed(k, role)).map((k) => `${k.keys} ${k.does}`).join('  ') : fallback;
  return `${own}${own ? '  |  ' : ''}? help  g screens  q quit`;
}

/** The keys every screen has (the app handles them). */
export const GLOBAL_KEYS: readonly KeyHelp[] = [
  { keys: '?', does: 'this help' },
  { keys: 'g', does: 'go to a screen (menu of all screens)' },
  { keys: 'Tab / S-Tab', does: 'next / previous screen' },
  { keys: '1-9', does: 'screen by number' },
  { keys: 'o', does: 'switch organisation' },
  { keys: 'mouse', does: 'click a tab, a row or a list; wheel scrolls' },
  { keys: 'q / C-c', does: 'quit' },
];

/** Lines of the help overlay; keys the role may not use are marked, and `grey(i)` says which lines to dim. */
export function helpLines(title: string, keys: readonly KeyHelp[] | undefined, fallback: string, role: Role | null): { lines: string[]; dim: number[] } {
  const lines: string[] = [`Keys of ${clean(title)}`, ''];
  const dim: number[] = [];
  const own: readonly KeyHelp[] = keys ?? fallback.split(/ {2,}/).filter(Boolean).map((part) => {
    const at = part.indexOf(' ');
    return at === -1 ? { keys: part, does: '' } : { keys: part.slice(0, at), does: part.slice(at + 1) };
  });
  const width = Math.max(12, ...own.map((k) => displayWidth(k.keys) + 2), ...GLOBAL_KEYS.map((k) => displayWidth(k.keys) + 2));
  const row = (k: KeyHelp): string => `  ${k.keys.padEnd(width)}${k.does}`;
  if (!own.length) lines.push('  (no keys of its own)');
  for (const k of own) {
    if (!allowed(k, role)) {
      dim.push(lines.length);
      lines.push(`${row(k)}  (needs ${k.needs})`);
    } else lines.push(row(k));
  }
  lines.push('', 'Everywhere', '');
  for (const k of GLOBAL_KEYS) lines.push(row(k));
  lines.push('', '? or Esc closes this help.');
  return { lines, dim };
}

export type Connection = { state: 'online'; since: number } | { state: 'offline'; since: number; error: string; lastOk: number | null };

/** `● online` or `✕ OFFLINE … STALE since 12:00:01`: the data on screen may be old. */
export function connectionLabel(c: Connection): string {
  if (c.state === 'online') return '● online';
  const since = c.lastOk === null ? 'never loaded' : `data from ${clockTime(c.lastOk).slice(0, 8)}`;
  return `✕ OFFLINE (STALE, ${since})`;
}
