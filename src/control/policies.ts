/**
 * Who may do what: one table from action to the roles allowed it. Deny by default; the tenant
 * check (membership of the organisation in the URL) happens before any rule is consulted.
 */
import type { Role } from '../shared/api.ts';

const ALL: readonly Role[] = ['owner', 'admin', 'member'];
const ADMINS: readonly Role[] = ['owner', 'admin'];
const OWNER: readonly Role[] = ['owner'];

export const POLICY = {
  'org:read': ALL,
  'org:write': OWNER,
  'members:read': ALL,
  'members:write': ADMINS,
  'keys:read': ALL,
  'keys:write': ADMINS,
  'usage:read': ALL,
  'events:read': ALL,
  'plugins:read': ALL,
  'mcp:read': ALL,
  'mcp:write': OWNER,
  'instances:read': ALL,
  'instances:write': ADMINS,
  'jobs:read': ALL,
  'jobs:write': ADMINS,
  // Custom plugins (issue 11): the developer area of the authoring organisation, the directory,
  // installations (an owner consents to an upgrade that asks for more) and their logs.
  'developer:read': ADMINS,
  'developer:write': ADMINS,
  'directory:read': ALL,
  'plugin-installations:read': ALL,
  'plugin-installations:write': ADMINS,
  'plugin-installations:consent': OWNER,
  // E-Commerce and Payments toolkits: catalogue, orders, after-sale requests, payments, refunds; owners bind providers.
  'commerce:read': ALL,
  'commerce:write': ADMINS,
  'payments:read': ALL,
  'payments:write': ADMINS,
  'payments:bind': OWNER,
  // Usage and audit (issue 13): the usage summary is usage:read; the audit log of control-panel writes is the owners'.
  'audit:read': OWNER,
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof POLICY;

export function allow(role: Role, action: Action): boolean {
  return (POLICY[action] as readonly Role[]).includes(role);
}
