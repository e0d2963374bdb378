/**
 * Builds the Koa application: the outermost request context, then the routers.
 * The only place that assembles HTTP routes; everything it needs comes in as parameters.
 */
import Koa from 'koa';
import type Router from '@koa/router';
import { methodNotAllowed, unknownRoute } from '../errors.ts';
import type { Logger } from '../log.ts';
import { requestContext } from './request-context.ts';

export function createKoaApp(opts: { log: Logger; trustProxy: boolean; routers: Router[] }): Koa {
  const app = new Koa({ proxy: opts.trustProxy });
  app.silent = true;
  app.use(requestContext({ log: opts.log }));
  for (const router of opts.routers) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true, methodNotAllowed: () => methodNotAllowed(), notImplemented: () => unknownRoute() }));
  }
  return app;
}
