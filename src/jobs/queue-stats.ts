/**
 * Depth of the durable job table for readiness and metrics: jobs by kind and state (queued,
 * running, dead = the dead letters) and how long the oldest due queued job has waited. One
 * grouped read over the `jobs_due` index; done jobs are not counted (they are history, and many).
 * Read-only: never changes a job.
 */
import type { Db } from '../storage/db.ts';
import type { QueueSummary } from '../shared/api-ops.ts';

export interface JobKindCount {
  kind: string;
  status: 'queued' | 'running' | 'dead';
  count: number;
  /** Seconds the oldest queued job whose run time has come has waited; 0 when none is due (queued rows only). */
  oldestDueSeconds?: number;
}

export type { QueueSummary };

export interface QueueStats {
  byKind(): JobKindCount[];
  summary(): QueueSummary;
}

export function createQueueStats(db: Db, now: () => number = Date.now): QueueStats {
  const grouped = db.prepare(`
    SELECT kind, status, COUNT(*) AS count,
           SUM(CASE WHEN status = 'queued' AND run_at <= @now THEN 1 ELSE 0 END) AS due,
           MIN(CASE WHEN status = 'queued' AND run_at <= @now THEN run_at END) AS oldest
    FROM jobs WHERE status IN ('queued', 'running', 'dead') GROUP BY kind, status ORDER BY kind, status`);
  const read = (): Array<{ kind: string; status: JobKindCount['status']; count: number; due: number; oldest: number | null }> =>
    grouped.all({ now: now() }) as Array<{ kind: string; status: JobKindCount['status']; count: number; due: number; oldest: number | null }>;
  const waited = (oldest: number | null, at: number): number => (oldest === null ? 0 : Math.max(0, (at - oldest) / 1000));
  return {
    byKind() {
      const at = now();
      return read().map((r) => ({ kind: r.kind, status: r.status, count: r.count, ...(r.status === 'queued' ? { oldestDueSeconds: waited(r.oldest, at) } : {}) }));
    },
    summary() {
      const at = now();
      const out: QueueSummary = { queued: 0, due: 0, running: 0, dead: 0, oldestDueSeconds: 0 };
      for (const r of read()) {
        out[r.status] += r.count;
        if (r.status === 'queued') {
          out.due += r.due;
          out.oldestDueSeconds = Math.max(out.oldestDueSeconds, waited(r.oldest, at));
        }
      }
      out.oldestDueSeconds = Math.round(out.oldestDueSeconds * 1000) / 1000;
      return out;
    },
  };
}
