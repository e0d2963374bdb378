/**
 * The database holds key hashes, sealed secrets and customers' messages: its files are the
 * owner's only, like the master key. A data directory Plugboard creates is 0700; plugboard.db and
 * its -wal/-shm are 0600 whether Plugboard creates them or finds them looser (an older install);
 * an existing data directory keeps the mode its operator gave it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startApp, tempDir } from '../helpers/app.ts';
import { openDb } from '../../src/storage/db.ts';

const modeOf = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8).padStart(4, '0');

test('a fresh start: data dir 0700, plugboard.db, -wal, -shm and master.key 0600', async () => {
  const dataDir = path.join(tempDir(), 'nested', 'data');
  await using app = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
  const tenant = app.tenant();
  app.key(tenant.orgId);
  const db = path.join(dataDir, 'plugboard.db');
  assert.ok(fs.existsSync(`${db}-wal`) && fs.existsSync(`${db}-shm`), 'WAL mode: the companions exist while the server runs');
  assert.deepEqual(
    { dir: modeOf(dataDir), db: modeOf(db), wal: modeOf(`${db}-wal`), shm: modeOf(`${db}-shm`), key: modeOf(path.join(dataDir, 'master.key')) },
    { dir: '0700', db: '0600', wal: '0600', shm: '0600', key: '0600' },
  );
});

test('an existing 0644 database and -wal are tightened to 0600 at open; an existing data dir keeps its mode', () => {
  const dataDir = tempDir();
  fs.chmodSync(dataDir, 0o755);
  const file = path.join(dataDir, 'plugboard.db');
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  old.exec('CREATE TABLE t (v)');
  old.close();
  fs.writeFileSync(`${file}-wal`, ''); // an empty WAL, as a crash can leave behind
  fs.chmodSync(file, 0o644);
  fs.chmodSync(`${file}-wal`, 0o644);
  const db = openDb({ file });
  try {
    db.prepare('INSERT INTO t VALUES (1)').run();
    assert.deepEqual(
      { dir: modeOf(dataDir), db: modeOf(file), wal: modeOf(`${file}-wal`), shm: modeOf(`${file}-shm`) },
      { dir: '0755', db: '0600', wal: '0600', shm: '0600' },
    );
  } finally {
    db.close();
  }
});
