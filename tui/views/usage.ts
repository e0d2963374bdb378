/**
 * Pure views of usage events (newest first, as the API returns them). Never import blessed or
 * call the API.
 */
import type { UsageEvent, UsagePage } from '../../src/shared/api.ts';
import type { UsageFigures, UsageSummary } from '../../src/shared/api-usage.ts';
import { compact, columnChart, barLines } from './charts.ts';
import { clean, formatLatency, shortTime, truncate, type Column } from './text.ts';

export const USAGE_COLUMNS: Column[] = [
  { title: 'TIME', width: 14 },
  { title: 'KIND', width: 10 },
  { title: 'REQUEST', width: 14, drop: 2 },
  { title: 'MODEL / TOOL', min: 12 },
  { title: 'STATUS', width: 6 },
  { title: 'HTTP', width: 4, align: 'right', drop: 3 },
  { title: 'TOKENS', width: 11, align: 'right', drop: 1 },
  { title: 'LATENCY', width: 8, align: 'right' },
];

export function usageRow(e: UsageEvent): string[] {
  const subject = e.kind === 'tool_call' ? clean(e.tool) : clean(e.model);
  const tokens = e.promptTokens === null && e.completionTokens === null ? '-' : `${e.promptTokens ?? 0}/${e.completionTokens ?? 0}`;
  const detail = e.status === 'error' && e.errorClass ? `${subject} (${clean(e.errorClass)})` : subject;
  return [shortTime(e.createdAt), e.kind, clean(e.requestId), detail, e.status, e.httpStatus === null ? '-' : String(e.httpStatus), tokens, formatLatency(e.latencyMs)];
}

/** The pane's label: how many events are shown and whether older ones exist. */
export function usageSummary(page: UsagePage): string {
  const errors = page.data.filter((e) => e.status === 'error').length;
  return `${page.data.length} latest events${page.hasMore ? ' (more on the server)' : ''}, ${errors} errors`;
}

/** What the chart shows: a figure of each point. */
export const METRICS = ['requests', 'errors', 'latency p95', 'tokens'] as const;
export type Metric = (typeof METRICS)[number];

export function metricOf(f: UsageFigures, m: Metric): number {
  switch (m) {
    case 'requests':
      return f.requests;
    case 'errors':
      return f.errors;
    case 'latency p95':
      return f.latencyMsP95 ?? 0;
    case 'tokens':
      return f.promptTokens + f.completionTokens;
  }
}

export function totalsLine(f: UsageFigures): string {
  return `requests ${compact(f.requests)}  errors ${compact(f.errors)}  tokens ${compact(f.promptTokens)}+${compact(f.completionTokens)}  latency avg ${formatLatency(f.latencyMsAvg)} p50 ${formatLatency(f.latencyMsP50)} p95 ${formatLatency(f.latencyMsP95)} max ${formatLatency(f.latencyMsMax)}`;
}

/** The summary block: title, totals, a column chart of `metric` with its time axis, then bars per group. */
export function summaryLines(s: UsageSummary, metric: Metric, width: number, chartHeight: number, groupRows: number): string[] {
  const w = Math.max(10, width);
  const values = s.series.map((p) => metricOf(p, metric));
  const peak = Math.max(0, ...values);
  const lines = [
    truncate(`${s.range} of ${s.kind}s by ${s.bucket}${s.groupBy ? `, by ${s.groupBy}` : ''} — chart: ${metric} (peak ${compact(peak)})`, w),
    truncate(totalsLine(s.totals), w),
    ...columnChart(values, w, chartHeight),
    truncate(`${shortTime(s.from)}${' '.repeat(Math.max(1, w - 28))}${shortTime(s.to)}`, w),
  ];
  if (s.groupBy && groupRows > 0) {
    const rows = s.groups.slice(0, groupRows).map((g) => ({ label: clean(g.key, '(none)'), value: metricOf(g.totals, metric) }));
    lines.push(...(rows.length ? barLines(rows, w) : ['(no groups)']));
  }
  return lines;
}

/** The drill-down of one request: every event of it, oldest first (turns, tool calls, timings, errors). */
export function requestLines(requestId: string, events: readonly UsageEvent[]): string[] {
  const sorted = [...events].reverse();
  const lines = [`Request ${clean(requestId)}: ${events.length} events`];
  for (const e of sorted) {
    const what = e.kind === 'tool_call' ? `tool ${clean(e.tool)}` : e.kind === 'model_turn' ? `model turn ${clean(e.model)}` : e.kind === 'completion' ? `completion ${clean(e.model)}` : 'loop cap reached';
    const tokens = e.promptTokens === null && e.completionTokens === null ? '' : `  tokens ${e.promptTokens ?? 0}/${e.completionTokens ?? 0}`;
    const err = e.status === 'error' ? `  ERROR ${clean(e.errorClass, 'unknown')}` : '';
    lines.push(`${shortTime(e.createdAt)}  ${what}  ${e.status}${e.httpStatus !== null ? ` ${e.httpStatus}` : ''}  ${formatLatency(e.latencyMs)}${tokens}${err}`);
  }
  if (!events.length) lines.push('(no usage recorded for this request yet)');
  return lines;
}
