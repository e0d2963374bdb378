/**
 * Member use cases: add (with a first token), change a role, remove. The rules live here, after
 * the policy table let the caller write members at all: only an owner may add, change, make or
 * remove an owner, and an organisation always keeps at least one owner. Use cases throw AppErrors
 * and must never know about HTTP or Koa.
 */
import { conflict, forbidden, notFound } from '../errors.ts';
import type { Role } from '../shared/api.ts';
import type { Member } from '../storage/repos/organizations.ts';
import { addMemberWithToken, type TenancyRepos } from './organizations.ts';

/** The member acting, in the organisation being changed. */
export interface ActingMember {
  orgId: string;
  role: Role;
}

export function listMembers(r: Pick<TenancyRepos, 'orgs'>, orgId: string): Member[] {
  return r.orgs.listMembers(orgId);
}

/** Adds a new user with `role`; returns the member and their first control-panel token (shown once). */
export function addMember(r: TenancyRepos, actor: ActingMember, input: { name: string; role: Role }): { member: Member; token: string } {
  if (input.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can add another owner.');
  const created = addMemberWithToken(r, actor.orgId, input);
  return { member: loadMember(r, actor.orgId, created.userId), token: created.token };
}

export function changeMemberRole(r: Pick<TenancyRepos, 'orgs'>, actor: ActingMember, userId: string, role: Role): Member {
  const target = loadMember(r, actor.orgId, userId);
  if ((target.role === 'owner' || role === 'owner') && actor.role !== 'owner') throw forbidden('Only an owner can change an owner or make one.');
  if (target.role === 'owner' && role !== 'owner') assertNotLastOwner(r, actor.orgId);
  r.orgs.setRole(actor.orgId, target.userId, role);
  return loadMember(r, actor.orgId, target.userId);
}

/** Removes a member from the organisation; returns who was removed. */
export function removeMember(r: Pick<TenancyRepos, 'orgs'>, actor: ActingMember, userId: string): Member {
  const target = loadMember(r, actor.orgId, userId);
  if (target.role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can remove an owner.');
  if (target.role === 'owner') assertNotLastOwner(r, actor.orgId);
  r.orgs.removeMember(actor.orgId, target.userId);
  return target;
}

function loadMember(r: Pick<TenancyRepos, 'orgs'>, orgId: string, userId: string): Member {
  const m = r.orgs.getMember(orgId, userId);
  if (!m) throw notFound('member', 'userId');
  return m;
}

function assertNotLastOwner(r: Pick<TenancyRepos, 'orgs'>, orgId: string): void {
  if (r.orgs.countOwners(orgId) <= 1) throw conflict('An organization must keep at least one owner.', 'last_owner');
}
