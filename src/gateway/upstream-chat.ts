/**
 * Model turns of the tool loop over the pooled upstream client: one chat completion as JSON, or
 * its SSE stream as parsed chunks. Errors come back exactly as on the passthrough path (upstream
 * status mapped, 502/504 for transport failures, a mid-stream error event as an upstream error).
 *
 * Measured on the tool-loop benchmark, an `openai` SDK round trip (fetch, web streams, its own
 * parsing) cost about 40% of the gateway's CPU per tool-loop request; this path keeps each turn
 * at the price of the passthrough. Never logs bodies.
 */
import { StringDecoder } from 'node:string_decoder';
import { upstreamError } from '../errors.ts';
import { SseEventParser, SseLimitError } from '../net/sse-events.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import { isAbort, mapTransportError, readUpstreamBody } from './upstream-pool.ts';

export type Chunk = Record<string, any>;

/** Largest stream event (and line) of a model turn: a chunk is a few hundred bytes; this is far beyond any real one. */
export const MAX_TURN_EVENT_CHARS = 4 * 1024 * 1024;

/** The pool maps statuses ≥ 400 (scrubbed, bounded) before anything here sees the answer. */
function post(pool: UpstreamPool, params: Record<string, unknown>, signal: AbortSignal, stream: boolean) {
  return pool.request({ method: 'POST', path: '/chat/completions', body: JSON.stringify(params), signal, accept: stream ? 'text/event-stream' : 'application/json' });
}

/** One non-streaming turn: the parsed `chat.completion`. */
export async function completeTurn(pool: UpstreamPool, params: Record<string, unknown>, signal: AbortSignal): Promise<Chunk> {
  const res = await post(pool, { ...params, stream: false }, signal, false);
  const text = (await readUpstreamBody(res.body)).toString('utf8');
  try {
    return JSON.parse(text) as Chunk;
  } catch {
    throw upstreamError(502, 'The upstream model provider sent an answer that is not JSON.', 'upstream_invalid_response');
  }
}

/**
 * One streaming turn: resolves once the upstream accepted the request (so refusals surface before
 * the caller's stream opens), then yields each `data:` chunk as it arrives until `[DONE]`.
 */
export async function streamTurn(pool: UpstreamPool, params: Record<string, unknown>, signal: AbortSignal): Promise<AsyncGenerator<Chunk>> {
  const res = await post(pool, { ...params, stream: true, stream_options: { include_usage: true } }, signal, true);
  return parseChunks(res.body);
}

async function* parseChunks(body: AsyncIterable<unknown>): AsyncGenerator<Chunk> {
  // A decoder that keeps a character split between two TCP reads whole (chunk.toString() would not).
  const decoder = new StringDecoder('utf8');
  const ready: string[] = [];
  const parser = new SseEventParser((ev) => ready.push(ev.data), undefined, { maxEventChars: MAX_TURN_EVENT_CHARS });
  try {
    for await (const piece of body) {
      try {
        parser.push(typeof piece === 'string' ? piece : decoder.write(piece as Buffer));
      } catch (err) {
        if (!(err instanceof SseLimitError)) throw err;
        throw upstreamError(502, `The upstream model provider sent a stream event longer than ${err.limit} characters.`, 'upstream_invalid_response');
      }
      for (let i = 0; i < ready.length; i++) {
        const data = ready[i];
        if (!data) continue;
        if (data === '[DONE]') return;
        let chunk: Chunk;
        try {
          chunk = JSON.parse(data) as Chunk;
        } catch {
          throw upstreamError(502, 'The upstream model provider sent a stream event that is not JSON.', 'upstream_invalid_response');
        }
        if (chunk.error) throw upstreamError(502, 'The upstream model provider sent an error in the stream.', 'upstream_error');
        yield chunk;
      }
      ready.length = 0;
    }
  } catch (err) {
    throw isAbort(err) ? err : mapTransportError(err);
  }
}
