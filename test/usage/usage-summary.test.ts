/**
 * The usage summary (issue 13): served from rollups, its figures equal the raw events they
 * summarise — random events over 8 days, every range × groupBy × kind, every group and every
 * bucket compared with an independent computation over usage_events; the migration's backfill
 * builds the same rollups as recording does; retention prunes raw events in bounded batches and
 * the summary stays; bad input is a 400 in the error shape; every member reads, others do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, tempDir } from '../helpers/app.ts';
import { assertWireError, buildUsageEvent, waitFor } from '../helpers/factories.ts';
import type { UsageEventInput, UsageKind } from '../../src/storage/repos/usage-events.ts';
import { createUsageEventsRepo } from '../../src/storage/repos/usage-events.ts';
import { createUsageRollupsRepo, LATENCY_BOUNDS_MS } from '../../src/storage/repos/usage-rollups.ts';
import { createUsagePruner } from '../../src/usage/retention.ts';
import { openDb } from '../../src/storage/db.ts';
import { loadMigrations, migrate } from '../../src/storage/migrate.ts';
import type { UsageSummary, UsageFigures } from '../../src/shared/api-usage.ts';
import path from 'node:path';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KINDS: UsageKind[] = ['completion', 'model_turn', 'tool_call', 'loop_cap'];
const BUCKET_MS: Record<string, number> = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': HOUR, '6h': 6 * HOUR, '1d': DAY };
const RANGE_MS: Record<string, number> = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY };

/** Deterministic PRNG (mulberry32): a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEvents(orgId: string, n: number, now: number, seed: number, keys: string[]): UsageEventInput[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out: UsageEventInput[] = [];
  for (let i = 0; i < n; i++) {
    // Dense in the last hour and day, sparser back to 8 days (some outside every window).
    const age = r() < 0.35 ? r() * HOUR : r() < 0.6 ? r() * DAY : r() * 8 * DAY;
    const kind = pick(KINDS);
    const latency = pick([0, 3, 5, 5.4, 5.6, 10, 24.5, 50, 99, 100, 101, 260, 999, 1000, 2600, 7000, 12_000, 45_000, 61_000, 90_000]) + (r() < 0.3 ? r() * 3 : 0);
    out.push(buildUsageEvent({
      orgId, requestId: `req_${seed}_${i}`, kind,
      keyId: r() < 0.2 ? null : pick(keys),
      model: r() < 0.05 ? null : pick(['gpt-a', 'gpt-b', 'claude-c']),
      tool: kind === 'tool_call' ? pick(['crm__lookup', 'shop__order', 'wa__send']) : null,
      pluginId: kind === 'tool_call' ? pick(['plg_crm', 'plg_shop', null]) : null,
      instanceId: r() < 0.5 ? null : pick(['wa_1', 'wa_2']),
      status: r() < 0.15 ? 'error' : 'ok',
      promptTokens: r() < 0.2 ? null : Math.floor(r() * 2000),
      completionTokens: r() < 0.2 ? null : Math.floor(r() * 800),
      latencyMs: latency,
      createdAt: Math.floor(now - age),
    }));
  }
  return out;
}

interface Raw { kind: string; key_id: string | null; model: string | null; tool: string | null; instance_id: string | null; plugin_id: string | null; status: string; prompt_tokens: number | null; completion_tokens: number | null; latency_ms: number; created_at: number }

/** The figures of raw rows, computed without the rollups' code: sorted latencies, the rank-th one's histogram bound. */
function expectFigures(rows: Raw[]): UsageFigures {
  if (!rows.length) {
    return { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, latencyMsSum: 0, latencyMsAvg: null, latencyMsMax: null, latencyMsP50: null, latencyMsP95: null };
  }
  const lat = rows.map((x) => x.latency_ms).sort((a, b) => a - b);
  const max = lat[lat.length - 1];
  const pct = (p: number) => {
    const v = lat[Math.ceil(p * lat.length) - 1];
    const bound = LATENCY_BOUNDS_MS.find((b) => v <= b);
    return bound === undefined ? max : Math.min(bound, max);
  };
  const sum = lat.reduce((a, b) => a + b, 0);
  return {
    requests: rows.length,
    errors: rows.filter((x) => x.status === 'error').length,
    promptTokens: rows.reduce((a, x) => a + (x.prompt_tokens ?? 0), 0),
    completionTokens: rows.reduce((a, x) => a + (x.completion_tokens ?? 0), 0),
    latencyMsSum: sum, latencyMsAvg: Math.round((sum / rows.length) * 100) / 100, latencyMsMax: max,
    latencyMsP50: pct(0.5), latencyMsP95: pct(0.95),
  };
}

const DIM_COLUMN = { key: 'key_id', model: 'model', tool: 'tool', instance: 'instance_id', plugin: 'plugin_id' } as const;

/** Compares an answer with the raw rows, group by group and bucket by bucket. */
function compare(s: UsageSummary, raw: Raw[], label: string): number {
  const from = Date.parse(s.from);
  const to = Date.parse(s.to);
  const width = s.bucketSeconds * 1000;
  assert.equal((to - from) / width, s.series.length, `${label}: points`);
  const inWindow = raw.filter((x) => x.kind === s.kind && x.created_at >= from && x.created_at < to);
  const checkSeries = (rows: Raw[], series: UsageSummary['series'], what: string) => {
    for (let i = 0; i < series.length; i++) {
      assert.equal(Date.parse(series[i].t), from + i * width, `${what}: t of point ${i}`);
      const inBucket = rows.filter((x) => Math.floor((x.created_at - from) / width) === i);
      const { t: _t, ...got } = series[i];
      assert.deepEqual(got, expectFigures(inBucket), `${what}: bucket ${series[i].t}`);
    }
  };
  assert.deepEqual(s.totals, expectFigures(inWindow), `${label}: totals`);
  checkSeries(inWindow, s.series, `${label}: series`);
  let compared = 0;
  if (s.groupBy) {
    const col = DIM_COLUMN[s.groupBy];
    const values = [...new Set(inWindow.map((x) => x[col]))];
    assert.equal(s.groups.length, values.length, `${label}: number of groups`);
    assert.equal(s.groupsTruncated, false);
    for (const g of s.groups) {
      const rows = inWindow.filter((x) => x[col] === g.key);
      assert.ok(rows.length > 0, `${label}: group ${g.key} has raw rows`);
      assert.deepEqual(g.totals, expectFigures(rows), `${label}: group ${g.key} totals`);
      checkSeries(rows, g.series, `${label}: group ${g.key}`);
      compared++;
    }
    const order = s.groups.map((g) => g.totals.requests);
    assert.deepEqual(order, [...order].sort((a, b) => b - a), `${label}: groups by requests, most first`);
  }
  return compared;
}

test('the summary equals the raw events it summarises: every range, groupBy, kind, group and bucket', async () => {
  await using t = await startApp();
  const a = t.tenant('A');
  const b = t.tenant('B');
  const keys = [t.key(a.orgId).id, t.key(a.orgId).id, t.key(a.orgId).id];
  const now = Date.now();
  const eventsA = randomEvents(a.orgId, 2500, now, 7, keys);
  const eventsB = randomEvents(b.orgId, 300, now, 8, [t.key(b.orgId).id]);
  // Recorded as the gateway does: queued, flushed in batches (some recorded, some committed through the journal).
  for (let i = 0; i < eventsA.length; i++) {
    if (i % 3 === 0) t.app.recorder.commit(eventsA[i]);
    else t.app.recorder.record(eventsA[i]);
    if (i < eventsB.length) t.app.recorder.record(eventsB[i]);
    if (i % 400 === 0) t.app.recorder.flush();
  }
  const raw = t.app.db.prepare('SELECT * FROM usage_events WHERE org_id = ?');
  let groups = 0;
  let answers = 0;
  const to = String(now);
  const cases: string[] = [];
  for (const range of ['1h', '24h', '7d']) {
    for (const groupBy of [undefined, 'key', 'model', 'tool', 'instance', 'plugin']) {
      for (const kind of KINDS) cases.push(`range=${range}&kind=${kind}${groupBy ? `&groupBy=${groupBy}` : ''}&limit=200&to=${to}`);
    }
  }
  cases.push(`range=24h&bucket=1h&groupBy=key&to=${to}`, `range=24h&bucket=5m&groupBy=model&to=${to}`, `range=7d&bucket=1d&groupBy=instance&to=${to}`,
    `range=7d&bucket=6h&to=${to}`, `range=1h&bucket=15m&groupBy=tool&to=${to}`);
  for (const q of cases) {
    const res = await t.api('GET', `/organizations/${a.orgId}/usage/summary?${q}`, { token: a.ownerToken });
    assert.equal(res.status, 200, `${q}: ${res.text}`);
    const s = res.json as UsageSummary;
    assert.equal(s.object, 'usage_summary');
    assert.equal(s.organizationId, a.orgId);
    const range = /range=(\w+)/.exec(q)![1];
    assert.equal(s.range, range);
    assert.equal(Date.parse(s.to) - Date.parse(s.from), Math.ceil(RANGE_MS[range] / BUCKET_MS[s.bucket]) * BUCKET_MS[s.bucket]);
    assert.ok(Date.parse(s.to) > now && Date.parse(s.to) - now <= BUCKET_MS[s.bucket], `${q}: the window ends with the bucket holding 'to'`);
    groups += compare(s, raw.all(a.orgId) as Raw[], q);
    answers++;
  }
  // Defaults: the kind follows groupBy; the bucket follows the range.
  const d = (await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=24h&groupBy=tool`, { token: a.ownerToken })).json as UsageSummary;
  assert.deepEqual([d.kind, d.bucket, d.series.length], ['tool_call', '15m', 96]);
  const d2 = (await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=7d`, { token: a.ownerToken })).json as UsageSummary;
  assert.deepEqual([d2.kind, d2.bucket, d2.series.length, d2.groups], ['completion', '1h', 168, []]);
  // Organisation B's events never show in A's summary, and B's summary is its own.
  const sb = (await t.api('GET', `/organizations/${b.orgId}/usage/summary?range=7d&kind=completion&to=${to}`, { token: b.ownerToken })).json as UsageSummary;
  compare(sb, raw.all(b.orgId) as Raw[], 'org B');
  // limit cuts groups (the rest stays in the totals).
  const lim = (await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=7d&groupBy=key&limit=1&to=${to}`, { token: a.ownerToken })).json as UsageSummary;
  assert.equal(lim.groups.length, 1);
  assert.equal(lim.groupsTruncated, true);
  assert.ok(answers >= 77 && groups > 150, `compared ${answers} answers, ${groups} groups`);
});

test('a completion through the gateway is in the summary as soon as it answered', async () => {
  await using up = await startFakeUpstream();
  up.setFallback(() => ({ json: chatCompletion({ content: 'hi', usage: { prompt_tokens: 7, completion_tokens: 3 } }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: up.url });
  const a = t.tenant();
  const key = t.key(a.orgId);
  await t.openai(key.secret).chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hello' }] });
  const s = (await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=1h&groupBy=key`, { token: a.ownerToken })).json as UsageSummary;
  assert.equal(s.totals.requests, 1);
  assert.equal(s.totals.promptTokens, 7);
  assert.equal(s.totals.completionTokens, 3);
  assert.deepEqual(s.groups.map((g) => [g.key, g.totals.requests]), [[key.id, 1]]);
});

test('migration 0009 backfills rollups equal to those recording builds', () => {
  const dir = tempDir();
  const migrations = loadMigrations();
  const before = migrations.filter((m) => m.version < 9);
  const now = Date.now();
  const orgId = 'org-backfill';
  const events = randomEvents(orgId, 1500, now, 11, ['k1', 'k2']);
  const dump = (db: ReturnType<typeof openDb>) => db.prepare('SELECT * FROM usage_rollups ORDER BY org_id, grain, kind, dim, bucket, value').all();

  // A: the events exist before 0009 runs (an upgrade): the migration builds the rollups.
  const dbA = openDb({ file: path.join(dir, 'a.db') });
  migrate(dbA, before);
  dbA.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'x', 0)").run(orgId);
  createUsageEventsRepo(dbA, { rollups: null }).insertMany(events);
  migrate(dbA, migrations);
  // B: the same events recorded after 0009: the repository maintains them.
  const dbB = openDb({ file: path.join(dir, 'b.db') });
  migrate(dbB, migrations);
  dbB.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'x', 0)").run(orgId);
  const repo = createUsageEventsRepo(dbB);
  for (let i = 0; i < events.length; i += 97) repo.insertMany(events.slice(i, i + 97));
  const a = dump(dbA);
  assert.ok(a.length > 1000, `rollup rows: ${a.length}`);
  assert.deepEqual(a, dump(dbB));
  dbA.close();
  dbB.close();
});

test('retention prunes raw events in bounded batches and keeps the summary', async () => {
  await using t = await startApp({ PLUGBOARD_USAGE_RETENTION_DAYS: '2' });
  const a = t.tenant();
  const now = Date.now();
  const old = Array.from({ length: 50 }, (_, i) => buildUsageEvent({ orgId: a.orgId, createdAt: now - 5 * DAY + i * 1000, latencyMs: i }));
  const young = Array.from({ length: 20 }, (_, i) => buildUsageEvent({ orgId: a.orgId, createdAt: now - HOUR + i * 1000 }));
  for (const e of [...old, ...young]) t.app.recorder.record(e);
  t.app.recorder.flush();
  const summary = async () => (await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=7d&groupBy=model&to=${now}`, { token: a.ownerToken })).json as UsageSummary;
  const before = await summary();
  assert.equal(before.totals.requests, 70);
  const count = () => (t.app.db.prepare('SELECT COUNT(*) AS n FROM usage_events WHERE org_id = ?').get(a.orgId) as { n: number }).n;

  // A pruner on the same database with batches of 7: bounded deletes, every old row gone, no young one.
  const batches: number[] = [];
  const events = createUsageEventsRepo(t.app.db, { rollups: null });
  const pruner = createUsagePruner({
    usage: { pruneBefore: (before, limit) => { const r = events.pruneBefore(before, limit); batches.push(r.deleted); return r; } },
    rollups: createUsageRollupsRepo(t.app.db), log: t.app.log, retentionDays: 2, batch: 7,
  });
  const r = await pruner.runOnce();
  // The app's own pruner (started 1 s after listen) may have taken some first: together they removed exactly the old rows.
  assert.equal(count(), 20);
  assert.ok(batches.every((n) => n <= 7), `batches ${batches}`);
  assert.ok(r.events <= 50);
  const list = (await t.api('GET', `/organizations/${a.orgId}/usage-events?limit=500`, { token: a.ownerToken })).json;
  assert.equal(list.data.length, 20);
  assert.deepEqual(await summary(), before, 'the summary is served from rollups, which stay');
  await pruner.stop();
});

test("the app's own pruner runs at start and prunes old minute rollups; hour rollups stay", async () => {
  const dataDir = tempDir();
  const now = Date.now();
  {
    await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_USAGE_RETENTION_DAYS: '0' });
    const a = t.tenant();
    for (let i = 0; i < 30; i++) t.app.recorder.record(buildUsageEvent({ orgId: a.orgId, createdAt: now - 20 * DAY + i * 60_000 }));
    t.app.recorder.flush();
  }
  await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_USAGE_RETENTION_DAYS: '10' });
  const rows = (grain: number) => (t.app.db.prepare('SELECT COUNT(*) AS n FROM usage_rollups WHERE grain = ?').get(grain) as { n: number }).n;
  await waitFor('raw events pruned by the app at start', () => (t.app.db.prepare('SELECT COUNT(*) AS n FROM usage_events').get() as { n: number }).n === 0, 8000);
  await waitFor('minute rollups pruned', () => rows(60_000) === 0, 8000);
  assert.ok(rows(3_600_000) > 0);
  assert.ok(t.logs.some((l) => l.includes('usage retention: old rows pruned')));
});

test('bad input: a 400 in the error shape naming the parameter', async () => {
  await using t = await startApp();
  const a = t.tenant();
  const q = (s: string) => t.api('GET', `/organizations/${a.orgId}/usage/summary${s}`, { token: a.ownerToken });
  assertWireError(await q(''), 400, 'invalid_value', 'range');
  assertWireError(await q('?range=2d'), 400, 'invalid_value', 'range');
  assertWireError(await q('?range=1h&groupBy=user'), 400, 'invalid_value', 'groupBy');
  assertWireError(await q('?range=1h&kind=everything'), 400, 'invalid_value', 'kind');
  assertWireError(await q('?range=1h&bucket=2m'), 400, 'invalid_value', 'bucket');
  assertWireError(await q('?range=7d&bucket=1m'), 400, 'invalid_parameter', 'bucket');
  assertWireError(await q('?range=1h&bucket=1d'), 400, 'invalid_parameter', 'bucket');
  assertWireError(await q(`?range=1h&to=${Date.now() - 30 * DAY}`), 400, 'invalid_parameter', 'bucket');
  assertWireError(await q('?range=1h&to=yesterday'), 400, 'invalid_value', 'to');
  assertWireError(await q('?range=1h&limit=0'), 400, 'invalid_value', 'limit');
  assertWireError(await q('?range=1h&limit=201'), 400, 'invalid_value', 'limit');
  assertWireError(await q('?range=1h&limit=abc'), 400, 'invalid_value', 'limit');
  assertWireError(await q('?range=1h&range=24h'), 400, 'invalid_value', 'range');
  assertWireError(await q('?range=1h&groupBy=key&model=x'), 400, 'unknown_parameter');
  // The 7d window with its own hour buckets works far back; minute buckets only as far as they are kept.
  assert.equal((await q(`?range=7d&to=${Date.now() - 300 * DAY}`)).status, 200);
});

test('roles: every member reads the summary; a stranger gets 404, no token 401', async () => {
  await using t = await startApp();
  const a = t.tenant();
  const other = t.tenant('Other');
  for (const role of ['admin', 'member'] as const) {
    const m = t.member(a.orgId, role);
    assert.equal((await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=1h`, { token: m.token })).status, 200, role);
  }
  assertWireError(await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=1h`, { token: other.ownerToken }), 404, 'organization_not_found');
  assert.equal((await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=1h`)).status, 401);
});
