/**
 * Authentication of the appliance operator on `/operator/…`: `Authorization: Bearer pbo_…`, an
 * operator token (`plugboard operator token create`). Operators are not organisation members and
 * control tokens never open these routes (nor operator tokens the organisation routes). Failures
 * are 401s, counted by the failed-authentication throttle like every other credential's.
 */
import type Koa from 'koa';
import { unauthenticated } from '../errors.ts';
import type { OperatorTokensRepo } from '../storage/repos/operator-tokens.ts';
import { OPERATOR_TOKEN_PREFIX } from '../storage/tokens.ts';

export interface OperatorAuthDeps {
  operatorTokens: OperatorTokensRepo;
}

export interface OperatorActor {
  tokenId: string;
  name: string;
}

/** Middleware: the caller must hold a valid, unrevoked operator token. */
export function requireOperator(deps: OperatorAuthDeps): Koa.Middleware {
  return async function requireOperatorMiddleware(ctx, next) {
    const header = ctx.get('authorization');
    if (!header) throw unauthenticated('Missing operator token. Send it as "Authorization: Bearer pbo_…" (plugboard operator token create).', 'missing_token');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !m[1].startsWith(OPERATOR_TOKEN_PREFIX)) throw unauthenticated('Invalid operator token.', 'invalid_token');
    const token = deps.operatorTokens.findBySecret(m[1]);
    if (!token) throw unauthenticated('Invalid operator token.', 'invalid_token');
    if (token.revokedAt !== null) throw unauthenticated('This operator token has been revoked.', 'revoked_token');
    deps.operatorTokens.touch(token.id);
    const actor: OperatorActor = { tokenId: token.id, name: token.name };
    ctx.state.operator = actor;
    await next();
  };
}

export function operatorOf(ctx: Koa.Context): OperatorActor {
  return ctx.state.operator as OperatorActor;
}
