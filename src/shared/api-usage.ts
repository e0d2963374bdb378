/**
 * Wire types of the usage summary (aggregates served from rollups) and of the audit log of
 * control-panel writes. Types only: never runtime code, never an import but other shared/api*.ts
 * files. Times are ISO strings; every count is an integer; latencies are milliseconds.
 * See /work/notes/contract-usage.md (and README "Usage") for paths, parameters and roles.
 */
import type { PageResponse } from './api.ts';

/** `range` of `GET /organizations/{id}/usage/summary`: the window ending at `to` (default now). */
export type UsageSummaryRange = '1h' | '24h' | '7d';
/** Bucket width of the time series; default per range: 1h → 1m, 24h → 15m, 7d → 1h. */
export type UsageSummaryBucket = '1m' | '5m' | '15m' | '1h' | '6h' | '1d';
/** The dimension groups are made by (no `groupBy`: totals and the series only). */
export type UsageSummaryGroupBy = 'key' | 'model' | 'tool' | 'instance' | 'plugin';
/**
 * What is counted. A completion is one answered request (its tokens are the request's total);
 * model turns, tool calls and loop-cap hits are the steps inside it, counted separately so
 * nothing is counted twice. Default: `tool_call` when grouping by tool or plugin, else `completion`.
 */
export type UsageSummaryKind = 'completion' | 'model_turn' | 'tool_call' | 'loop_cap';

/** `GET /organizations/{id}/usage/summary` query (every member). All optional but `range`. */
export interface UsageSummaryQuery {
  range: UsageSummaryRange;
  groupBy?: UsageSummaryGroupBy;
  kind?: UsageSummaryKind;
  bucket?: UsageSummaryBucket;
  /** End of the window: ISO 8601 or Unix seconds/milliseconds; default now. */
  to?: string;
  /** Most groups returned, the largest by requests first (default 20, 1…200). */
  limit?: string;
}

/** The figures of one bucket, one group or the whole window. */
export interface UsageFigures {
  requests: number;
  /** Events with status `error` (an upstream or tool failure, a refused request…). */
  errors: number;
  promptTokens: number;
  completionTokens: number;
  /** Sum of latencies; `latencyMsSum / requests` is the mean. */
  latencyMsSum: number;
  /** Null when `requests` is 0. */
  latencyMsAvg: number | null;
  latencyMsMax: number | null;
  /**
   * Percentiles from a fixed latency histogram (bounds in `UsageSummary.latencyBucketsMs`): the
   * upper bound of the histogram bucket holding the rank, capped by the maximum. Null when no requests.
   */
  latencyMsP50: number | null;
  latencyMsP95: number | null;
}

/** One point of a series: the bucket starting at `t`. Series are dense (empty buckets are zeros). */
export interface UsagePoint extends UsageFigures {
  t: string;
}

export interface UsageGroup {
  /**
   * The dimension's value: a gateway key id, a model name, `plugin__tool` name as recorded, a
   * WhatsApp instance id, a plugin id. Null: events without one (e.g. `instance` of a completion
   * made with a gateway key, `key` of a WhatsApp reply).
   */
  key: string | null;
  totals: UsageFigures;
  series: UsagePoint[];
}

/** `GET /organizations/{id}/usage/summary` answer. Read from rollups only: as fast at 10M events as at 10K. */
export interface UsageSummary {
  object: 'usage_summary';
  organizationId: string;
  range: UsageSummaryRange;
  kind: UsageSummaryKind;
  groupBy: UsageSummaryGroupBy | null;
  bucket: UsageSummaryBucket;
  bucketSeconds: number;
  /** Start of the first bucket (aligned to the bucket width, UTC). */
  from: string;
  /** End of the window (exclusive; the last bucket may be partial when it is now). */
  to: string;
  /** Histogram upper bounds (ms) behind the percentiles; the last bucket is unbounded. */
  latencyBucketsMs: number[];
  totals: UsageFigures;
  /** Totals over time: one point per bucket, oldest first. */
  series: UsagePoint[];
  /** Groups by `groupBy`, the most requests first; empty without `groupBy`. */
  groups: UsageGroup[];
  /** True when more groups exist than `limit` returned (their figures are still in `totals`). */
  groupsTruncated: boolean;
}

/** Who made a control-panel write. */
export type AuditActor =
  | { type: 'user'; userId: string; tokenId: string; role: string | null }
  | { type: 'operator'; tokenId: string; name: string };

/**
 * One control-panel write (POST, PUT, PATCH, DELETE) by an authenticated caller, successful or
 * refused (403, 4xx, 5xx). Reads are never recorded; bodies never are (only the ids in the path
 * and the id of what a create returned).
 */
export interface AuditEntry {
  id: string;
  object: 'audit_entry';
  /** Null for operator actions outside any organisation (read with `GET /operator/audit-log`). */
  organizationId: string | null;
  actor: AuditActor;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The route template, e.g. `/organizations/:organizationId/keys/:keyId`. */
  route: string;
  /** The path as requested (ids only; no query string). */
  path: string;
  /** The policy action checked, e.g. `keys:write`; null for routes without one (operator, own account). */
  action: string | null;
  /** The resource acted on: the last id in the path, or the id of what a create returned. */
  targetId: string | null;
  status: number;
  /** The error code when `status` ≥ 400. */
  errorCode: string | null;
  requestId: string;
  /** Client address (X-Forwarded-For only with PLUGBOARD_TRUST_PROXY). */
  ip: string | null;
  userAgent: string | null;
  createdAt: string;
}

/** `GET /organizations/{id}/audit-log` (owners only) and `GET /operator/audit-log` query: newest first. */
export interface AuditLogQuery {
  cursor?: string;
  limit?: string;
  /** A user id (`usr_…`) or an operator token id. */
  actorId?: string;
  method?: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  action?: string;
  targetId?: string;
  /** `ok` (< 400) or `error` (≥ 400). */
  outcome?: 'ok' | 'error';
  from?: string;
  to?: string;
}

export type AuditLogPage = PageResponse<AuditEntry>;
