/**
 * Review findings on the usage summary (issue 13):
 * - a dimension can have any number of values in a window (a model name is whatever a gateway
 *   caller sent, also on a failed call): the summary must read and hold only the groups it shows,
 *   not a series per value;
 * - a `to` whose window ends past the largest time a Date holds is a 400 naming `to`, not a 500
 *   (the window is answered as ISO 8601);
 * - limit × points of the groups' series is bounded: 200 groups of 1,440 minute points answered
 *   55 MB of JSON and took ~480 MB for one request of any member (measured before the fix).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { assertWireError, buildUsageEvent } from '../helpers/factories.ts';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createUsageEventsRepo } from '../../src/storage/repos/usage-events.ts';
import { createUsageRollupsRepo, type UsageRollupsRepo } from '../../src/storage/repos/usage-rollups.ts';
import { usageSummary } from '../../src/control/usage-summary.ts';

test('groupBy over thousands of values: only the shown groups are summed, and they are the ones with the most requests', () => {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  const orgId = 'org-many-models';
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'x', 0)").run(orgId);
  const rollups = createUsageRollupsRepo(db);
  const usage = createUsageEventsRepo(db, { rollups });
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const at = now - 10 * 60_000;
  const events = Array.from({ length: 3000 }, (_, i) => buildUsageEvent({ orgId, model: `junk-${String(i).padStart(4, '0')}`, createdAt: at + (i % 500) * 1000 }));
  for (const [model, n] of [['hot-a', 5], ['hot-c', 3], ['hot-b', 3]] as const) {
    for (let i = 0; i < n; i++) events.push(buildUsageEvent({ orgId, model, createdAt: at + i * 60_000 }));
  }
  for (let i = 0; i < events.length; i += 500) usage.insertMany(events.slice(i, i + 500));

  let rows = 0;
  const counted: UsageRollupsRepo = {
    ...rollups,
    points(q) {
      const r = rollups.points(q);
      rows += r.length;
      return r;
    },
  };
  const s = usageSummary({ rollups: counted, recorder: { flush() {} }, now: () => now }, orgId, { range: '1h', groupBy: 'model', limit: 3, to: now });
  assert.equal(s.totals.requests, 3011, 'the totals still count every value');
  assert.deepEqual(s.groups.map((g) => [g.key, g.totals.requests]), [['hot-a', 5], ['hot-b', 3], ['hot-c', 3]], 'most requests first, ties by value');
  assert.equal(s.groupsTruncated, true);
  assert.deepEqual(s.groups[0].series.filter((p) => p.requests > 0).map((p) => p.requests), [1, 1, 1, 1, 1]);
  // The `all` series (at most 60 rows of minute points) and 3 groups of at most 60 each, never a row per junk model.
  assert.ok(rows <= 60 + 3 * 60, `rows read from the rollups: ${rows}`);
  db.close();
});

test('usage summary: a window ending past the largest Date is a 400 naming `to`, not a 500', async () => {
  await using t = await startApp();
  const a = t.tenant();
  for (const q of ['range=1h&to=8640000000000000', 'range=7d&bucket=1d&to=8640000000000000', 'range=24h&groupBy=model&to=8640000000000000']) {
    const res = await t.api('GET', `/organizations/${a.orgId}/usage/summary?${q}`, { token: a.ownerToken });
    assertWireError(res, 400, 'invalid_value', 'to', q);
  }
  // The last window that still ends at a valid time answers.
  const ok = await t.api('GET', `/organizations/${a.orgId}/usage/summary?range=24h&to=8639999999999999`, { token: a.ownerToken });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.to, new Date(8.64e15).toISOString());
});

test('usage summary: groups × points is bounded (a 400 naming limit), the default limit fits every bucket', async () => {
  await using t = await startApp();
  const a = t.tenant();
  const now = Date.now();
  for (let i = 0; i < 400; i++) t.app.recorder.record(buildUsageEvent({ orgId: a.orgId, model: `m${i % 200}`, createdAt: now - (i % 1400) * 60_000 }));
  t.app.recorder.flush();
  const q = (s: string) => t.api('GET', `/organizations/${a.orgId}/usage/summary?${s}`, { token: a.ownerToken });
  assertWireError(await q('range=24h&bucket=1m&groupBy=model&limit=200'), 400, 'invalid_parameter', 'limit');
  assertWireError(await q('range=24h&bucket=5m&groupBy=model&limit=200'), 400, 'invalid_parameter', 'limit');
  const dflt = await q('range=24h&bucket=1m&groupBy=model');
  assert.equal(dflt.status, 200, dflt.text);
  assert.equal(dflt.json.groups.length, 20);
  assert.equal(dflt.json.groupsTruncated, true);
  for (const ok of ['range=7d&groupBy=model&limit=200', 'range=1h&groupBy=model&limit=200', 'range=24h&bucket=15m&groupBy=model&limit=200']) {
    assert.equal((await q(ok)).status, 200, ok);
  }
  // Without groupBy the limit does not matter.
  assert.equal((await q('range=24h&bucket=1m&limit=200')).status, 200);
});
