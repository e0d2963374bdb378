/**
 * Organisation use cases shared by the control-panel API, the CLI and first-start bootstrap:
 * create (with its owner), read, update, and who the caller is. They take their repositories in
 * one deps object and throw AppErrors; they must never know about HTTP or Koa.
 */
import { notFound } from '../errors.ts';
import type { Role } from '../shared/api.ts';
import type { Db } from '../storage/db.ts';
import type { OrganizationsRepo, Organization, OrgSettings } from '../storage/repos/organizations.ts';
import type { ControlTokensRepo } from '../storage/repos/control-tokens.ts';
import type { GatewayKeysRepo, GatewayKey } from '../storage/repos/gateway-keys.ts';

export interface TenancyRepos {
  db: Db;
  orgs: OrganizationsRepo;
  tokens: ControlTokensRepo;
  keys: GatewayKeysRepo;
}

export interface CreatedOrganization {
  organization: Organization;
  ownerUserId: string;
  ownerToken: string;
  ownerTokenId: string;
}

/** Creates an organisation and its owner (a new user, or an existing one), with a token for a new owner. */
export function createOrganizationWithOwner(r: TenancyRepos, input: { name: string; ownerName?: string; existingUserId?: string }): CreatedOrganization & { ownerToken: string } {
  return r.db.transaction(() => {
    const organization = r.orgs.create({ name: input.name });
    const userId = input.existingUserId ?? r.orgs.createUser(input.ownerName ?? 'Owner').id;
    r.orgs.addMember(organization.id, userId, 'owner');
    const minted = input.existingUserId ? { token: { id: '' }, secret: '' } : r.tokens.create(userId, 'initial');
    return { organization, ownerUserId: userId, ownerToken: minted.secret, ownerTokenId: minted.token.id };
  }).immediate();
}

/** Adds a new user to an organisation with a role and returns their first token. */
export function addMemberWithToken(r: TenancyRepos, orgId: string, input: { name: string; role: Role }): { userId: string; token: string; tokenId: string } {
  return r.db.transaction(() => {
    const user = r.orgs.createUser(input.name);
    r.orgs.addMember(orgId, user.id, input.role);
    const minted = r.tokens.create(user.id, 'initial');
    return { userId: user.id, token: minted.secret, tokenId: minted.token.id };
  }).immediate();
}

export interface BootstrapResult extends CreatedOrganization {
  gatewayKey: GatewayKey;
  gatewayKeySecret: string;
}

/** First start with an empty database: one organisation, its owner, and a gateway key. */
export function bootstrapIfEmpty(r: TenancyRepos): BootstrapResult | null {
  return r.db.transaction((): BootstrapResult | null => {
    if (r.orgs.count() > 0) return null;
    const created = createOrganizationWithOwner(r, { name: 'Default organization', ownerName: 'Owner' });
    const { key, secret } = r.keys.create(created.organization.id, { name: 'bootstrap', createdBy: created.ownerUserId });
    return { ...created, gatewayKey: key, gatewayKeySecret: secret };
  }).immediate();
}

/** A user and the organisations they belong to, with their role in each (`GET /me`). */
export interface Caller {
  user: { id: string; name: string; createdAt: number };
  organizations: Array<Organization & { role: Role }>;
}

export function describeCaller(r: Pick<TenancyRepos, 'orgs'>, userId: string): Caller {
  const user = r.orgs.getUser(userId);
  if (!user) throw notFound('user');
  return { user, organizations: r.orgs.listForUser(userId) };
}

export function organizationsOf(r: Pick<TenancyRepos, 'orgs'>, userId: string): Array<Organization & { role: Role }> {
  return r.orgs.listForUser(userId);
}

/** A new organisation owned by the calling user (no new token: the caller already has one). */
export function createOrganizationFor(r: TenancyRepos, userId: string, input: { name: string }): Organization {
  return createOrganizationWithOwner(r, { name: input.name, existingUserId: userId }).organization;
}

export function getOrganization(r: Pick<TenancyRepos, 'orgs'>, orgId: string): Organization {
  const org = r.orgs.get(orgId);
  if (!org) throw notFound('organization', 'organizationId');
  return org;
}

/** What changing an organisation needs: its repository and the hook that drops cached gateway auth. */
export interface OrganizationUpdateDeps {
  orgs: OrganizationsRepo;
  /** The organisation's settings steer the gateway (plugin injection): cached key lookups must be refreshed. */
  onChange(): void;
}

export function updateOrganization(d: OrganizationUpdateDeps, orgId: string, input: { name?: string; settings?: OrgSettings }): Organization {
  const org = d.orgs.update(orgId, input);
  if (!org) throw notFound('organization', 'organizationId');
  d.onChange();
  return org;
}
