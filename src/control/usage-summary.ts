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
export const DEFAULT_BUCKET: Record<UsageSummaryRange, UsageSummaryBucket> = { '1h': '1m', '24h': '15m', '7d': '1h' };
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
  const grain = w.bucketMs < HOUR_MS ? MINUTE_MS : HOUR_MS;
  const now = (d.now ?? Date.now)();
  if (grain === MINUTE_MS && w.from < now - MINUTE_ROLLUPS_KEEP_MS) {
    throw invalidRequest(`buckets under an hour are kept ${MINUTE_ROLLUPS_KEEP_MS / (24 * HOUR_MS)} days; this window starts earlier. Use bucket 1h or wider.`, 'bucket', 'invalid_parameter');
  }
  d.recorder.flush();

  const seriesOf = (dim: RollupDim, rows = d.rollups.read({ orgId, grain, kind, dim, from: w.from, to: w.to })) => {
    const byValue = new Map<string, SummaryPoint[]>();
    for (const r of rows) {
      let series = byValue.get(r.value);
      if (!series) {
        series = Array.from({ length: w.points }, (_, i) => ({ t: w.from + i * w.bucketMs, ...emptyFigures() }));
        byValue.set(r.value, series);
      }
      addFigures(series[Math.floor((r.bucket - w.from) / w.bucketMs)], r);
    }
    return byValue;
  };
  const total = (series: SummaryPoint[]): RollupFigures => {
    const t = emptyFigures();
    for (const p of series) addFigures(t, p);
    return t;
  };
  const series = seriesOf('all').get('') ?? Array.from({ length: w.points }, (_, i) => ({ t: w.from + i * w.bucketMs, ...emptyFigures() }));
  let groups: SummaryGroup[] = [];
  let groupsTruncated = false;
  if (q.groupBy) {
    const all = [...seriesOf(q.groupBy)].map(([value, s]) => ({ key: value === '' ? null : value, totals: total(s), series: s }));
    all.sort((a, b) => b.totals.requests - a.totals.requests || (a.key ?? '').localeCompare(b.key ?? ''));
    groupsTruncated = all.length > q.limit;
    groups = all.slice(0, q.limit);
  }
  return {
    orgId, range, kind, groupBy: q.groupBy ?? null, bucket, bucketMs: w.bucketMs, from: w.from, to: w.to,
    totals: total(series), series, groups, groupsTruncated,
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
