/**
 * Pure views of usage events (newest first, as the API returns them). Never import blessed or
 * call the API.
 */
import type { UsageEvent, UsagePage } from '../../src/shared/api.ts';
import { clean, formatLatency, shortTime, type Column } from './text.ts';

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
