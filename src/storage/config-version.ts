/**
 * Request-path caches of configuration (keys, organisation settings, installations, WhatsApp
 * instances and grants) compare this version instead of re-reading their tables. Triggers
 * (migration 0004) move it on every configuration write by any connection, so a revoked key or a
 * changed grant is seen on the very next request, also when the CLI or another process wrote it.
 */
import type { Db } from './db.ts';

export interface ConfigVersion {
  /** Reads the current version (one indexed row; about a microsecond). */
  current(): number;
}

export function createConfigVersion(db: Db): ConfigVersion {
  const stmt = db.prepare('SELECT n FROM config_version WHERE id = 1').pluck();
  return { current: () => stmt.get() as number };
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
