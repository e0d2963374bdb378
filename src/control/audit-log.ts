/**
 * The audit-log read use case: an organisation's entries for its owners, every entry for the
 * appliance operator; filters and cursor pagination, newest first. Writing entries is the HTTP
 * layer's (http/audit.ts: it sees every write and its answer). Must never know about HTTP or Koa.
 */
import type { AuditEntry, AuditLogRepo, AuditQuery } from '../storage/repos/audit-log.ts';
import { takePage, type Page } from './page.ts';

export type AuditFilter = Omit<AuditQuery, 'orgId' | 'beforeId' | 'limit'> & { cursor?: string; limit: number };

/** `orgId` null: the operator's view of every organisation and of the organisationless operator actions. */
export function auditPage(audit: Pick<AuditLogRepo, 'query'>, orgId: string | null, q: AuditFilter): Page<AuditEntry> {
  const { cursor, limit, ...filters } = q;
  const rows = audit.query({ ...filters, orgId: orgId ?? undefined, beforeId: cursor === undefined ? undefined : Number(cursor), limit: limit + 1 });
  return takePage(rows, limit, (last) => String(last.id));
}
