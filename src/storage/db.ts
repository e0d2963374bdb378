/**
 * Opens the SQLite database with the settings every connection needs.
 *
 * WAL for concurrent readers (the CLI and TUI may open the file while the server runs),
 * a busy timeout instead of immediate SQLITE_BUSY, and foreign keys (off by default, per
 * connection). Must never know about HTTP or tenants: repositories add those.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;

export interface OpenDbOptions {
  /** File path, or ':memory:'. */
  file: string;
  readonly?: boolean;
  busyTimeoutMs?: number;
}

/** Opens (creating the folder if needed) and configures a connection. */
export function openDb(options: OpenDbOptions): Db {
  if (options.file !== ':memory:') fs.mkdirSync(path.dirname(options.file), { recursive: true });
  const db = new Database(options.file, {
    readonly: options.readonly ?? false,
    timeout: options.busyTimeoutMs ?? 5000,
  });
  if (!options.readonly) db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** The database file inside a data directory. */
export function dbFileIn(dataDir: string): string {
  return path.join(dataDir, 'plugboard.db');
}
