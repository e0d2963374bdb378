/**
 * Usage retention (issue 13): raw usage events older than the retention setting
 * (PLUGBOARD_USAGE_RETENTION_DAYS; 0 keeps them forever) are deleted in bounded batches — at start,
 * then every interval — and minute rollups older than the window they serve; hour rollups are
 * kept, so the usage summary still covers pruned days. Each batch is its own short transaction
 * and the next waits for the event loop (setImmediate), so a large first prune never holds the
 * database or the request path for long. Must never throw to its caller: a failure is logged and
 * the next round tries again.
 */
import type { Logger } from '../log.ts';
import type { UsageEventsRepo } from '../storage/repos/usage-events.ts';
import { MINUTE_MS, type UsageRollupsRepo } from '../storage/repos/usage-rollups.ts';

const DAY_MS = 24 * 3_600_000;
/** Rows per delete: a few milliseconds of work each. */
export const PRUNE_BATCH = 2000;
/** Minute rollups serve buckets under an hour over at most 7 days (control/usage-summary.ts): one day of slack. */
export const MINUTE_ROLLUPS_KEEP_MS = 8 * DAY_MS;

export interface RetentionDeps {
  usage: Pick<UsageEventsRepo, 'pruneBefore'>;
  rollups: Pick<UsageRollupsRepo, 'prune'>;
  log: Logger;
  /** Days raw events are kept; 0: forever. */
  retentionDays: number;
  intervalMs?: number;
  now?: () => number;
  batch?: number;
}

export interface UsagePruner {
  /** One full round (every batch until nothing is old enough); resolves with what it deleted. */
  runOnce(): Promise<{ events: number; rollups: number }>;
  /** Runs a round now and then every interval; unref'd timers. */
  start(): void;
  stop(): Promise<void>;
}

export function createUsagePruner(deps: RetentionDeps): UsagePruner {
  const now = deps.now ?? Date.now;
  const batch = deps.batch ?? PRUNE_BATCH;
  const intervalMs = deps.intervalMs ?? 3_600_000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<{ events: number; rollups: number }> | null = null;
  let stopped = false;
  const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  async function round(): Promise<{ events: number; rollups: number }> {
    let events = 0;
    let rollups = 0;
    try {
      if (deps.retentionDays > 0) {
        const cutoff = now() - deps.retentionDays * DAY_MS;
        for (;;) {
          if (stopped) break;
          const r = deps.usage.pruneBefore(cutoff, batch);
          events += r.deleted;
          if (!r.more) break;
          await yieldTurn();
        }
      }
      const minuteCutoff = now() - MINUTE_ROLLUPS_KEEP_MS;
      for (;;) {
        if (stopped) break;
        const n = deps.rollups.prune(MINUTE_MS, minuteCutoff, batch);
        rollups += n;
        if (n < batch) break;
        await yieldTurn();
      }
      if (events || rollups) deps.log.info({ events, minuteRollups: rollups, retentionDays: deps.retentionDays }, 'usage retention: old rows pruned');
    } catch (err) {
      deps.log.warn({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'usage retention: prune failed; retried next round');
    }
    return { events, rollups };
  }

  const runOnce = (): Promise<{ events: number; rollups: number }> => {
    running ??= round().finally(() => {
      running = null;
    });
    return running;
  };

  return {
    runOnce,
    start() {
      if (timer || stopped) return;
      const tick = (): void => {
        void runOnce().then(() => {
          if (stopped) return;
          timer = setTimeout(tick, intervalMs);
          timer.unref();
        });
      };
      // Not in the start-up turn: the server answers first.
      timer = setTimeout(tick, 1000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
