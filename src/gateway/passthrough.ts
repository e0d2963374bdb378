/**
 * Passthrough of `/v1/chat/completions` to the upstream: the hot path.
 *
 * The request body goes out as the caller sent it (unknown fields untouched) unless a model alias
 * or the usage option has to be set; answers and SSE chunks come back as they arrive. A failure
 * after the stream started is handed to the sink (`fail`: the one error writer renders and logs
 * it). Never executes tools, never logs bodies, never builds a wire error itself.
 */
import type { UpstreamPool } from './upstream-pool.ts';
import { isAbort, mapTransportError, readUpstreamBody } from './upstream-pool.ts';
import { createSseRelay } from './sse.ts';
import type { ResponseSink } from './sink.ts';
import { resolveModel, type Aliases } from './models.ts';
import type { CompletionOutcome } from './types.ts';

export interface PassthroughInput {
  body: Record<string, unknown>;
  raw: Buffer;
  requestId: string;
  signal: AbortSignal;
}

export async function passthroughChat(pool: UpstreamPool, aliases: Aliases, input: PassthroughInput, sink: ResponseSink): Promise<CompletionOutcome> {
  const { body } = input;
  const stream = body.stream === true;
  let rewrite = resolveModel(body, aliases);
  const so = body.stream_options as { include_usage?: unknown } | undefined;
  const clientWantsUsage = stream && so !== null && typeof so === 'object' && so.include_usage === true;
  if (stream && !clientWantsUsage) {
    body.stream_options = { ...(typeof so === 'object' && so !== null ? so : {}), include_usage: true };
    rewrite = true;
  }
  const payload = rewrite ? JSON.stringify(body) : input.raw;
  const outcome: CompletionOutcome = {
    httpStatus: 200, status: 'ok', model: typeof body.model === 'string' ? body.model : null,
    promptTokens: null, completionTokens: null, errorClass: null,
  };

  // Statuses ≥ 400 are thrown by the pool, mapped and scrubbed.
  const res = await pool.request({ method: 'POST', path: '/chat/completions', body: payload, signal: input.signal, accept: stream ? 'text/event-stream' : 'application/json' });

  const contentType = String(res.headers['content-type'] ?? '');
  if (!stream || !contentType.includes('text/event-stream')) {
    const buf = await readUpstreamBody(res.body);
    // The caller gets the answer first; reading usage out of it is bookkeeping.
    sink.json(res.statusCode, pool.echo.redactBytes(buf), { 'content-type': contentType || 'application/json' });
    try {
      const parsed = JSON.parse(buf.toString('utf8')) as { model?: string; usage?: { prompt_tokens?: number; completion_tokens?: number } };
      outcome.model = parsed.model ?? outcome.model;
      outcome.promptTokens = parsed.usage?.prompt_tokens ?? null;
      outcome.completionTokens = parsed.usage?.completion_tokens ?? null;
    } catch {
      // Pass through whatever the upstream said; usage stays unknown.
    }
    return outcome;
  }

  // The first upstream event follows at once: headers leave with it.
  sink.openStream({ flush: false });
  const relay = createSseRelay({ dropUsageChunk: !clientWantsUsage });
  // Once `data: [DONE]` is out the response is complete: it leaves with the end of the response in
  // one write, and the answer is settled at once (its usage row, then that write: chat.ts); whatever
  // the upstream still sends (its end of body, normally nothing more) is read and dropped afterwards,
  // so the connection goes back to the pool without the caller waiting for it.
  const chunks = (res.body as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) break;
      if (sink.closed) {
        await chunks.return?.();
        break;
      }
      const chunk = next.value;
      const out = pool.echo.redactBytes(relay.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      if (relay.sawDone) {
        sink.end(out);
        drainAfterDone(chunks);
        break;
      }
      if (out.length) await sink.write(out);
    }
    if (!relay.sawDone) {
      const rest = pool.echo.redactBytes(relay.end());
      if (rest.length && !sink.closed) await sink.write(rest);
    }
  } catch (err) {
    // The rest of the upstream's body is not wanted: let it go (as leaving a `for await` would).
    chunks.return?.().catch(ignore);
    if (relay.sawDone) {
      // The caller already has the whole answer; the upstream hung up after its [DONE].
    } else if (!isAbort(err) && !sink.closed) {
      // The error event is the answer's last: it leaves with the end of the response (after the usage commit, see chat.ts).
      const f = sink.fail(mapTransportError(err), 'passthrough');
      outcome.httpStatus = f.status;
      outcome.status = 'error';
      outcome.errorClass = f.code;
    } else if (!relay.sawDone) {
      outcome.status = 'error';
      outcome.errorClass = 'client_closed';
      outcome.httpStatus = 499;
    }
  }
  if (sink.closed && outcome.status === 'ok' && !relay.sawDone) {
    outcome.status = 'error';
    outcome.errorClass = 'client_closed';
    outcome.httpStatus = 499;
  }
  sink.end();
  if (relay.usage) {
    outcome.promptTokens = relay.usage.promptTokens;
    outcome.completionTokens = relay.usage.completionTokens;
  }
  return outcome;
}

const ignore = (): void => {};

/** Reads what the upstream sends after its `[DONE]` (its end of body) and drops it; a failure then changes nothing. */
function drainAfterDone(chunks: AsyncIterator<unknown>): void {
  void (async () => {
    try {
      while (!(await chunks.next()).done) {
        // dropped
      }
    } catch {
      // The caller already has the whole answer.
    }
  })();
}
