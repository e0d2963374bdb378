/**
 * A full disk, for real: the data directory lives on a small tmpfs that the test fills to the last
 * byte. Reads keep working (a control token's last-used time must not be able to fail them),
 * writes get a clear 503 `storage_full` in the error shape (never a 500, never SQLite's text),
 * `/readyz` says not ready and why, completions are still answered and their dropped usage rows
 * are counted (readyz, a warn log line); once the filler is gone everything recovers by itself.
 * Needs root for `mount`: otherwise it skips with the reason printed, and fails when CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startApp } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import { mountTmpfs } from '../helpers/tmpfs.ts';
import { chatCompletion, contentChunks, startFakeUpstream } from '../fakes/openai-upstream.ts';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];

test('a full disk: reads 200, writes 503 storage_full, /readyz not ready with the reason, completions answered with dropped usage counted; all recover when space is back', { timeout: 30_000 }, async (t) => {
  const fs = mountTmpfs(16 * 1024 * 1024);
  if ('unavailable' in fs) {
    if (process.env.CI === 'true') assert.fail(`the full-disk test cannot run in CI: ${fs.unavailable}`);
    console.log(`# skipping the full-disk test: ${fs.unavailable}`);
    t.skip(fs.unavailable);
    return;
  }
  try {
    await using upstream = await startFakeUpstream();
    upstream.setFallback((req) => (req.body?.stream === true ? { sse: contentChunks(['Hel', 'lo']) } : { json: chatCompletion({ content: 'Hello' }) }));
    await using app = await startApp({ PLUGBOARD_DATA_DIR: path.join(fs.dir, 'data'), PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
    const tenant = app.tenant();
    const key = app.key(tenant.orgId);
    const as = { token: tenant.ownerToken, orgId: tenant.orgId };
    const org = `/organizations/${tenant.orgId}`;
    const ready = await app.api('GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.json.checks.storage, 'ok');

    fs.fill();

    // Reads, with a token never used before: its last-used time cannot be written.
    for (const p of ['/me', org, `${org}/keys`, `${org}/members`, `${org}/usage-events`]) {
      const r = await app.api('GET', p, as);
      assert.equal(r.status, 200, `GET ${p} on a full disk: ${r.text}`);
    }
    // Writes: a clear 503 in the error shape, the same for every write route.
    const writes = [
      await app.api('POST', `${org}/keys`, { ...as, body: { name: 'new' } }),
      await app.api('PATCH', org, { ...as, body: { name: 'Renamed' } }),
      await app.api('POST', `${org}/members`, { ...as, body: { name: 'Newcomer', role: 'member' } }),
    ];
    for (const w of writes) {
      assertWireError(w, 503, 'storage_full', null, 'a write on a full disk');
      assert.match(w.json.error.message, /disk is full/);
      assert.doesNotMatch(w.text, /SQLITE|sqlite/, 'SQLite never speaks to the client');
    }
    const notReady = await app.api('GET', '/readyz');
    assert.equal(notReady.status, 503, notReady.text);
    assert.equal(notReady.json.status, 'not_ready');
    assert.equal(notReady.json.checks.storage, 'full');

    // Completions are still answered; their usage rows are dropped, and counted.
    const client = app.openai(key.secret);
    const json = await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
    assert.equal(json.choices[0].message.content, 'Hello');
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES, stream: true })) streamed += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(streamed, 'Hello');
    const counted = await app.api('GET', '/readyz');
    assert.equal(counted.status, 503);
    assert.ok(counted.json.checks.usageDropped >= 2, `dropped usage is counted: ${counted.text}`);
    assert.equal(app.app.recorder.stats.dropped, counted.json.checks.usageDropped);
    const warn = app.logs.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith('usage events dropped'));
    assert.ok(warn, 'a warn line says usage was dropped');
    assert.equal(warn.level, 'warn');
    assert.ok(warn.dropped >= 1 && warn.droppedTotal >= 1, JSON.stringify(warn));
    assert.equal(warn.err.code, 'SQLITE_FULL');

    fs.free();

    // Recovery by itself: no restart, nothing to reset.
    const back = await app.api('GET', '/readyz');
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.checks.storage, 'ok');
    const created = await app.api('POST', `${org}/keys`, { ...as, body: { name: 'after' } });
    assert.equal(created.status, 201, created.text);
    const after = await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).withResponse();
    const requestId = after.response.headers.get('x-request-id');
    const rows = await app.api('GET', `${org}/usage-events?requestId=${requestId}`, as);
    assert.equal(rows.status, 200);
    assert.equal(rows.json.data.length, 1, `the new completion's usage is recorded: ${rows.text}`);
    assert.equal(rows.json.data[0].status, 'ok');
    assert.equal(app.app.recorder.stats.dropped, counted.json.checks.usageDropped, 'nothing more was dropped');
  } finally {
    fs.unmount();
  }
});
