/**
 * Liveness and readiness. `/healthz`: the process answers. `/readyz`: the database answers and
 * the server is not shutting down.
 */
import Router from '@koa/router';
import type { Db } from '../../storage/db.ts';

export function healthRoutes(deps: { db: Db; isShuttingDown: () => boolean }): Router {
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
    const ready = dbOk && !deps.isShuttingDown();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks: { database: dbOk ? 'ok' : 'failing', shuttingDown: deps.isShuttingDown() } };
  });
  return router;
}
