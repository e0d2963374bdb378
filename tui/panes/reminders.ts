/**
 * Pane: scheduled messages (reminders), latest send time first. `f` narrows the list to one
 * conversation (pick a WhatsApp number, then a customer) or clears the filter, `s` cycles a status
 * filter, `n` schedules a reminder (to the filtered conversation, or one picked now), `x` cancels
 * the selected one while it is still scheduled. `ctx.go('reminders', {instanceId, customerRef})`
 * opens it on one conversation. While shown it follows the live stream (sent, failed, cancelled).
 * Never formats data itself (views/inbox.ts).
 */
import blessed from 'blessed';
import type { ScheduledMessage, ScheduledMessageStatus } from '../../src/shared/api.ts';
import { attempt, createTable, tablePane, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { SCHEDULED_COLUMNS, scheduledActions, scheduledRow } from '../views/inbox.ts';
import { clean, shortTime } from '../views/text.ts';
import { bizEnv, createActionBar, followEvents, scheduleReminderForm } from './biz-common.ts';

const PAGE = 200;
const STATUSES: ScheduledMessageStatus[] = ['scheduled', 'sending', 'sent', 'failed', 'cancelled'];

export const REMINDER_KEYS: KeyHelp[] = [
  { keys: 'n', does: 'new', needs: 'admin' },
  { keys: 'x', does: 'cancel', needs: 'admin' },
  { keys: 'f', does: 'conversation/all' },
  { keys: 's', does: 'status filter' },
  { keys: 'l', does: 'reload' },
];

export interface Conversation {
  instanceId: string;
  customerRef: string;
  label?: string;
}

export function createRemindersPane(ctx: PaneContext): Pane {
  const env = bizEnv(ctx);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const bar = createActionBar(ctx, root, 0);
  const table = createTable(root, { label: 'Reminders', columns: SCHEDULED_COLUMNS, position: { top: 1, left: 0, right: 0, bottom: 0 } });
  let items: ScheduledMessage[] = [];
  let conversation: Conversation | null = null;
  let status: ScheduledMessageStatus | undefined;

  const selected = (): ScheduledMessage | undefined => items[table.selected()];
  function renderBar(): void {
    bar.set([...scheduledActions(selected(), ctx.role), { key: 's', label: 'status', enabled: true }, { key: 'l', label: 'reload', enabled: true }]);
  }
  bar.recomputeWith(renderBar, load);

  async function load(): Promise<void> {
    const q = { ...(conversation ? { instanceId: conversation.instanceId, customerRef: conversation.customerRef } : {}), status, limit: PAGE };
    const page = await attempt(ctx, 'Loading reminders', (s) => env.inbox.scheduled(q, s));
    if (!page) return;
    items = page.data;
    const who = conversation ? `: ${clean(conversation.label ?? conversation.customerRef)}` : '';
    table.box.setLabel(` Reminders${who}${status ? ` (${status})` : ''} `);
    table.setRows(items.map(scheduledRow), '(no reminders; press n to schedule one)');
    renderBar();
    ctx.screen.render();
  }

  /** A conversation picked by the operator: a WhatsApp number, then one of its customers. */
  async function pickConversation(): Promise<Conversation | null> {
    const instances = await attempt(ctx, 'Listing WhatsApp numbers', (s) => ctx.api.whatsappInstances(s));
    if (!instances?.length) {
      if (instances) ctx.notify('There is no WhatsApp number yet.');
      return null;
    }
    const inst = instances.length === 1 ? instances[0] : await ctx.dialogs.pick('WhatsApp number', instances.map((i) => ({ label: `${clean(i.name)}  ${clean(i.sender)}`, value: i })));
    if (!inst) return null;
    const convs = await attempt(ctx, 'Listing conversations', (s) => env.inbox.conversations(inst.id, { limit: 100 }, s));
    if (!convs) return null;
    if (!convs.data.length) {
      ctx.notify(`${clean(inst.name)} has no conversations yet.`);
      return null;
    }
    const c = await ctx.dialogs.pick(`Customer on ${clean(inst.name)}`, convs.data.map((x) => ({ label: `${clean(x.phoneMasked)}  last ${shortTime(x.lastMessageAt)}`, value: x })));
    return c ? { instanceId: inst.id, customerRef: c.customerRef, label: c.phoneMasked } : null;
  }

  table.list.on('select item', () => {
    renderBar();
    ctx.screen.render();
  });
  table.list.key(['n'], bar.guarded('n', async () => {
    const to = conversation ?? (await pickConversation());
    if (!to) return;
    if (await scheduleReminderForm(ctx, env, to)) await load();
  }));
  table.list.key(['x'], bar.guarded('x', async () => {
    const m = selected();
    if (!m) return;
    if (!(await ctx.dialogs.confirm(`Cancel the reminder for ${shortTime(m.sendAt)} UTC ("${clean(m.text).slice(0, 40)}")?`))) return;
    const r = await attempt(ctx, 'Cancelling the reminder', (s) => env.inbox.cancelScheduled(m.id, {}, s));
    if (r) ctx.notify(`Reminder for ${shortTime(r.sendAt)} cancelled.`);
    await load();
  }));
  table.list.key(['f'], async () => {
    conversation = conversation ? null : await pickConversation();
    await load();
  });
  table.list.key(['s'], () => {
    const i = status ? STATUSES.indexOf(status) : -1;
    status = i + 1 < STATUSES.length ? STATUSES[i + 1] : undefined;
    void load();
  });
  table.list.key(['l'], () => void load());

  const events = followEvents(ctx, 'reminders', ['scheduled_message.'], () => void load());
  const pane = tablePane({ title: 'Reminders', help: 'n new  x cancel  f conversation  s status  l reload', keys: REMINDER_KEYS, root, table, load, onDestroy: () => events.stop() });
  return {
    ...pane,
    show() {
      events.start();
      pane.show();
    },
    hide() {
      events.stop();
      pane.hide();
    },
    open(arg) {
      const c = arg as Conversation | null;
      if (c && typeof c.instanceId === 'string' && typeof c.customerRef === 'string') {
        conversation = c;
        void load();
      }
    },
  };
}
