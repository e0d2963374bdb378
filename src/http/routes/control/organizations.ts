/**
 * Control panel: the caller (`GET /me`) and organisations. Each route is a pipeline:
 * authenticate (and the policy for the organisation) → validate the body → use case → presenter.
 * Must never hold business rules (those are src/control/organizations.ts's).
 */
import Router from '@koa/router';
import { createOrganizationFor, describeCaller, getOrganization, organizationsOf, updateOrganization, type TenancyRepos } from '../../../control/organizations.ts';
import { actorOf, authenticateUser, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { validate } from '../../validate.ts';
import { listOf } from '../../presenters/common.ts';
import { presentMe, presentOrganization } from '../../presenters/organizations.ts';
import { CreateOrganization, UpdateOrganization } from './organizations.schema.ts';

/** `onChange` drops the gateway's cached key lookups (organisation settings steer injection). */
export function organizationRoutes(r: TenancyRepos, onChange: () => void): Router {
  const router = new Router();
  const auth = { orgs: r.orgs, tokens: r.tokens };

  router.get('/me', async function me(ctx) {
    const { userId } = authenticateUser(auth, ctx);
    ctx.body = presentMe(describeCaller(r, userId));
  });

  router.get('/organizations', async function listOrgs(ctx) {
    const { userId } = authenticateUser(auth, ctx);
    ctx.body = listOf(organizationsOf(r, userId).map((o) => presentOrganization(o, o.role)));
  });

  router.post('/organizations', async function createOrg(ctx) {
    const { userId } = authenticateUser(auth, ctx);
    const input = validate(CreateOrganization, await readJson(ctx));
    const org = createOrganizationFor(r, userId, input);
    ctx.status = 201;
    ctx.body = presentOrganization(org, 'owner');
  });

  router.get('/organizations/:organizationId', requireOrgAction(auth, 'org:read'), async function getOrg(ctx) {
    const actor = actorOf(ctx);
    ctx.body = presentOrganization(getOrganization(r, actor.orgId), actor.role);
  });

  router.patch('/organizations/:organizationId', requireOrgAction(auth, 'org:write'), async function updateOrg(ctx) {
    const actor = actorOf(ctx);
    const input = validate(UpdateOrganization, await readJson(ctx));
    ctx.body = presentOrganization(updateOrganization({ orgs: r.orgs, onChange }, actor.orgId, input), actor.role);
  });

  return router;
}
