import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createConfigVersion, createVersionedCache } from '../../src/storage/config-version.ts';

test('the configuration version sees this connection at once and other connections from a millisecond after they commit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cv-'));
  const file = path.join(dir, 'plugboard.db');
  const db = openDb({ file });
  const other = openDb({ file });
  try {
    migrate(db);
    const version = createConfigVersion(db);
    const cache = createVersionedCache<string, number>(version);
    let loads = 0;
    const get = () => cache.get('k', () => ++loads);
    assert.equal(get(), 1);

    // This connection's configuration write moves the version immediately (trigger → SQL function).
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'a', 0)").run();
    assert.equal(get(), 2);

    // Another connection (the CLI): seen by the first refresh a millisecond or more after the commit.
    version.refresh();
    other.prepare("UPDATE organizations SET name = 'b' WHERE id = 'o1'").run();
    await sleep(2);
    version.refresh();
    assert.equal(get(), 3, 'a refresh 2 ms after another process committed sees the change');
    version.refresh();
    assert.equal(get(), 3, 'nothing changed since: the cache stays');

    // Writes that are not configuration (usage) never move it.
    db.prepare("INSERT INTO usage_events (org_id, request_id, kind, status, latency_ms, created_at) VALUES ('o1', 'r', 'completion', 'ok', 1, 0)").run();
    assert.equal(get(), 3);
  } finally {
    other.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
