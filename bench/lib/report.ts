/** Plain-text rendering of suite results and the JSON results file. */
import fs from 'node:fs';
import path from 'node:path';
import type { Goal, Section, SuiteResult } from './suite.ts';

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const a = Math.abs(ms);
  return ms.toFixed(a < 10 ? 3 : a < 100 ? 2 : 1);
}

export function fmtDiffMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return `${ms >= 0 ? '+' : '−'}${fmtMs(Math.abs(ms))}`;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : '-';
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** "median [min … max]" for a list of per-round values. */
export function withRange(med: string, lo: string, hi: string, rounds: number): string {
  return rounds > 1 && lo !== '-' ? `${med} [${lo}…${hi}]` : med;
}

export function renderTable(section: Section): string {
  const all = [section.columns, ...section.rows];
  const widths = section.columns.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  // First column left-aligned (labels), the rest right-aligned (numbers), except pure-text columns.
  const textCol = section.columns.map((_, i) => i === 0 || section.rows.every((r) => !/^[−+\-]?[\d.,]/.test(r[i] ?? '') && (r[i] ?? '') !== '-'));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (textCol[i] ? (cell ?? '').padEnd(widths[i]) : (cell ?? '').padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [section.title, line(section.columns), widths.map((w) => '─'.repeat(w)).join('  ')];
  for (const r of section.rows) out.push(line(r));
  for (const n of section.notes ?? []) out.push(`  ${n}`);
  return out.join('\n');
}

export function renderGoal(g: Goal): string {
  const tag = g.pass === null ? 'N/A ' : g.pass ? 'PASS' : 'FAIL';
  return `  [${tag}] ${g.description}: ${g.shown} (goal ${g.target})`;
}

export function renderSuite(r: SuiteResult): string {
  const out: string[] = [];
  out.push(`━━ ${r.title} ━━`);
  const w = Math.max(0, ...r.settings.map(([k]) => k.length));
  for (const [k, v] of r.settings) out.push(`  ${k.padEnd(w)}  ${v}`);
  for (const s of r.sections) out.push('', renderTable(s));
  if (r.goals.length) {
    out.push('', 'Goals');
    for (const g of r.goals) out.push(renderGoal(g));
  }
  if (r.failures.length) {
    out.push('', `Run problems (${r.failures.length}) — the measurement is not valid:`);
    for (const f of r.failures.slice(0, 20)) out.push(`  ✗ ${f}`);
    if (r.failures.length > 20) out.push(`  … ${r.failures.length - 20} more (see the JSON file)`);
  }
  return out.join('\n');
}

/** Writes `results` as pretty JSON; returns the path. NaN and Infinity become null. */
export function writeResults(dir: string, results: unknown, file?: string): string {
  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const out = file ? path.resolve(file) : path.join(dir, `${stamp}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return out;
}
