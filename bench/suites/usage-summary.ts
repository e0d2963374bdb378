/**
 * `usage-summary` suite (issue 13): what the usage summary costs as the usage table grows, and
 * what maintaining its rollups costs the recording path.
 *
 * 1. **Summary latency at N events** (default 10 thousand and 10 million; `--usage-sizes`). For
 *    each N: a fresh data dir set up with the CLI (`migrate`, `org create`, `key create`), then N
 *    usage events written straight into usage_events with one SQL statement per million rows (the
 *    fast way to a big table: a recursive CTE; 20 clients, each with its own key, model (5), instance
 *    (3 values), tools (10) and plugin (4), as real traffic correlates them; 4 kinds, 1 error in 17,
 *    spread over the last 6.9 days), then the rollups built by the **backfill
 *    SQL of migration 0009 itself** (timed: what an upgrade with N events costs), then
 *    `node src/main.ts serve` on that data dir. The orchestrator (idle otherwise) then asks
 *    `GET /organizations/{id}/usage/summary` at c=1 — warm-up, then `--usage-samples` requests
 *    per query (1h, 24h, 7d; totals only, by key, by model) — and checks every answer (status 200,
 *    and the 7-day completion count equal to the events it must count). Reported: p50/p99 per query
 *    and size, and the ratio p50 at the largest N ÷ p50 at the smallest (goal: close to 1), and, for
 *    scale, the same 7-day by-key answer computed from usage_events with GROUP BY at the largest N.
 * 2. **Rollup maintenance per recorded event**: the recorder writes usage events in batches off the
 *    request path (usage/recorder.ts); rollups are folded and upserted in the same transaction
 *    (storage/repos/usage-rollups.ts). Measured in this process on a temp database: µs per event of
 *    `insertMany` with rollups and without (`rollups: null`), alternating in rounds, for batches of
 *    1, 50 and 500 events, for passthrough-like events (one key and model, same minute) and the
 *    worst case (every event in cells of its own). The difference is what rollups add per event.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeCli, parseJsonOutput, sleep } from '../lib/gateway.ts';
import { freePort, runNode, spawnLogged, tail, waitForHttp200, type ChildHandle } from '../lib/proc.ts';
import { fmtInt, fmtMs, fmtRatio } from '../lib/report.ts';
import { median, summarize, type Distribution } from '../lib/stats.ts';
import type { Goal, Section, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { openDb, type Db } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createUsageEventsRepo, type UsageEventInput } from '../../src/storage/repos/usage-events.ts';

const DAY = 86_400_000;
/** Rows per INSERT … SELECT (one transaction each). */
const CHUNK = 1_000_000;
const QUERIES = ['range=1h', 'range=1h&groupBy=key', 'range=24h', 'range=24h&groupBy=model', 'range=7d', 'range=7d&groupBy=key'];

interface SizeResult {
  events: number;
  buildSeconds: number;
  backfillSeconds: number;
  rollupRows: number;
  dbBytes: number;
  queries: Record<string, Distribution>;
  rawGroupByMs?: number;
}

function backfillSql(repoRoot: string): string {
  const sql = fs.readFileSync(path.join(repoRoot, 'src', 'storage', 'migrations', '0009_usage_rollups_audit.sql'), 'utf8');
  const start = sql.indexOf('CREATE TEMP TABLE usage_rollup_cells');
  const endMarker = 'DROP TABLE usage_rollup_cells;';
  const end = sql.indexOf(endMarker);
  if (start < 0 || end < 0) throw new Error('migration 0009 has no backfill section');
  return sql.slice(start, end + endMarker.length);
}

/** N synthetic usage events for one organisation, oldest first, spread over `spanMs` before `now`. */
function insertEvents(db: Db, orgId: string, keyId: string, n: number, now: number, spanMs: number): void {
  const stmt = db.prepare(`
    WITH RECURSIVE c(x) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT x + 1 FROM c WHERE x + 1 < ?)
    INSERT INTO usage_events (org_id, request_id, kind, key_id, instance_id, plugin_id, tool, model, status, http_status,
      error_class, prompt_tokens, completion_tokens, latency_ms, stream, created_at)
    SELECT ?, printf('req_%012d', x),
      CASE (x / 20) % 4 WHEN 3 THEN 'tool_call' WHEN 2 THEN 'model_turn' ELSE 'completion' END,
      CASE x % 20 WHEN 0 THEN ? ELSE 'key_' || (x % 20) END,
      CASE x % 3 WHEN 0 THEN NULL ELSE 'wa_' || (x % 3) END,
      CASE (x / 20) % 4 WHEN 3 THEN 'plg_' || (x % 4) ELSE NULL END,
      CASE (x / 20) % 4 WHEN 3 THEN 'crm__tool' || (x % 10) ELSE NULL END,
      'model-' || (x % 5),
      CASE WHEN x % 17 = 0 THEN 'error' ELSE 'ok' END, CASE WHEN x % 17 = 0 THEN 502 ELSE 200 END,
      CASE WHEN x % 17 = 0 THEN 'upstream_error' ELSE NULL END,
      x % 1000, x % 400, (x * 7919) % 3000, 0,
      CAST(? + (x * ?) / ? AS INTEGER)
    FROM c`);
  // Whole milliseconds, as the gateway stores Date.now() (better-sqlite3 binds numbers as REAL: the CAST keeps them integers).
  const start = Math.round(now - spanMs);
  for (let from = 0; from < n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK);
    db.transaction(() => stmt.run(from, to, orgId, keyId, start, spanMs, n))();
  }
}

async function setUp(ctx: SuiteContext, n: number): Promise<{ dataDir: string; env: NodeJS.ProcessEnv; orgId: string; ownerToken: string; result: Omit<SizeResult, 'queries'> }> {
  const o = ctx.options;
  const main = path.join(o.repoRoot, 'src', 'main.ts');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-bench-usage-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PLUGBOARD_')) env[k] = v;
  Object.assign(env, {
    PLUGBOARD_HOST: '127.0.0.1', PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1', PLUGBOARD_UPSTREAM_API_KEY: 'bench',
    PLUGBOARD_BOOTSTRAP: 'false', PLUGBOARD_RATE_LIMIT_RPM: '0',
    // The synthetic events are recent, but nothing may prune them under the measurement.
    PLUGBOARD_USAGE_RETENTION_DAYS: '0',
    ...o.gatewayEnv,
  });
  const cli = async (args: string[]) => {
    const r = await runNode([main, ...args], env, 120_000, o.repoRoot);
    if (r.code !== 0 || r.timedOut) throw new Error(`usage-summary set-up failed: ${describeCli(`node src/main.ts ${args.join(' ')}`, r)}`);
    return parseJsonOutput(r.stdout) ?? {};
  };
  await cli(['migrate']);
  const org = await cli(['org', 'create', '--name', 'bench-usage', '--json']);
  const key = await cli(['key', 'create', '--org', String(org.organizationId), '--json']);
  const orgId = String(org.organizationId);
  const keyId = String(key.id ?? key.keyId ?? 'key_0');

  const db = openDb({ file: path.join(dataDir, 'plugboard.db') });
  let buildSeconds = 0;
  let backfillSeconds = 0;
  let rollupRows = 0;
  try {
    db.pragma('synchronous = OFF');
    const now = Date.now();
    ctx.log(`usage-summary: writing ${fmtInt(n)} usage events…`);
    let t0 = performance.now();
    insertEvents(db, orgId, keyId, n, now, Math.round(6.9 * DAY));
    buildSeconds = (performance.now() - t0) / 1000;
    ctx.log(`usage-summary: ${fmtInt(n)} events in ${buildSeconds.toFixed(1)} s; rollups by migration 0009's backfill…`);
    t0 = performance.now();
    db.transaction(() => {
      db.exec('DELETE FROM usage_rollups');
      db.exec(backfillSql(o.repoRoot));
    })();
    backfillSeconds = (performance.now() - t0) / 1000;
    rollupRows = (db.prepare('SELECT COUNT(*) AS n FROM usage_rollups').get() as { n: number }).n;
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const dbBytes = fs.statSync(path.join(dataDir, 'plugboard.db')).size;
  return { dataDir, env, orgId, ownerToken: String(org.ownerToken), result: { events: n, buildSeconds, backfillSeconds, rollupRows, dbBytes } };
}

async function measureSize(ctx: SuiteContext, n: number, samples: number, failures: string[], withRawGroupBy: boolean): Promise<SizeResult> {
  const o = ctx.options;
  const { dataDir, env, orgId, ownerToken, result } = await setUp(ctx, n);
  const port = await freePort();
  const logFile = path.join(dataDir, 'gateway.log');
  let handle: ChildHandle | undefined;
  const queries: Record<string, Distribution> = {};
  let rawGroupByMs: number | undefined;
  try {
    handle = spawnLogged(`gateway-${n}`, [path.join(o.repoRoot, 'src', 'main.ts'), 'serve'], { ...env, PLUGBOARD_PORT: String(port) }, port, logFile, o.repoRoot);
    try {
      await waitForHttp200(`http://127.0.0.1:${port}/healthz`, 120_000, handle);
    } catch (err) {
      throw new Error(`gateway did not become healthy: ${(err as Error).message}\n${tail(logFile, 20)}`);
    }
    const base = `http://127.0.0.1:${port}/organizations/${orgId}/usage/summary?`;
    const headers = { authorization: `Bearer ${ownerToken}` };
    // Completions among the N events ((x / 20) % 4 ∈ {0, 1}), every one within 7 days.
    let completions = 0;
    for (let x = 0; x < n; x += 20) if (Math.floor(x / 20) % 4 < 2) completions += Math.min(20, n - x);
    for (const q of QUERIES) {
      const lat: number[] = [];
      for (let i = 0; i < samples + 5; i++) {
        const t0 = performance.now();
        const res = await fetch(base + q, { headers });
        const body = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) {
          failures.push(`${fmtInt(n)} events, ${q}: HTTP ${res.status} ${body.slice(0, 200)}`);
          break;
        }
        if (i === 0 && q === 'range=7d') {
          const got = (JSON.parse(body) as { totals: { requests: number } }).totals.requests;
          if (got !== completions) failures.push(`${fmtInt(n)} events: 7-day completions ${got}, expected ${completions}`);
        }
        if (i >= 5) lat.push(ms);
      }
      queries[q] = summarize(lat);
      ctx.log(`usage-summary: ${fmtInt(n)} events, ${q}: p50 ${fmtMs(queries[q].p50)} ms`);
    }
  } finally {
    await handle?.stop(5000);
  }
  if (withRawGroupBy) {
    // For scale: the 7-day by-key answer from the raw table, as a summary without rollups would compute it.
    const db = openDb({ file: path.join(dataDir, 'plugboard.db') });
    try {
      const t0 = performance.now();
      db.prepare(`SELECT key_id, created_at / 3600000 AS h, COUNT(*), SUM(status = 'error'), SUM(prompt_tokens), SUM(completion_tokens), SUM(latency_ms), MAX(latency_ms)
        FROM usage_events WHERE org_id = ? AND kind = 'completion' AND created_at >= ? GROUP BY key_id, h`).all(orgId, Date.now() - 7 * DAY);
      rawGroupByMs = performance.now() - t0;
    } finally {
      db.close();
    }
  }
  if (!o.keepTemp) fs.rmSync(dataDir, { recursive: true, force: true });
  else ctx.log(`usage-summary: kept ${dataDir}`);
  return { ...result, queries, rawGroupByMs };
}

/** µs per event of insertMany with and without rollups, alternating, median over rounds. */
function measureMaintenance(ctx: SuiteContext, rounds: number): Array<{ shape: string; batch: number; with: number; without: number; perRound: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-bench-rollups-'));
  const db = openDb({ file: path.join(dir, 'm.db') });
  const out: Array<{ shape: string; batch: number; with: number; without: number; perRound: number[] }> = [];
  try {
    migrate(db);
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_bench', 'bench', 0)").run();
    const withRollups = createUsageEventsRepo(db);
    const without = createUsageEventsRepo(db, { rollups: null });
    const now = Date.now();
    const events = (shape: string, count: number, offset: number): UsageEventInput[] => Array.from({ length: count }, (_, i) => {
      const distinct = shape === 'worst case';
      const k = offset + i;
      return {
        orgId: 'org_bench', requestId: `req_${String(now).padStart(13, '0')}_${k}`, kind: 'completion', keyId: distinct ? `key_${k}` : 'key_1',
        instanceId: distinct ? `wa_${k}` : null, model: distinct ? `model-${k}` : 'gpt-4o-mini', tool: distinct ? `t_${k}` : null, pluginId: distinct ? `p_${k}` : null,
        status: 'ok', httpStatus: 200, promptTokens: 12, completionTokens: 30, latencyMs: 3 + (k % 40), stream: false,
        createdAt: distinct ? now - (k % 10_000) * 60_000 : now,
      };
    });
    // Fewer events for one-event batches (a transaction each): the figure is per event either way.
    const perRun = (batch: number) => (batch === 1 ? 2_000 : 20_000);
    let offset = 0;
    for (const shape of ['passthrough-like', 'worst case']) {
      for (const batch of [1, 50, 500]) {
        const per: { with: number[]; without: number[] } = { with: [], without: [] };
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const);
          for (const side of order) {
            const n = perRun(batch);
            const evs = events(shape, n, offset);
            offset += n;
            const repo = side === 'with' ? withRollups : without;
            const t0 = performance.now();
            for (let i = 0; i < evs.length; i += batch) repo.insertMany(evs.slice(i, i + batch));
            per[side].push(((performance.now() - t0) * 1000) / n);
          }
        }
        const diffs = per.with.map((w, i) => w - per.without[i]);
        out.push({ shape, batch, with: median(per.with), without: median(per.without), perRound: diffs });
        ctx.log(`usage-summary: rollups, ${shape}, batch ${batch}: ${median(per.with).toFixed(1)} vs ${median(per.without).toFixed(1)} µs/event`);
      }
    }
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export const usageSummarySuite: Suite = {
  name: 'usage-summary',
  description: 'usage summary latency at 10K vs 10M usage events (served from rollups); rollup maintenance µs per recorded event',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const o = ctx.options;
    const sizes = o.usage.sizes;
    const failures: string[] = [];
    const results: SizeResult[] = [];
    for (let i = 0; i < sizes.length; i++) {
      if (ctx.interrupted()) break;
      results.push(await measureSize(ctx, sizes[i], o.usage.samples, failures, i === sizes.length - 1));
      await sleep(200);
    }
    const maintenance = ctx.interrupted() ? [] : measureMaintenance(ctx, o.usage.rounds);

    const small = results[0];
    const large = results[results.length - 1];
    const sections: Section[] = [];
    sections.push({
      title: 'Data sets (raw events written with SQL; rollups by migration 0009\'s backfill)',
      columns: ['usage events', 'write s', 'backfill s', 'rollup rows', 'db MB'],
      rows: results.map((r) => [fmtInt(r.events), r.buildSeconds.toFixed(1), r.backfillSeconds.toFixed(1), fmtInt(r.rollupRows), (r.dbBytes / 1e6).toFixed(0)]),
    });
    const ratios: number[] = [];
    sections.push({
      title: 'GET /organizations/{id}/usage/summary, c=1 (ms)',
      columns: ['query', ...results.flatMap((r) => [`p50 @${fmtInt(r.events)}`, `p99 @${fmtInt(r.events)}`]), `p50 ratio ${fmtInt(large?.events ?? 0)} ÷ ${fmtInt(small?.events ?? 0)}`],
      rows: QUERIES.map((q) => {
        const ratio = large && small ? large.queries[q]?.p50 / small.queries[q]?.p50 : Number.NaN;
        ratios.push(ratio);
        return [q, ...results.flatMap((r) => [fmtMs(r.queries[q]?.p50 ?? Number.NaN), fmtMs(r.queries[q]?.p99 ?? Number.NaN)]), fmtRatio(ratio)];
      }),
      notes: large?.rawGroupByMs !== undefined ? [`For scale: the 7-day by-key figures computed from usage_events with GROUP BY at ${fmtInt(large.events)} events took ${fmtMs(large.rawGroupByMs)} ms (one run, in-process).`] : [],
    });
    sections.push({
      title: 'Rollup maintenance: insertMany µs per event, with rollups vs without (median of rounds)',
      columns: ['events', 'batch', 'with rollups', 'without', 'added µs/event', 'added range'],
      rows: maintenance.map((m) => [m.shape, String(m.batch), m.with.toFixed(1), m.without.toFixed(1), (m.with - m.without).toFixed(1),
        `${Math.min(...m.perRound).toFixed(1)}…${Math.max(...m.perRound).toFixed(1)}`]),
      notes: [
        'The recorder writes events in batches off the request path (every 50 ms or 500 events), so under load batches are large and events share cells.',
        'Passthrough records one completion event per request: the added cost per request is the "added µs/event" of its batch size.',
      ],
    });
    const worst = Math.max(...ratios.filter(Number.isFinite));
    const goals: Goal[] = [{
      description: `summary p50 at ${fmtInt(large?.events ?? 0)} events ÷ at ${fmtInt(small?.events ?? 0)} (worst query)`,
      value: worst, shown: fmtRatio(worst), target: '≤ 1.5× (close to 1)', pass: Number.isFinite(worst) && results.length > 1 ? worst <= 1.5 : null,
    }];
    return {
      name: 'usage-summary',
      title: 'usage-summary: the summary from rollups at growing usage tables; rollup maintenance cost',
      settings: [
        ['sizes', sizes.map(fmtInt).join(', ')],
        ['samples', `${o.usage.samples} per query after 5 warm-up requests, sequential (c=1), from the orchestrator`],
        ['rollup rounds', `${o.usage.rounds} × 20,000 events (2,000 for batches of 1) per (shape, batch, side), sides alternating`],
      ],
      sections, goals, failures,
      data: { results, maintenance },
    };
  },
};
