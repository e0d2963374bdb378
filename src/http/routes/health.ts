/**
 * Liveness and readiness. `/healthz`: the process answers. `/readyz`: the database answers, can
 * take writes (`checks.storage`: ok, full, io_error, read_only) and the server is not shutting
 * down; `checks.usageDropped` counts usage events lost to refused writes since start.
 *
 * `/readyz` also reports, without them deciding readiness, what an operator asks next: the upstream
 * (`checks.upstream`: the latest real call's or probe's outcome), the WhatsApp reply worker
 * (running, jobs in flight), the job queue (queued, due, running, dead letters, the oldest due
 * job's wait) and whether the public base URL is one Twilio can reach. An unreachable upstream
 * does not take the appliance out of rotation: its control API and webhooks still work, and no
 * other replica would do better. No secrets, ids or customer data in any of it.
 */
import Router from '@koa/router';
import type { Db } from '../../storage/db.ts';
import type { StorageHealth } from '../../storage/health.ts';
import type { UsageStats } from '../../usage/recorder.ts';
import type { UpstreamHealth } from '../../gateway/upstream-health.ts';
import type { QueueSummary } from '../../jobs/queue-stats.ts';
import type { WorkerReport } from '../../shared/api-ops.ts';

export type { WorkerReport } from '../../shared/api-ops.ts';

export interface HealthDeps {
  db: Db;
  isShuttingDown: () => boolean;
  storage: StorageHealth;
  usage: UsageStats;
  upstream?: UpstreamHealth;
  worker?: () => WorkerReport;
  queue?: () => QueueSummary;
  /** Problems of PLUGBOARD_PUBLIC_BASE_URL for Twilio (startup-checks.ts), computed once. */
  publicUrlProblems?: readonly string[];
}

export function healthRoutes(deps: HealthDeps): Router {
  const router = new Router();
  const ping = deps.db.prepare('SELECT 1').pluck();
  router.get('/healthz', async function healthz(ctx) {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async function readyz(ctx) {
    let dbOk = false;
    try {
      dbOk = ping.get() === 1;
    } catch {
      dbOk = false;
    }
    const storage = dbOk ? deps.storage.check().state : 'unknown';
    const ready = dbOk && storage === 'ok' && !deps.isShuttingDown();
    const checks: Record<string, unknown> = { database: dbOk ? 'ok' : 'failing', storage, usageDropped: deps.usage.dropped, shuttingDown: deps.isShuttingDown() };
    if (deps.upstream) checks.upstream = deps.upstream.snapshot();
    if (deps.worker) checks.worker = deps.worker();
    if (deps.queue && dbOk) {
      try {
        checks.queue = deps.queue();
      } catch {
        checks.queue = 'unknown';
      }
    }
    if (deps.publicUrlProblems) checks.publicBaseUrl = deps.publicUrlProblems.length ? { state: 'not_public', problems: deps.publicUrlProblems } : { state: 'ok' };
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });
  return router;
}
