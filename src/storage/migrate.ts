/**
 * Numbered SQL migrations applied atomically, tracked by `PRAGMA user_version`.
 *
 * Files are `migrations/NNNN_name.sql`; migration N sets user_version to N. All pending files run
 * in one transaction, so a failure leaves the database as it was. A database newer than the code
 * is refused rather than guessed at.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads the migration files in order; numbers must be 1..N without gaps. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = fs.readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return files.map((file, i) => {
    const version = Number(file.slice(0, 4));
    if (version !== i + 1) throw new Error(`Migration ${file} is out of sequence (expected ${String(i + 1).padStart(4, '0')}).`);
    return { version, name: file.slice(5, -4), sql: fs.readFileSync(path.join(dir, file), 'utf8') };
  });
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: string[];
}

/** Applies every pending migration in one transaction. Running it twice is a no-op. */
export function migrate(db: Db, migrations: Migration[] = loadMigrations()): MigrateResult {
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  const run = db.transaction((): MigrateResult => {
    const from = db.pragma('user_version', { simple: true }) as number;
    if (from > latest) {
      throw new Error(
        `The database is at schema version ${from}, newer than this Plugboard (${latest}). Upgrade Plugboard or restore a matching backup.`,
      );
    }
    const applied: string[] = [];
    for (const m of migrations) {
      if (m.version <= from) continue;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
      applied.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
    }
    return { from, to: Math.max(from, latest), applied };
  });
  return run.immediate();
}
