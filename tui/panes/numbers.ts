/**
 * Pane: WhatsApp numbers. The selected number's webhook URL stands alone on a line of the detail
 * (copy it from there), with a red warning when Twilio could not reach it. n new, e edit (forms
 * keep their values after an error), p pause/resume, x delete (confirmed), Enter opens its
 * conversations. Admins and owners act; members read. It must never format data itself
 * (views/numbers.ts does) or talk HTTP except through the console client.
 */
import type { WhatsAppInstance } from '../../src/shared/api.ts';
import blessed from 'blessed';
import { ApiError } from '../client.ts';
import { consoleClient } from '../client-console.ts';
import { attempt, createTable, formUntilDone, guarded, type KeyHelp, type Pane, type PaneContext } from '../pane.ts';
import { NUMBER_COLUMNS, numberDetail, numberRow, parseCreateNumber, parseEditNumber, type NumberForm, type NumberFormField } from '../views/numbers.ts';
import type { FormField } from '../dialogs.ts';
import { clean } from '../views/text.ts';

const KEYS: KeyHelp[] = [
  { keys: 'n', does: 'new number', needs: 'admin' },
  { keys: 'e', does: 'edit', needs: 'admin' },
  { keys: 'p', does: 'pause/resume', needs: 'admin' },
  { keys: 'x', does: 'delete', needs: 'admin' },
  { keys: 'enter', does: 'conversations' },
  { keys: 'up/down', does: 'select' },
  { keys: 'l', does: 'reload' },
];

export function createNumbersPane(ctx: PaneContext): Pane {
  const api = consoleClient(ctx.api);
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const table = createTable(root, { label: 'WhatsApp numbers', columns: NUMBER_COLUMNS, position: { top: 0, left: 0, right: 0, height: '40%' } });
  const detail = blessed.box({
    parent: root, top: '40%', left: 0, right: 0, bottom: 0, border: { type: 'line' }, label: ' Webhook ', tags: true, scrollable: true,
    alwaysScroll: true, keys: true, mouse: true, style: { border: { fg: 'gray' } },
  });
  let items: WhatsAppInstance[] = [];
  let unavailable = false;

  const current = (): WhatsAppInstance | undefined => items[table.selected()];

  function renderDetail(): void {
    const i = current();
    if (unavailable) detail.setContent('This server has no WhatsApp channel.');
    else if (!i) detail.setContent(ctx.can('admin') ? 'No WhatsApp number yet. Press n to add one.' : 'No WhatsApp number yet.');
    else {
      const { lines, warning } = numberDetail(i);
      const esc = lines.map((l) => blessed.escape(l));
      // The URL line gets no decoration around it, only colour, so a copy takes exactly the URL.
      esc[1] = `{bold}{green-fg}${esc[1]}{/green-fg}{/bold}`;
      if (warning) esc.splice(2, 0, `{red-fg}{bold}${blessed.escape(warning)}{/bold}{/red-fg}`);
      detail.setContent(esc.join('\n'));
    }
    detail.setScroll(0);
    ctx.screen.render();
  }

  async function load(selectId?: string): Promise<void> {
    const scope = ctx.scope.child('numbers:load');
    try {
      items = await api.instances(scope.signal);
      unavailable = false;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) unavailable = true;
      else if (!scope.cancelled) ctx.error(`Loading numbers failed: ${(err as Error).message}`);
      if (!unavailable) return;
    } finally {
      scope.cancel('done');
    }
    table.setRows(items.map(numberRow), ctx.can('admin') ? '(no WhatsApp numbers; press n to add one)' : '(no WhatsApp numbers)');
    if (selectId) {
      const at = items.findIndex((i) => i.id === selectId);
      if (at >= 0) table.list.select(at);
    }
    renderDetail();
  }

  const fields = (i?: WhatsAppInstance): Array<FormField<NumberFormField>> => [
    { name: 'name', label: 'Name', value: i?.name ?? '' },
    { name: 'sender', label: 'Sender (+E.164)', value: i?.sender ?? '' },
    { name: 'twilioAccountSid', label: 'Twilio account', value: i?.twilioAccountSid ?? '' },
    { name: 'twilioAuthToken', label: i ? 'Auth token (keep)' : 'Twilio auth token', secret: true },
    { name: 'model', label: 'Model', value: i?.model ?? '' },
    { name: 'systemPrompt', label: 'System prompt', value: i?.systemPrompt ?? '' },
    { name: 'messagingServiceSid', label: 'Messaging service', value: i?.messagingServiceSid ?? '' },
    { name: 'loopCap', label: 'Loop cap', value: i?.loopCap === null || i?.loopCap === undefined ? '' : String(i.loopCap) },
  ];

  table.list.on('select item', renderDetail);
  table.list.key(['n'], guarded(ctx, 'admin', 'Adding a number', async () => {
    const created = await formUntilDone(ctx, 'New WhatsApp number', fields(), (v, s) => {
      const parsed = parseCreateNumber(v as NumberForm);
      if (!parsed.ok) throw new Error(parsed.error);
      return api.createInstance(parsed.body, s);
    }, (v) => {
      const parsed = parseCreateNumber(v as NumberForm);
      return parsed.ok ? null : parsed.error;
    });
    if (!created) return;
    ctx.notify(`Added ${clean(created.name)}: paste its webhook URL into Twilio.`);
    await load(created.id);
  }));
  table.list.key(['e'], guarded(ctx, 'admin', 'Editing a number', async () => {
    const i = current();
    if (!i) return;
    const updated = await formUntilDone(ctx, `Edit ${clean(i.name)}`, fields(i), (v, s) => {
      const parsed = parseEditNumber(i, v as NumberForm);
      if (!parsed.ok) throw new Error(parsed.error);
      return api.updateInstance(i.id, parsed.patch, s);
    }, (v) => {
      const parsed = parseEditNumber(i, v as NumberForm);
      return parsed.ok ? null : parsed.error;
    });
    if (!updated) return;
    ctx.notify(`Saved ${clean(updated.name)}.`);
    await load(updated.id);
  }));
  table.list.key(['p'], guarded(ctx, 'admin', 'Pausing a number', async () => {
    const i = current();
    if (!i) return;
    const status = i.status === 'active' ? 'paused' : 'active';
    const r = await attempt(ctx, `Setting ${clean(i.name)} ${status}`, (s) => api.updateInstance(i.id, { status }, s));
    if (r) ctx.notify(status === 'paused' ? `${clean(r.name)} is paused: replies wait in the dead letter until it resumes.` : `${clean(r.name)} is active again.`);
    await load(i.id);
  }));
  table.list.key(['x'], guarded(ctx, 'admin', 'Deleting a number', async () => {
    const i = current();
    if (!i) return;
    if (!(await ctx.dialogs.confirm(`Delete the number "${clean(i.name)}" (${clean(i.sender)})? Its conversations and grants go with it.`))) return;
    const r = await attempt(ctx, `Deleting ${clean(i.name)}`, (s) => api.deleteInstance(i.id, s));
    if (r) ctx.notify(`Deleted ${clean(i.name)}.`);
    await load();
  }));
  table.list.key(['enter'], () => {
    const i = current();
    if (i) ctx.go('conversations', i.id);
  });
  table.list.key(['l'], () => void load());

  return {
    title: 'Numbers',
    help: '',
    keys: KEYS,
    show() {
      root.show();
      table.list.focus();
      void load(current()?.id);
    },
    hide: () => root.hide(),
    relayout: () => table.relayout(),
    destroy: () => root.destroy(),
  };
}
