/**
 * Relays an upstream chat-completions SSE stream event by event, without holding anything back
 * longer than the end of the event it belongs to.
 *
 * The gateway always asks the upstream for `stream_options.include_usage` (usage events need the
 * token counts). When the caller did not ask for it, the extra usage chunk (`choices: []`) is
 * dropped so naive clients never see a chunk without choices; every other byte passes unchanged.
 * Works on bytes: only an event that carries usage is ever decoded. An upstream event that grows
 * past `maxEventBytes` without ending is an upstream fault (502), never an unbounded buffer.
 */
import { upstreamError } from '../errors.ts';

/** Default cap of one pending (unfinished) upstream event: chunks are a few hundred bytes. */
export const MAX_RELAY_EVENT_BYTES = 4 * 1024 * 1024;

export interface StreamUsage {
  promptTokens: number | null;
  completionTokens: number | null;
}

export interface SseRelay {
  /** Feeds upstream bytes; returns the bytes to forward now (possibly empty). */
  push(chunk: Buffer): Buffer;
  /** Returns whatever is left at the end of the stream. */
  end(): Buffer;
  readonly usage: StreamUsage | null;
  readonly sawDone: boolean;
}

const USAGE = Buffer.from('"usage":{');
const DONE = Buffer.from('data: [DONE]');
const LF_LF = Buffer.from('\n\n');
const LF_CR_LF = Buffer.from('\n\r\n');
const EMPTY = Buffer.alloc(0);

/** Index just past the last event boundary (blank line) in `b`, or -1. */
function lastBoundary(b: Buffer): number {
  const a = b.lastIndexOf(LF_LF);
  const c = b.lastIndexOf(LF_CR_LF);
  if (a < 0 && c < 0) return -1;
  return a > c ? a + 2 : c + 3;
}

export function createSseRelay(opts: { dropUsageChunk: boolean; maxEventBytes?: number }): SseRelay {
  const maxEventBytes = opts.maxEventBytes ?? MAX_RELAY_EVENT_BYTES;
  let pending: Buffer = EMPTY;
  let usage: StreamUsage | null = null;
  let sawDone = false;

  /** The rare path: some event in `events` carries usage. */
  const withUsage = (events: Buffer): Buffer => {
    const parts = events.toString('utf8').split(/(?<=\n\r?\n)/);
    let out = '';
    for (const ev of parts) {
      if (!ev.includes('"usage":{')) {
        out += ev;
        continue;
      }
      const data = ev.replace(/^data: ?/gm, '').trim();
      try {
        const parsed = JSON.parse(data) as { usage?: { prompt_tokens?: number; completion_tokens?: number }; choices?: unknown[] };
        if (parsed.usage) usage = { promptTokens: parsed.usage.prompt_tokens ?? null, completionTokens: parsed.usage.completion_tokens ?? null };
        if (opts.dropUsageChunk && Array.isArray(parsed.choices) && parsed.choices.length === 0) continue;
      } catch {
        // Not JSON we understand: forward it untouched.
      }
      out += ev;
    }
    return Buffer.from(out, 'utf8');
  };

  const inspect = (events: Buffer): Buffer => {
    if (!sawDone && events.includes(DONE)) sawDone = true;
    return events.includes(USAGE) ? withUsage(events) : events;
  };

  return {
    push(chunk) {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const cut = lastBoundary(buf);
      if (cut < 0) {
        if (buf.length > maxEventBytes) {
          pending = EMPTY;
          throw upstreamError(502, `The upstream model provider sent a stream event longer than ${maxEventBytes} bytes.`, 'upstream_invalid_response');
        }
        pending = buf;
        return EMPTY;
      }
      // What stays pending is checked on the next push, so the events before it still go out now.
      pending = cut === buf.length ? EMPTY : Buffer.from(buf.subarray(cut));
      return inspect(cut === buf.length ? buf : buf.subarray(0, cut));
    },
    end() {
      const rest = pending;
      pending = EMPTY;
      return rest.length ? inspect(rest) : EMPTY;
    },
    get usage() {
      return usage;
    },
    get sawDone() {
      return sawDone;
    },
  };
}
