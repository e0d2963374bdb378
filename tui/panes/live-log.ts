/**
 * Pane: the organisation's live event stream (GET …/events over SSE), newest at the bottom and
 * bounded to LIVE_LOG_MAX_LINES. The stream starts with the pane and runs in the organisation's
 * scope, so switching organisation or quitting stops it; the client reconnects with backoff.
 * Lines are flushed to the screen at most every FLUSH_MS so a busy gateway cannot flood the
 * terminal. It must never format events itself (views/live-log.ts does) or open connections
 * except through the OrgClient.
 */
import blessed from 'blessed';
import type { StreamStatus } from '../client.ts';
import { createPanel, type Pane, type PaneContext } from '../pane.ts';
import { clean } from '../views/text.ts';
import { consoleClient } from '../client-console.ts';
import { isAbortError, sleep } from '../tasks.ts';
import { appendBounded, deadJobLine, LIVE_LOG_HEADER, LIVE_LOG_MAX_LINES, liveEventLine, streamStatusLabel } from '../views/live-log.ts';

/** Screen updates per second are capped by this interval. */
export const FLUSH_MS = 100;
/** How often the dead letter is checked for failed sends. */
export const DEAD_LETTER_POLL_MS = 3_000;
/** Requests offered by the drill-down picker. */
export const RECENT_REQUESTS = 20;

export function createLiveLogPane(ctx: PaneContext): Pane {
  const root = blessed.box({ parent: ctx.parent, top: 0, left: 0, right: 0, bottom: 0, hidden: true });
  const panel = createPanel(root, { label: 'Live events', position: { top: 0, left: 0, right: 0, bottom: 0 } });
  const header = blessed.text({ parent: panel, top: 0, left: 0, right: 0, height: 1, content: LIVE_LOG_HEADER, tags: false, style: { bold: true } });
  const body = blessed.box({ parent: panel, top: 1, left: 0, right: 0, bottom: 0, tags: false, wrap: false, scrollable: true, alwaysScroll: true, keys: true });
  let lines: string[] = [];
  let pending: string[] = [];
  let follow = true;
  let status: StreamStatus = { state: 'connecting', attempt: 1 };
  let timer: NodeJS.Timeout | undefined;
  /** The latest request ids with their last event, newest last (for the drill-down picker). */
  const recent = new Map<string, string>();

  function label(): void {
    panel.setLabel(` Live events: ${streamStatusLabel(status)}${follow ? '' : ' (paused; f follows)'} `);
  }

  function flush(): void {
    timer = undefined;
    if (pending.length) {
      lines = appendBounded(lines, pending, LIVE_LOG_MAX_LINES);
      pending = [];
      body.setContent(lines.join('\n'));
      if (follow) body.setScrollPerc(100);
    }
    label();
    if (!root.hidden) ctx.screen.render();
  }

  const schedule = (): void => {
    timer ??= setTimeout(flush, FLUSH_MS);
  };

  const stream = ctx.scope.child('live-events');
  stream.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  void ctx.api.streamEvents({
    signal: stream.signal,
    onEvent(e) {
      pending.push(liveEventLine(e));
      recent.delete(e.requestId);
      recent.set(e.requestId, `${e.type}${e.status === 'error' || e.type === 'request_failed' ? ' (error)' : ''}`);
      if (recent.size > RECENT_REQUESTS) recent.delete(recent.keys().next().value!);
      // The buffer before a flush is bounded too: only the newest lines can survive it anyway.
      if (pending.length > LIVE_LOG_MAX_LINES) pending = pending.slice(-LIVE_LOG_MAX_LINES);
      schedule();
    },
    onStatus(s) {
      status = s;
      if (s.state === 'stopped' && s.error) ctx.notify(`Live events stopped: ${s.error}`);
      if (!stream.cancelled) schedule();
    },
    onWarning: (m) => console.warn(m),
  });

  // Drill-down: pick one of the latest requests and open it on the usage screen.
  body.key(['d', 'enter'], async () => {
    if (!recent.size) {
      ctx.notify('No request seen yet.');
      return;
    }
    const items = [...recent.entries()].reverse().map(([id, last]) => ({ label: `${clean(last).padEnd(26)} ${clean(id)}`, value: id }));
    const id = await ctx.dialogs.pick('Request in detail', items);
    if (id) ctx.go('usage', { requestId: id });
  });
  // Failed sends are not on the event stream: the dead letter is polled (bounded by the stream's scope).
  const seenDead = new Set<string>();
  void (async () => {
    const jobs = consoleClient(ctx.api);
    try {
      while (!stream.cancelled) {
        const r = await jobs.jobs({ status: 'dead', limit: 50 }, stream.signal).catch((err) => {
          if (isAbortError(err)) throw err;
          return null; // no WhatsApp channel (404), a member without access, or offline: try again later
        });
        for (const j of [...(r?.data ?? [])].reverse()) {
          const key = `${j.id}:${j.updatedAt}`;
          if (seenDead.has(key)) continue;
          seenDead.add(key);
          if (seenDead.size > 1000) seenDead.delete(seenDead.values().next().value!);
          pending.push(deadJobLine(j, j.updatedAt ? Date.parse(j.updatedAt) : Date.now()));
          schedule();
        }
        await sleep(DEAD_LETTER_POLL_MS, stream.signal);
      }
    } catch {
      // cancelled with the pane
    }
  })();

  body.key(['c'], () => {
    lines = [];
    body.setContent('');
    ctx.screen.render();
  });
  body.key(['f', 'end'], () => {
    follow = true;
    body.setScrollPerc(100);
    label();
    ctx.screen.render();
  });
  body.key(['up', 'pageup', 'home'], () => {
    follow = false;
    label();
  });

  return {
    title: 'Live',
    help: 'd/Enter request detail  up/down scroll  f/End follow  c clear',
    show() {
      root.show();
      body.focus();
      flush();
    },
    hide: () => root.hide(),
    relayout() {
      header.setContent(LIVE_LOG_HEADER);
    },
    destroy() {
      stream.cancel('pane destroyed');
      clearTimeout(timer);
      root.destroy();
    },
  };
}
