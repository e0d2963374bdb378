/**
 * Control panel: members of an organisation (everyone reads; owners and admins write). Each route
 * is a pipeline: auth and policy → validate → use case (owner rules, last owner) → presenter.
 * Must never hold business rules (those are src/control/members.ts's).
 */
import Router from '@koa/router';
import type { TenancyRepos } from '../../../control/organizations.ts';
import { addMember, changeMemberRole, listMembers, removeMember } from '../../../control/members.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { validate } from '../../validate.ts';
import { listOf } from '../../presenters/common.ts';
import { presentCreatedMember, presentDeletedMember, presentMember } from '../../presenters/organizations.ts';
import { CreateMember, UpdateMember } from './members.schema.ts';

export function memberRoutes(r: TenancyRepos): Router {
  const router = new Router();
  const auth = { orgs: r.orgs, tokens: r.tokens };
  const base = '/organizations/:organizationId/members';

  router.get(base, requireOrgAction(auth, 'members:read'), async function listOrgMembers(ctx) {
    ctx.body = listOf(listMembers(r, actorOf(ctx).orgId).map(presentMember));
  });

  router.post(base, requireOrgAction(auth, 'members:write'), async function addOrgMember(ctx) {
    const input = validate(CreateMember, await readJson(ctx));
    const created = addMember(r, actorOf(ctx), input);
    ctx.status = 201;
    ctx.body = presentCreatedMember(created.member, created.token);
  });

  router.patch(`${base}/:userId`, requireOrgAction(auth, 'members:write'), async function updateOrgMember(ctx) {
    const input = validate(UpdateMember, await readJson(ctx));
    ctx.body = presentMember(changeMemberRole(r, actorOf(ctx), ctx.params.userId, input.role));
  });

  router.delete(`${base}/:userId`, requireOrgAction(auth, 'members:write'), async function removeOrgMember(ctx) {
    ctx.body = presentDeletedMember(removeMember(r, actorOf(ctx), ctx.params.userId));
  });

  return router;
}
