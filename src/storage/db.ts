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

/**
 * Per-connection configuration epoch: bumped by the 0004 triggers through a SQL function, so the
 * request path's caches learn about this connection's configuration writes without reading SQLite
 * (a read on a WAL database takes shared-memory locks: ~5 µs, too much to do several times a request).
 * Kept beside the connection object it belongs to.
 */
export interface ConfigEpoch {
  /** Configuration writes by this connection. */
  local: number;
  /** Times another connection was seen to have committed. */
  external: number;
  /** Last `PRAGMA data_version` seen (-1: not read yet). */
  seenDataVersion: number;
}
const epochs = new WeakMap<Db, ConfigEpoch>();

export function configEpochOf(db: Db): ConfigEpoch {
  let e = epochs.get(db);
  if (!e) {
    e = { local: 0, external: 0, seenDataVersion: -1 };
    epochs.set(db, e);
  }
  return e;
}

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
  const epoch = configEpochOf(db);
  db.function('plugboard_config_changed', { deterministic: false }, () => {
    epoch.local++;
    return null;
  });
  return db;
}

/** The database file inside a data directory. */
export function dbFileIn(dataDir: string): string {
  return path.join(dataDir, 'plugboard.db');
}
