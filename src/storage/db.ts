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
  /** Cheap look for commits since the last `seen()` (db.ts walIndexWatch); always "maybe" without one. */
  commits: CommitWatch;
}

/** Whether any connection may have committed since `seen()` was last called. */
export interface CommitWatch {
  /** False only when no connection can have committed since the last `seen()`; true when unsure. */
  mayHaveCommitted(): boolean;
  /** The caller has asked SQLite after a `mayHaveCommitted()` of true: what that call read is now the last seen. */
  seen(): void;
}
const epochs = new WeakMap<Db, ConfigEpoch>();
const UNSURE: CommitWatch = { mayHaveCommitted: () => true, seen: () => undefined };

export function configEpochOf(db: Db): ConfigEpoch {
  let e = epochs.get(db);
  if (!e) {
    e = { local: 0, external: 0, seenDataVersion: -1, commits: UNSURE };
    epochs.set(db, e);
  }
  return e;
}

/** Bytes of one copy of the WAL-index header at the start of the -shm file (SQLite's WalIndexHdr). */
const WAL_INDEX_HEADER_BYTES = 48;

/**
 * Tells, with one 48-byte read and no lock, whether any connection may have committed since the
 * last `seen()`: the first copy of the WAL-index header in the database's `-shm` file. Every
 * commit rewrites it (a new `iChange`, `mxFrame`, salts and checksum), and it is what SQLite itself
 * compares to decide that `PRAGMA data_version` moves (walIndexTryHdr: a memcmp of this copy with
 * the connection's last one). Unchanged bytes mean nothing to see; changed or torn bytes send the
 * caller to SQLite, which reads the header properly, and only then (`seen()`) do they become the
 * last seen, so a failed look at SQLite is repeated. A commit counts once its header is written,
 * which is when other connections can see it too. While a connection is open the -shm file stays
 * the same file (no other process can delete or recreate it under a reader's lock).
 * `PRAGMA data_version` costs a read transaction (two fcntl locks and a stat of the -wal file):
 * ~15 µs a request at one connection in a CPU profile, against one pread here.
 * Until the file can be read (not there yet; not WAL) the answer is "maybe": callers ask SQLite.
 *
 * The descriptor is shared by every connection of this process to the file and closed only after
 * the last of them has closed (`close()` is called after the connection's own): SQLite locks the
 * -shm file with POSIX record locks, which closing *any* descriptor of the file drops for the whole
 * process. Connections to the file must therefore all come from openDb.
 */
export function walIndexWatch(dbFile: string): CommitWatch & { close(): void } {
  const shm = shmFileOf(dbFile);
  shm.users++;
  let closed = false;
  const last = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  const read = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  let readOk = false;
  return {
    mayHaveCommitted() {
      readOk = false;
      if (closed) return true;
      try {
        // Opened at the first look that finds the file: SQLite creates it at the first read or write of a new database.
        if (shm.fd === -1) shm.fd = fs.openSync(shm.file, fs.constants.O_RDONLY);
        readOk = fs.readSync(shm.fd, read, 0, WAL_INDEX_HEADER_BYTES, 0) === WAL_INDEX_HEADER_BYTES;
      } catch {
        return true;
      }
      return !readOk || !read.equals(last);
    },
    seen() {
      if (readOk) read.copy(last);
      else last.fill(0);
    },
    close() {
      if (closed) return;
      closed = true;
      if (--shm.users > 0) return;
      shmFiles.delete(shm.file);
      if (shm.fd !== -1) fs.closeSync(shm.fd);
      shm.fd = -1;
    },
  };
}

interface ShmFile {
  file: string;
  fd: number;
  /** Open connections (openDb) of this process to the database. */
  users: number;
}
const shmFiles = new Map<string, ShmFile>();

/** The -shm file SQLite uses for a database: beside the real file, symbolic links followed (as SQLite does). */
function shmFileOf(dbFile: string): ShmFile {
  let real: string;
  try {
    real = fs.realpathSync(dbFile);
  } catch {
    real = path.resolve(dbFile);
  }
  const file = `${real}-shm`;
  let shm = shmFiles.get(file);
  if (!shm) shmFiles.set(file, (shm = { file, fd: -1, users: 0 }));
  return shm;
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
  if (options.file !== ':memory:' && !options.readonly) {
    const watch = walIndexWatch(options.file);
    epoch.commits = watch;
    // The shared descriptor goes after the connection (a process opens many in tests); never before it (see walIndexWatch).
    const close = db.close.bind(db);
    db.close = () => {
      try {
        return close();
      } finally {
        if (!db.open) watch.close();
      }
    };
  }
  return db;
}

/** The database file inside a data directory. */
export function dbFileIn(dataDir: string): string {
  return path.join(dataDir, 'plugboard.db');
}
