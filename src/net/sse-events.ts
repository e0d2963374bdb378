/**
 * A Server-Sent Events parser (WHATWG HTML "event stream interpretation") over decoded text.
 *
 * Used where Plugboard reads event streams: the MCP Streamable HTTP transport and the tool loop's
 * streamed model turns. Feed it text from a UTF-8 decoder that keeps multi-byte characters split
 * across chunks (`readable.setEncoding('utf8')`, `StringDecoder`), never `chunk.toString()` per chunk.
 * Lines end with CRLF, LF or CR (also when a CRLF is split between chunks); comments, unknown fields
 * and events without data are skipped; an event cut off by the end of the stream is never emitted.
 * The stream is untrusted: a line, or the data of one event, longer than `maxEventChars` makes
 * `push` throw SseLimitError (and every later `push` too) instead of buffering without bound.
 */

/** Default cap on one line and on the data of one event, in UTF-16 characters. */
export const DEFAULT_MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** A line or an event's data outgrew the parser's cap; the stream cannot be read further. */
export class SseLimitError extends Error {
  override name = 'SseLimitError';
  readonly limit: number;
  constructor(limit: number) {
    super(`An event-stream line or event is longer than ${limit} characters.`);
    this.limit = limit;
  }
}

export interface SseEvent {
  /** The `event:` field, if the event named a type. */
  event: string | undefined;
  /** `data:` lines joined with LF. */
  data: string;
  /** The event's `id:` field, if it had one. */
  id: string | undefined;
}

const LF = 10;
const CR = 13;

export class SseEventParser {
  readonly #onEvent: (event: SseEvent) => void;
  readonly #onRetry: ((ms: number) => void) | undefined;
  readonly #max: number;
  /** The current line's text so far (it has no line break yet). */
  #pending: string[] = [];
  #pendingChars = 0;
  #failed: SseLimitError | null = null;
  #first = true;
  /** The last chunk ended with CR: a LF opening the next one belongs to that line break. */
  #skipLf = false;
  #data = '';
  #dataLines = 0;
  #event: string | undefined;
  #id: string | undefined;

  constructor(onEvent: (event: SseEvent) => void, onRetry?: (ms: number) => void, opts: { maxEventChars?: number } = {}) {
    this.#onEvent = onEvent;
    this.#onRetry = onRetry;
    this.#max = opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  push(text: string): void {
    if (this.#failed) throw this.#failed;
    if (this.#first && text) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#skipLf && text) {
      this.#skipLf = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
    }
    if (!text) return;
    // A long line arrives in many chunks: keep the pieces and join them once the line ends.
    if (this.#pending.length && text.indexOf('\n') === -1 && text.indexOf('\r') === -1) {
      this.#keep(text);
      return;
    }
    const s = this.#pending.length ? this.#pending.join('') + text : text;
    this.#pending = [];
    this.#pendingChars = 0;
    const n = s.length;
    let i = 0;
    let cr = s.indexOf('\r');
    while (i < n) {
      const lf = s.indexOf('\n', i);
      if (cr !== -1 && cr < i) cr = s.indexOf('\r', i);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < n) next = s.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        else {
          next = n;
          this.#skipLf = true;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      if (end - i > this.#max) this.#fail();
      this.#line(s, i, end);
      i = next;
    }
    if (i < n) this.#keep(s.slice(i));
  }

  /** Keeps part of the current line, within the cap. */
  #keep(piece: string): void {
    this.#pendingChars += piece.length;
    if (this.#pendingChars > this.#max) this.#fail();
    this.#pending.push(piece);
  }

  #fail(): never {
    this.#pending = [];
    this.#pendingChars = 0;
    this.#data = '';
    this.#failed = new SseLimitError(this.#max);
    throw this.#failed;
  }

  #line(s: string, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    if (s.charCodeAt(start) === 58 /* : */) return; // comment
    const colon = s.indexOf(':', start);
    let field: string;
    let value: string;
    if (colon === -1 || colon >= end) {
      field = s.slice(start, end);
      value = '';
    } else {
      field = s.slice(start, colon);
      value = s.slice(s.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1, end);
    }
    switch (field) {
      case 'data':
        if (this.#data.length + value.length + 1 > this.#max) this.#fail();
        this.#data = this.#dataLines === 0 ? value : `${this.#data}\n${value}`;
        this.#dataLines++;
        break;
      case 'event':
        this.#event = value || undefined;
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#onRetry?.(Number(value));
        break;
      default:
      // Unknown fields are ignored (spec).
    }
  }

  #dispatch(): void {
    if (this.#dataLines > 0) this.#onEvent({ event: this.#event, data: this.#data, id: this.#id });
    this.#data = '';
    this.#dataLines = 0;
    this.#event = undefined;
    this.#id = undefined;
  }
}
