/**
 * Opens the SQLite database with the settings every connection needs.
 *
 * WAL for concurrent readers (the CLI and TUI may open the file while the server runs),
 * a busy timeout instead of immediate SQLITE_BUSY, and foreign keys (off by default, per
 * connection). Must never know about HTTP or tenants: repositories add those.
 *
 * The database holds key hashes, sealed secrets and customers' messages: its files are the
 * owner's only (0600, as the master key), and a data directory Plugboard creates is 0700. An
 * existing directory is left as the operator made it (it may be a mount point or shared with a
 * backup job); the files in it are what is tightened.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;
/** A prepared statement (the driver's type), for repositories that keep statements in maps. */
export type Statement = Database.Statement;

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

/** Mode of the database file and its -wal/-shm companions. */
export const DB_FILE_MODE = 0o600;
/** Mode of a data directory Plugboard creates. */
export const DATA_DIR_MODE = 0o700;

/**
 * Creates the database file 0600 when it is missing (SQLite would make it 0644, and gives the
 * -wal and -shm files the mode of the database file) and takes group and other access away from
 * existing ones. A file owned by someone else is left alone: not ours to change.
 */
function restrictDbFiles(file: string): void {
  fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, DB_FILE_MODE));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = fs.statSync(f).mode & 0o777;
    } catch {
      continue; // No -wal/-shm yet: SQLite creates them with the database file's (now tight) mode.
    }
    if ((mode & 0o077) === 0) continue;
    try {
      fs.chmodSync(f, mode & 0o700);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

/** Opens (creating the folder if needed) and configures a connection. */
export function openDb(options: OpenDbOptions): Db {
  if (options.file !== ':memory:') {
    fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: DATA_DIR_MODE });
    if (!options.readonly) restrictDbFiles(options.file);
  }
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
