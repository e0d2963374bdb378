/**
 * Pure views of WhatsApp number instances and their plugin grants (nothing is granted by
 * default), plus the toggle that computes the next `enabledPluginIds`. Never import blessed or
 * call the API.
 */
import type { Plugin, WhatsAppInstance } from '../../src/shared/api.ts';
import { clean } from './text.ts';

export const WHATSAPP_UNAVAILABLE = 'WhatsApp channel not available on this server';

export function instanceLine(i: WhatsAppInstance): string {
  return `${clean(i.name)}  ${clean(i.sender)}  [${clean(i.status)}]`;
}

export function grantLine(p: Plugin, enabled: readonly string[]): string {
  return `[${enabled.includes(p.id) ? 'x' : ' '}] ${clean(p.slug)}  ${clean(p.displayName)} (${p.toolCount} tools)`;
}

/** The grant list after toggling `pluginId`, in the order of `plugins` (ids the TUI does not know are kept). */
export function toggleGrant(enabled: readonly string[], pluginId: string, plugins: readonly Plugin[]): string[] {
  const set = new Set(enabled);
  if (set.has(pluginId)) set.delete(pluginId);
  else set.add(pluginId);
  const known = plugins.map((p) => p.id).filter((id) => set.has(id));
  const unknown = [...set].filter((id) => !plugins.some((p) => p.id === id));
  return [...known, ...unknown];
}

/** Width of one number's column in the matrix (its name, cut). */
export const MATRIX_CELL = 12;

/**
 * The grants matrix: one row per plugin, one column per number, `[x]` granted. The focused cell
 * is drawn `>[x]<` so it shows without colour; `first` is the first number column shown (the
 * matrix scrolls sideways when the numbers do not fit `width`).
 */
export function grantsMatrix(
  plugins: readonly Plugin[], numbers: readonly WhatsAppInstance[], grants: ReadonlyMap<string, readonly string[]>, focus: { col: number }, width: number,
): { header: string; rows: string[]; first: number; shown: number } {
  const nameWidth = Math.max(14, Math.min(28, width - MATRIX_CELL * Math.max(1, numbers.length) - 1));
  const shown = Math.max(1, Math.floor((width - nameWidth - 1) / MATRIX_CELL));
  const first = Math.max(0, Math.min(focus.col - shown + 1, numbers.length - shown, focus.col));
  const visible = numbers.slice(first, first + shown);
  const pad = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const more = (first > 0 ? '‹' : ' ') + (first + shown < numbers.length ? '›' : ' ');
  const header = `${pad(`PLUGIN ${more}`, nameWidth)} ${visible.map((n, k) => pad(first + k === focus.col ? `[${clean(n.name)}]` : clean(n.name), MATRIX_CELL)).join('')}`;
  const rows = plugins.map((p) => {
    const cells = visible.map((n, k) => {
      const on = grants.get(n.id)?.includes(p.id) ? 'x' : ' ';
      const mark = first + k === focus.col ? `>[${on}]<` : ` [${on}] `;
      return mark.padEnd(MATRIX_CELL);
    });
    return `${pad(`${clean(p.slug)} (${p.toolCount})`, nameWidth)} ${cells.join('')}`.trimEnd();
  });
  return { header, rows, first, shown };
}
