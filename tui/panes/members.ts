/**
 * Pane: the organisation's members and their roles. n adds one (their token is shown once), r
 * changes a role, x removes (confirmed). Admins act (only owners touch owners; the server says
 * so in red otherwise); members read. It must never format data itself (views/members.ts does).
 */
import type { Member, Role } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { consoleClient } from '../client-console.ts';
import { attempt, createTable, formUntilDone, guarded, tablePane, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { MEMBER_COLUMNS, memberRow, memberTokenMessage, ROLES } from '../views/members.ts';
import { clean } from '../views/text.ts';

const KEYS: KeyHelp[] = [
  { keys: 'n', does: 'add member', needs: 'admin' },
  { keys: 'r', does: 'change role', needs: 'admin' },
  { keys: 'x', does: 'remove', needs: 'admin' },
  { keys: 'l', does: 'reload' },
];

export function createMembersPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'Members', columns: MEMBER_COLUMNS, position: { top: 0, left: 0, right: 0, bottom: 0 } });
  let items: Member[] = [];

  async function load(): Promise<void> {
    const list = await attempt(ctx, 'Loading members', (s) => api.members(s));
    if (!list) return;
    items = list;
    table.setRows(items.map((m) => memberRow(m, ctx.me?.id ?? null)), '(no members)');
    ctx.screen.render();
  }

  table.list.key(['n'], guarded(ctx, 'admin', 'Adding a member', async () => {
    const created = await formUntilDone(ctx, 'Add a member', [
      { name: 'name' as const, label: 'Name' },
      { name: 'role' as const, label: 'Role', choices: ctx.can('owner') ? ROLES : ROLES.filter((r) => r !== 'owner') },
    ], (v, s) => api.addMember({ name: v.name.trim(), role: v.role as Role }, s), (v) => (v.name.trim() ? null : 'The name is required.'));
    if (!created) return;
    await load();
    await ctx.dialogs.alert('New member (token shown once)', memberTokenMessage(created, ctx.client.baseUrl));
  }));

  table.list.key(['r'], guarded(ctx, 'admin', 'Changing a role', async () => {
    const m = items[table.selected()];
    if (!m) return;
    const role = await ctx.dialogs.pick(`Role of ${clean(m.name)} (now ${m.role})`, ROLES.map((r) => ({ label: r, value: r })));
    if (!role || role === m.role) return;
    const r = await attempt(ctx, `Changing the role of ${clean(m.name)}`, (s) => api.setRole(m.userId, role, s));
    if (r) ctx.notify(`${clean(r.name)} is now ${r.role}.`);
    await load();
  }));

  table.list.key(['x'], guarded(ctx, 'admin', 'Removing a member', async () => {
    const m = items[table.selected()];
    if (!m) return;
    if (!(await ctx.dialogs.confirm(`Remove ${clean(m.name)} (${m.role}) from the organisation? Their token stops working here.`))) return;
    const r = await attempt(ctx, `Removing ${clean(m.name)}`, (s) => api.removeMember(m.userId, s));
    if (r) ctx.notify(`Removed ${clean(m.name)}.`);
    await load();
  }));
  table.list.key(['l'], () => void load());

  return tablePane({ title: 'Members', help: '', keys: KEYS, root, table, load });
}
