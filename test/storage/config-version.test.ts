import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configEpochOf, openDb, walIndexWatch } from '../../src/storage/db.ts';
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

/** POSIX locks this process holds on `file` (Linux /proc/locks: "… POSIX ADVISORY READ|WRITE pid maj:min:inode start end"). */
function shmLocks(file: string): number {
  const ino = fs.statSync(file).ino;
  return fs.readFileSync('/proc/locks', 'utf8').split('\n').filter((l) => {
    const f = l.trim().split(/\s+/);
    const i = f.indexOf('POSIX');
    return i >= 0 && f[i + 3] === String(process.pid) && f[i + 4]?.split(':')[2] === String(ino);
  }).length;
}

test('the WAL-index watch says "maybe" after every commit of any connection and "no" only when nobody committed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cv-'));
  const file = path.join(dir, 'plugboard.db');
  const db = openDb({ file });
  const other = openDb({ file });
  const watch = walIndexWatch(file);
  try {
    migrate(db);
    assert.equal(watch.mayHaveCommitted(), true, 'first look: unsure');
    watch.seen();
    assert.equal(watch.mayHaveCommitted(), false, 'nothing committed since');
    db.prepare('SELECT COUNT(*) FROM organizations').get();
    other.prepare('SELECT COUNT(*) FROM organizations').get();
    assert.equal(watch.mayHaveCommitted(), false, 'reads are not commits');

    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'a', 0)").run();
    assert.equal(watch.mayHaveCommitted(), true, "this connection's commit");
    // Until seen(), the same commit keeps saying "maybe" (the caller's look at SQLite may have failed).
    assert.equal(watch.mayHaveCommitted(), true);
    watch.seen();
    assert.equal(watch.mayHaveCommitted(), false);
    for (let i = 0; i < 50; i++) {
      other.prepare('UPDATE organizations SET name = ? WHERE id = ?').run(`n${i}`, 'o1');
      assert.equal(watch.mayHaveCommitted(), true, `another connection's commit ${i}`);
      watch.seen();
      assert.equal(watch.mayHaveCommitted(), false);
    }
    // A checkpoint is not a commit; the writes after it (the WAL restarting from its start) are.
    other.pragma('wal_checkpoint(TRUNCATE)');
    other.prepare('UPDATE organizations SET name = ? WHERE id = ?').run('after-checkpoint', 'o1');
    assert.equal(watch.mayHaveCommitted(), true, 'a commit into a restarted WAL');
    watch.seen();
    assert.equal(watch.mayHaveCommitted(), false);
  } finally {
    watch.close();
    other.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the configuration version still sees every commit of another connection with the WAL-index watch in front, and its descriptor goes with the connection', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cv-'));
  const file = path.join(dir, 'plugboard.db');
  const shmFds = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === `${file}-shm`;
    } catch {
      return false;
    }
  }).length;
  const db = openDb({ file });
  const other = openDb({ file });
  try {
    migrate(db);
    const version = createConfigVersion(db);
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'a', 0)").run();
    let v = version.current();
    for (let i = 0; i < 40; i++) {
      // Interleaved: this connection's usage writes (commits that are not configuration), idle refreshes, and the CLI's writes.
      if (i % 3 === 0) db.prepare("INSERT INTO usage_events (org_id, request_id, kind, status, latency_ms, created_at) VALUES ('o1', ?, 'completion', 'ok', 1, 0)").run(`r${i}`);
      await sleep(2);
      version.refresh();
      assert.equal(version.current(), v, `nothing from elsewhere yet (${i})`);
      other.prepare('UPDATE organizations SET name = ? WHERE id = ?').run(`n${i}`, 'o1');
      await sleep(2);
      version.refresh();
      assert.equal(version.current(), v + 1, `another connection's commit is seen (${i})`);
      v = version.current();
    }
    if (process.platform === 'linux') {
      const before = shmFds();
      assert.equal(before, 2, `SQLite's descriptor and the watch's shared one (${before})`);
      db.close();
      // SQLite locks the -shm with POSIX record locks, which closing any descriptor of the file drops
      // for the whole process: the watch's must stay open while `other` is, and `other` keep its locks.
      assert.equal(shmFds(), 2, 'the shared descriptor stays while another connection is open');
      assert.ok(shmLocks(`${file}-shm`) > 0, "the open connection's locks on the -shm are still held");
      other.close();
      assert.equal(shmFds(), 0, 'the last connection closed: no descriptor left');
    }
  } finally {
    if (db.open) db.close();
    if (other.open) other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the WAL-index watch reads the -shm beside the real database file when the path is a symbolic link (as SQLite does)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cv-'));
  const real = path.join(dir, 'real', 'plugboard.db');
  fs.mkdirSync(path.dirname(real));
  const link = path.join(dir, 'link.db');
  fs.writeFileSync(real, '');
  fs.symlinkSync(real, link);
  // A stale file where a path-only guess would look: its bytes never change.
  fs.writeFileSync(`${link}-shm`, Buffer.alloc(64, 7));
  const db = openDb({ file: link });
  const other = openDb({ file: real });
  try {
    migrate(db);
    const version = createConfigVersion(db);
    const watch = configEpochOf(db).commits;
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'a', 0)").run();
    await sleep(2);
    version.refresh();
    assert.equal(watch.mayHaveCommitted(), false, 'it reads a real header (an unreadable file would say "maybe" every time)');
    const v = version.current();
    other.prepare("UPDATE organizations SET name = 'b' WHERE id = 'o1'").run();
    assert.equal(watch.mayHaveCommitted(), true, 'and sees the other connection commit');
    await sleep(2);
    version.refresh();
    assert.equal(version.current(), v + 1);
  } finally {
    other.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
