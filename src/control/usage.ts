/**
 * The usage-events read use case: filters and cursor pagination, newest first. The recorder's
 * pending batch is written first, so a page shows every completion that already answered.
 * Must never know about HTTP or Koa, and never show another organisation's rows.
 */
import type { UsageEvent, UsageEventsRepo, UsageQuery } from '../storage/repos/usage-events.ts';
import type { UsageRecorder } from '../usage/recorder.ts';
import { takePage, type Page } from './page.ts';

export interface UsageDeps {
  usage: UsageEventsRepo;
  recorder: Pick<UsageRecorder, 'flush'>;
}

/** Filters of a usage page; `cursor` comes from a previous page (a row id). */
export type UsageFilter = Omit<UsageQuery, 'orgId' | 'beforeId' | 'limit'> & { cursor?: string; limit: number };

export function usagePage(d: UsageDeps, orgId: string, q: UsageFilter): Page<UsageEvent> {
  d.recorder.flush();
  const { cursor, limit, ...filters } = q;
  const rows = d.usage.query({ ...filters, orgId, beforeId: cursor === undefined ? undefined : Number(cursor), limit: limit + 1 });
  return takePage(rows, limit, (last) => String(last.id));
}
