/**
 * Usage rollups (migration 0009): per organisation × minute/hour bucket × kind × dimension (all,
 * key, model, tool, instance, plugin), the counts, token sums, latency sum/max and a latency
 * histogram of the usage events they summarise.
 *
 * `apply()` runs inside the usage-events insert transaction (usage-events.ts), so rollups and raw
 * rows never disagree, a journal replay rolls up exactly what it inserts, and the request path
 * pays nothing: the recorder writes in batches off it. A batch is first folded in memory into one
 * delta per cell — under load hundreds of events share a handful of cells — then upserted.
 * `points()` is what the usage summary serves from; it never touches usage_events.
 */
import type { Db } from '../db.ts';

/** Bucket widths kept, in ms. Minute rows serve buckets under an hour; hour rows the rest. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Upper bounds (ms) of the latency histogram h0…h12; h13 counts what lies above the last. Migration 0009 has the same. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000] as const;
const HIST = LATENCY_BOUNDS_MS.length + 1;

export const ROLLUP_DIMS = ['all', 'key', 'model', 'tool', 'instance', 'plugin'] as const;
export type RollupDim = (typeof ROLLUP_DIMS)[number];

/** One event as stored (after redaction): what a rollup needs of it. */
export interface RollupEvent {
  orgId: string;
  kind: string;
  keyId: string | null;
  model: string | null;
  tool: string | null;
  instanceId: string | null;
  pluginId: string | null;
  status: 'ok' | 'error';
  promptTokens: number | null;
  completionTokens: number | null;
  /** Integer ms, as stored. */
  latencyMs: number;
  createdAt: number;
}

/** The figures of one cell (or any sum of cells). */
export interface RollupFigures {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  latencySum: number;
  latencyMax: number;
  /** Counts per histogram bucket (length LATENCY_BOUNDS_MS.length + 1). */
  hist: number[];
}

export function emptyFigures(): RollupFigures {
  return { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, latencySum: 0, latencyMax: 0, hist: new Array(HIST).fill(0) };
}

/** Adds `b` into `a`. */
export function addFigures(a: RollupFigures, b: RollupFigures): void {
  a.requests += b.requests;
  a.errors += b.errors;
  a.promptTokens += b.promptTokens;
  a.completionTokens += b.completionTokens;
  a.latencySum += b.latencySum;
  if (b.latencyMax > a.latencyMax) a.latencyMax = b.latencyMax;
  for (let i = 0; i < HIST; i++) a.hist[i] += b.hist[i];
}

/** Index of the histogram bucket a latency falls in. */
export function histIndex(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (latencyMs <= LATENCY_BOUNDS_MS[i]) return i;
  return LATENCY_BOUNDS_MS.length;
}

const HCOLS = Array.from({ length: HIST }, (_, i) => `h${i}`);
const COLUMNS = ['org_id', 'grain', 'kind', 'dim', 'bucket', 'value', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'latency_sum', 'latency_max', ...HCOLS];
const ROWS_PER_UPSERT = 48;
const UPDATE = [
  'requests = requests + excluded.requests', 'errors = errors + excluded.errors',
  'prompt_tokens = prompt_tokens + excluded.prompt_tokens', 'completion_tokens = completion_tokens + excluded.completion_tokens',
  'latency_sum = latency_sum + excluded.latency_sum', 'latency_max = MAX(latency_max, excluded.latency_max)',
  ...HCOLS.map((h) => `${h} = ${h} + excluded.${h}`),
].join(', ');

interface Cell extends RollupFigures {
  orgId: string; grain: number; kind: string; dim: RollupDim; bucket: number; value: string;
}

/**
 * Folds events into one delta per (org, grain, kind, dim, bucket, value). Two steps, so an event
 * costs one map key, not twelve: events with the same organisation, kind, dimension values and
 * minute are summed first (under load nearly all of a batch), then each sum is spread over its
 * twelve cells (two grains × six dimensions).
 */
export function foldEvents(events: readonly RollupEvent[]): Cell[] {
  const tuples = new Map<string, { e: RollupEvent; minute: number; f: RollupFigures }>();
  for (const e of events) {
    const minute = Math.floor(e.createdAt / MINUTE_MS) * MINUTE_MS;
    const id = `${e.orgId}\u0000${e.kind}\u0000${e.keyId ?? ''}\u0000${e.model ?? ''}\u0000${e.tool ?? ''}\u0000${e.instanceId ?? ''}\u0000${e.pluginId ?? ''}\u0000${minute}`;
    let t = tuples.get(id);
    if (!t) {
      t = { e, minute, f: emptyFigures() };
      tuples.set(id, t);
    }
    const f = t.f;
    f.requests += 1;
    if (e.status === 'error') f.errors += 1;
    f.promptTokens += e.promptTokens ?? 0;
    f.completionTokens += e.completionTokens ?? 0;
    f.latencySum += e.latencyMs;
    if (e.latencyMs > f.latencyMax) f.latencyMax = e.latencyMs;
    f.hist[histIndex(e.latencyMs)] += 1;
  }
  const cells = new Map<string, Cell>();
  for (const { e, minute, f } of tuples.values()) {
    const values: Array<[RollupDim, string]> = [
      ['all', ''], ['key', e.keyId ?? ''], ['model', e.model ?? ''], ['tool', e.tool ?? ''], ['instance', e.instanceId ?? ''], ['plugin', e.pluginId ?? ''],
    ];
    for (const grain of [MINUTE_MS, HOUR_MS]) {
      const bucket = Math.floor(minute / grain) * grain;
      for (const [dim, value] of values) {
        const id = `${e.orgId}\u0000${grain}\u0000${e.kind}\u0000${dim}\u0000${bucket}\u0000${value}`;
        let c = cells.get(id);
        if (!c) {
          c = { orgId: e.orgId, grain, kind: e.kind, dim, bucket, value, ...emptyFigures() };
          cells.set(id, c);
        }
        addFigures(c, f);
      }
    }
  }
  return [...cells.values()];
}

export function createUsageRollupsRepo(db: Db) {
  const upserts = new Map<number, ReturnType<Db['prepare']>>();
  const upsertFor = (rows: number): ReturnType<Db['prepare']> => {
    let stmt = upserts.get(rows);
    if (!stmt) {
      const tuple = `(${new Array(COLUMNS.length).fill('?').join(', ')})`;
      stmt = db.prepare(
        `INSERT INTO usage_rollups (${COLUMNS.join(', ')}) VALUES ${new Array(rows).fill(tuple).join(', ')}
         ON CONFLICT (org_id, grain, kind, dim, bucket, value) DO UPDATE SET ${UPDATE}`,
      );
      upserts.set(rows, stmt);
    }
    return stmt;
  };
  // Summed per (value, point) in SQL and read as arrays: a 24-hour chart of 15-minute points from
  // minute rows returns 96 rows per group, not 1440 objects of 26 fields.
  const pointsStmt = db.prepare(
    `SELECT value, CAST((bucket - ?) / ? AS INTEGER) AS i, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens), SUM(latency_sum),
       MAX(latency_max), ${HCOLS.map((h) => `SUM(${h})`).join(', ')}
     FROM usage_rollups WHERE org_id = ? AND grain = ? AND kind = ? AND dim = ? AND bucket >= ? AND bucket < ?
     GROUP BY value, i`,
  ).raw();
  // The same sums for chosen values only (a JSON array): the groups a summary shows, never every value in the window.
  const pointsOfStmt = db.prepare(
    `SELECT value, CAST((bucket - ?) / ? AS INTEGER) AS i, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens), SUM(latency_sum),
       MAX(latency_max), ${HCOLS.map((h) => `SUM(${h})`).join(', ')}
     FROM usage_rollups WHERE org_id = ? AND grain = ? AND kind = ? AND dim = ? AND bucket >= ? AND bucket < ?
       AND value IN (SELECT value FROM json_each(?))
     GROUP BY value, i`,
  ).raw();
  // The values with the most requests in the window, ranked in SQLite: a dimension may have any
  // number of values (a model name is whatever the caller sent), and only `limit` of them are shown.
  const topStmt = db.prepare(
    `SELECT value FROM usage_rollups WHERE org_id = ? AND grain = ? AND kind = ? AND dim = ? AND bucket >= ? AND bucket < ?
     GROUP BY value ORDER BY SUM(requests) DESC, value LIMIT ?`,
  ).pluck();
  // The literal 60000 lets SQLite use the partial index usage_rollups_minutes (migration 0009).
  const pruneStmt = db.prepare(
    `DELETE FROM usage_rollups WHERE (org_id, grain, kind, dim, bucket, value) IN
       (SELECT org_id, grain, kind, dim, bucket, value FROM usage_rollups WHERE grain = 60000 AND bucket < ? LIMIT ?)`,
  );
  return {
    /** Adds the events to their rollups. Call inside the transaction that inserts them. */
    apply(events: readonly RollupEvent[]): void {
      const cells = foldEvents(events);
      for (let i = 0; i < cells.length; i += ROWS_PER_UPSERT) {
        const slice = cells.slice(i, i + ROWS_PER_UPSERT);
        const args: unknown[] = [];
        for (const c of slice) {
          args.push(c.orgId, c.grain, c.kind, c.dim, c.bucket, c.value, c.requests, c.errors, c.promptTokens, c.completionTokens, c.latencySum, c.latencyMax, ...c.hist);
        }
        const stmt = upsertFor(slice.length);
        (stmt.run as (...p: unknown[]) => unknown).apply(stmt, args);
      }
    },
    /**
     * Rollups of one organisation, grain, kind and dimension in [from, to), summed per value and
     * point of `width` ms from `from`: rows [value, point index, requests, errors, prompt tokens,
     * completion tokens, latency sum, latency max, h0…h13].
     */
    points(q: { orgId: string; grain: number; kind: string; dim: RollupDim; from: number; to: number; width: number; values?: readonly string[] }): Array<[string, number, ...number[]]> {
      if (q.values) return pointsOfStmt.all(q.from, q.width, q.orgId, q.grain, q.kind, q.dim, q.from, q.to, JSON.stringify(q.values)) as Array<[string, number, ...number[]]>;
      return pointsStmt.all(q.from, q.width, q.orgId, q.grain, q.kind, q.dim, q.from, q.to) as Array<[string, number, ...number[]]>;
    },
    /** The `limit` values of one dimension with the most requests in [from, to), most first (ties by value). */
    topValues(q: { orgId: string; grain: number; kind: string; dim: RollupDim; from: number; to: number; limit: number }): string[] {
      return topStmt.all(q.orgId, q.grain, q.kind, q.dim, q.from, q.to, q.limit) as string[];
    },
    /** Deletes at most `limit` minute rollups older than `before`; returns how many. Hour rollups are kept. */
    pruneMinutes(before: number, limit: number): number {
      return pruneStmt.run(before, limit).changes;
    },
  };
}
export type UsageRollupsRepo = ReturnType<typeof createUsageRollupsRepo>;
