/**
 * The usage journal a killed process leaves behind is replayed at the next start exactly once:
 * events SQLite already has (their sequence number is at or below the one stored with the last
 * batch) are skipped, a torn last line is ignored, the journal is emptied, and sequence numbers go
 * on from there. While the server runs, answered completions are in the journal or in SQLite, and
 * the journal is 0600 and empty after a clean close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startApp, tempDir } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { buildUsageEvent, usageRows } from '../helpers/factories.ts';

const line = (seq: number, orgId: string, requestId: string): string =>
  `${JSON.stringify({ s: seq, e: buildUsageEvent({ orgId, requestId, kind: 'completion' }) })}\n`;

test('a journal left by a killed process is replayed once: what SQLite has is skipped, a torn last line ignored', async () => {
  const dataDir = tempDir();
  const journal = path.join(dataDir, 'usage.journal');
  let orgId: string;
  {
    await using app = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
    orgId = app.tenant().orgId;
  }
  assert.equal(fs.readFileSync(journal, 'utf8'), '', 'a clean close leaves the journal empty');
  fs.writeFileSync(journal, line(1, orgId, 'req_a') + line(2, orgId, 'req_b') + line(3, orgId, 'req_c') + '{"s":4,"e":{"orgId":');
  {
    await using app = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
    assert.deepEqual(usageRows(app.app.db, orgId).map((r) => r.request_id).sort(), ['req_a', 'req_b', 'req_c']);
    assert.equal(app.app.recorder.stats.recovered, 3);
    assert.equal(fs.readFileSync(journal, 'utf8'), '', 'emptied once replayed');
    assert.ok(app.logs.some((l) => /usage events recovered/.test(l) && /"recovered":3/.test(l)));
  }
  // A kill between the batch's commit and the journal's emptying: 2 and 3 are in SQLite already.
  fs.writeFileSync(journal, line(2, orgId, 'req_b') + line(3, orgId, 'req_c') + line(4, orgId, 'req_d'));
  {
    await using app = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
    assert.deepEqual(usageRows(app.app.db, orgId).map((r) => r.request_id).sort(), ['req_a', 'req_b', 'req_c', 'req_d'], 'no duplicates');
    assert.equal(app.app.recorder.stats.recovered, 1);
  }
  // Sequence numbers go on above the replayed ones: a later journal is not mistaken for old.
  fs.writeFileSync(journal, line(5, orgId, 'req_e'));
  {
    await using app = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
    assert.equal(usageRows(app.app.db, orgId).length, 5);
  }
});

test('while the server runs, an answered completion is in the journal or in SQLite; the journal is 0600', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  const dataDir = tempDir();
  await using app = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_UPSTREAM_BASE_URL: upstream.url });
  const tenant = app.tenant();
  const key = app.key(tenant.orgId);
  const journal = path.join(dataDir, 'usage.journal');
  assert.equal(fs.statSync(journal).mode & 0o777, 0o600);
  const { response } = await app.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  const requestId = response.headers.get('x-request-id')!;
  const inJournal = fs.readFileSync(journal, 'utf8').includes(`"requestId":"${requestId}"`);
  const inDb = usageRows(app.app.db, tenant.orgId).some((r) => r.request_id === requestId);
  assert.ok(inJournal || inDb, 'the row is safe by the time the answer is complete');
});
