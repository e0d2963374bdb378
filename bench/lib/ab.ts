/**
 * A/B against a baseline checkout (`--baseline DIR`): what the baseline is (its commit), the
 * per-round comparison of the gateway with the baseline measured in the same round (gateway ÷
 * baseline req/s, gateway − baseline p50 and TTFB, their ratios), medians across rounds, and the
 * flag for a scenario that is worse in EVERY round by more than AB_WORSE. Reported, never judged as
 * a goal. It must never read or write anything of the baseline but its git metadata.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rotate } from './gateway.ts';
import type { LoadResult } from './loadgen-types.ts';
import { fmtDiffMs, fmtRatio, withRange } from './report.ts';
import { median, range } from './stats.ts';

/** A line is flagged when every round is worse than the baseline by more than this share. */
export const AB_WORSE = 0.05;

export interface BaselineInfo {
  dir: string;
  commit?: string;
  subject?: string;
  /** Tracked files differ from the commit. */
  dirty?: boolean;
  /** Whether DIR has node_modules of its own (else the current checkout's are used). */
  ownNodeModules: boolean;
}

function git(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Checks that `dir` is a Plugboard checkout and says which commit it is; throws a message otherwise. */
export function describeBaseline(dir: string): BaselineInfo {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new Error(`--baseline ${dir}: not a directory`);
  if (!fs.existsSync(path.join(abs, 'src', 'main.ts'))) throw new Error(`--baseline ${dir}: no src/main.ts — not a Plugboard checkout (e.g. \`git worktree add /work/wt/base <commit>\`)`);
  // Only DIR's own repository (a plain copy inside another repository is not that repository's HEAD).
  const top = git(abs, ['rev-parse', '--show-toplevel']);
  const own = top !== undefined && fs.realpathSync(top) === fs.realpathSync(abs);
  const status = own ? git(abs, ['status', '--porcelain', '--untracked-files=no']) : undefined;
  return {
    dir: abs,
    commit: own ? git(abs, ['rev-parse', 'HEAD']) : undefined,
    subject: own ? git(abs, ['log', '-1', '--format=%s']) : undefined,
    dirty: status === undefined ? undefined : status !== '',
    ownNodeModules: fs.existsSync(path.join(abs, 'node_modules')),
  };
}

export function baselineLabel(b: BaselineInfo): string {
  const c = b.commit ? b.commit.slice(0, 7) : 'unknown commit';
  return `${c}${b.dirty ? ' + local changes' : ''}${b.subject ? ` "${b.subject.length > 70 ? `${b.subject.slice(0, 70)}…` : b.subject}"` : ''} in ${b.dir}`;
}

/**
 * The order of the targets in round `r`: rotated as usual (`rotate`), but with `gateway` and
 * `baseline` back to back as one unit, the gateway first in even rounds and the baseline first in
 * odd ones. A plain rotation keeps the cyclic order, so each target would always follow the same
 * one (and inherit whatever it leaves behind); the swap keeps that from favouring either side.
 * Without a baseline it is exactly `rotate(items, r)`.
 */
export function roundOrder<T>(items: readonly T[], r: number, nameOf: (t: T) => string): T[] {
  const a = items.find((t) => nameOf(t) === 'gateway');
  const b = items.find((t) => nameOf(t) === 'baseline');
  if (a === undefined || b === undefined) return rotate(items, r);
  const units = items.filter((t) => t !== b).map((t) => (t === a ? (r % 2 ? [b, a] : [a, b]) : [t]));
  return rotate(units, r).flat();
}

/** One round: the gateway against the baseline measured in the same round. */
export interface AbRound {
  /** gateway req/s ÷ baseline req/s (> 1: the gateway is faster). */
  rpsRatio: number;
  /** gateway p50 − baseline p50, ms (= the difference of their added p50 over any common floor). */
  p50Diff: number;
  p50Ratio: number;
  p99Diff: number;
  /** SSE: the same for the time to the first event. */
  ttfbDiff: number;
  ttfbRatio: number;
  /** gateway CPU per request ÷ baseline CPU per request. */
  cpuRatio: number;
}

export function abRound(g: LoadResult | undefined, b: LoadResult | undefined, cpuKey: (which: 'gateway' | 'baseline') => string): AbRound {
  const div = (x?: number, y?: number) => (x !== undefined && y !== undefined && y > 0 ? x / y : Number.NaN);
  const sub = (x?: number, y?: number) => (x !== undefined && y !== undefined ? x - y : Number.NaN);
  return {
    rpsRatio: div(g?.rps, b?.rps),
    p50Diff: sub(g?.latency.p50, b?.latency.p50),
    p50Ratio: div(g?.latency.p50, b?.latency.p50),
    p99Diff: sub(g?.latency.p99, b?.latency.p99),
    ttfbDiff: sub(g?.ttfb?.p50, b?.ttfb?.p50),
    ttfbRatio: div(g?.ttfb?.p50, b?.ttfb?.p50),
    cpuRatio: div(g?.cpu[cpuKey('gateway')]?.usPerRequest, b?.cpu[cpuKey('baseline')]?.usPerRequest),
  };
}

export interface Agg {
  median: number;
  range: [number, number];
  perRound: number[];
}

export interface AbSummary {
  rounds: number;
  rpsRatio: Agg;
  p50Diff: Agg;
  p50Ratio: Agg;
  p99Diff: Agg;
  ttfbDiff: Agg;
  ttfbRatio: Agg;
  cpuRatio: Agg;
  /** Measures worse than the baseline by more than AB_WORSE in every round (empty: not flagged). */
  worse: string[];
}

const agg = (v: number[]): Agg => ({ median: median(v), range: range(v), perRound: v });

/**
 * Medians of the per-round values. Worse in every round: req/s ratio < 1 − AB_WORSE; p50 (and SSE
 * TTFB) ratio > 1 + AB_WORSE — the whole latency, so 5 % of the request's time, not of the small
 * part the hop adds. A measure missing in any round is not flagged.
 */
export function abSummary(rounds: AbRound[], sse: boolean): AbSummary {
  const pick = (k: keyof AbRound) => rounds.map((r) => r[k]);
  const all = (v: number[], bad: (x: number) => boolean) => v.length > 0 && v.every((x) => Number.isFinite(x) && bad(x));
  const worse: string[] = [];
  if (all(pick('rpsRatio'), (x) => x < 1 - AB_WORSE)) worse.push('req/s');
  if (all(pick('p50Ratio'), (x) => x > 1 + AB_WORSE)) worse.push('p50');
  if (sse && all(pick('ttfbRatio'), (x) => x > 1 + AB_WORSE)) worse.push('TTFB');
  return {
    rounds: rounds.length,
    rpsRatio: agg(pick('rpsRatio')),
    p50Diff: agg(pick('p50Diff')),
    p50Ratio: agg(pick('p50Ratio')),
    p99Diff: agg(pick('p99Diff')),
    ttfbDiff: agg(pick('ttfbDiff')),
    ttfbRatio: agg(pick('ttfbRatio')),
    cpuRatio: agg(pick('cpuRatio')),
    worse,
  };
}

/** "median [min…max]" of an aggregate. */
export function showAgg(a: Agg, f: (n: number) => string, rounds: number): string {
  return Number.isFinite(a.median) ? withRange(f(a.median), f(a.range[0]), f(a.range[1]), rounds) : '-';
}

/** The A/B columns of a scenario: gw/base req/s, gw − base p50, gw − base TTFB (SSE), CPU gw/base, flag. */
export const AB_COLUMNS = ['gw/base req/s', 'p50 gw − base', 'TTFB gw − base', 'CPU/req gw/base', `worse in every round by > ${AB_WORSE * 100}%`];

export function abCells(s: AbSummary, sse: boolean): string[] {
  return [
    showAgg(s.rpsRatio, fmtRatio, s.rounds),
    showAgg(s.p50Diff, fmtDiffMs, s.rounds),
    sse ? showAgg(s.ttfbDiff, fmtDiffMs, s.rounds) : '-',
    showAgg(s.cpuRatio, fmtRatio, s.rounds),
    s.worse.length ? `◀ WORSE: ${s.worse.join(', ')}` : 'no',
  ];
}

export function abNotes(b: BaselineInfo): string[] {
  return [
    `baseline = ${baselineLabel(b)}, started exactly like the gateway and measured in the same rounds, right before or after it (the order swaps every round).`,
    `gw/base > 1.00× and negative differences: the gateway is faster. Per-round values, then the median [min…max]; p50 and TTFB differences are gateway − baseline in ms (= the difference of what each adds over direct).`,
    `"WORSE" marks a measure whose EVERY round is worse by more than ${AB_WORSE * 100}% (req/s ratio < ${(1 - AB_WORSE).toFixed(2)}×, or p50/TTFB > ${(1 + AB_WORSE).toFixed(2)}× the baseline's). Reported, not a goal.`,
  ];
}

/** One settings line summing up the flags of a suite. */
export function abVerdict(flagged: { key: string; worse: string[] }[], rounds: number): string {
  const bad = flagged.filter((f) => f.worse.length);
  const every = `in every one of ${rounds} round${rounds === 1 ? '' : 's'} by > ${AB_WORSE * 100}%`;
  const few = rounds < 3 ? ` (only ${rounds} round${rounds === 1 ? '' : 's'}: a weak signal; use more rounds)` : '';
  return bad.length
    ? `${bad.length} scenario(s) worse than the baseline ${every}: ${bad.map((f) => `${f.key} (${f.worse.join(', ')})`).join('; ')}${few}`
    : `no scenario worse than the baseline ${every}${few}`;
}

/** Priming passes: each target's priming is split in this many slices, taken in turns. */
export const PRIME_PASSES = 6;

/**
 * Priming in turns, so that no target waits longer than another between being primed and being
 * measured. Priming one target after the other left the first one idle for minutes (tool loop:
 * four other targets × up to 30 s) before round 1, and an A/A run — this checkout against itself as
 * `--baseline` — measured the same code 0.87× req/s and 1.26× CPU per request at c=1 when primed
 * first: the long idle costs it its warm state (V8 ages out code that has not run), and a few
 * short rounds do not win it back. Here every target gets `passes` slices; the passes rotate, and
 * the last one runs in round 1's order (`roundOrder(targets, 0)`), so between a target's last
 * slice and its first measurement the same targets run for everyone.
 */
export async function primeInTurns<T>(
  targets: readonly T[],
  nameOf: (t: T) => string,
  passes: number,
  prime: (target: T, pass: number) => Promise<void>,
): Promise<void> {
  const last = roundOrder(targets, 0, nameOf);
  const n = last.length;
  for (let p = 0; p < passes; p++) {
    // One step further each pass, ending at round 1's order; stepping forward (not back) never
    // primes the target that ended a pass again right at the start of the next one (n > 2).
    for (const t of rotate(last, (((p - (passes - 1)) % n) + n) % n)) await prime(t, p);
  }
}
