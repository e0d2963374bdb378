/**
 * Pane: usage at a glance and in detail. Above: totals and a chart over 1h / 24h / 7d from the
 * summary endpoint (served from rollups), with bars per key, model, tool, number or plugin. Below:
 * the usage events, filterable (/) and pageable ([ and ]); Enter drills into one request (its
 * turns, tool calls, timings, errors). `open({ requestId })` does the same from the live log.
 * It must never format data itself (views/usage.ts, views/charts.ts do) or talk HTTP except
 * through the console client.
 */
import type { UsageEvent } from '../../src/shared/api.ts';
import type { UsageSummary, UsageSummaryGroupBy, UsageSummaryKind, UsageSummaryRange } from '../../src/shared/api-usage.ts';
import blessed from 'blessed';
import { consoleClient, type UsageEventFilter } from '../client-console.ts';
import { attempt, createTable, formUntilDone, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { METRICS, requestLines, summaryLines, USAGE_COLUMNS, usageRow } from '../views/usage.ts';
import { clean } from '../views/text.ts';

/** Rows fetched per page of events. */
export const USAGE_PAGE = 50;
const RANGES: UsageSummaryRange[] = ['1h', '24h', '7d'];
const GROUPS: Array<UsageSummaryGroupBy | undefined> = [undefined, 'key', 'model', 'tool', 'instance', 'plugin'];
const KINDS: UsageSummaryKind[] = ['completion', 'model_turn', 'tool_call', 'loop_cap'];

const KEYS: KeyHelp[] = [
  { keys: 'r', does: 'range 1h/24h/7d' },
  { keys: 'm', does: 'chart: requests/errors/latency/tokens' },
  { keys: 'b', does: 'bars by key/model/tool/number/plugin' },
  { keys: 'k', does: 'kind: completions/turns/tool calls/loop caps' },
  { keys: '/', does: 'filter events' },
  { keys: 'c', does: 'clear filter' },
  { keys: '[ ]', does: 'newer / older page' },
  { keys: 'enter', does: 'the request in detail' },
  { keys: 'u', does: 'refresh' },
];

export function createUsagePane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const summaryBox = blessed.box({ parent: root, top: 0, left: 0, right: 0, height: 10, border: { type: 'line' }, label: ' Usage ', tags: false, style: { border: { fg: 'gray' } } });
  const table = createTable(root, { label: 'Events', columns: USAGE_COLUMNS, position: { top: 10, left: 0, right: 0, bottom: 0 } });
  const slot = createSlot(ctx.scope);
  const eventsSlot = createSlot(ctx.scope);
  let range = 0;
  let group = 0;
  let kind = 0;
  let metric = 0;
  let summary: UsageSummary | null = null;
  let summaryError: string | null = null;
  let filter: UsageEventFilter = {};
  /** Cursors of the pages before the current one (the first page has none). */
  let cursors: Array<string | undefined> = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  let events: UsageEvent[] = [];

  function layout(): { width: number; chartHeight: number; groupRows: number } {
    const h = (root.height as number) || 15;
    const summaryH = Math.max(8, Math.floor(h * 0.55));
    summaryBox.height = summaryH;
    table.box.top = summaryH;
    const inner = summaryH - 2;
    const groupRows = GROUPS[group] ? Math.min(summary?.groups.length || 1, Math.max(1, Math.floor(inner / 3))) : 0;
    return { width: ((summaryBox.width as number) || 80) - 2, chartHeight: Math.max(2, inner - 3 - groupRows), groupRows };
  }

  function renderSummary(): void {
    const l = layout();
    summaryBox.setLabel(` Usage ${RANGES[range]} (r range  m chart  b bars  k kind) `);
    if (summaryError) summaryBox.setContent(summaryError);
    else if (!summary) summaryBox.setContent('Loading…');
    else summaryBox.setContent(summaryLines(summary, METRICS[metric], l.width, l.chartHeight, l.groupRows).join('\n'));
    table.relayout();
    ctx.screen.render();
  }

  async function loadSummary(): Promise<void> {
    const q = { range: RANGES[range], groupBy: GROUPS[group], kind: GROUPS[group] === 'tool' || GROUPS[group] === 'plugin' ? undefined : KINDS[kind] };
    const scope = slot.next('summary');
    try {
      summary = await api.usageSummary(q, scope.signal);
      summaryError = null;
    } catch (err) {
      if (scope.cancelled) return;
      summaryError = `The usage summary is not available: ${(err as Error).message}`;
      ctx.error(summaryError);
    } finally {
      scope.cancel('done');
    }
    renderSummary();
  }

  const filterLabel = (): string => {
    const parts = Object.entries(filter).filter(([, v]) => v).map(([k, v]) => `${k}=${clean(v)}`);
    return parts.length ? `filter ${parts.join(' ')}` : 'all';
  };

  async function loadEvents(): Promise<void> {
    const page = await attempt(ctx, 'Loading usage events', (s) => api.usageEvents({ ...filter, limit: USAGE_PAGE, cursor }, s), eventsSlot.next('events'));
    if (!page) return;
    events = page.data;
    nextCursor = page.hasMore ? page.nextCursor : null;
    const pageNo = cursors.length + 1;
    table.box.setLabel(` Events: ${filterLabel()}  page ${pageNo}${nextCursor ? ' (] older)' : ''}${pageNo > 1 ? ' ([ newer)' : ''}  / filter  Enter detail `);
    table.setRows(events.map(usageRow), '(no usage events match)');
    ctx.screen.render();
  }

  const reloadAll = (): void => {
    void loadSummary();
    void loadEvents();
  };
  const firstPage = (): void => {
    cursors = [];
    cursor = undefined;
    void loadEvents();
  };

  async function drill(requestId: string): Promise<void> {
    const page = await attempt(ctx, `Loading request ${clean(requestId)}`, (s) => api.usageEvents({ requestId, limit: 200 }, s));
    if (!page) return;
    await ctx.dialogs.alert(`Request ${clean(requestId)}`, requestLines(requestId, page.data).join('\n'));
  }

  const list = table.list;
  list.key(['r'], () => {
    range = (range + 1) % RANGES.length;
    void loadSummary();
  });
  list.key(['b'], () => {
    group = (group + 1) % GROUPS.length;
    void loadSummary();
  });
  list.key(['k'], () => {
    kind = (kind + 1) % KINDS.length;
    void loadSummary();
  });
  list.key(['m'], () => {
    metric = (metric + 1) % METRICS.length;
    renderSummary();
  });
  list.key(['u'], reloadAll);
  list.key(['c'], () => {
    filter = {};
    firstPage();
  });
  list.key([']'], () => {
    if (!nextCursor) return;
    cursors.push(cursor);
    cursor = nextCursor;
    void loadEvents();
  });
  list.key(['['], () => {
    if (!cursors.length) return;
    cursor = cursors.pop();
    void loadEvents();
  });
  list.key(['/'], async () => {
    const v = await formUntilDone(ctx, 'Filter usage events', [
      { name: 'status' as const, label: 'Status', choices: ['', 'ok', 'error'], value: filter.status ?? '' },
      { name: 'kind' as const, label: 'Kind', choices: ['', ...KINDS], value: filter.kind ?? '' },
      { name: 'model' as const, label: 'Model', value: filter.model ?? '' },
      { name: 'tool' as const, label: 'Tool', value: filter.tool ?? '' },
      { name: 'requestId' as const, label: 'Request id', value: filter.requestId ?? '' },
    ], async (x) => x);
    if (!v) return;
    filter = Object.fromEntries(Object.entries(v).map(([k, s]) => [k, s.trim() || undefined]));
    firstPage();
  });
  list.key(['enter'], () => {
    const e = events[table.selected()];
    if (e?.requestId) void drill(e.requestId);
  });

  return {
    title: 'Usage',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      list.focus();
      renderSummary();
      reloadAll();
    },
    open(arg) {
      const a = arg as { requestId?: string } | null;
      if (!a?.requestId) return;
      filter = { requestId: a.requestId };
      firstPage();
      void drill(a.requestId);
    },
    hide() {
      slot.cancel();
      eventsSlot.cancel();
      root.hide();
    },
    relayout: renderSummary,
    destroy() {
      slot.cancel();
      eventsSlot.cancel();
      root.destroy();
    },
  };
}
