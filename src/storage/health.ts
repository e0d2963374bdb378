/**
 * Storage health: which SQLite failures mean "the database cannot take writes right now", and
 * whether that is the case now (for `/readyz`).
 *
 * One classification of SQLite errors (`storageFailureKind`) serves the HTTP error writers (a
 * clear 503 instead of a 500) and this tracker. The tracker learns of failed and successful writes
 * from the usage recorder, looks at the free space of the data volume, and confirms a failure
 * (or a recovery) with a tiny probe write. Must never know about HTTP or throw from `check()`.
 */
import fs from 'node:fs';
import type { Db } from './db.ts';

/** Why the database cannot take writes: disk full, I/O error, read-only file or volume, locked by another process. */
export type StorageFailureKind = 'full' | 'io_error' | 'read_only' | 'busy';
export type StorageState = 'ok' | StorageFailureKind;

/**
 * better-sqlite3 errors carry SQLite's extended result code name, e.g. SQLITE_IOERR_WRITE; files
 * Plugboard writes itself beside the database (the usage journal) fail with errno codes.
 */
const KINDS: Array<[prefix: string, kind: StorageFailureKind]> = [
  ['SQLITE_FULL', 'full'],
  ['ENOSPC', 'full'],
  ['EDQUOT', 'full'],
  ['EIO', 'io_error'],
  ['EROFS', 'read_only'],
  ['SQLITE_IOERR', 'io_error'],
  ['SQLITE_CANTOPEN', 'io_error'],
  ['SQLITE_READONLY', 'read_only'],
  ['SQLITE_BUSY', 'busy'],
  ['SQLITE_LOCKED', 'busy'],
];

/** The kind of storage failure an error is, or null when it is something else (a bug, a constraint). */
export function storageFailureKind(err: unknown): StorageFailureKind | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  for (const [prefix, kind] of KINDS) if (code === prefix || code.startsWith(`${prefix}_`)) return kind;
  return null;
}

/**
 * Free space below which the data volume counts as full: SQLite grows the WAL a few pages per
 * commit and the database file at each checkpoint, and with less than this left one of them is
 * about to fail.
 */
export const MIN_FREE_BYTES = 1024 * 1024;
/** While healthy, a probe write at most this often catches a volume turned read-only or failing without traffic. */
const PROBE_INTERVAL_MS = 5000;
/** The probe never waits long for another process's write lock: /readyz must answer promptly. */
const PROBE_BUSY_TIMEOUT_MS = 100;

export interface StorageCheck {
  state: StorageState;
  /** Bytes available to Plugboard on the data volume; null when the system cannot tell. */
  freeBytes: number | null;
}

export interface StorageHealth {
  /** A write failed (errors that are not storage failures are ignored). */
  noteFailure(err: unknown): void;
  /** A write succeeded. */
  noteSuccess(): void;
  /** The state now: free space, and a probe write when a failure is pending or the last probe is old. */
  check(): StorageCheck;
}

export function createStorageHealth(deps: { db: Db; dataDir: string; now?: () => number }): StorageHealth {
  const now = deps.now ?? Date.now;
  let failure: StorageFailureKind | null = null;
  let lastProbeAt = -Infinity;
  const probe = deps.db.prepare("INSERT INTO meta (key, value) VALUES ('storage_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");

  const freeBytes = (): number | null => {
    try {
      const s = fs.statfsSync(deps.dataDir);
      return s.bavail * s.bsize;
    } catch {
      return null; // No statfs for this path (it vanished, or an exotic file system): the probe decides.
    }
  };
  const probeWrite = (): StorageFailureKind | null => {
    lastProbeAt = now();
    const previous = deps.db.pragma('busy_timeout', { simple: true }) as number;
    deps.db.pragma(`busy_timeout = ${PROBE_BUSY_TIMEOUT_MS}`);
    try {
      probe.run(String(lastProbeAt));
      return null;
    } catch (err) {
      return storageFailureKind(err) ?? 'io_error';
    } finally {
      deps.db.pragma(`busy_timeout = ${previous}`);
    }
  };

  return {
    noteFailure(err) {
      const kind = storageFailureKind(err);
      // Another process holding the write lock is contention, not ill health.
      if (kind && kind !== 'busy') failure = kind;
    },
    noteSuccess() {
      failure = null;
    },
    check() {
      const free = freeBytes();
      if (failure !== null || now() - lastProbeAt >= PROBE_INTERVAL_MS) {
        const kind = probeWrite();
        failure = kind === 'busy' ? failure : kind;
      }
      if (failure !== null) return { state: failure, freeBytes: free };
      if (free !== null && free < MIN_FREE_BYTES) return { state: 'full', freeBytes: free };
      return { state: 'ok', freeBytes: free };
    },
  };
}
