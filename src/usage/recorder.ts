/**
 * Usage recorder: takes usage events from the request path, and makes a completion's events safe
 * before its answer ends, without a SQLite commit on that path.
 *
 * The guarantee (README "Durability"): when `commit()` returns, the event — and every event
 * recorded before it — survives the process being killed: appended to the usage journal
 * (usage/journal.ts, one small write, no fsync), or, when the journal cannot be written, committed
 * to SQLite (or counted as dropped when SQLite refuses too). The gateway ends a response after it.
 * `commitSoon()` gives the same guarantee when its promise resolves, with one append per
 * event-loop turn for all the completions that ended in it (the chat path's success case).
 * Events reach SQLite in batches (every FLUSH_INTERVAL_MS or MAX_BATCH events), which then empty
 * the journal; `recover()` replays it at start. Why not a SQLite commit per completion: several
 * page writes each and, by growing the WAL, frequent checkpoints with fsyncs — measured 175 µs a
 * row sustained (p99 4 ms) against 16 µs batched; the journal append is about 5 µs. `record()`
 * queues without writing. Gateway-key last-used times are not usage: batched, not journaled.
 *
 * A refused write never fails a request: events SQLite refuses are dropped, counted in `stats`
 * and logged (a warn line with the count, at most every DROP_LOG_INTERVAL_MS). Must never throw
 * to callers.
 */
import type { GatewayKeysRepo } from '../storage/repos/gateway-keys.ts';
import { redactUsageEvent, type UsageEventInput, type UsageEventsRepo } from '../storage/repos/usage-events.ts';
import { NO_SECRETS, type Redactor } from '../storage/known-secrets.ts';
import type { StorageHealth } from '../storage/health.ts';
import { storageFailureKind } from '../storage/health.ts';
import type { JournalEntry, UsageJournal } from './journal.ts';
import type { Logger } from '../log.ts';

/** A batch this large is written at once rather than waiting for the next flush. */
const MAX_BATCH = 500;
/**
 * Latest interval between SQLite writes of usage events and of last-used times. Durability is the
 * journal's (see above), and readers of the usage table flush first, so this only sets how often
 * the per-batch costs are paid: the transaction, the rollup upserts (twelve rows per distinct event
 * tuple, whatever the batch size) and emptying the journal. At one connection a batch of 50 ms held
 * about 20 tool-loop requests and those costs came to ~50 µs a request (CPU profile); at 250 ms
 * they are a fifth of that. Under load MAX_BATCH comes first.
 */
const FLUSH_INTERVAL_MS = 250;
/** Dropped rows are reported at most this often (a full disk under load would otherwise log per turn). */
const DROP_LOG_INTERVAL_MS = 5000;

/** Counters a health check or a metrics endpoint reads. */
export interface UsageStats {
  /** Events written to SQLite since start. */
  readonly committed: number;
  /** Events lost because the database refused the write (disk full, I/O error…) since start. */
  readonly dropped: number;
  /** Events recovered from the journal at start (the previous process died before writing them). */
  readonly recovered: number;
}

export interface UsageRecorder {
  /** Queues an event; written by the next flush (within FLUSH_INTERVAL_MS). */
  record(event: UsageEventInput): void;
  /** Records an event and makes it, and everything recorded before it, safe (or dropped) before returning. */
  commit(event: UsageEventInput): void;
  /**
   * Records an event; resolves once it, and everything recorded before it, is safe (or dropped).
   * Every event committed this way in one event-loop turn shares one journal append, made right
   * after the turn's I/O callbacks (setImmediate): under load many completions end per turn, and
   * each used to pay its own write (~20 µs at 32 connections, CPU profile). Never rejects.
   */
  commitSoon(event: UsageEventInput): Promise<void>;
  touchKey(keyId: string, at: number): void;
  /** Writes everything pending to SQLite now (readers of the usage table call it first). */
  flush(): void;
  /** At start: writes the events a killed process left in the journal. */
  recover(): void;
  close(): void;
  readonly stats: UsageStats;
}

export interface RecorderDeps {
  usage: UsageEventsRepo;
  keys: GatewayKeysRepo;
  journal: UsageJournal;
  log: Logger;
  health?: StorageHealth;
  /** Known secrets: removed from an event's text fields before it is journaled or written. */
  secrets?: Redactor;
}

export function createUsageRecorder(deps: RecorderDeps): UsageRecorder {
  const secrets = deps.secrets ?? NO_SECRETS;
  let seq = deps.usage.journalSeq();
  let pending: JournalEntry[] = [];
  /** pending[0 .. journaled) are in the journal already. */
  let journaled = 0;
  let touched = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;
  let soon: NodeJS.Immediate | null = null;
  /** commitSoon callers waiting for this turn's append. */
  let waiters: Array<() => void> = [];
  let safeSoon: NodeJS.Immediate | null = null;
  const stats = { committed: 0, dropped: 0, recovered: 0 };
  let unreported = 0;
  let lastDropLog = -Infinity;
  let lastDropErr: unknown = null;

  const errFields = (err: unknown) => ({ code: (err as { code?: string } | null)?.code, message: (err as Error | null)?.message });
  const reportDrops = (force: boolean): void => {
    const at = Date.now();
    if (!unreported || (!force && at - lastDropLog < DROP_LOG_INTERVAL_MS)) return;
    deps.log.warn({ err: errFields(lastDropErr), dropped: unreported, droppedTotal: stats.dropped }, 'usage events dropped: the database refused the write');
    unreported = 0;
    lastDropLog = at;
  };
  /** Everything pending into SQLite in one transaction, then the journal is empty again. */
  const writeEvents = (): void => {
    const entries = pending;
    pending = [];
    journaled = 0;
    if (entries.length) {
      try {
        deps.usage.insertMany(entries.map((e) => e.event), entries[entries.length - 1].seq);
        stats.committed += entries.length;
        deps.health?.noteSuccess();
        if (unreported) reportDrops(true);
      } catch (err) {
        stats.dropped += entries.length;
        unreported += entries.length;
        lastDropErr = err;
        deps.health?.noteFailure(err);
        // A storage failure repeats every turn until space is back: one line per interval. Anything else is a bug: every time.
        reportDrops(storageFailureKind(err) === null);
      }
    }
    // Emptied after a failure too: what SQLite refused is dropped (and counted), not replayed later.
    try {
      deps.journal.clear();
    } catch (err) {
      deps.log.error({ err: errFields(err) }, 'usage journal could not be emptied');
    }
  };
  /** The events not yet in the journal go there in one write; without a journal, into SQLite now. */
  const makeSafe = (): void => {
    if (journaled === pending.length) return;
    try {
      deps.journal.append(pending.slice(journaled));
      journaled = pending.length;
    } catch (err) {
      deps.health?.noteFailure(err);
      writeEvents();
    }
  };
  /** Every waiting commitSoon caller goes on, in commit order (their rows are safe by now). */
  const releaseWaiters = (): void => {
    const ready = waiters;
    waiters = [];
    for (const go of ready) go();
  };
  /** This turn's append, then the turn's commitSoon callers go on. */
  const settleWaiters = (): void => {
    safeSoon = null;
    makeSafe();
    releaseWaiters();
  };
  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (soon) {
      clearImmediate(soon);
      soon = null;
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
      deps.log.debug({ err: errFields(err), keys: keys.size }, 'key last-used times not written');
    }
  };
  const schedule = (): void => {
    // A full batch is written right after this turn: never inside the request that filled it.
    if (pending.length >= MAX_BATCH) soon ??= setImmediate(flush);
    else if (!timer) {
      timer = setTimeout(flush, FLUSH_INTERVAL_MS);
      timer.unref();
    }
  };
  return {
    record(event) {
      pending.push({ seq: ++seq, event: redactUsageEvent(event, secrets) });
      schedule();
    },
    commit(event) {
      pending.push({ seq: ++seq, event: redactUsageEvent(event, secrets) });
      makeSafe();
      schedule();
    },
    commitSoon(event) {
      pending.push({ seq: ++seq, event: redactUsageEvent(event, secrets) });
      schedule();
      return new Promise<void>((resolve) => {
        waiters.push(resolve);
        safeSoon ??= setImmediate(settleWaiters);
      });
    },
    touchKey(keyId, at) {
      touched.set(keyId, at);
      schedule();
    },
    flush,
    recover() {
      const done = deps.usage.journalSeq();
      const lost = deps.journal.readAll().filter((e) => e.seq > done);
      if (!lost.length) {
        deps.journal.clear();
        return;
      }
      seq = Math.max(seq, lost[lost.length - 1].seq);
      // They are in the journal already; written now, as any batch (a refusal drops and counts them).
      pending = [...lost, ...pending];
      journaled = lost.length;
      stats.recovered += lost.length;
      deps.log.info({ recovered: lost.length }, 'usage events recovered from the journal of a process that stopped before writing them');
      writeEvents();
    },
    close() {
      if (safeSoon) {
        clearImmediate(safeSoon);
        safeSoon = null;
      }
      flush();
      // Written to SQLite (or counted as dropped) by the flush: safe, so the callers go on.
      releaseWaiters();
      reportDrops(true);
      deps.journal.close();
    },
    stats,
  };
}
