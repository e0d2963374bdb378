/**
 * Usage recorder: writes usage events in batches, and tells a completion when its row is safe.
 *
 * The guarantee (README "Durability"): `commit()` calls back once the event — and every event
 * recorded before it — is committed to SQLite (or, when the database refuses the write, counted as
 * dropped). The gateway ends a response in that callback, so a completion whose answer reached
 * the client completely has its usage row, even if the process is killed the next instant.
 * Commits wait for the end of the current event-loop turn (`setImmediate`), so the completions
 * finishing in one turn share one transaction. `record()` queues without waiting: such rows are
 * written by the next commit or within FLUSH_INTERVAL_MS. Gateway-key last-used times are not
 * usage: batched every FLUSH_INTERVAL_MS and never waited for.
 *
 * A failed write never fails a request: its events are dropped, counted in `stats` and logged
 * (a warn line with the count, at most every DROP_LOG_INTERVAL_MS). Must never throw to callers.
 */
import type { GatewayKeysRepo } from '../storage/repos/gateway-keys.ts';
import type { UsageEventInput, UsageEventsRepo } from '../storage/repos/usage-events.ts';
import type { StorageHealth } from '../storage/health.ts';
import { storageFailureKind } from '../storage/health.ts';
import type { Logger } from '../log.ts';

/** A batch this large is written at once rather than waiting for the next flush. */
const MAX_BATCH = 500;
/** Latest interval between writes of rows nobody waits for, and of last-used times. */
const FLUSH_INTERVAL_MS = 50;
/** Dropped rows are reported at most this often (a full disk under load would otherwise log per turn). */
const DROP_LOG_INTERVAL_MS = 5000;

/** Counters a health check or a metrics endpoint reads. */
export interface UsageStats {
  /** Events written since start. */
  readonly committed: number;
  /** Events lost because the database refused the write (disk full, I/O error…) since start. */
  readonly dropped: number;
}

export interface UsageRecorder {
  /** Queues an event; written by the next commit or within FLUSH_INTERVAL_MS. */
  record(event: UsageEventInput): void;
  /** Queues an event and calls `then` once it and everything queued before it are committed (or dropped). */
  commit(event: UsageEventInput, then: () => void): void;
  touchKey(keyId: string, at: number): void;
  /** Writes everything pending now (readers of the usage table call it first). */
  flush(): void;
  close(): void;
  readonly stats: UsageStats;
}

export function createUsageRecorder(deps: { usage: UsageEventsRepo; keys: GatewayKeysRepo; log: Logger; health?: StorageHealth }): UsageRecorder {
  let pending: UsageEventInput[] = [];
  let waiters: Array<() => void> = [];
  let touched = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let turnEnd: NodeJS.Immediate | null = null;
  const stats = { committed: 0, dropped: 0 };
  let unreported = 0;
  let lastDropLog = -Infinity;
  let lastDropErr: unknown = null;

  const reportDrops = (force: boolean): void => {
    const at = Date.now();
    if (!unreported || (!force && at - lastDropLog < DROP_LOG_INTERVAL_MS)) return;
    const err = lastDropErr as { code?: string; message?: string } | null;
    deps.log.warn({ err: { code: err?.code, message: err?.message }, dropped: unreported, droppedTotal: stats.dropped }, 'usage events dropped: the database refused the write');
    unreported = 0;
    lastDropLog = at;
  };

  /** Writes the queued events in one transaction, then releases everyone waiting on them. */
  const writeEvents = (): void => {
    if (turnEnd) {
      clearImmediate(turnEnd);
      turnEnd = null;
    }
    const events = pending;
    const done = waiters;
    pending = [];
    waiters = [];
    if (events.length) {
      try {
        deps.usage.insertMany(events);
        stats.committed += events.length;
        deps.health?.noteSuccess();
        if (unreported) reportDrops(true);
      } catch (err) {
        stats.dropped += events.length;
        unreported += events.length;
        lastDropErr = err;
        deps.health?.noteFailure(err);
        // A storage failure repeats every turn until space is back: one line per interval. Anything else is a bug: every time.
        reportDrops(storageFailureKind(err) === null);
      }
    }
    for (const release of done) {
      try {
        release();
      } catch (err) {
        deps.log.error({ err: { message: (err as Error).message, stack: (err as Error).stack } }, 'ending a response after its usage commit failed');
      }
    }
  };
  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    writeEvents();
    if (!touched.size) return;
    const keys = touched;
    touched = new Map();
    try {
      deps.keys.touchMany(keys);
    } catch (err) {
      // Last-used times are a convenience: lost ones are overwritten by the next request's.
      deps.health?.noteFailure(err);
      deps.log.debug({ err: { code: (err as { code?: string }).code, message: (err as Error).message }, keys: keys.size }, 'key last-used times not written');
    }
  };
  const schedule = (): void => {
    if (pending.length >= MAX_BATCH) writeEvents();
    if (!timer) {
      timer = setTimeout(flush, FLUSH_INTERVAL_MS);
      timer.unref();
    }
  };
  return {
    record(event) {
      pending.push(event);
      schedule();
    },
    commit(event, then) {
      pending.push(event);
      waiters.push(then);
      turnEnd ??= setImmediate(writeEvents);
    },
    touchKey(keyId, at) {
      touched.set(keyId, at);
      schedule();
    },
    flush,
    close() {
      flush();
      reportDrops(true);
    },
    stats,
  };
}
