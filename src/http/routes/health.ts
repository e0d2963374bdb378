/**
 * Liveness and readiness. `/healthz`: the process answers. `/readyz`: the database answers, can
 * take writes (`checks.storage`: ok, full, io_error, read_only) and the server is not shutting
 * down; `checks.usageDropped` counts usage events lost to refused writes since start.
 */
import Router from '@koa/router';
import type { Db } from '../../storage/db.ts';
import type { StorageHealth } from '../../storage/health.ts';
import type { UsageStats } from '../../usage/recorder.ts';

export function healthRoutes(deps: { db: Db; isShuttingDown: () => boolean; storage: StorageHealth; usage: UsageStats }): Router {
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
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? 'ready' : 'not_ready',
      checks: { database: dbOk ? 'ok' : 'failing', storage, usageDropped: deps.usage.dropped, shuttingDown: deps.isShuttingDown() },
    };
  });
  return router;
}
