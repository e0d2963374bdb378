/**
 * The audit middleware (issue 13): records every control-panel write — POST, PUT, PATCH, DELETE
 * by an authenticated member or the appliance operator — after it ran, whatever its outcome.
 *
 * Who comes from what the auth middlewares leave in `ctx.state` (control-auth.ts: `auditCaller`,
 * `auditMember`, `actor`; operator-auth.ts: `operator`), so refusals by role (403) and failures
 * (4xx, 5xx) are recorded with the caller; requests that never authenticated (401) or name an
 * organisation the caller is not in (404) are not: they would let anyone write into an owner's log.
 * What is the route template, the path (ids only: the query string is dropped) and the policy
 * action; never a body. The target is the last id in the path, or the `id` of what a create
 * answered. Reads are never recorded; nor are the gateway (`/v1`), webhooks or public pages, whose
 * callers are not control-panel users. A failing audit write never fails the request.
 */
import type Koa from 'koa';
import ipaddr from 'ipaddr.js';
import type { IncomingMessage } from 'node:http';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AuditLogRepo, AuditMethod } from '../storage/repos/audit-log.ts';
import type { Actor } from './control-auth.ts';
import type { OperatorActor } from './operator-auth.ts';
import type { RequestState } from './request-context.ts';

const WRITES = new Set<string>(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface AuditDeps {
  audit: Pick<AuditLogRepo, 'record'>;
  log: Logger;
  trustProxy: boolean;
  now?: () => number;
}

interface AuditState extends RequestState {
  actor?: Actor;
  operator?: OperatorActor;
  auditCaller?: { userId: string; tokenId: string };
  auditMember?: { orgId: string; role: string; action: string };
}

/** The caller's address: the socket's, or with a trusted proxy the address it appended last to X-Forwarded-For. */
function addressOf(req: IncomingMessage, trustProxy: boolean): string | null {
  let raw = req.socket.remoteAddress ?? '';
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',').pop()?.trim();
    if (last && ipaddr.isValid(last)) raw = last;
  }
  if (!raw) return null;
  try {
    return ipaddr.process(raw.replace(/%.*$/, '')).toString();
  } catch {
    return raw.slice(0, 64);
  }
}

/** The id a write acted on: the last path parameter but the organisation, else the id a create answered. */
function targetOf(ctx: Koa.Context): string | null {
  const params = Object.entries((ctx.params ?? {}) as Record<string, string>).filter(([k]) => k !== 'organizationId');
  if (params.length) return params[params.length - 1][1];
  const body = ctx.body as { id?: unknown } | null | undefined;
  if (ctx.status < 300 && body && typeof body === 'object' && !Buffer.isBuffer(body) && typeof body.id === 'string' && body.id.length <= 200) return body.id;
  return null;
}

export function auditWrites(deps: AuditDeps): Koa.Middleware {
  const now = deps.now ?? Date.now;
  return async function auditWritesMiddleware(ctx, next) {
    if (!WRITES.has(ctx.method)) return next();
    let status = 0;
    let errorCode: string | null = null;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = isAppError(err) ? err.status : 500;
      errorCode = isAppError(err) ? err.code : 'internal_error';
      throw err;
    } finally {
      try {
        record(ctx, status, errorCode);
      } catch (err) {
        deps.log.warn({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'audit log entry not written');
      }
    }
  };

  function record(ctx: Koa.Context, status: number, errorCode: string | null): void {
    const state = ctx.state as AuditState;
    const base = {
      method: ctx.method as AuditMethod,
      route: (ctx as { _matchedRoute?: string })._matchedRoute ?? ctx.path,
      path: ctx.path,
      targetId: targetOf(ctx),
      status,
      errorCode,
      requestId: state.requestId,
      ip: addressOf(ctx.req, deps.trustProxy),
      userAgent: ctx.get('user-agent') || null,
      createdAt: now(),
    };
    if (state.operator) {
      const orgId = (ctx.params as Record<string, string> | undefined)?.organizationId ?? null;
      deps.audit.record({ ...base, orgId, actorType: 'operator', actorId: state.operator.tokenId, tokenId: state.operator.tokenId, actorRole: null, actorName: state.operator.name, action: null });
      return;
    }
    const caller = state.auditCaller;
    if (!caller) return;
    const member = state.auditMember;
    let orgId = state.actor?.orgId ?? member?.orgId ?? null;
    let role: string | null = state.actor?.role ?? member?.role ?? null;
    // `POST /organizations`: the caller made it and owns it.
    if (!orgId && ctx.path === '/organizations' && status === 201 && base.targetId) {
      orgId = base.targetId;
      role = 'owner';
    }
    if (!orgId) return;
    deps.audit.record({ ...base, orgId, actorType: 'user', actorId: caller.userId, tokenId: caller.tokenId, actorRole: role, actorName: null, action: member?.action ?? null });
  }
}
