/**
 * Pure views of the audit log (control-panel writes: who, what, when, from where, status).
 * Never import blessed or do I/O.
 */
import type { AuditEntry } from '../../src/shared/api-usage.ts';
import { clean, shortTime, type Column } from './text.ts';

export const AUDIT_COLUMNS: Column[] = [
  { title: 'TIME', width: 14 },
  { title: 'WHO', width: 14 },
  { title: 'METHOD', width: 6 },
  { title: 'STATUS', width: 6, align: 'right' },
  { title: 'ACTION', min: 14 },
  { title: 'FROM', width: 15, drop: 1 },
  { title: 'REQUEST', width: 20, drop: 2 },
];

export function actorLabel(e: AuditEntry): string {
  return e.actor.type === 'operator' ? `operator ${clean(e.actor.name)}` : `${clean(e.actor.role, 'user')} ${clean(e.actor.userId).slice(0, 8)}`;
}

export function auditRow(e: AuditEntry): string[] {
  const what = `${clean(e.action, '')} ${clean(e.route.replace(/^\/organizations\/:organizationId/, ''))}${e.errorCode ? ` (${clean(e.errorCode)})` : ''}`.trim();
  return [shortTime(e.createdAt), actorLabel(e), e.method, String(e.status), what, clean(e.ip), clean(e.requestId)];
}
