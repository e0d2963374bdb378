/**
 * Builds the Koa application: the outermost request context, then the routers.
 * The only place that assembles HTTP routes; everything it needs comes in as parameters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../log.ts';
import { requestContext } from './request-context.ts';
import type { Redactor } from '../storage/known-secrets.ts';
import { authenticates, clientAddress, type AuthThrottle } from './auth-throttle.ts';
import { isAppError } from '../errors.ts';

export function createKoaApp(opts: { log: Logger; trustProxy: boolean; routers: Router[]; secrets?: Redactor; authThrottle?: AuthThrottle }): Koa {
  const app = new Koa({ proxy: opts.trustProxy });
  app.silent = true;
  app.use(requestContext({ log: opts.log, secrets: opts.secrets }));
  if (opts.authThrottle) app.use(throttleFailedAuth(opts.authThrottle, opts.trustProxy));
  for (const router of opts.routers) {
    app.use(router.routes());
    // Not thrown: koa-router then sets the Allow header, and requestContext turns 405/501 into our error shape.
    app.use(router.allowedMethods({ throw: false }));
  }
  return app;
}

/** Refuses addresses over the failed-authentication limit, and counts every 401 of the routes below. */
function throttleFailedAuth(throttle: AuthThrottle, trustProxy: boolean): Koa.Middleware {
  return async function throttleFailedAuthMiddleware(ctx, next) {
    if (!authenticates(ctx.path)) return next();
    const address = clientAddress(ctx.req, trustProxy);
    throttle.assertAllowed(address);
    try {
      await next();
    } catch (err) {
      if (isAppError(err) && err.status === 401) throw (await throttle.failed(address)) ?? err;
      throw err;
    }
  };
}

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The server's request listener: routes listed in `fast` (`"METHOD /path"`, query string ignored)
 * are served without Koa — the gateway's hot path cannot afford a Koa context per request;
 * everything else goes to Koa.
 */
export function dispatch(koa: Koa, fast: Record<string, RawHandler>): RawHandler {
  const koaHandler = koa.callback();
  const table = new Map(Object.entries(fast));
  return function plugboardRequestListener(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const handler = table.get(`${req.method} ${q < 0 ? url : url.slice(0, q)}`);
    if (handler) handler(req, res);
    else void koaHandler(req, res);
  };
}
