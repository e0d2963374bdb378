/**
 * Control panel: `GET /organizations/{id}/events`, a live SSE stream of tool-loop events for the
 * operator TUI. Members of the organisation only; events of other organisations never reach it.
 * Each event leaves as one line that passes the known-secrets redactor (events carry error classes,
 * tool names and models, some of which come from the model or the upstream).
 */
import Router from '@koa/router';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import type { EventBus } from '../../../usage/bus.ts';
import { NO_SECRETS, type Redactor } from '../../../storage/known-secrets.ts';

export function eventRoutes(deps: ControlAuthDeps & { bus: EventBus; keepAliveMs: number; shutdownSignal: AbortSignal; secrets?: Redactor }): Router {
  const router = new Router();
  const secrets = deps.secrets ?? NO_SECRETS;
  router.get('/organizations/:organizationId/events', requireOrgAction(deps, 'events:read'), async function liveEvents(ctx) {
    const orgId = actorOf(ctx).orgId;
    const res = ctx.res;
    ctx.respond = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(ctx.response.get('x-request-id')),
    });
    res.write(': connected\n\n');
    await new Promise<void>((resolve) => {
      const unsubscribe = deps.bus.subscribe(orgId, (event) => {
        res.write(secrets.redact(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
      });
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), deps.keepAliveMs);
      const done = (): void => {
        clearInterval(keepAlive);
        unsubscribe();
        deps.shutdownSignal.removeEventListener('abort', end);
        resolve();
      };
      // Live streams never end by themselves: the server's shutdown ends them.
      const end = (): void => void res.end();
      deps.shutdownSignal.addEventListener('abort', end, { once: true });
      res.once('close', done);
    });
  });
  return router;
}
