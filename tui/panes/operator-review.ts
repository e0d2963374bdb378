/**
 * Operator screens (a `pbo_…` token; operators are not organisation members): the review queue of
 * submitted plugin versions, oldest first, with what the reviewer must read (author, contact,
 * permissions, tools, toolkits, changes against the published version) — approve with an optional
 * note (a) or reject with a reason (x); and every organisation's plugin installations with pause
 * (p, with a reason: offered nowhere, its organisation cannot switch it back on) and resume (u).
 * Both open the plugin log (l).
 */
import type { OperatorInstallation, PluginReview } from '../../src/shared/api.ts';
import { createOperatorClient } from '../client-dev.ts';
import { attempt, createPanel, createTable, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { OPERATOR_INSTALL_COLUMNS, operatorInstallDetail, operatorInstallRow, REVIEW_COLUMNS, reviewDetail, reviewRow } from '../views/plugin-review.ts';
import { clean } from '../views/text.ts';
import { multiPane, rootBox, run, type LogSource } from './dev-common.ts';

const REVIEW_KEYS: KeyHelp[] = [
  { keys: 'a', does: 'approve' },
  { keys: 'x', does: 'reject' },
  { keys: 'l', does: 'logs' },
  { keys: 'r', does: 'reload' },
  { keys: 'enter/esc', does: 'read / list' },
];

/** Longest reason or note the form takes (the server has its own limit and says so). */
const MAX_REASON = 500;

export function createReviewQueuePane(ctx: PaneContext): Pane {
  const op = createOperatorClient(ctx.client.request);
  const root = rootBox(ctx);
  const table = createTable(root, { label: 'Plugin review queue', columns: REVIEW_COLUMNS, position: { top: 0, left: 0, right: 0, height: '35%' } });
  const detail = createPanel(root, { label: 'Submitted version', position: { top: '35%', left: 0, right: 0, bottom: 0 } });
  let items: PluginReview[] = [];

  const current = (): PluginReview | undefined => items[table.selected()];

  function renderDetail(): void {
    const r = current();
    detail.setContent(r ? reviewDetail(r).join('\n') : 'Nothing waits for review.');
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const keep = current()?.id;
    const list = await attempt(ctx, 'Loading the review queue', (s) => op.reviews(s));
    if (!list) return;
    items = list;
    table.setRows(items.map(reviewRow), '(nothing waits for review)');
    const at = items.findIndex((r) => r.id === keep);
    if (at >= 0) table.list.select(at);
    renderDetail();
  }

  table.list.on('select item', renderDetail);
  table.list.key(['enter'], () => {
    detail.focus();
    ctx.screen.render();
  });
  detail.key(['escape', 'left'], () => {
    detail.setScroll(0);
    table.list.focus();
    ctx.screen.render();
  });

  table.list.key(['a'], async () => {
    const r = current();
    if (!r) return;
    const form = await ctx.dialogs.form(`Approve ${clean(r.slug)} ${clean(r.version)} (publish it)`, [{ name: 'note', label: 'Note (optional)' }]);
    if (!form) return;
    const note = form.note.trim().slice(0, MAX_REASON);
    const v = await run(ctx, `Approving ${clean(r.slug)} ${clean(r.version)}`, (s) => op.approve(r.id, note || undefined, s));
    if (v) ctx.notify(`${clean(r.slug)} ${clean(v.version)} is ${v.status}: every organisation can install it now.`);
    await load();
  });

  table.list.key(['x'], async () => {
    const r = current();
    if (!r) return;
    let reason = '';
    // The reason is required: the form reopens (with what was typed) until it has one or is cancelled.
    for (let round = 0; round < 5; round++) {
      const form = await ctx.dialogs.form(`Reject ${clean(r.slug)} ${clean(r.version)}`, [{ name: 'reason', label: 'Reason (required)', value: reason }]);
      if (!form) return;
      reason = form.reason.trim().slice(0, MAX_REASON);
      if (reason) break;
      ctx.error('A rejection needs a reason: the developer reads it.');
    }
    if (!reason) return;
    const v = await run(ctx, `Rejecting ${clean(r.slug)} ${clean(r.version)}`, (s) => op.reject(r.id, reason, s));
    if (v) ctx.notify(`${clean(r.slug)} ${clean(v.version)} rejected; the developer sees your reason.`);
    await load();
  });

  table.list.key(['l'], () => {
    const r = current();
    if (!r) return;
    const source: LogSource = { kind: 'plugin', pluginId: r.pluginId, label: `${clean(r.slug)} (every installation)` };
    ctx.go('operator-logs', source);
  });
  table.list.key(['r'], () => void load());

  return multiPane({ title: 'Reviews', keys: REVIEW_KEYS, root, focus: () => table.list, load, relayout: () => table.relayout() });
}

const INSTALL_KEYS: KeyHelp[] = [
  { keys: 'p', does: 'pause' },
  { keys: 'u', does: 'resume' },
  { keys: 'l', does: 'logs' },
  { keys: 'r', does: 'reload' },
];

export function createOperatorInstallsPane(ctx: PaneContext): Pane {
  const op = createOperatorClient(ctx.client.request);
  const root = rootBox(ctx);
  const table = createTable(root, { label: 'Every organisation\'s plugin installations', columns: OPERATOR_INSTALL_COLUMNS, position: { top: 0, left: 0, right: 0, height: '50%' } });
  const detail = createPanel(root, { label: 'Installation', position: { top: '50%', left: 0, right: 0, bottom: 0 } });
  let items: OperatorInstallation[] = [];

  const current = (): OperatorInstallation | undefined => items[table.selected()];

  function renderDetail(): void {
    const i = current();
    detail.setContent(i ? operatorInstallDetail(i).join('\n') : 'No plugin is installed in any organisation.');
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const keep = current()?.id;
    const list = await attempt(ctx, 'Loading installations', (s) => op.installations({}, s));
    if (!list) return;
    items = list;
    table.setRows(items.map(operatorInstallRow), '(no installations)');
    const at = items.findIndex((i) => i.id === keep);
    if (at >= 0) table.list.select(at);
    renderDetail();
  }

  table.list.on('select item', renderDetail);

  table.list.key(['p'], async () => {
    const i = current();
    if (!i) return;
    if (i.pausedByOperator) {
      ctx.notify(`${clean(i.slug)} is paused already (u resumes it).`);
      return;
    }
    const form = await ctx.dialogs.form(`Pause ${clean(i.slug)} in ${clean(i.organizationId)}`, [{ name: 'reason', label: 'Reason' }]);
    if (!form) return;
    const r = await run(ctx, `Pausing ${clean(i.slug)}`, (s) => op.pause(i.id, form.reason.trim().slice(0, MAX_REASON) || undefined, s));
    if (r) ctx.notify(`${clean(r.slug)} paused: offered nowhere until you resume it.`);
    await load();
  });

  table.list.key(['u'], async () => {
    const i = current();
    if (!i) return;
    if (!i.pausedByOperator) {
      ctx.notify(`${clean(i.slug)} is not paused.`);
      return;
    }
    if (!(await ctx.dialogs.confirm(`Resume ${clean(i.slug)} in ${clean(i.organizationId)}?`))) return;
    const r = await run(ctx, `Resuming ${clean(i.slug)}`, (s) => op.resume(i.id, s));
    if (r) ctx.notify(`${clean(r.slug)} resumed.`);
    await load();
  });

  table.list.key(['l'], () => {
    const i = current();
    if (!i) return;
    if (i.kind !== 'custom') {
      ctx.notify('The plugin log holds custom plugin calls only.');
      return;
    }
    const source: LogSource = { kind: 'installation', id: i.id, label: `${clean(i.slug)} ${clean(i.version)} in ${clean(i.organizationId)}` };
    ctx.go('operator-logs', source);
  });
  table.list.key(['r'], () => void load());

  return multiPane({ title: 'Installs', keys: INSTALL_KEYS, root, focus: () => table.list, load, relayout: () => table.relayout() });
}
