/**
 * The usage summary use case: totals, a dense time series and groups by one dimension over a
 * window, read from the rollups only (storage/repos/usage-rollups.ts) — never from usage_events,
 * so its cost follows the window and the number of groups, not how many events were recorded.
 * The recorder's pending batch is written first, so a completion that already answered counts.
 * Must never know about HTTP or Koa.
 */
import { invalidRequest } from '../errors.ts';
import {
  addFigures, emptyFigures, HOUR_MS, LATENCY_BOUNDS_MS, MINUTE_MS,
  type RollupDim, type RollupFigures, type UsageRollupsRepo,
} from '../storage/repos/usage-rollups.ts';
import type { UsageRecorder } from '../usage/recorder.ts';
// Minute rollups are kept this long (retention prunes older ones): a window of buckets under an hour must fit in it.
import { MINUTE_ROLLUPS_KEEP_MS } from '../usage/retention.ts';
import type { UsageSummaryBucket, UsageSummaryGroupBy, UsageSummaryKind, UsageSummaryRange } from '../shared/api-usage.ts';

export const RANGE_MS: Record<UsageSummaryRange, number> = { '1h': HOUR_MS, '24h': 24 * HOUR_MS, '7d': 7 * 24 * HOUR_MS };
export const BUCKET_MS: Record<UsageSummaryBucket, number> = {
  '1m': MINUTE_MS, '5m': 5 * MINUTE_MS, '15m': 15 * MINUTE_MS, '1h': HOUR_MS, '6h': 6 * HOUR_MS, '1d': 24 * HOUR_MS,
};
// 24h in hour points: read from hour rollups (24 rows a group), not 1,440 minute rows a group.
export const DEFAULT_BUCKET: Record<UsageSummaryRange, UsageSummaryBucket> = { '1h': '1m', '24h': '1h', '7d': '1h' };
/** The largest time a JavaScript Date holds (ms). */
const MAX_TIME_MS = 8.64e15;
/**
 * Points all the groups' series of one answer may have together (limit × points a series): 200
 * groups of 1,440 minute points were a 55 MB answer and ~480 MB of memory for one request of any
 * member (review). The default limit of 20 fits every bucket; 200 fits series of up to 250 points.
 */
export const MAX_GROUP_POINTS = 50_000;
/** Points a series may have: a chart wider than this is not a chart. */
export const MAX_POINTS = 1440;

export interface SummaryDeps {
  rollups: UsageRollupsRepo;
  recorder: Pick<UsageRecorder, 'flush'>;
  now?: () => number;
}

export interface SummaryQuery {
  range: UsageSummaryRange;
  groupBy?: UsageSummaryGroupBy;
  kind?: UsageSummaryKind;
  bucket?: UsageSummaryBucket;
  /** Unix ms; default now. */
  to?: number;
  limit: number;
}

export interface SummaryPoint extends RollupFigures {
  t: number;
}

export interface SummaryGroup {
  key: string | null;
  totals: RollupFigures;
  series: SummaryPoint[];
}

export interface Summary {
  orgId: string;
  range: UsageSummaryRange;
  kind: UsageSummaryKind;
  groupBy: UsageSummaryGroupBy | null;
  bucket: UsageSummaryBucket;
  bucketMs: number;
  from: number;
  to: number;
  totals: RollupFigures;
  series: SummaryPoint[];
  groups: SummaryGroup[];
  groupsTruncated: boolean;
}

/** The window: `points` buckets of `bucketMs` ending at the end of the bucket holding `to`. */
export function summaryWindow(range: UsageSummaryRange, bucket: UsageSummaryBucket, to: number): { from: number; to: number; points: number; bucketMs: number } {
  const bucketMs = BUCKET_MS[bucket];
  const points = Math.ceil(RANGE_MS[range] / bucketMs);
  // The end is aligned up, so every bucket is whole and equals the rollup cells it sums.
  const end = Math.floor(to / bucketMs) * bucketMs + bucketMs;
  return { from: end - points * bucketMs, to: end, points, bucketMs };
}

export function usageSummary(d: SummaryDeps, orgId: string, q: SummaryQuery): Summary {
  const range = q.range;
  const bucket = q.bucket ?? DEFAULT_BUCKET[range];
  const kind: UsageSummaryKind = q.kind ?? (q.groupBy === 'tool' || q.groupBy === 'plugin' ? 'tool_call' : 'completion');
  const w = summaryWindow(range, bucket, q.to ?? (d.now ?? Date.now)());
  if (w.points > MAX_POINTS) throw invalidRequest(`range ${range} with bucket ${bucket} makes ${w.points} points; at most ${MAX_POINTS}. Use a wider bucket.`, 'bucket', 'invalid_parameter');
  if (w.points < 1 || w.bucketMs > RANGE_MS[range]) throw invalidRequest(`bucket ${bucket} is wider than range ${range}.`, 'bucket', 'invalid_parameter');
  // The window's end must be a time a Date can hold (it is answered as ISO 8601): `to` near the largest one would not be (review).
  if (w.to > MAX_TIME_MS) throw invalidRequest(`to is too far in the future: the window must end by ${new Date(MAX_TIME_MS).toISOString()}.`, 'to', 'invalid_value');
  if (q.groupBy && q.limit * w.points > MAX_GROUP_POINTS) {
    throw invalidRequest(`groupBy with limit ${q.limit} and ${w.points} points a series makes ${q.limit * w.points} points; at most ${MAX_GROUP_POINTS}. Use a smaller limit or a wider bucket.`, 'limit', 'invalid_parameter');
  }
  const grain = w.bucketMs < HOUR_MS ? MINUTE_MS : HOUR_MS;
  const now = (d.now ?? Date.now)();
  if (grain === MINUTE_MS && w.from < now - MINUTE_ROLLUPS_KEEP_MS) {
    throw invalidRequest(`buckets under an hour are kept ${MINUTE_ROLLUPS_KEEP_MS / (24 * HOUR_MS)} days; this window starts earlier. Use bucket 1h or wider.`, 'bucket', 'invalid_parameter');
  }
  d.recorder.flush();

  // SQLite sums the rollups per point; they land in one flat array per group (FIELDS numbers per
  // point), and point objects are made once, at the end.
  const sumsOf = (dim: RollupDim, values?: readonly string[]): Map<string, Float64Array> => {
    const byValue = new Map<string, Float64Array>();
    for (const r of d.rollups.points({ orgId, grain, kind, dim, from: w.from, to: w.to, width: w.bucketMs, values })) {
      let sums = byValue.get(r[0]);
      if (!sums) {
        sums = new Float64Array(w.points * FIELDS);
        byValue.set(r[0], sums);
      }
      const at = r[1] * FIELDS;
      for (let f = 0; f < FIELDS; f++) sums[at + f] = r[2 + f] as number;
    }
    return byValue;
  };
  const seriesOf = (sums: Float64Array | undefined): SummaryPoint[] =>
    Array.from({ length: w.points }, (_, i) => ({ t: w.from + i * w.bucketMs, ...(sums ? figuresAt(sums, i * FIELDS) : emptyFigures()) }));
  const total = (series: SummaryPoint[]): RollupFigures => {
    const t = emptyFigures();
    for (const p of series) if (p.requests) addFigures(t, p);
    return t;
  };
  const series = seriesOf(sumsOf('all').get(''));
  let groups: SummaryGroup[] = [];
  let groupsTruncated = false;
  if (q.groupBy) {
    // The top `limit` values are chosen in SQLite first, and only theirs are summed into series:
    // a dimension can have any number of values in a window (a model name is whatever a caller
    // sent), and a series per value would hold points × 20 numbers each in memory (review).
    const top = d.rollups.topValues({ orgId, grain, kind, dim: q.groupBy, from: w.from, to: w.to, limit: q.limit + 1 });
    groupsTruncated = top.length > q.limit;
    const shown = top.slice(0, q.limit);
    const sums = shown.length ? sumsOf(q.groupBy, shown) : new Map<string, Float64Array>();
    // Most requests first, ties by value: the order topValues chose them in.
    groups = shown.map((value) => {
      const s = seriesOf(sums.get(value));
      return { key: value === '' ? null : value, totals: total(s), series: s };
    });
  }
  return {
    orgId, range, kind, groupBy: q.groupBy ?? null, bucket, bucketMs: w.bucketMs, from: w.from, to: w.to,
    totals: total(series), series, groups, groupsTruncated,
  };
}

/** Numbers per point in the flat sums: requests, errors, prompt, completion, latency sum, latency max, then the histogram. */
const FIELDS = 6 + LATENCY_BOUNDS_MS.length + 1;

function figuresAt(sums: Float64Array, at: number): RollupFigures {
  return {
    requests: sums[at], errors: sums[at + 1], promptTokens: sums[at + 2], completionTokens: sums[at + 3], latencySum: sums[at + 4],
    latencyMax: sums[at + 5], hist: Array.from(sums.subarray(at + 6, at + FIELDS)),
  };
}

/** p in (0, 1]: the upper bound of the histogram bucket holding the rank, capped by the maximum. Null without requests. */
export function percentile(f: RollupFigures, p: number): number | null {
  if (f.requests === 0) return null;
  const rank = Math.ceil(p * f.requests);
  let seen = 0;
  for (let i = 0; i < f.hist.length; i++) {
    seen += f.hist[i];
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? Math.min(LATENCY_BOUNDS_MS[i], f.latencyMax) : f.latencyMax;
  }
  return f.latencyMax;
}
