/**
 * Pure text charts for the usage screen: a column chart of a series (block characters, eight
 * levels per row) resampled to the width, horizontal bars per group, and compact numbers.
 * Never import blessed or do I/O.
 */
import { displayWidth, fit, truncate } from './text.ts';

const LEVELS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** `values` squeezed (max of each slice) or stretched to exactly `width` columns. */
export function resample(values: readonly number[], width: number): number[] {
  if (width <= 0 || !values.length) return [];
  const out: number[] = [];
  for (let c = 0; c < width; c++) {
    const a = Math.floor((c * values.length) / width);
    const b = Math.max(a + 1, Math.floor(((c + 1) * values.length) / width));
    let m = 0;
    for (let i = a; i < b && i < values.length; i++) m = Math.max(m, values[i]);
    out.push(m);
  }
  return out;
}

/** Rows (top first) of a column chart `height` rows high; the tallest value fills the chart. */
export function columnChart(values: readonly number[], width: number, height: number): string[] {
  const cols = resample(values, width);
  const max = Math.max(0, ...cols);
  const rows: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    let line = '';
    for (const v of cols) {
      // Eighths of a row filled in this row; a non-zero value shows at least one eighth.
      const eighths = max === 0 ? 0 : Math.max(v > 0 ? 1 : 0, Math.round((v / max) * height * 8));
      line += LEVELS[Math.max(0, Math.min(8, eighths - r * 8))];
    }
    rows.push(line);
  }
  return rows;
}

/** 1234 → `1.2k`, 2500000 → `2.5M`. */
export function compact(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 10) / 10);
}

/** One line per row: label, a bar proportional to the value, the value. */
export function barLines(rows: ReadonlyArray<{ label: string; value: number }>, width: number): string[] {
  const max = Math.max(0, ...rows.map((r) => r.value));
  const labelW = Math.min(24, Math.max(6, ...rows.map((r) => displayWidth(r.label))));
  const valueW = 7;
  const barW = Math.max(4, width - labelW - valueW - 2);
  return rows.map((r) => {
    const n = max === 0 ? 0 : Math.round((r.value / max) * barW);
    const bar = '█'.repeat(Math.max(r.value > 0 ? 1 : 0, n));
    return truncate(`${fit(r.label, labelW)} ${fit(bar, barW)} ${fit(compact(r.value), valueW, 'right')}`, width);
  });
}
