/**
 * The backup taken before any migration: when a database that already holds a schema has
 * migrations pending, a consistent copy goes to `<data dir>/backups/pre-migration-v<from>-<time>.db`
 * (mode 0600, in a 0700 folder) before the first statement runs, so an upgrade that goes wrong —
 * a failed migration is rolled back, but a migration that did what it said and was still not
 * wanted is not — can be undone with `plugboard restore`. The newest KEEP_BACKUPS are kept.
 * A fresh database (version 0) is not copied: there is nothing to lose. If the copy fails, the
 * migration does not run.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './db.ts';
import { loadMigrations, migrate, type MigrateResult, type Migration } from './migrate.ts';

/** Pre-migration backups kept; older ones are deleted after a new one is written. */
export const KEEP_BACKUPS = 5;
const PREFIX = 'pre-migration-';

export function backupsDirFor(dbFile: string): string {
  return path.join(path.dirname(dbFile), 'backups');
}

export interface MigrateWithBackupResult extends MigrateResult {
  /** The copy taken before migrating, if one was. */
  backup: string | null;
}

/** Copies the database (VACUUM INTO: one consistent snapshot, synchronous) and applies pending migrations. */
export function migrateWithBackup(db: Db, dbFile: string, migrations: Migration[] = loadMigrations(), now: () => number = Date.now): MigrateWithBackupResult {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  let backup: string | null = null;
  if (from > 0 && from < latest && dbFile !== ':memory:') {
    const dir = backupsDirFor(dbFile);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stamp = new Date(now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    backup = path.join(dir, `${PREFIX}v${from}-${stamp}.db`);
    if (fs.existsSync(backup)) backup = backup.replace(/\.db$/, `-${process.pid}.db`);
    // The folder is the owner's only (it holds hashes, sealed secrets and customers' messages); VACUUM INTO wants a new file.
    try {
      fs.chmodSync(dir, 0o700);
    } catch {
      // Not ours to change (a mounted folder): the operator chose its access.
    }
    db.prepare('VACUUM INTO ?').run(backup);
    fs.chmodSync(backup, 0o600);
    prune(dir);
  }
  return { ...migrate(db, migrations), backup };
}

function prune(dir: string): void {
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(PREFIX) && f.endsWith('.db'))
    .map((f) => ({ f, at: fs.statSync(path.join(dir, f)).mtimeMs })).sort((a, b) => a.at - b.at).map((x) => x.f);
  for (const f of files.slice(0, Math.max(0, files.length - KEEP_BACKUPS))) fs.rmSync(path.join(dir, f), { force: true });
}
