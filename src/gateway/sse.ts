/**
 * Relays an upstream chat-completions SSE stream event by event, without holding anything back
 * longer than the end of the event it belongs to.
 *
 * The gateway always asks the upstream for `stream_options.include_usage` (usage events need the
 * token counts). When the caller did not ask for it, the extra usage chunk (`choices: []`) is
 * dropped so naive clients never see a chunk without choices; every other byte passes unchanged.
 */

export interface StreamUsage {
  promptTokens: number | null;
  completionTokens: number | null;
}

export interface SseRelay {
  /** Feeds upstream text; returns the text to forward now (possibly empty). */
  push(chunk: string): string;
  /** Returns whatever is left at the end of the stream. */
  end(): string;
  readonly usage: StreamUsage | null;
  readonly sawDone: boolean;
}

/** Index just past the last event boundary (blank line) in `s`, or -1. */
function lastBoundary(s: string): number {
  const a = s.lastIndexOf('\n\n');
  const b = s.lastIndexOf('\n\r\n');
  if (a < 0 && b < 0) return -1;
  return a > b ? a + 2 : b + 3;
}

export function createSseRelay(opts: { dropUsageChunk: boolean }): SseRelay {
  let pending = '';
  let usage: StreamUsage | null = null;
  let sawDone = false;

  const inspect = (events: string): string => {
    if (events.includes('data: [DONE]')) sawDone = true;
    if (!events.includes('"usage":{')) return events;
    // Rare path: one event carries usage. Split and look at each event on its own.
    const parts = events.split(/(?<=\n\r?\n)/);
    let out = '';
    for (const ev of parts) {
      if (!ev.includes('"usage":{')) {
        out += ev;
        continue;
      }
      const data = ev.replace(/^data: ?/gm, '').trim();
      try {
        const parsed = JSON.parse(data) as { usage?: { prompt_tokens?: number; completion_tokens?: number }; choices?: unknown[] };
        if (parsed.usage) {
          usage = { promptTokens: parsed.usage.prompt_tokens ?? null, completionTokens: parsed.usage.completion_tokens ?? null };
        }
        if (opts.dropUsageChunk && Array.isArray(parsed.choices) && parsed.choices.length === 0) continue;
      } catch {
        // Not JSON we understand: forward it untouched.
      }
      out += ev;
    }
    return out;
  };

  return {
    push(chunk) {
      pending += chunk;
      const cut = lastBoundary(pending);
      if (cut < 0) return '';
      const complete = pending.slice(0, cut);
      pending = pending.slice(cut);
      return inspect(complete);
    },
    end() {
      const rest = pending;
      pending = '';
      return rest ? inspect(rest) : '';
    },
    get usage() {
      return usage;
    },
    get sawDone() {
      return sawDone;
    },
  };
}
