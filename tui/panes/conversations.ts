/**
 * Pane: conversations per WhatsApp number and the thread of the selected one, each message with
 * its delivery status and Twilio error. Numbers on the left (Enter → its conversations), the
 * conversations top right (Enter → the thread), the thread below; `j` follows the failed replies
 * of the thread to their jobs (the reason and requeue). `open(instanceId)` selects a number.
 * It must never format data itself (views/conversations.ts does) or talk HTTP except through the
 * console client.
 */
import type { WhatsAppConversation, WhatsAppInstance, WhatsAppMessage } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { consoleClient } from '../client-console.ts';
import { attempt, createPanel, createTable, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { createSlot } from '../tasks.ts';
import { CONVERSATION_COLUMNS, conversationRow, isFailed, threadLines } from '../views/conversations.ts';
import { clean } from '../views/text.ts';

/** Messages fetched per page of a thread (newest first on the server; `m` loads older ones). */
export const THREAD_PAGE = 50;

const KEYS: KeyHelp[] = [
  { keys: 'enter', does: 'open (number → conversations → thread)' },
  { keys: 'left/esc', does: 'back' },
  { keys: 'j', does: 'jobs of failed replies' },
  { keys: 'm', does: 'older messages' },
  { keys: 'l', does: 'reload' },
];

export function createConversationsPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const numbersTable = createTable(root, { label: 'Numbers', columns: [{ title: 'NAME', min: 8 }], position: { top: 0, left: 0, width: '25%', bottom: 0 } });
  const convTable = createTable(root, { label: 'Conversations', columns: CONVERSATION_COLUMNS, position: { top: 0, left: '25%', right: 0, height: '35%' } });
  const thread = createPanel(root, { label: 'Thread', position: { top: '35%', left: '25%', right: 0, bottom: 0 } });
  const slot = createSlot(ctx.scope);
  let numbers: WhatsAppInstance[] = [];
  let convs: WhatsAppConversation[] = [];
  let messages: WhatsAppMessage[] = [];
  let nextCursor: string | null = null;
  let instanceId: string | null = null;
  let customerRef: string | null = null;

  async function loadNumbers(): Promise<void> {
    const list = await attempt(ctx, 'Loading numbers', (s) => api.instances(s));
    if (!list) return;
    numbers = list;
    numbersTable.setRows(numbers.map((n) => [`${clean(n.name)}${n.status === 'paused' ? ' (paused)' : ''}`]), '(no numbers)');
    const at = instanceId ? numbers.findIndex((n) => n.id === instanceId) : -1;
    if (at >= 0) numbersTable.list.select(at);
    ctx.screen.render();
  }

  async function loadConversations(): Promise<void> {
    const n = numbers[numbersTable.selected()];
    if (!n) return;
    instanceId = n.id;
    convTable.box.setLabel(` Conversations of ${clean(n.name)} `);
    const page = await attempt(ctx, `Loading the conversations of ${clean(n.name)}`, (s) => api.conversations(n.id, { limit: 100 }, s), slot.next('conversations'));
    if (!page || instanceId !== n.id) return;
    convs = page.data;
    convTable.setRows(convs.map(conversationRow), '(no conversations yet)');
    ctx.screen.render();
  }

  function renderThread(): void {
    const c = convs.find((x) => x.customerRef === customerRef);
    const failed = messages.filter((m) => m.direction === 'out' && isFailed(m)).length;
    thread.setLabel(` Thread ${c ? clean(c.phoneMasked) : ''}${failed ? ` (${failed} failed: j jobs)` : ''}${nextCursor ? ' (m older)' : ''} `);
    thread.setContent(messages.length ? threadLines(messages).join('\n') : '(no messages)');
    thread.setScrollPerc(100);
    ctx.screen.render();
  }

  async function loadThread(more = false): Promise<void> {
    const c = convs[convTable.selected()];
    if (!c || !instanceId) return;
    const iid = instanceId;
    if (!more) {
      customerRef = c.customerRef;
      messages = [];
      nextCursor = null;
    }
    const page = await attempt(ctx, 'Loading the thread', (s) => api.messages(iid, c.customerRef, { limit: THREAD_PAGE, cursor: more ? (nextCursor ?? undefined) : undefined }, s), slot.next('thread'));
    if (!page || customerRef !== c.customerRef) return;
    messages = more ? [...messages, ...page.data] : page.data;
    nextCursor = page.hasMore ? page.nextCursor : null;
    renderThread();
  }

  numbersTable.list.key(['enter', 'right'], async () => {
    await loadConversations();
    convTable.list.focus();
    ctx.screen.render();
  });
  convTable.list.key(['enter', 'right'], async () => {
    await loadThread();
    thread.focus();
    ctx.screen.render();
  });
  convTable.list.key(['left', 'escape'], () => {
    numbersTable.list.focus();
    ctx.screen.render();
  });
  thread.key(['left', 'escape'], () => {
    convTable.list.focus();
    ctx.screen.render();
  });
  const jobs = (): void => {
    // A reply job is keyed by the inbound message it answers; the failed part points back to it.
    const failed = messages.filter((m) => m.direction === 'out' && isFailed(m));
    if (!failed.length) ctx.notify('No failed reply in this thread.');
    else ctx.go('jobs', { messageIds: [...new Set(failed.flatMap((m) => [m.id, ...(m.replyToMessageId ? [m.replyToMessageId] : [])]))], failed: failed.length });
  };
  thread.key(['j'], jobs);
  convTable.list.key(['j'], jobs);
  thread.key(['m'], () => {
    if (nextCursor) void loadThread(true);
  });
  for (const el of [numbersTable.list, convTable.list, thread]) {
    el.key(['l'], async () => {
      await loadNumbers();
      if (instanceId) await loadConversations();
      if (customerRef) await loadThread();
    });
  }

  return {
    title: 'Chats',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      numbersTable.list.focus();
      void loadNumbers();
    },
    open(arg) {
      if (typeof arg !== 'string') return;
      instanceId = arg;
      void (async () => {
        await loadNumbers();
        await loadConversations();
        convTable.list.focus();
        ctx.screen.render();
      })();
    },
    hide() {
      slot.cancel();
      root.hide();
    },
    relayout() {
      numbersTable.relayout();
      convTable.relayout();
    },
    destroy() {
      slot.cancel();
      root.destroy();
    },
  };
}
