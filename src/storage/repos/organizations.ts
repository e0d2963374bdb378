/**
 * Organisations, users and memberships (the tenancy aggregate).
 * Queries are scoped by organisation id; this module knows nothing of HTTP.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import type { Role } from '../../shared/api.ts';

export type { Role };
/** Every role, for validation and the CLI: the one `Role` type is src/shared/api.ts's. */
export const Roles = ['owner', 'admin', 'member'] as const satisfies readonly Role[];
/** Compile-time only: fails to type-check if `Role` gains a value that `Roles` does not list. */
export type RolesListEveryRole = NoneLeft<Exclude<Role, (typeof Roles)[number]>>;
type NoneLeft<T extends never> = T;

export interface OrgSettings {
  /** Automatic injection of the organisation's plugins on the gateway path (default on). */
  pluginInjection?: boolean;
}

export interface Organization {
  id: string;
  name: string;
  settings: OrgSettings;
  createdAt: number;
}

export interface Member {
  userId: string;
  name: string;
  role: Role;
  createdAt: number;
}

interface OrgRow { id: string; name: string; settings: string; created_at: number }

function toOrg(r: OrgRow): Organization {
  return { id: r.id, name: r.name, settings: JSON.parse(r.settings) as OrgSettings, createdAt: r.created_at };
}

export function createOrganizationsRepo(db: Db) {
  const stmts = {
    insertOrg: db.prepare('INSERT INTO organizations (id, name, settings, created_at) VALUES (?, ?, ?, ?)'),
    getOrg: db.prepare('SELECT * FROM organizations WHERE id = ?'),
    listAll: db.prepare('SELECT * FROM organizations ORDER BY created_at, id'),
    listForUser: db.prepare(
      'SELECT o.*, m.role FROM organizations o JOIN memberships m ON m.org_id = o.id WHERE m.user_id = ? ORDER BY o.created_at, o.id',
    ),
    updateOrg: db.prepare('UPDATE organizations SET name = ?, settings = ? WHERE id = ?'),
    countOrgs: db.prepare('SELECT COUNT(*) AS n FROM organizations'),
    insertUser: db.prepare('INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)'),
    getUser: db.prepare('SELECT id, name, created_at FROM users WHERE id = ?'),
    insertMember: db.prepare('INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)'),
    getMember: db.prepare(
      'SELECT m.user_id, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.user_id = ?',
    ),
    listMembers: db.prepare(
      'SELECT m.user_id, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY m.created_at, m.user_id',
    ),
    updateRole: db.prepare('UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?'),
    deleteMember: db.prepare('DELETE FROM memberships WHERE org_id = ? AND user_id = ?'),
    countOwners: db.prepare("SELECT COUNT(*) AS n FROM memberships WHERE org_id = ? AND role = 'owner'"),
  };
  const toMember = (r: { user_id: string; name: string; role: Role; created_at: number }): Member => ({
    userId: r.user_id, name: r.name, role: r.role, createdAt: r.created_at,
  });

  return {
    count(): number {
      return (stmts.countOrgs.get() as { n: number }).n;
    },
    create(input: { name: string; settings?: OrgSettings }, now = Date.now()): Organization {
      const org = { id: crypto.randomUUID(), name: input.name, settings: input.settings ?? {}, createdAt: now };
      stmts.insertOrg.run(org.id, org.name, JSON.stringify(org.settings), now);
      return org;
    },
    get(orgId: string): Organization | null {
      const r = stmts.getOrg.get(orgId) as OrgRow | undefined;
      return r ? toOrg(r) : null;
    },
    listAll(): Organization[] {
      return (stmts.listAll.all() as OrgRow[]).map(toOrg);
    },
    listForUser(userId: string): Array<Organization & { role: Role }> {
      return (stmts.listForUser.all(userId) as Array<OrgRow & { role: Role }>).map((r) => ({ ...toOrg(r), role: r.role }));
    },
    update(orgId: string, patch: { name?: string; settings?: OrgSettings }): Organization | null {
      const cur = this.get(orgId);
      if (!cur) return null;
      const next = { ...cur, name: patch.name ?? cur.name, settings: { ...cur.settings, ...(patch.settings ?? {}) } };
      stmts.updateOrg.run(next.name, JSON.stringify(next.settings), orgId);
      return next;
    },
    createUser(name: string, now = Date.now()): { id: string; name: string; createdAt: number } {
      const user = { id: crypto.randomUUID(), name, createdAt: now };
      stmts.insertUser.run(user.id, name, now);
      return user;
    },
    getUser(userId: string): { id: string; name: string; createdAt: number } | null {
      const r = stmts.getUser.get(userId) as { id: string; name: string; created_at: number } | undefined;
      return r ? { id: r.id, name: r.name, createdAt: r.created_at } : null;
    },
    addMember(orgId: string, userId: string, role: Role, now = Date.now()): void {
      stmts.insertMember.run(orgId, userId, role, now);
    },
    getMember(orgId: string, userId: string): Member | null {
      const r = stmts.getMember.get(orgId, userId) as Parameters<typeof toMember>[0] | undefined;
      return r ? toMember(r) : null;
    },
    listMembers(orgId: string): Member[] {
      return (stmts.listMembers.all(orgId) as Array<Parameters<typeof toMember>[0]>).map(toMember);
    },
    setRole(orgId: string, userId: string, role: Role): void {
      stmts.updateRole.run(role, orgId, userId);
    },
    removeMember(orgId: string, userId: string): void {
      stmts.deleteMember.run(orgId, userId);
    },
    countOwners(orgId: string): number {
      return (stmts.countOwners.get(orgId) as { n: number }).n;
    },
  };
}
export type OrganizationsRepo = ReturnType<typeof createOrganizationsRepo>;
