/**
 * What the business panes (catalogue, orders, payments, inbox, reminders) share: their clients
 * (built on the app's ApiClient), an action bar that greys out what the role (ctx.role) or the
 * selected item's state does not allow, and `guarded`, which refuses such an action
 * locally with the reason instead of sending a request the server would refuse. Never formats
 * data (views/ do) and never builds the app layout.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import { createCommerceClient, type CommerceClient } from '../client-biz.ts';
import { createInboxClient, type InboxClient } from '../client-inbox.ts';
import type { ScheduledMessage } from '../../src/shared/api.ts';
import { attempt, type PaneContext } from '../pane.ts';
import { parseSendAt } from '../views/inbox.ts';
import { clean, shortTime } from '../views/text.ts';
import { actionBar, READ_ONLY, type ActionHint } from '../views/commerce.ts';

export interface BizEnv {
  commerce: CommerceClient;
  inbox: InboxClient;
}

/** The business clients of the organisation in view, built on the app's ApiClient. */
export function bizEnv(ctx: PaneContext): BizEnv {
  return { commerce: createCommerceClient(ctx.client, ctx.api.orgId), inbox: createInboxClient(ctx.client, ctx.api.orgId) };
}

export interface ActionBarWidget {
  el: Widgets.BoxElement;
  set(hints: ActionHint[]): void;
  /** Runs `fn` when the hint with `key` is enabled; otherwise says why not (in red) on the status line. */
  guarded(key: string, fn: () => unknown): () => void;
  /**
   * The pane's own bar renderer, called again when a key is pressed, so the check uses the state
   * on screen at that moment; and its reload, run once before an action is refused for the item's
   * state (not for the role), so a state that changed on the server since the last load (a payment
   * confirmed elsewhere) is read again instead of refused from an old copy.
   */
  recomputeWith(render: () => void, reload?: () => Promise<void>): void;
}

/** A one-line bar of the pane's actions at `top` of `parent` (enabled plain, others grey). */
export function createActionBar(ctx: PaneContext, parent: Widgets.Node, top = 0): ActionBarWidget {
  const el = blessed.box({ parent, top, left: 1, right: 1, height: 1, tags: true });
  let hints: ActionHint[] = [];
  let recompute: (() => void) | null = null;
  let reload: (() => Promise<void>) | null = null;
  return {
    el,
    set(next) {
      hints = next;
      el.setContent(actionBar(next));
    },
    recomputeWith(render, load) {
      recompute = render;
      reload = load ?? null;
    },
    guarded: (key, fn) => () => {
      const refused = (): ActionHint | undefined => {
        recompute?.();
        const h = hints.find((x) => x.key === key);
        return h && !h.enabled ? h : undefined;
      };
      void (async () => {
        let h = refused();
        if (h && h.why !== READ_ONLY && reload) {
          await reload();
          h = refused();
        }
        if (h) {
          ctx.error(`${h.label}: ${h.why ?? 'not possible now'}.`);
          return;
        }
        await fn();
      })();
    },
  };
}

/** Events arrive in bursts (a reply or a payment emits several); one reload per burst. */
export const RELOAD_DEBOUNCE_MS = 250;

export interface EventFollower {
  /** Opens the organisation's live stream; `onMatch` runs (debounced) for events whose type starts with a prefix. */
  start(): void;
  stop(): void;
}

/**
 * Keeps a screen current while it is visible: its own subscription to the live stream (cancelled
 * with the organisation's scope, on hide and on destroy), reloading on the events that concern it.
 */
export function followEvents(ctx: PaneContext, name: string, prefixes: readonly string[], onMatch: () => void): EventFollower {
  let scope: ReturnType<PaneContext['scope']['child']> | null = null;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearTimeout(timer);
    scope?.cancel('stopped');
    scope = null;
  };
  return {
    start() {
      stop();
      const s = ctx.scope.child(`${name}:events`);
      scope = s;
      void ctx.api.streamEvents({
        signal: s.signal,
        onEvent(ev) {
          const type = String(ev.type);
          if (!prefixes.some((p) => type.startsWith(p))) return;
          clearTimeout(timer);
          timer = setTimeout(() => {
            if (!s.cancelled) onMatch();
          }, RELOAD_DEBOUNCE_MS);
        },
      }).catch(() => undefined);
    },
    stop,
  };
}

/** Who a reminder goes to: one conversation of one number. */
export interface ReminderTarget {
  instanceId: string;
  customerRef: string;
  /** The masked number shown in the form's title, when known. */
  label?: string | null;
}

/**
 * The reminder form (Inbox and Reminders): message, when (30m, 2h, ISO) and an optional template.
 * Bounded by the operator (Esc ends it); a refused time, an empty message or a server refusal keeps
 * what was typed. Resolves with the scheduled message, or null when the operator gave up.
 */
export async function scheduleReminderForm(ctx: PaneContext, env: BizEnv, to: ReminderTarget): Promise<ScheduledMessage | null> {
  let values = { text: '', when: '30m', template: '' };
  for (;;) {
    const f = await ctx.dialogs.form<'text' | 'when' | 'template'>(`Reminder to ${clean(to.label ?? to.customerRef)}`, [
      { name: 'text', label: 'Message', value: values.text },
      { name: 'when', label: 'When (30m, 2h, ISO)', value: values.when },
      { name: 'template', label: 'Template (opt.)', value: values.template },
    ]);
    if (!f) return null;
    values = f;
    const when = parseSendAt(f.when, Date.now());
    if ('error' in when) {
      ctx.error(`When: ${when.error}`);
      continue;
    }
    if (!f.text.trim()) {
      ctx.error('The reminder is empty.');
      continue;
    }
    const template = f.template.trim() ? { contentSid: f.template.trim(), variables: { 1: f.text.trim() } } : undefined;
    const r = await attempt(ctx, 'Scheduling the reminder', (s) => env.inbox.schedule({ instanceId: to.instanceId, customerRef: to.customerRef, text: f.text.trim(), sendAt: when.sendAt, ...(template ? { template } : {}) }, s));
    if (!r) continue;
    ctx.notify(`Reminder scheduled for ${shortTime(r.sendAt)} UTC.`);
    return r;
  }
}
