/**
 * Pane: the audit log of control-panel writes (owners only; others see why it is empty). f cycles
 * all / failed / succeeded; [ and ] page. It must never format data itself (views/audit.ts does).
 */
import type { AuditEntry } from '../../src/shared/api-usage.ts';
import blessed from 'blessed';
import { consoleClient } from '../client-console.ts';
import { attempt, createTable, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { AUDIT_COLUMNS, auditRow } from '../views/audit.ts';

const OUTCOMES: Array<'ok' | 'error' | undefined> = [undefined, 'error', 'ok'];
const KEYS: KeyHelp[] = [
  { keys: 'f', does: 'all / failed / succeeded' },
  { keys: '[ ]', does: 'newer / older page' },
  { keys: 'l', does: 'reload' },
];

export function createAuditPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Audit log', columns: AUDIT_COLUMNS, position: { top: 0, left: 0, right: 0, bottom: 0 } });
  const slot = createSlot(ctx.scope);
  let outcome = 0;
  let cursors: Array<string | undefined> = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  let items: AuditEntry[] = [];

  async function load(): Promise<void> {
    if (!ctx.can('owner')) {
      table.box.setLabel(' Audit log ');
      table.setRows([], '(the audit log is for owners)');
      ctx.screen.render();
      return;
    }
    const page = await attempt(ctx, 'Loading the audit log', (s) => api.auditLog({ cursor, limit: 100, outcome: OUTCOMES[outcome] }, s), slot.next('audit'));
    if (!page) return;
    items = page.data;
    nextCursor = page.hasMore ? page.nextCursor : null;
    table.box.setLabel(` Audit log: ${OUTCOMES[outcome] ?? 'all'}  page ${cursors.length + 1}${nextCursor ? ' (] older)' : ''} `);
    table.setRows(items.map(auditRow), '(no control-panel writes recorded)');
    ctx.screen.render();
  }

  table.list.key(['f'], () => {
    outcome = (outcome + 1) % OUTCOMES.length;
    cursors = [];
    cursor = undefined;
    void load();
  });
  table.list.key([']'], () => {
    if (!nextCursor) return;
    cursors.push(cursor);
    cursor = nextCursor;
    void load();
  });
  table.list.key(['['], () => {
    if (!cursors.length) return;
    cursor = cursors.pop();
    void load();
  });
  table.list.key(['l'], () => void load());

  return {
    title: 'Audit',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      table.list.focus();
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
