/**
 * Pane: background jobs (WhatsApp replies) and the dead letter, with the recorded reason of each
 * and requeue (r, admins and owners). f cycles the status filter; `open({ messageIds })` shows the
 * jobs of those messages (followed from a thread's failed replies). It must never format data
 * itself (views/conversations.ts does) or talk HTTP except through the console client.
 */
import type { Job, JobStatus } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { consoleClient } from '../client-console.ts';
import { attempt, createPanel, createTable, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { JOB_COLUMNS, jobDetail, jobRow, jobStatsLabel } from '../views/conversations.ts';

const FILTERS: Array<JobStatus | undefined> = [undefined, 'dead', 'queued', 'running', 'done'];
/** Jobs fetched per load (the server's maximum is 500). */
export const JOBS_LIMIT = 200;

const KEYS: KeyHelp[] = [
  { keys: 'r', does: 'requeue dead job', needs: 'admin' },
  { keys: 'f', does: 'filter status' },
  { keys: 'a', does: 'all jobs (clear filters)' },
  { keys: 'l', does: 'reload' },
];

export function createJobsPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Jobs', columns: JOB_COLUMNS, position: { top: 0, left: 0, right: 0, height: '60%' } });
  const detail = createPanel(root, { label: 'Reason', position: { top: '60%', left: 0, right: 0, bottom: 0 } });
  const slot = createSlot(ctx.scope);
  let filter = 0;
  let messageIds: string[] | null = null;
  let failedCount = 0;
  let items: Job[] = [];

  function renderDetail(): void {
    const j = items[table.selected()];
    detail.setContent(j ? jobDetail(j).join('\n') : '');
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const status = FILTERS[filter];
    const r = await attempt(ctx, 'Loading jobs', (s) => api.jobs({ status, limit: JOBS_LIMIT }, s), slot.next('jobs'));
    if (!r) return;
    items = messageIds ? r.data.filter((j) => j.messageId !== null && messageIds!.includes(j.messageId)) : r.data;
    const scope = [status ?? 'all', messageIds ? `of ${failedCount} failed message(s)` : ''].filter(Boolean).join(' ');
    table.box.setLabel(` Jobs: ${scope}  |  ${jobStatsLabel(r.stats)} `);
    table.setRows(items.map(jobRow), '(no jobs)');
    renderDetail();
  }

  table.list.on('select item', renderDetail);
  table.list.key(['f'], () => {
    filter = (filter + 1) % FILTERS.length;
    void load();
  });
  table.list.key(['a'], () => {
    filter = 0;
    messageIds = null;
    void load();
  });
  table.list.key(['r'], guarded(ctx, 'admin', 'Requeueing', async () => {
    const j = items[table.selected()];
    if (!j) return;
    if (j.status !== 'dead') {
      ctx.error(`Job ${j.id} is ${j.status}: only dead jobs are requeued.`);
      return;
    }
    const r = await attempt(ctx, `Requeueing job ${j.id}`, (s) => api.requeueJob(j.id, s));
    if (r) ctx.notify(`Job ${r.id} requeued (${r.status}).`);
    await load();
  }));
  table.list.key(['l'], () => void load());

  return {
    title: 'Jobs',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      table.list.focus();
      void load();
    },
    open(arg) {
      const a = arg as { messageIds?: string[]; failed?: number; status?: JobStatus } | null;
      messageIds = a?.messageIds ?? null;
      failedCount = a?.failed ?? messageIds?.length ?? 0;
      filter = Math.max(0, FILTERS.indexOf(a?.status));
      void load();
    },
    hide() {
      slot.cancel();
      root.hide();
    },
    relayout: () => table.relayout(),
    destroy() {
      slot.cancel();
      root.destroy();
    },
  };
}
