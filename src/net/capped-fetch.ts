/**
 * Bounds what a `fetch` reads from an untrusted server: a plain answer to `maxBodyBytes` in total,
 * an event stream (`text/event-stream`) to `maxEventBytes` per event, however long the stream lives.
 * Past a bound the body errors with CappedBodyError, so code that reads it (a library's `text()`, an
 * EventSource parser) fails with a clear reason instead of buffering without end.
 * Wraps the given fetch and never changes what is sent; must never buffer a body itself.
 */

export type FetchFn = (url: string | URL, init?: RequestInit) => Promise<Response>;

export class CappedBodyError extends Error {
  override name = 'CappedBodyError';
  constructor(message: string) {
    super(message);
  }
}

const LF = 10;
const CR = 13;
/** Statuses whose Response may carry no body (the constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A byte counter: returns an error message once the bound is passed, else null. */
type Counter = (chunk: Uint8Array) => string | null;

function totalCounter(max: number): Counter {
  let size = 0;
  return (chunk) => ((size += chunk.length) > max ? `the server sent an answer larger than ${max} bytes` : null);
}

/** Counts the bytes of the current event (reset at each blank line: LF LF, CR CR or CRLF CRLF). */
function eventCounter(max: number): Counter {
  let eventLen = 0;
  let lineLen = 0;
  let prev = -1;
  return (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === LF || b === CR) {
        if (!(b === LF && prev === CR)) {
          if (lineLen === 0) eventLen = 0;
          lineLen = 0;
        }
      } else {
        lineLen++;
        if (++eventLen > max) return `the server sent an event longer than ${max} bytes`;
      }
      prev = b;
    }
    return null;
  };
}

export function cappedFetch(fetch: FetchFn, limits: { maxBodyBytes: number; maxEventBytes: number }): FetchFn {
  return async function cappedFetchCall(url, init) {
    const res = await fetch(url, init);
    if (!res.body || NULL_BODY.has(res.status)) return res;
    const type = (res.headers.get('content-type') ?? '').split(';', 1)[0].trim().toLowerCase();
    const count = type === 'text/event-stream' ? eventCounter(limits.maxEventBytes) : totalCounter(limits.maxBodyBytes);
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          const problem = count(chunk);
          if (problem) controller.error(new CappedBodyError(problem));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
