/**
 * Usage summary and audit entries → API JSON (src/shared/api-usage.ts). Figures become averages
 * and histogram percentiles here; audit entries carry ids, never bodies.
 */
import type * as Api from '../../shared/api-usage.ts';
import { percentile, type Summary } from '../../control/usage-summary.ts';
import { LATENCY_BOUNDS_MS, type RollupFigures } from '../../storage/repos/usage-rollups.ts';
import type { AuditEntry } from '../../storage/repos/audit-log.ts';

function figures(f: RollupFigures): Api.UsageFigures {
  const any = f.requests > 0;
  return {
    requests: f.requests, errors: f.errors, promptTokens: f.promptTokens, completionTokens: f.completionTokens,
    latencyMsSum: f.latencySum, latencyMsAvg: any ? Math.round((f.latencySum / f.requests) * 100) / 100 : null,
    latencyMsMax: any ? f.latencyMax : null, latencyMsP50: percentile(f, 0.5), latencyMsP95: percentile(f, 0.95),
  };
}

const point = (p: RollupFigures & { t: number }): Api.UsagePoint => ({ t: new Date(p.t).toISOString(), ...figures(p) });

export function presentUsageSummary(s: Summary): Api.UsageSummary {
  return {
    object: 'usage_summary', organizationId: s.orgId, range: s.range, kind: s.kind, groupBy: s.groupBy, bucket: s.bucket,
    bucketSeconds: s.bucketMs / 1000, from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString(),
    latencyBucketsMs: [...LATENCY_BOUNDS_MS], totals: figures(s.totals), series: s.series.map(point),
    groups: s.groups.map((g) => ({ key: g.key, totals: figures(g.totals), series: g.series.map(point) })), groupsTruncated: s.groupsTruncated,
  };
}

export function presentAuditEntry(e: AuditEntry): Api.AuditEntry {
  const actor: Api.AuditActor = e.actorType === 'operator'
    ? { type: 'operator', tokenId: e.tokenId, name: e.actorName ?? '' }
    : { type: 'user', userId: e.actorId, tokenId: e.tokenId, role: e.actorRole };
  return {
    id: String(e.id), object: 'audit_entry', organizationId: e.orgId, actor, method: e.method, route: e.route, path: e.path,
    action: e.action, targetId: e.targetId, status: e.status, errorCode: e.errorCode, requestId: e.requestId, ip: e.ip,
    userAgent: e.userAgent, createdAt: new Date(e.createdAt).toISOString(),
  };
}
