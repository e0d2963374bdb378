/**
 * An incremental `text/event-stream` parser (WHATWG "server-sent events" rules): feed it decoded
 * text in whatever chunks the network delivers and it calls back once per complete event or
 * comment. Lines may end in CRLF, LF or CR, and a CRLF may be split across chunks. It must never
 * do I/O or interpret the event data (client.ts does that).
 */

export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

export interface SseHandlers {
  onMessage(msg: SseMessage): void;
  /** `: connected`, `: keep-alive` … (without the colon and one leading space). */
  onComment?(text: string): void;
}

/** Longest line kept while waiting for its end; beyond it the line is dropped (a misbehaving server cannot grow memory without bound). */
export const MAX_SSE_LINE_CHARS = 1024 * 1024;

export interface SseParser {
  push(text: string): void;
  /** Bytes seen since the last complete line (for tests). */
  readonly pending: number;
}

export function createSseParser(handlers: SseHandlers): SseParser {
  let buf = '';
  let skipLf = false;
  let overflowed = false;
  let event = '';
  let data: string[] = [];
  let id: string | null = null;

  const dispatch = (): void => {
    if (data.length > 0) handlers.onMessage({ event: event || 'message', data: data.join('\n'), id });
    event = '';
    data = [];
  };

  const line = (l: string): void => {
    if (l === '') return dispatch();
    if (l.startsWith(':')) {
      handlers.onComment?.(l.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = l.indexOf(':');
    const field = colon === -1 ? l : l.slice(0, colon);
    const value = colon === -1 ? '' : l.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    // `retry` and unknown fields are ignored: the client owns its reconnect policy.
  };

  return {
    push(text) {
      let start = 0;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 10 && skipLf && i === start && buf === '') {
          // The LF of a CRLF whose CR ended the previous chunk.
          skipLf = false;
          start = i + 1;
          continue;
        }
        skipLf = false;
        if (c !== 10 && c !== 13) continue;
        const whole = buf + text.slice(start, i);
        buf = '';
        if (overflowed) overflowed = false;
        else line(whole);
        if (c === 13) {
          if (i + 1 < text.length) {
            if (text.charCodeAt(i + 1) === 10) i++;
          } else skipLf = true;
        }
        start = i + 1;
      }
      if (start < text.length) {
        buf += text.slice(start);
        if (buf.length > MAX_SSE_LINE_CHARS) {
          buf = '';
          overflowed = true;
        }
      }
    },
    get pending() {
      return buf.length;
    },
  };
}
