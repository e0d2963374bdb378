/**
 * Control panel: the caller, organisations and members.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { conflict, forbidden, notFound } from '../../../errors.ts';
import { addMemberWithToken, createOrganizationWithOwner, type TenancyRepos } from '../../../control/organizations.ts';
import { Roles } from '../../../storage/repos/organizations.ts';
import { actorOf, authenticateUser, requireOrgAction } from '../../control-auth.ts';
import { parseJsonObject, readRawBody } from '../../body.ts';
import { validate } from '../../validate.ts';
import { iso, presentMember, presentOrganization } from '../../presenters/control.ts';

const CONTROL_BODY_LIMIT = 1024 * 1024;
const name = z.string().trim().min(1).max(200);
const CreateOrg = z.strictObject({ name });
const UpdateOrg = z.strictObject({ name: name.optional(), settings: z.strictObject({ pluginInjection: z.boolean().optional() }).optional() });
const CreateMember = z.strictObject({ name, role: z.enum(Roles) });
const UpdateMember = z.strictObject({ role: z.enum(Roles) });

export async function readJson(ctx: { req: import('node:http').IncomingMessage }): Promise<Record<string, unknown>> {
  return parseJsonObject(await readRawBody(ctx.req, CONTROL_BODY_LIMIT));
}

export function organizationRoutes(r: TenancyRepos, onChange: () => void): Router {
  const router = new Router();
  const auth = { orgs: r.orgs, tokens: r.tokens };

  router.get('/me', async function me(ctx) {
    const { userId } = authenticateUser(auth, ctx);
    const user = r.orgs.getUser(userId)!;
    ctx.body = {
      id: user.id, object: 'user', name: user.name, createdAt: iso(user.createdAt),
      organizations: r.orgs.listForUser(userId).map((o) => presentOrganization(o, o.role)),
    };
  });

  router.get('/organizations', async function listOrgs(ctx) {
    const { userId } = authenticateUser(auth, ctx);
    ctx.body = { object: 'list', data: r.orgs.listForUser(userId).map((o) => presentOrganization(o, o.role)) };
  });

  router.post('/organizations', async function createOrg(ctx) {
    const { userId } = authenticateUser(auth, ctx);
    const input = validate(CreateOrg, await readJson(ctx));
    const created = createOrganizationWithOwner(r, { name: input.name, existingUserId: userId });
    ctx.status = 201;
    ctx.body = presentOrganization(created.organization, 'owner');
  });

  router.get('/organizations/:organizationId', requireOrgAction(auth, 'org:read'), async function getOrg(ctx) {
    const actor = actorOf(ctx);
    ctx.body = presentOrganization(r.orgs.get(actor.orgId)!, actor.role);
  });

  router.patch('/organizations/:organizationId', requireOrgAction(auth, 'org:write'), async function updateOrg(ctx) {
    const actor = actorOf(ctx);
    const input = validate(UpdateOrg, await readJson(ctx));
    const org = r.orgs.update(actor.orgId, input)!;
    onChange();
    ctx.body = presentOrganization(org, actor.role);
  });

  router.get('/organizations/:organizationId/members', requireOrgAction(auth, 'members:read'), async function listMembers(ctx) {
    ctx.body = { object: 'list', data: r.orgs.listMembers(actorOf(ctx).orgId).map(presentMember) };
  });

  router.post('/organizations/:organizationId/members', requireOrgAction(auth, 'members:write'), async function addMember(ctx) {
    const actor = actorOf(ctx);
    const input = validate(CreateMember, await readJson(ctx));
    if (input.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can add another owner.');
    const created = addMemberWithToken(r, actor.orgId, input);
    ctx.status = 201;
    ctx.body = { ...presentMember(r.orgs.getMember(actor.orgId, created.userId)!), token: created.token };
  });

  router.patch('/organizations/:organizationId/members/:userId', requireOrgAction(auth, 'members:write'), async function updateMember(ctx) {
    const actor = actorOf(ctx);
    const input = validate(UpdateMember, await readJson(ctx));
    const target = r.orgs.getMember(actor.orgId, ctx.params.userId);
    if (!target) throw notFound('member', 'userId');
    if ((target.role === 'owner' || input.role === 'owner') && actor.role !== 'owner') throw forbidden('Only an owner can change an owner or make one.');
    if (target.role === 'owner' && input.role !== 'owner' && r.orgs.countOwners(actor.orgId) <= 1) {
      throw conflict('An organization must keep at least one owner.', 'last_owner');
    }
    r.orgs.setRole(actor.orgId, target.userId, input.role);
    ctx.body = presentMember(r.orgs.getMember(actor.orgId, target.userId)!);
  });

  router.delete('/organizations/:organizationId/members/:userId', requireOrgAction(auth, 'members:write'), async function removeMember(ctx) {
    const actor = actorOf(ctx);
    const target = r.orgs.getMember(actor.orgId, ctx.params.userId);
    if (!target) throw notFound('member', 'userId');
    if (target.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can remove an owner.');
    if (target.role === 'owner' && r.orgs.countOwners(actor.orgId) <= 1) throw conflict('An organization must keep at least one owner.', 'last_owner');
    r.orgs.removeMember(actor.orgId, target.userId);
    ctx.body = { userId: target.userId, object: 'member', deleted: true };
  });

  return router;
}
