/**
 * Pure text helpers for the views: make server-supplied strings safe to print (no control
 * characters or escape sequences from a customer's MCP server reach the terminal), measure them
 * in terminal columns, and lay rows out as fixed-width table lines. Never import blessed or do I/O.
 */

// C0 and C1 controls and DEL: an ESC from a tool description could otherwise drive the terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** One printable line: controls become spaces, null becomes the placeholder. */
export function clean(value: unknown, placeholder = '-'): string {
  if (value === null || value === undefined || value === '') return placeholder;
  return String(value).replace(CONTROL, ' ');
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  return isWide(cp) ? 2 : 1;
}

/** Terminal columns `s` takes (East Asian wide characters and emoji count 2, combining marks 0). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** Cuts `s` to at most `width` columns, ending in `…` when something was cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(s) <= width) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

/** `s` cut or padded with spaces to exactly `width` columns. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = truncate(s, width);
  const gap = ' '.repeat(Math.max(0, width - displayWidth(t)));
  return align === 'right' ? gap + t : t + gap;
}

export interface Column {
  title: string;
  /** Fixed width in columns; omit on the (one) column that takes the remaining space. */
  width?: number;
  /** Smallest width of the flexible column. */
  min?: number;
  align?: 'left' | 'right';
  /** Columns that may be left out when the table does not fit: the highest number goes first. */
  drop?: number;
}

export interface Table {
  header: string;
  lines: string[];
}

const need = (cols: Column[]): number => cols.reduce((sum, c) => sum + (c.width ?? c.min ?? 8), 0) + Math.max(0, cols.length - 1);

/** Lays `rows` out under `columns` in `totalWidth` columns (one space between cells), leaving out droppable columns that do not fit. */
export function formatTable(columns: Column[], rows: string[][], totalWidth: number): Table {
  let keep = columns.map((_, i) => i);
  // Bounded by the number of columns: each pass removes one.
  while (need(keep.map((i) => columns[i])) > totalWidth) {
    const droppable = keep.filter((i) => columns[i].drop !== undefined);
    if (!droppable.length) break;
    const victim = droppable.reduce((a, b) => (columns[b].drop! > columns[a].drop! ? b : a));
    keep = keep.filter((i) => i !== victim);
  }
  const cols = keep.map((i) => columns[i]);
  const fixed = cols.reduce((sum, c) => sum + (c.width ?? 0), 0) + Math.max(0, cols.length - 1);
  const flex = cols.filter((c) => c.width === undefined).length;
  const share = flex ? Math.floor((totalWidth - fixed) / flex) : 0;
  const widths = cols.map((c) => c.width ?? Math.max(c.min ?? 8, share));
  const line = (cells: string[]): string => truncate(keep.map((ci, k) => fit(cells[ci] ?? '', widths[k], cols[k].align)).join(' ').trimEnd(), totalWidth);
  return { header: line(columns.map((c) => c.title)), lines: rows.map(line) };
}

/** `2026-05-01T12:34:56.789Z` → `05-01 12:34:56` (UTC, the server's clock). */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const m = /^\d{4}-(\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : clean(iso);
}

/** Unix ms → `12:34:56.789` (UTC). */
export function clockTime(ms: number): string {
  if (!Number.isFinite(ms)) return '--:--:--.---';
  return new Date(ms).toISOString().slice(11, 23);
}

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`;
}

/** A message for any failure: API errors carry status and code, others their message. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; status?: number; code?: string | null; message?: string } | null;
  if (e?.name === 'TimeoutError') return 'the server did not answer in time';
  if (e?.name === 'ApiError' && typeof e.status === 'number') return clean(`${e.message} (HTTP ${e.status}${e.code ? `, ${e.code}` : ''})`);
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (e?.message === 'fetch failed' && cause) return clean(`cannot reach the server: ${cause.code ?? cause.message ?? 'network error'}`);
  return clean(e?.message ?? String(err));
}
