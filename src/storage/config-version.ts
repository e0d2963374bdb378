/**
 * Request-path caches of configuration (keys, organisation settings, installations, WhatsApp
 * instances and grants) compare this version instead of re-reading their tables.
 *
 * The version moves when this connection writes configuration (migration 0004's triggers call a
 * function registered by openDb) and when `refresh()` sees, through `PRAGMA data_version`, that
 * another connection committed (the CLI, a second process). `refresh()` is one SQLite read at most
 * once a millisecond; the gateway calls it on every request (key authentication), so a key revoked
 * by the CLI fails on every request that starts a millisecond after the revocation. `current()`
 * reads no SQLite at all. When nobody committed since the last look, `refresh()` reads 48 bytes of
 * the WAL-index header instead of SQLite (db.ts walIndexWatch).
 */
import { configEpochOf, type Db } from './db.ts';

export interface ConfigVersion {
  /** The version now; no I/O. */
  current(): number;
  /** Looks for commits by other connections (one SQLite read). */
  refresh(): void;
}

/**
 * Other connections' commits are looked for at most once per this many milliseconds. The read takes
 * WAL locks (two fcntl calls and the shared-memory header): at thousands of requests a second, once
 * per millisecond is most of them saved, and a change made by another process — the CLI revoking a
 * key — still fails every request that starts a millisecond after it committed.
 */
const REFRESH_EVERY_MS = 1;
/** Longest time between two real `PRAGMA data_version` reads while the WAL-index header looks unchanged. */
const ASK_ANYWAY_MS = 1000;

export function createConfigVersion(db: Db): ConfigVersion {
  const epoch = configEpochOf(db);
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let lastRead = Number.NEGATIVE_INFINITY;
  let lastAsked = Number.NEGATIVE_INFINITY;
  const refresh = (): void => {
    const now = performance.now();
    if (now - lastRead < REFRESH_EVERY_MS) return;
    lastRead = now;
    // One pread of the WAL-index header instead of a read transaction when nobody committed (db.ts
    // walIndexWatch). SQLite is asked anyway once a second: a bound on what a case that reasoning
    // did not foresee could cost.
    if (!epoch.commits.mayHaveCommitted() && epoch.seenDataVersion !== -1 && now - lastAsked < ASK_ANYWAY_MS) return;
    lastAsked = now;
    const v = dataVersion.get() as number;
    epoch.commits.seen();
    if (v !== epoch.seenDataVersion) {
      if (epoch.seenDataVersion !== -1) epoch.external++;
      epoch.seenDataVersion = v;
    }
  };
  refresh();
  // Every instance over one connection shares its epoch, so one refresh serves every cache.
  return { current: () => epoch.local + epoch.external, refresh };
}

/** A cache that empties itself whenever the configuration version moves. */
export function createVersionedCache<K, V>(version: ConfigVersion, maxEntries = 10_000) {
  const map = new Map<K, V>();
  let seen = -1;
  return {
    get(key: K, load: () => V): V {
      const v = version.current();
      if (v !== seen) {
        map.clear();
        seen = v;
      }
      let value = map.get(key);
      if (value === undefined && !map.has(key)) {
        value = load();
        if (map.size >= maxEntries) map.clear();
        map.set(key, value);
      }
      return value as V;
    },
    clear(): void {
      map.clear();
    },
  };
}
