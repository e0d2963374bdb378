/**
 * The streaming mode of the tool loop: each model turn is read from the upstream's SSE stream;
 * tool-call turns are consumed (never shown), content is forwarded chunk by chunk as it arrives
 * under one stream id, SSE comment keep-alives flow while tools run, and the final chunk, the
 * usage chunk (when asked for) and `[DONE]` leave with the end of the response in one write.
 * A failure before the caller's stream opened is thrown (the caller renders it); after, the sink
 * ends the stream with the error event (`fail`). One instance per request (it holds the stream's id).
 */
import type { UpstreamPool } from '../upstream-pool.ts';
import { streamTurn } from '../upstream-chat.ts';
import type { CompletionOutcome } from '../types.ts';
import { sseData, SSE_DONE, type ResponseSink } from '../sink.ts';
import type { LoopRequest, ToolCall, Totals, Turn, TurnMode, TurnUsage } from './mode.ts';

export interface StreamTurn extends Turn {
  /** The turn's finish reason as the upstream sent it. */
  finish: string | null;
}

type ToolCallDelta = { index: number; id?: string; function?: { name?: string; arguments?: string } };

export function createStreamTurns(deps: { pool: UpstreamPool; keepAliveMs: number }, req: LoopRequest, sink: ResponseSink, clientWantsUsage: boolean): TurnMode<StreamTurn, CompletionOutcome> {
  let streamId = '';
  let created = 0;
  let model: string | null = null;
  let roleSent = false;

  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    sseData({ id: streamId, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const emit = (delta: Record<string, unknown>, finish: string | null): Promise<void> => sink.write(chunk(delta, finish));
  const outcome = (totals: Totals | null): CompletionOutcome => ({
    httpStatus: 200, status: 'ok', model, promptTokens: totals?.prompt ?? null, completionTokens: totals?.completion ?? null, errorClass: null,
  });

  return {
    stream: true,
    async readTurn(params, signal) {
      // Resolves once the upstream accepted the turn: a refusal of the first one is still a JSON error.
      const stream = await streamTurn(deps.pool, params, signal);
      sink.openStream();
      const calls = new Map<number, ToolCall>();
      let usage: TurnUsage | null = null;
      let finish: string | null = null;
      let content = '';
      for await (const c of stream) {
        if (!streamId) {
          streamId = c.id ?? `chatcmpl-${req.requestId}`;
          created = c.created ?? Math.floor(Date.now() / 1000);
        }
        model = c.model ?? model;
        if (c.usage) usage = c.usage;
        const choice = c.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta ?? {};
        for (const tc of (delta.tool_calls ?? []) as ToolCallDelta[]) {
          const cur = calls.get(tc.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
          if (tc.id) cur.id = tc.id;
          if (tc.function?.name) cur.function.name += tc.function.name;
          if (tc.function?.arguments) cur.function.arguments += tc.function.arguments;
          calls.set(tc.index, cur);
        }
        if (typeof delta.content === 'string' && delta.content.length > 0) {
          const text = deps.pool.echo.redact(delta.content);
          content += text;
          await emit(roleSent ? { content: text } : { role: 'assistant', content: text }, null);
          roleSent = true;
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      const ordered = [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
      return { calls: ordered, content: content || null, usage, model, finish };
    },
    async whileToolsRun(work) {
      const keepAlive = setInterval(() => void sink.write(': keep-alive\n\n'), deps.keepAliveMs);
      try {
        return await work;
      } finally {
        clearInterval(keepAlive);
      }
    },
    async emitFinal(t, totals) {
      if (!roleSent) await emit({ role: 'assistant', content: '' }, null);
      // The finish chunk, the usage chunk and [DONE] leave with the end of the response in one write.
      let tail = chunk({}, t.finish && t.finish !== 'tool_calls' ? t.finish : 'stop');
      if (clientWantsUsage && totals) {
        tail += sseData({ id: streamId, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: totals.prompt, completion_tokens: totals.completion, total_tokens: totals.prompt + totals.completion } });
      }
      sink.end(tail + SSE_DONE);
      return outcome(totals);
    },
    fail(err, totals) {
      // Turn errors arrive already mapped to the caller's error (upstream-chat.ts); anything else is a fault.
      if (!sink.streamOpen) throw err;
      const out = outcome(totals);
      out.status = 'error';
      if (sink.closed || req.signal.aborted) {
        out.httpStatus = 499;
        out.errorClass = 'client_closed';
      } else {
        // The error event is the answer's last: it leaves with the end of the response (after the usage commit, see chat.ts).
        const f = sink.fail(err, 'tool loop');
        out.httpStatus = f.status;
        out.errorClass = f.code;
      }
      sink.end(); // no-op when the failure already ended the response
      return { result: out, errorClass: out.errorClass as string };
    },
  };
}
