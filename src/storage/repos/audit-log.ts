/**
 * The audit log of control-panel writes (migration 0009): one row per write by an authenticated
 * caller — who, what (route, path, policy action, target id), when, from where, the request id and
 * the answer's status. Never a body. Text that comes from the caller (path, user agent) passes the
 * known-secrets redactor before it is stored: owners read every row.
 * Reads are scoped to one organisation (owners) or unscoped (the appliance operator), newest
 * first, paginated by a cursor over the row id.
 */
import type { Db } from '../db.ts';
import { NO_SECRETS, type Redactor } from '../known-secrets.ts';
// Caller-chosen text (path, user agent) may hold a token by mistake: hashed tokens are unknown to the redactor.
import { scrubCredentialShapes } from '../credential-shapes.ts';

export type AuditMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AuditEntryInput {
  orgId: string | null;
  actorType: 'user' | 'operator';
  /** The user id, or the operator token id. */
  actorId: string;
  tokenId: string;
  actorRole: string | null;
  actorName: string | null;
  method: AuditMethod;
  route: string;
  path: string;
  action: string | null;
  targetId: string | null;
  status: number;
  errorCode: string | null;
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
}

export interface AuditEntry extends AuditEntryInput {
  id: number;
}

export interface AuditQuery {
  /** undefined: every organisation's and the organisationless entries (the operator's view). */
  orgId?: string;
  actorId?: string;
  method?: AuditMethod;
  action?: string;
  targetId?: string;
  outcome?: 'ok' | 'error';
  from?: number;
  to?: number;
  beforeId?: number;
  limit: number;
}

interface Row {
  id: number; org_id: string | null; actor_type: 'user' | 'operator'; actor_id: string; token_id: string; actor_role: string | null;
  actor_name: string | null; method: AuditMethod; route: string; path: string; action: string | null; target_id: string | null;
  status: number; error_code: string | null; request_id: string; ip: string | null; user_agent: string | null; created_at: number;
}

const toEntry = (r: Row): AuditEntry => ({
  id: r.id, orgId: r.org_id, actorType: r.actor_type, actorId: r.actor_id, tokenId: r.token_id, actorRole: r.actor_role,
  actorName: r.actor_name, method: r.method, route: r.route, path: r.path, action: r.action, targetId: r.target_id,
  status: r.status, errorCode: r.error_code, requestId: r.request_id, ip: r.ip, userAgent: r.user_agent, createdAt: r.created_at,
});

const FILTERS: Array<[keyof AuditQuery, string]> = [
  ['orgId', 'org_id = ?'], ['actorId', 'actor_id = ?'], ['method', 'method = ?'], ['action', 'action = ?'], ['targetId', 'target_id = ?'],
  ['from', 'created_at >= ?'], ['to', 'created_at < ?'], ['beforeId', 'id < ?'],
];

/** Longest stored text field: a path or user agent longer than this is cut (they are never needed whole). */
const MAX_TEXT = 512;

export function createAuditLogRepo(db: Db, opts: { secrets?: Redactor } = {}) {
  const secrets = opts.secrets ?? NO_SECRETS;
  const clean = (v: string | null): string | null => (v === null ? null : scrubCredentialShapes(secrets.redact(v.slice(0, MAX_TEXT))));
  const insert = db.prepare(`INSERT INTO audit_log (org_id, actor_type, actor_id, token_id, actor_role, actor_name, method, route, path, action,
    target_id, status, error_code, request_id, ip, user_agent, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const cache = new Map<string, ReturnType<Db['prepare']>>();
  return {
    record(e: AuditEntryInput): void {
      insert.run(
        e.orgId, e.actorType, e.actorId, e.tokenId, e.actorRole, clean(e.actorName), e.method, clean(e.route), clean(e.path) ?? '',
        e.action, clean(e.targetId), e.status, clean(e.errorCode), clean(e.requestId) ?? '', clean(e.ip), clean(e.userAgent), e.createdAt,
      );
    },
    query(q: AuditQuery): AuditEntry[] {
      const where: string[] = [];
      const args: unknown[] = [];
      for (const [field, clause] of FILTERS) {
        const v = q[field];
        if (v !== undefined) {
          where.push(clause);
          args.push(v);
        }
      }
      if (q.outcome) where.push(q.outcome === 'ok' ? 'status < 400' : 'status >= 400');
      const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      args.push(q.limit);
      return ((stmt.all as (...p: unknown[]) => unknown[]).apply(stmt, args) as Row[]).map(toEntry);
    },
  };
}
export type AuditLogRepo = ReturnType<typeof createAuditLogRepo>;
