/**
 * The recorder's commitSoon (the chat path's success case): every completion committed in one
 * event-loop turn shares one journal append, and each caller goes on only once its event — and
 * everything recorded before it — is in the journal (or in SQLite, or counted as dropped).
 * A fake journal and repository record the order of what happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUsageRecorder } from '../../src/usage/recorder.ts';
import type { JournalEntry, UsageJournal } from '../../src/usage/journal.ts';
import type { UsageEventsRepo } from '../../src/storage/repos/usage-events.ts';
import type { GatewayKeysRepo } from '../../src/storage/repos/gateway-keys.ts';
import type { Logger } from '../../src/log.ts';
import { buildUsageEvent } from '../helpers/factories.ts';

function harness(opts: { journalFails?: boolean } = {}) {
  const happened: string[] = [];
  const journaled: number[] = [];
  const inSqlite: number[] = [];
  const journal: UsageJournal = {
    append(entries: readonly JournalEntry[]) {
      if (opts.journalFails) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      happened.push(`append ${entries.map((e) => e.seq).join(',')}`);
      journaled.push(...entries.map((e) => e.seq));
    },
    clear() {
      journaled.length = 0;
    },
    readAll: () => [],
    close() {},
  } as UsageJournal;
  const usage = {
    journalSeq: () => 0,
    insertMany(events: unknown[], lastSeq: number) {
      happened.push(`sqlite ${events.length} up to ${lastSeq}`);
      for (let s = lastSeq - events.length + 1; s <= lastSeq; s++) inSqlite.push(s);
    },
  } as unknown as UsageEventsRepo;
  const keys = { touchMany() {} } as unknown as GatewayKeysRepo;
  const noop = () => {};
  const log = { debug: noop, info: noop, warn: noop, error: noop } as unknown as Logger;
  const recorder = createUsageRecorder({ usage, keys, journal, log });
  const ev = (requestId: string) => buildUsageEvent({ orgId: 'org_1', requestId, kind: 'completion' });
  return { recorder, happened, journaled, inSqlite, ev };
}

test('completions committed in one turn share one journal append; each caller goes on after it', async () => {
  const h = harness();
  h.recorder.record(h.ev('turn_a')); // a model turn's row, recorded earlier: safe with the completion
  const done = ['r1', 'r2', 'r3'].map((id) => h.recorder.commitSoon(h.ev(id)).then(() => {
    h.happened.push(`go ${id}`);
    return [...h.journaled];
  }));
  assert.deepEqual(h.happened, [], 'nothing written inside the turn');
  const seen = await Promise.all(done);
  assert.deepEqual(h.happened, ['append 1,2,3,4', 'go r1', 'go r2', 'go r3'], 'one append for the turn, then the callers in order');
  for (const s of seen) assert.deepEqual(s, [1, 2, 3, 4], 'every caller goes on with its row (and the earlier ones) in the journal');
  // The next turn's completion gets its own append, of its own row only.
  await h.recorder.commitSoon(h.ev('r4'));
  assert.deepEqual(h.happened.slice(4), ['append 5']);
  h.recorder.close();
});

test('a flush before the append (a reader of the usage table) makes the rows safe in SQLite; no second write of them', async () => {
  const h = harness();
  const p = h.recorder.commitSoon(h.ev('r1'));
  h.recorder.flush();
  await p;
  assert.deepEqual(h.happened, ['sqlite 1 up to 1']);
  assert.deepEqual(h.inSqlite, [1]);
  h.recorder.close();
});

test('a journal that cannot be written: the turn\'s rows go to SQLite before the callers go on', async () => {
  const h = harness({ journalFails: true });
  const order: string[] = [];
  await Promise.all(['r1', 'r2'].map((id) => h.recorder.commitSoon(h.ev(id)).then(() => order.push(`${id}:${h.inSqlite.length}`))));
  assert.deepEqual(h.happened, ['sqlite 2 up to 2']);
  assert.deepEqual(order, ['r1:2', 'r2:2']);
  h.recorder.close();
});

test('close lets waiting callers go on once their rows are written', async () => {
  const h = harness();
  const p = h.recorder.commitSoon(h.ev('r1'));
  h.recorder.close();
  await p;
  assert.deepEqual(h.inSqlite, [1]);
  assert.deepEqual(h.happened, ['sqlite 1 up to 1'], 'written by the close, not appended after it');
});
