/**
 * The usage-events listing: every filter (alone and combined, times as ISO, Unix seconds and
 * Unix milliseconds), cursor pagination that walks each event exactly once newest-first, limit
 * bounds, organisation isolation, and read access for every role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp, type Tenant } from '../helpers/app.ts';
import { chatCompletion, contentChunks, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { assertWireError, buildUsageEvent, sleep, waitFor } from '../helpers/factories.ts';
import type { UsageEventInput } from '../../src/storage/repos/usage-events.ts';

/** 2023-11-14T22:13:20Z: event i is created at BASE + i seconds. */
const BASE = 1_700_000_000_000;
const COUNT_A = 120;
const COUNT_B = 30;
/** Bound on pages walked, far above COUNT_A / smallest limit, so a cursor bug fails instead of looping. */
const MAX_PAGES = 200;

interface World { t: TestApp; a: Tenant; b: Tenant; keyA1: string; keyA2: string; keyB: string; eventsA: UsageEventInput[]; eventsB: UsageEventInput[] }

function seed(t: TestApp): World {
  const a = t.tenant('A');
  const b = t.tenant('B');
  const keyA1 = t.key(a.orgId).id;
  const keyA2 = t.key(a.orgId).id;
  const keyB = t.key(b.orgId).id;
  const models = ['m1', 'm2', 'm3'];
  const kinds = ['completion', 'completion', 'model_turn', 'tool_call'] as const;
  const eventsA = Array.from({ length: COUNT_A }, (_, i) => buildUsageEvent({
    orgId: a.orgId, requestId: `req_a_${i}`, model: models[i % 3], keyId: i % 2 ? keyA2 : keyA1,
    status: i % 5 === 0 ? 'error' : 'ok', kind: kinds[i % 4], httpStatus: i % 5 === 0 ? 502 : 200, createdAt: BASE + i * 1000,
  }));
  const eventsB = Array.from({ length: COUNT_B }, (_, i) => buildUsageEvent({
    orgId: b.orgId, requestId: `req_b_${i}`, model: models[i % 3], keyId: keyB, createdAt: BASE + i * 1000,
  }));
  // Interleave the organisations so ids of A and B alternate in the table.
  for (let i = 0; i < COUNT_A; i++) {
    t.app.recorder.record(eventsA[i]);
    if (i < COUNT_B) t.app.recorder.record(eventsB[i]);
  }
  t.app.recorder.flush();
  return { t, a, b, keyA1, keyA2, keyB, eventsA, eventsB };
}

async function list(w: World, tenant: Tenant, query: string, token = tenant.ownerToken) {
  const res = await w.t.api('GET', `/organizations/${tenant.orgId}/usage-events${query ? `?${query}` : ''}`, { token });
  assert.equal(res.status, 200, `${query}: ${res.text}`);
  return res.json as { object: string; data: Array<Record<string, any>>; hasMore: boolean; nextCursor: string | null };
}

/** Request ids of the seeded A events matching `pred`, newest first. */
function expected(w: World, pred: (e: UsageEventInput, i: number) => boolean): string[] {
  return w.eventsA.filter(pred).map((e) => e.requestId).reverse();
}

test('every filter, alone and combined, returns exactly the matching events newest first', async () => {
  await using t = await startApp();
  const w = seed(t);
  const iso = (i: number) => new Date(BASE + i * 1000).toISOString();
  const secs = (i: number) => String((BASE + i * 1000) / 1000);
  const ms = (i: number) => String(BASE + i * 1000);
  const cases: Array<[query: string, pred: (e: UsageEventInput, i: number) => boolean]> = [
    ['', () => true],
    ['model=m2', (e) => e.model === 'm2'],
    ['model=unknown-model', () => false],
    [`keyId=${w.keyA2}`, (e) => e.keyId === w.keyA2],
    [`keyId=${w.keyB}`, () => false],
    ['requestId=req_a_17', (e) => e.requestId === 'req_a_17'],
    ['requestId=req_b_3', () => false],
    ['status=error', (e) => e.status === 'error'],
    ['status=ok', (e) => e.status === 'ok'],
    ['kind=tool_call', (e) => e.kind === 'tool_call'],
    ['kind=loop_cap', () => false],
    [`from=${encodeURIComponent(iso(100))}`, (_e, i) => i >= 100],
    [`to=${encodeURIComponent(iso(10))}`, (_e, i) => i < 10],
    [`from=${encodeURIComponent(iso(10))}&to=${encodeURIComponent(iso(20))}`, (_e, i) => i >= 10 && i < 20],
    [`from=${secs(10)}&to=${secs(20)}`, (_e, i) => i >= 10 && i < 20],
    [`from=${ms(10)}&to=${ms(20)}`, (_e, i) => i >= 10 && i < 20],
    [`from=${encodeURIComponent('2023-11-14T23:13:30+01:00')}`, (_e, i) => i >= 10],
    [`from=${secs(50)}&to=${secs(40)}`, () => false],
    [`model=m1&status=error&kind=completion&keyId=${w.keyA1}&from=${secs(0)}&to=${secs(90)}`,
      (e, i) => e.model === 'm1' && e.status === 'error' && e.kind === 'completion' && e.keyId === w.keyA1 && i < 90],
    [`model=m3&kind=model_turn`, (e) => e.model === 'm3' && e.kind === 'model_turn'],
  ];
  for (const [query, pred] of cases) {
    const page = await list(w, w.a, `${query}${query ? '&' : ''}limit=500`);
    const want = expected(w, (e) => pred(e, w.eventsA.indexOf(e)));
    assert.deepEqual(page.data.map((e) => e.requestId), want, `filter ${query || '(none)'}`);
    assert.equal(page.hasMore, false);
    assert.equal(page.nextCursor, null);
  }
  const one = (await list(w, w.a, 'requestId=req_a_15')).data[0];
  assert.deepEqual(Object.keys(one).sort(), [
    'completionTokens', 'createdAt', 'errorClass', 'httpStatus', 'id', 'instanceId', 'keyId', 'kind', 'latencyMs', 'model',
    'object', 'pluginId', 'promptTokens', 'requestId', 'status', 'stream', 'tool',
  ]);
  assert.equal(one.object, 'usage_event');
  assert.equal(typeof one.id, 'string');
  assert.equal(one.createdAt, iso(15));
  assert.equal(one.status, 'error');
  assert.equal(one.httpStatus, 502);
  assert.equal(one.keyId, w.keyA2);
});

test('cursor pagination walks every event exactly once, newest first, for several page sizes and with a filter', async () => {
  await using t = await startApp();
  const w = seed(t);
  const walk = async (query: string, limit: number): Promise<Array<Record<string, any>>> => {
    const seen: Array<Record<string, any>> = [];
    let cursor: string | null = null;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < MAX_PAGES, 'pagination did not end');
      const page = await list(w, w.a, `${query}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.data.length <= limit);
      seen.push(...page.data);
      if (!page.hasMore) {
        assert.equal(page.nextCursor, null);
        break;
      }
      assert.equal(page.data.length, limit, 'only the last page is short');
      assert.equal(page.nextCursor, page.data[page.data.length - 1].id);
      cursor = page.nextCursor;
    }
    return seen;
  };
  for (const limit of [1, 7, 40, 119, 120, 121]) {
    const all = await walk('', limit);
    assert.deepEqual(all.map((e) => e.requestId), expected(w, () => true), `limit ${limit}`);
    const ids = all.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] < ids[i - 1], 'ids strictly decrease');
  }
  const m2 = await walk('model=m2&', 6);
  assert.deepEqual(m2.map((e) => e.requestId), expected(w, (e) => e.model === 'm2'));

  // Events recorded while a client pages through do not shift or repeat the later pages.
  const first = await list(w, w.a, 'limit=50');
  for (let i = 0; i < 10; i++) t.app.recorder.record(buildUsageEvent({ orgId: w.a.orgId, requestId: `req_late_${i}`, createdAt: BASE + 500_000 }));
  const rest: Array<Record<string, any>> = [];
  let cursor = first.nextCursor;
  for (let pages = 0; cursor && pages < MAX_PAGES; pages++) {
    const page = await list(w, w.a, `limit=50&cursor=${cursor}`);
    rest.push(...page.data);
    cursor = page.nextCursor;
  }
  assert.deepEqual([...first.data, ...rest].map((e) => e.requestId), expected(w, () => true));
  const newest = await list(w, w.a, 'limit=10');
  assert.deepEqual(newest.data.map((e) => e.requestId), Array.from({ length: 10 }, (_, i) => `req_late_${9 - i}`), 'new events show on a fresh first page');
});

test('limit defaults to 50 and must be 1..500', async () => {
  await using t = await startApp();
  const w = seed(t);
  const dflt = await list(w, w.a, '');
  assert.equal(dflt.data.length, 50);
  assert.equal(dflt.hasMore, true);
  assert.equal((await list(w, w.a, 'limit=1')).data.length, 1);
  assert.equal((await list(w, w.a, 'limit=500')).data.length, COUNT_A);
  for (const bad of ['0', '501', 'abc', '-3', '2.5', '1e2']) {
    const res = await t.api('GET', `/organizations/${w.a.orgId}/usage-events?limit=${bad}`, { token: w.a.ownerToken });
    assertWireError(res, 400, res.json?.error?.code ?? 'missing', 'limit', `limit=${bad}`);
  }
});

test('organisations are isolated, and every role can read its own organisation\'s events', async () => {
  await using t = await startApp();
  const w = seed(t);
  const bAll = await list(w, w.b, 'limit=500');
  assert.deepEqual(bAll.data.map((e) => e.requestId), w.eventsB.map((e) => e.requestId).reverse());
  assert.ok(bAll.data.every((e) => e.keyId === w.keyB));
  assert.deepEqual((await list(w, w.b, 'requestId=req_a_1')).data, []);
  assert.deepEqual((await list(w, w.b, `keyId=${w.keyA1}`)).data, []);
  // A cursor taken from A's listing only ever pages through B's own rows.
  const aPage = await list(w, w.a, 'limit=3');
  const bFromCursor = await list(w, w.b, `cursor=${aPage.nextCursor}&limit=500`);
  assert.ok(bFromCursor.data.every((e) => e.requestId.startsWith('req_b_')));
  // A's owner on B's path: 404, as if B did not exist.
  const denied = await t.api('GET', `/organizations/${w.b.orgId}/usage-events`, { token: w.a.ownerToken });
  assertWireError(denied, 404, 'organization_not_found');

  for (const role of ['admin', 'member'] as const) {
    const m = t.member(w.a.orgId, role);
    const page = await list(w, w.a, 'status=error&limit=500', m.token);
    assert.deepEqual(page.data.map((e) => e.requestId), expected(w, (e) => e.status === 'error'), role);
  }
});

test('events of real gateway calls are listed at once and found by the x-request-id the caller saw', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  upstream.script(
    { json: chatCompletion({ content: 'a', model: 'gpt-test', usage: { prompt_tokens: 11, completion_tokens: 4 } }) },
    { sse: contentChunks(['x', 'y', 'z'], { usage: { prompt_tokens: 6, completion_tokens: 3 } }) },
  );
  const client = t.openai(key.secret);
  const one = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  const streamed = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
  for await (const _ of streamed.data) { /* drain */ }
  // No explicit flush: the listing must show what was recorded.
  const res = await t.api('GET', `/organizations/${tenant.orgId}/usage-events`, { token: tenant.ownerToken });
  assert.equal(res.json.data.length, 2);
  const [s, n] = res.json.data;
  assert.equal(n.requestId, one.response.headers.get('x-request-id'));
  assert.equal(s.requestId, streamed.response.headers.get('x-request-id'));
  assert.deepEqual({ kind: n.kind, keyId: n.keyId, model: n.model, status: n.status, httpStatus: n.httpStatus, promptTokens: n.promptTokens, completionTokens: n.completionTokens, stream: n.stream },
    { kind: 'completion', keyId: key.id, model: 'gpt-test', status: 'ok', httpStatus: 200, promptTokens: 11, completionTokens: 4, stream: false });
  assert.deepEqual({ promptTokens: s.promptTokens, completionTokens: s.completionTokens, stream: s.stream, status: s.status }, { promptTokens: 6, completionTokens: 3, stream: true, status: 'ok' });
  const byId = await t.api('GET', `/organizations/${tenant.orgId}/usage-events?requestId=${encodeURIComponent(n.requestId)}`, { token: tenant.ownerToken });
  assert.deepEqual(byId.json.data.map((e: { id: string }) => e.id), [n.id]);
  assert.ok(typeof n.latencyMs === 'number' && n.latencyMs >= 0);
});

test('a stream the client read to [DONE] is recorded as ok even when the upstream closes its end a little later', async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  // The fake pauses after every event, [DONE] included, before ending the response; the openai SDK
  // stops reading (and drops the connection) as soon as it sees [DONE].
  upstream.script({ sse: contentChunks(['a', 'b', 'c']), chunkDelayMs: 150 });
  const stream = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'abc', 'the client got the whole answer');
  await waitFor('the upstream response to end', () => upstream.requests[0]?.finished || upstream.requests[0]?.aborted, 3000);
  await sleep(50);
  const res = await t.api('GET', `/organizations/${tenant.orgId}/usage-events`, { token: tenant.ownerToken });
  assert.equal(res.json.data.length, 1);
  const ev = res.json.data[0];
  assert.deepEqual({ status: ev.status, httpStatus: ev.httpStatus, errorClass: ev.errorClass, completionTokens: ev.completionTokens },
    { status: 'ok', httpStatus: 200, errorClass: null, completionTokens: 3 });
});
