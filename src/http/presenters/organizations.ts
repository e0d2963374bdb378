/**
 * Row → API JSON for the caller, organisations and members. Never includes a token hash; a
 * member's token is added only by the add answer, once.
 */
import type * as Api from '../../shared/api.ts';
import type { Member, Organization } from '../../storage/repos/organizations.ts';
import type { Caller } from '../../control/organizations.ts';
import { iso } from './common.ts';

export function presentOrganization(o: Organization, role?: Api.Role): Api.Organization {
  return {
    id: o.id,
    object: 'organization',
    name: o.name,
    settings: { pluginInjection: o.settings.pluginInjection !== false },
    createdAt: iso(o.createdAt),
    ...(role ? { role } : {}),
  };
}

export function presentMe(c: Caller): Api.Me {
  return {
    id: c.user.id,
    object: 'user',
    name: c.user.name,
    createdAt: iso(c.user.createdAt),
    organizations: c.organizations.map((o) => presentOrganization(o, o.role)),
  };
}

export function presentMember(m: Member): Api.Member {
  return { userId: m.userId, object: 'member', name: m.name, role: m.role, createdAt: iso(m.createdAt) };
}

export function presentCreatedMember(m: Member, token: string): Api.CreatedMember {
  return { ...presentMember(m), token };
}

export function presentDeletedMember(m: Member): Api.DeletedMember {
  return { userId: m.userId, object: 'member', deleted: true };
}
