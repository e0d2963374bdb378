/**
 * Pane: the escalation inbox, the operator's main screen when a person is needed. The table lists
 * the conversations handed over (most urgent, then longest waiting, first; `a` shows closed ones
 * too); the panel below shows the selected one's timeline, its whole conversation and its
 * reminders. `t` takes it, `r` replies through WhatsApp (a retry after a 503 reuses the same
 * clientMessageId so nothing is sent twice; when the 24-hour window has closed the form asks for
 * a template), `v` resolves it (the bot answers again), `n` schedules a reminder to the customer,
 * `x` cancels one. While shown it follows the live stream and reloads on escalation events.
 * Never formats data itself (views/inbox.ts).
 */
import blessed from 'blessed';
import { randomUUID } from 'node:crypto';
import type { Escalation, EscalationDetail, ScheduledMessage } from '../../src/shared/api.ts';
import { ApiError } from '../client.ts';
import type { FormField } from '../dialogs.ts';
import { attempt, createPanel, createTable, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { detailLabel, escalationDetailText, escalationRow, INBOX_COLUMNS, inboxActions, inboxOrder } from '../views/inbox.ts';
import { clean, describeError, shortTime } from '../views/text.ts';
import { bizEnv, createActionBar, followEvents, scheduleReminderForm } from './biz-common.ts';

const PAGE = 200;

export const INBOX_KEYS: KeyHelp[] = [
  { keys: 't', does: 'take', needs: 'admin' },
  { keys: 'r', does: 'reply', needs: 'admin' },
  { keys: 'v', does: 'resolve (back to bot)', needs: 'admin' },
  { keys: 'n', does: 'remind', needs: 'admin' },
  { keys: 'x', does: 'cancel reminder', needs: 'admin' },
  { keys: 'a', does: 'all/active' },
  { keys: 'right', does: 'scroll' },
  { keys: 'l', does: 'reload' },
];

export function createInboxPane(ctx: PaneContext): Pane {
  const env = bizEnv(ctx);
  const userId = ctx.me?.id ?? null;
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const bar = createActionBar(ctx, root, 0);
  const table = createTable(root, { label: 'Inbox', columns: INBOX_COLUMNS, position: { top: 1, left: 0, right: 0, height: '40%' } });
  const detail = createPanel(root, { label: 'Conversation', position: { top: '40%+1', left: 0, right: 0, bottom: 0 } });
  const detailSlot = createSlot(ctx.scope);
  let items: Escalation[] = [];
  let current: EscalationDetail | null = null;
  let reminders: ScheduledMessage[] = [];
  let all = false;
  let shownFor: string | null = null;
  let want: string | null = null;

  const selected = (): Escalation | undefined => items[table.selected()];

  function renderBar(): void {
    bar.set([...inboxActions(selected(), ctx.role), { key: 'a', label: all ? 'active only' : 'show all', enabled: true }, { key: 'l', label: 'reload', enabled: true }]);
  }
  bar.recomputeWith(renderBar, load);

  function renderDetail(): void {
    if (!current) return;
    detail.setLabel(` ${detailLabel(current, userId)} `);
    detail.setContent(escalationDetailText(current, userId, reminders));
    detail.setScrollPerc(100);
  }

  async function loadDetail(force = false): Promise<void> {
    const e = selected();
    renderBar();
    if (!e) {
      shownFor = null;
      current = null;
      detail.setLabel(' Conversation ');
      detail.setContent(all ? '' : 'Nobody is waiting for a person. Conversations the agent hands over appear here.');
      ctx.screen.render();
      return;
    }
    if (!force && shownFor === e.id) return;
    shownFor = e.id;
    const r = await attempt(ctx, 'Loading the conversation', async (s) => {
      const [d, rem] = await Promise.all([env.inbox.escalation(e.id, s), env.inbox.scheduled({ instanceId: e.instanceId, customerRef: e.customerRef, limit: 20 }, s)]);
      return { d, rem: rem.data };
    }, detailSlot.next(`escalation:${e.id}`));
    if (!r || shownFor !== e.id) return;
    current = r.d;
    reminders = r.rem;
    renderDetail();
    ctx.screen.render();
  }

  async function load(): Promise<void> {
    const page = await attempt(ctx, 'Loading the inbox', (s) => env.inbox.escalations({ status: all ? undefined : 'active', limit: PAGE }, s));
    if (!page) return;
    const before = selected()?.id ?? null;
    items = inboxOrder(page.data);
    const waiting = items.filter((e) => e.status === 'pending').length;
    table.box.setLabel(` Inbox${all ? ' (all)' : ''}: ${waiting} waiting, ${items.length - waiting} ${all ? 'other' : 'assigned'} `);
    table.setRows(items.map((e) => escalationRow(e, userId)), all ? '(no escalations yet)' : '(nobody is waiting for a person)');
    // Keep the operator on the conversation they were reading when the order changes.
    const keep = want ?? before;
    const at = keep ? items.findIndex((e) => e.id === keep) : -1;
    if (at >= 0) {
      table.list.select(at);
      if (want) want = null;
    }
    await loadDetail(true);
    ctx.screen.render();
  }

  const events = followEvents(ctx, 'inbox', ['escalation.', 'scheduled_message.'], () => void load());

  /** `r`: the reply form; a 503 keeps the text and the clientMessageId for a safe retry, a closed window asks for a template. */
  async function reply(e: Escalation): Promise<void> {
    let values = { text: '', template: '' };
    let askTemplate = false;
    let clientMessageId = randomUUID();
    let sentText: string | null = null;
    // Bounded by the operator: every round needs an answer, Esc ends it.
    for (;;) {
      const fields: Array<FormField<'text' | 'template'>> = [{ name: 'text', label: 'Reply', value: values.text }];
      if (askTemplate) fields.push({ name: 'template', label: 'Template HX…', value: values.template });
      const f = await ctx.dialogs.form(`Reply to ${clean(e.phoneMasked ?? e.customerRef)}`, fields);
      if (!f) return;
      values = { text: f.text, template: f.template ?? '' };
      const text = f.text.trim();
      if (!text) {
        ctx.error('The reply is empty.');
        continue;
      }
      // A changed text is a new message: only an identical retry may reuse the id.
      if (sentText !== null && sentText !== text) clientMessageId = randomUUID();
      sentText = text;
      const template = values.template.trim() ? { contentSid: values.template.trim(), variables: { 1: text } } : undefined;
      const scope = ctx.scope.child('reply');
      try {
        const r = await env.inbox.reply(e.id, { text, clientMessageId, ...(template ? { template } : {}) }, scope.signal);
        ctx.notify(`Sent to ${clean(e.phoneMasked ?? e.customerRef)}${r.usedTemplate ? ' (as a template: the window had closed)' : ''}${r.duplicate ? ' (already sent before)' : ''}.`);
        want = e.id;
        await load();
        return;
      } catch (err) {
        if (scope.cancelled) return;
        if (err instanceof ApiError && err.code === 'outside_window') {
          askTemplate = true;
          ctx.error('The customer has not written for 24 hours: WhatsApp only allows an approved template. Enter its HX… SID.');
        } else if (err instanceof ApiError && err.status === 503) {
          ctx.error(`Not sent: ${describeError(err)}. Press Enter to retry (the same message id, so it is never sent twice).`);
        } else {
          ctx.error(`Replying failed: ${describeError(err)}`);
          if (err instanceof ApiError && err.code === 'escalation_closed') return void load();
        }
      } finally {
        scope.cancel('done');
      }
    }
  }

  async function remind(e: Escalation): Promise<void> {
    if (await scheduleReminderForm(ctx, env, { instanceId: e.instanceId, customerRef: e.customerRef, label: e.phoneMasked })) await loadDetail(true);
  }

  table.list.on('select item', () => void loadDetail());
  table.list.key(['right', 'enter'], () => detail.focus());
  detail.key(['left', 'escape'], () => table.list.focus());
  const onSelected = (key: string, fn: (e: Escalation) => unknown) => table.list.key([key], bar.guarded(key, () => {
    const e = selected();
    if (e) return fn(e);
  }));
  onSelected('t', async (e) => {
    const r = await attempt(ctx, 'Taking the conversation', (s) => env.inbox.assign(e.id, undefined, s));
    if (r) ctx.notify(`You have ${clean(r.phoneMasked ?? r.customerRef)}: the bot stays silent until you resolve it.`);
    want = e.id;
    await load();
  });
  onSelected('r', (e) => reply(e));
  onSelected('v', async (e) => {
    const f = await ctx.dialogs.form(`Resolve: hand ${clean(e.phoneMasked ?? e.customerRef)} back to the bot`, [{ name: 'note', label: 'Note (optional)' }]);
    if (!f) return;
    const r = await attempt(ctx, 'Resolving', (s) => env.inbox.resolve(e.id, f.note.trim() || undefined, s));
    if (r) ctx.notify(`Resolved: the bot answers ${clean(r.phoneMasked ?? r.customerRef)} again.`);
    await load();
  });
  onSelected('n', (e) => remind(e));
  onSelected('x', async (e) => {
    const open = reminders.filter((m) => m.status === 'scheduled' && shownFor === e.id);
    if (!open.length) {
      ctx.notify('This customer has no scheduled reminder.');
      return;
    }
    const m = await ctx.dialogs.pick('Cancel which reminder?', open.map((x) => ({ label: `${shortTime(x.sendAt)}  ${clean(x.text)}`, value: x })));
    if (!m) return;
    const r = await attempt(ctx, 'Cancelling the reminder', (s) => env.inbox.cancelScheduled(m.id, {}, s));
    if (r) ctx.notify(`Reminder for ${shortTime(r.sendAt)} cancelled.`);
    await loadDetail(true);
  });
  table.list.key(['a'], () => {
    all = !all;
    void load();
  });
  table.list.key(['l'], () => void load());

  return {
    title: 'Inbox',
    help: 't take  r reply  v resolve  n remind  x cancel reminder  a all  l reload',
    keys: INBOX_KEYS,
    show() {
      root.show();
      table.list.focus();
      events.start();
      void load();
    },
    open(arg) {
      if (typeof arg === 'string') {
        want = arg;
        void load();
      }
    },
    hide() {
      events.stop();
      detailSlot.cancel();
      root.hide();
    },
    relayout: () => table.relayout(),
    destroy() {
      events.stop();
      detailSlot.cancel();
      root.destroy();
    },
  };
}
