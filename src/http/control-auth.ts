/**
 * Control-panel authentication and authorisation middleware.
 *
 * `Authorization: Bearer <control-panel token>` names a user; the organisation comes from the
 * path (and `X-Org-Id`, which must agree when sent). Not a member → 404, so other organisations'
 * ids reveal nothing; a member whose role lacks the action → 403. Deny by default.
 */
import type Koa from 'koa';
import { AppError, ErrorType, forbidden, notFound, unauthenticated } from '../errors.ts';
import { allow, type Action } from '../control/policies.ts';
import type { OrganizationsRepo } from '../storage/repos/organizations.ts';
import type { Role } from '../shared/api.ts';
import type { ControlTokensRepo } from '../storage/repos/control-tokens.ts';
import { CONTROL_TOKEN_PREFIX } from '../storage/tokens.ts';
import type { RequestState } from './request-context.ts';

export interface Actor {
  userId: string;
  tokenId: string;
  orgId: string;
  role: Role;
}

export interface ControlAuthDeps {
  orgs: OrganizationsRepo;
  tokens: ControlTokensRepo;
}

/** Resolves the bearer token to its user, or throws 401. */
export function authenticateUser(deps: ControlAuthDeps, ctx: Koa.Context): { userId: string; tokenId: string } {
  const header = ctx.get('authorization');
  if (!header) throw unauthenticated('Missing control-panel token. Send it as "Authorization: Bearer <token>".', 'missing_token');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m || !m[1].startsWith(CONTROL_TOKEN_PREFIX)) throw unauthenticated('Invalid control-panel token.', 'invalid_token');
  const token = deps.tokens.findBySecret(m[1]);
  if (!token) throw unauthenticated('Invalid control-panel token.', 'invalid_token');
  if (token.revokedAt !== null) throw unauthenticated('This control-panel token has been revoked.', 'revoked_token');
  deps.tokens.touch(token.id);
  // Audit log (issue 13): who called, for the audit middleware (http/audit.ts), even when a later check refuses.
  ctx.state.auditCaller = { userId: token.userId, tokenId: token.id };
  return { userId: token.userId, tokenId: token.id };
}

/** Middleware: the caller must be a member of `:organizationId` with a role allowed `action`. */
export function requireOrgAction(deps: ControlAuthDeps, action: Action): Koa.Middleware {
  return async function requireOrgActionMiddleware(ctx, next) {
    const { userId, tokenId } = authenticateUser(deps, ctx);
    const orgId = ctx.params?.organizationId as string | undefined;
    if (!orgId) throw notFound('organization');
    const headerOrg = ctx.get('x-org-id');
    if (headerOrg && headerOrg !== orgId) {
      throw new AppError({ code: 'org_mismatch', status: 400, type: ErrorType.invalidRequest, message: 'X-Org-Id does not match the organization in the URL.', param: 'X-Org-Id' });
    }
    const member = deps.orgs.getMember(orgId, userId);
    if (!member) throw notFound('organization', 'organizationId');
    // Audit log (issue 13): a member's refused write is recorded too, with the action it asked for.
    ctx.state.auditMember = { orgId, role: member.role, action };
    if (!allow(member.role, action)) throw forbidden(`Your role (${member.role}) does not allow ${action}.`);
    const actor: Actor = { userId, tokenId, orgId, role: member.role };
    ctx.state.actor = actor;
    (ctx.state as RequestState).orgId = orgId;
    await next();
  };
}

export function actorOf(ctx: Koa.Context): Actor {
  return ctx.state.actor as Actor;
}
