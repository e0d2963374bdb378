/**
 * `GET /metrics`: Prometheus text exposition (usage/metrics.ts).
 *
 * Who may scrape: with PLUGBOARD_METRICS_TOKEN set, whoever sends `Authorization: Bearer <token>`
 * (compared in constant time), from anywhere; without it, only a client on this machine — a
 * loopback socket address and no forwarding header, because a reverse proxy on the same host
 * connects from loopback on behalf of the internet. Everything else is 401 / 403 in the error shape.
 * Metrics carry no secrets or customer data, but they do show traffic and tenants' activity levels.
 */
import crypto from 'node:crypto';
import Router from '@koa/router';
import type { IncomingMessage } from 'node:http';
import { forbidden, unauthenticated } from '../../errors.ts';
import type { Metrics } from '../../usage/metrics.ts';

/** Headers a proxy adds when it forwards a request: such a request did not start on this machine. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host'];

export interface MetricsRouteDeps {
  metrics: Metrics;
  /** PLUGBOARD_METRICS_TOKEN; undefined = loopback only. */
  token: string | undefined;
}

/** True for a socket from 127.0.0.0/8 or ::1 (also IPv4-mapped) that no proxy forwarded. */
export function isLocalUnforwarded(req: IncomingMessage): boolean {
  const addr = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const loopback = addr === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr);
  return loopback && FORWARDING_HEADERS.every((h) => req.headers[h] === undefined);
}

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

export function metricsRoutes(deps: MetricsRouteDeps): Router {
  const router = new Router();
  router.get('/metrics', async function metricsRoute(ctx) {
    if (deps.token !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
      if (!m || !sameSecret(m[1], deps.token)) throw unauthenticated('Send the metrics token (PLUGBOARD_METRICS_TOKEN) as a Bearer token.', 'invalid_metrics_token');
    } else if (!isLocalUnforwarded(ctx.req)) {
      throw forbidden('Metrics are served to this machine only; set PLUGBOARD_METRICS_TOKEN to scrape from elsewhere or through a proxy.', 'metrics_local_only');
    }
    ctx.set('content-type', deps.metrics.contentType);
    ctx.set('cache-control', 'no-store');
    ctx.body = await deps.metrics.render();
  });
  return router;
}
