/**
 * Builds the Koa application — the outermost request context, the failed-auth throttle, the
 * answers for raw routes' other methods, then the routers — and the server's request listener,
 * which hands the raw routes (the gateway's hot path) their requests before Koa builds a context.
 * The only place that assembles HTTP routes; everything it needs comes in as parameters. A path is
 * served by a raw handler or by a Koa route, never both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from '../log.ts';
import { requestContext } from './request-context.ts';
import { createErrorWriter, type ErrorWriter } from './error-writer.ts';
import type { Redactor } from '../storage/known-secrets.ts';
import { authenticates, clientAddress, type AuthThrottle } from './auth-throttle.ts';
import { isAppError } from '../errors.ts';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface KoaAppOptions {
  log: Logger;
  trustProxy: boolean;
  routers: Router[];
  /** The one error writer; built from `log` and `secrets` when not given. */
  errors?: ErrorWriter;
  secrets?: Redactor;
  /** Request-id generator (tests inject one); the fast path and the parser-error handler get the same. */
  generateId?: () => string;
  authThrottle?: AuthThrottle;
  /** `"METHOD /path"` of the raw routes (dispatch): Koa answers their paths' other methods. */
  rawRoutes?: readonly string[];
  /** Audit log (issue 13): records control-panel writes (http/audit.ts); runs inside the request context, around every router. */
  audit?: Koa.Middleware;
}

export function createKoaApp(opts: KoaAppOptions): Koa {
  const app = new Koa({ proxy: opts.trustProxy });
  app.silent = true;
  const errors = opts.errors ?? createErrorWriter({ log: opts.log, secrets: opts.secrets });
  app.use(requestContext({ log: opts.log, errors, generateId: opts.generateId }));
  if (opts.authThrottle) app.use(throttleFailedAuth(opts.authThrottle, opts.trustProxy));
  if (opts.rawRoutes?.length) app.use(otherMethodsOf(opts.rawRoutes));
  if (opts.audit) app.use(opts.audit);
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

/**
 * Matching of raw routes' paths as @koa/router matches its own: case-insensitive, one trailing
 * slash allowed. Used only after the exact match missed, so the hot path pays nothing for it.
 */
function loosePath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

/** Methods @koa/router implements; others are 501, which requestContext tells as an unknown URL. */
const IMPLEMENTED = new Set(['HEAD', 'OPTIONS', 'GET', 'PUT', 'PATCH', 'POST', 'DELETE']);

/**
 * What @koa/router's `allowedMethods` answers for a route's path under another method, for the raw
 * routes (which have no Koa route): `Allow` always, OPTIONS 200, other known methods 405.
 */
function otherMethodsOf(rawRoutes: readonly string[]): Koa.Middleware {
  const allow = new Map<string, string[]>();
  for (const route of rawRoutes) {
    const [method, path] = route.split(' ');
    const key = loosePath(path);
    allow.set(key, [...(allow.get(key) ?? []), method]);
  }
  return async function rawRouteMethodsMiddleware(ctx, next) {
    const methods = allow.get(loosePath(ctx.path));
    // A raw route's own method reaches Koa only if dispatch was bypassed: Koa does not serve it either.
    if (!methods || methods.includes(ctx.method)) return next();
    ctx.set('Allow', methods.join(', '));
    if (!IMPLEMENTED.has(ctx.method)) ctx.status = 501;
    else if (ctx.method === 'OPTIONS') {
      ctx.status = 200;
      ctx.body = '';
    } else ctx.status = 405;
  };
}

/**
 * The server's request listener: routes listed in `raw` (`"METHOD /path"`, query string ignored)
 * are served without Koa — the gateway's hot path cannot afford a Koa context per request;
 * everything else goes to Koa. The exact path is looked up first; a variant (case, trailing slash)
 * only when that missed.
 */
export function dispatch(koa: Koa, raw: Record<string, RawHandler>): RawHandler {
  const koaHandler = koa.callback();
  const exact = new Map(Object.entries(raw));
  const loose = new Map(Object.entries(raw).map(([route, handler]) => {
    const [method, path] = route.split(' ');
    return [`${method} ${loosePath(path)}`, handler] as const;
  }));
  return function plugboardRequestListener(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const handler = exact.get(`${req.method} ${path}`) ?? loose.get(`${req.method} ${loosePath(path)}`);
    if (handler) handler(req, res);
    else void koaHandler(req, res);
  };
}
