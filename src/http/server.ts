/**
 * Builds the Koa application: the outermost request context, then the routers.
 * The only place that assembles HTTP routes; everything it needs comes in as parameters.
 */
import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../log.ts';
import { requestContext } from './request-context.ts';

export function createKoaApp(opts: { log: Logger; trustProxy: boolean; routers: Router[] }): Koa {
  const app = new Koa({ proxy: opts.trustProxy });
  app.silent = true;
  app.use(requestContext({ log: opts.log }));
  for (const router of opts.routers) {
    app.use(router.routes());
    // Not thrown: koa-router then sets the Allow header, and requestContext turns 405/501 into our error shape.
    app.use(router.allowedMethods({ throw: false }));
  }
  return app;
}
