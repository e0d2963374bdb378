/**
 * THE server-side tool loop, for JSON and streaming callers alike: send the conversation with the
 * injected tools, execute the model's tool calls through the plugin runtime, append their results
 * as data, repeat until a final answer or the loop cap (then one last turn with tools disabled, so
 * the caller always gets an answer). Written once here: the cap, usage sums, the model_turn /
 * tool_call / loop_cap rows, the tool-set refresh before every later turn, the live events and tool
 * execution. A mode (json-turns.ts, stream-turns.ts) only reads turns and emits the final answer.
 *
 * Plugin failures never escape as exceptions: they are tool messages the model reads. Never logs
 * bodies, and never renders an error itself (modes hand failures to the response sink).
 */
import type { UpstreamPool } from '../upstream-pool.ts';
import { isAbort } from '../upstream-pool.ts';
import type { PluginRuntime } from '../../plugins/runtime.ts';
import type { UsageRecorder } from '../../usage/recorder.ts';
import type { EventBus } from '../../usage/bus.ts';
import { AppError } from '../../errors.ts';
import type { CompletionOutcome } from '../types.ts';
import type { ResponseSink } from '../sink.ts';
import type { ChatMessage, LoopRequest, ToolCall, Totals, Turn, TurnMode, TurnUsage } from './mode.ts';
import { MAX_TOOL_CALLS_PER_TURN, notRunMessage, toolResultMessage, withDataNotice } from './messages.ts';
import { createJsonTurns, type JsonAnswer } from './json-turns.ts';
import { createStreamTurns } from './stream-turns.ts';

export type { LoopRequest } from './mode.ts';

export interface LoopDeps {
  pool: UpstreamPool;
  runtime: PluginRuntime;
  recorder: UsageRecorder;
  bus: EventBus;
  toolConcurrency: number;
  toolTimeoutMs: number;
  /** SSE comment keep-alives while a streaming caller's tools run. */
  keepAliveMs: number;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The class of a failed run's live event (a usage row's class comes from the rendered error). */
function failureClass(err: unknown): string {
  return err instanceof AppError ? err.code : isAbort(err) ? 'client_closed' : 'internal_error';
}

export function createLoopEngine(deps: LoopDeps) {
  async function executeCalls(req: LoopRequest, calls: ToolCall[], turn: number): Promise<ChatMessage[]> {
    const runnable = calls.slice(0, MAX_TOOL_CALLS_PER_TURN);
    const results = await mapLimit(runnable, deps.toolConcurrency, async (call) => {
      deps.bus.publish({ type: 'tool_call_started', orgId: req.orgId, requestId: req.requestId, at: Date.now(), turn, tool: call.function.name, callId: call.id });
      const r = await deps.runtime.callTool(req.toolSet, { name: call.function.name, arguments: call.function.arguments ?? '' }, {
        orgId: req.orgId, requestId: req.requestId, keyId: req.keyId, instanceId: req.instanceId, customerRef: req.customerRef,
        senderInstanceId: req.senderInstanceId ?? null, signal: req.signal, timeoutMs: deps.toolTimeoutMs,
      });
      deps.recorder.record({
        orgId: req.orgId, requestId: req.requestId, kind: 'tool_call', keyId: req.keyId, instanceId: req.instanceId, pluginId: r.pluginId,
        tool: r.tool ?? call.function.name, model: (req.body.model as string) ?? null, status: r.isError ? 'error' : 'ok', errorClass: r.errorClass,
        latencyMs: r.latencyMs, createdAt: Date.now(),
      });
      deps.bus.publish({
        type: 'tool_call_finished', orgId: req.orgId, requestId: req.requestId, at: Date.now(), turn, tool: call.function.name, callId: call.id,
        pluginId: r.pluginId, status: r.isError ? 'error' : 'ok', errorClass: r.errorClass, latencyMs: Math.round(r.latencyMs),
      });
      return { role: 'tool', tool_call_id: call.id, content: toolResultMessage(r) } as ChatMessage;
    });
    for (const call of calls.slice(MAX_TOOL_CALLS_PER_TURN)) results.push({ role: 'tool', tool_call_id: call.id, content: notRunMessage(call.function.name) });
    return results;
  }

  function turnParams(req: LoopRequest, messages: ChatMessage[], turn: number, capHit: boolean): Record<string, unknown> {
    const { stream: _s, stream_options: _so, ...rest } = req.body;
    if (req.toolSet.tools.length === 0) {
      // Every plugin was revoked mid-loop: no tools at all (OpenAI refuses an empty tools[]).
      const { tool_choice: _tc, parallel_tool_calls: _p, ...plain } = rest;
      return { ...plain, messages };
    }
    const params: Record<string, unknown> = { ...rest, messages, tools: req.toolSet.tools };
    if (capHit) params.tool_choice = 'none';
    else if (turn > 0 || rest.tool_choice === undefined) params.tool_choice = 'auto';
    return params;
  }

  function recordTurn(req: LoopRequest, turn: number, started: number, status: 'ok' | 'error', usage: TurnUsage | null, errorClass: string | null, stream: boolean, model: string | null): void {
    deps.recorder.record({
      orgId: req.orgId, requestId: req.requestId, kind: 'model_turn', keyId: req.keyId, instanceId: req.instanceId, model: model ?? (req.body.model as string),
      status, errorClass, promptTokens: usage?.prompt_tokens ?? null, completionTokens: usage?.completion_tokens ?? null,
      latencyMs: performance.now() - started, stream, createdAt: Date.now(),
    });
    deps.bus.publish({ type: 'model_turn', orgId: req.orgId, requestId: req.requestId, at: Date.now(), turn, status, model: model ?? req.body.model });
  }

  function noteCap(req: LoopRequest): void {
    deps.recorder.record({
      orgId: req.orgId, requestId: req.requestId, kind: 'loop_cap', keyId: req.keyId, instanceId: req.instanceId, model: req.body.model as string,
      status: 'ok', errorClass: 'loop_cap_reached', latencyMs: 0, createdAt: Date.now(),
    });
    deps.bus.publish({ type: 'loop_cap_reached', orgId: req.orgId, requestId: req.requestId, at: Date.now(), cap: req.loopCap });
  }

  function publishFailed(req: LoopRequest, errorClass: string): void {
    deps.bus.publish({ type: 'request_failed', orgId: req.orgId, requestId: req.requestId, at: Date.now(), errorClass });
  }

  /** The loop itself: every turn read by `mode`, everything else here. */
  async function run<T extends Turn, R>(req: LoopRequest, mode: TurnMode<T, R>): Promise<R> {
    const messages = withDataNotice(req.body.messages as ChatMessage[]);
    const usage = { prompt: 0, completion: 0, known: false };
    const totals = (): Totals | null => (usage.known ? usage : null);
    deps.bus.publish({ type: 'request_started', orgId: req.orgId, requestId: req.requestId, at: Date.now(), stream: mode.stream, tools: req.toolSet.tools.length });
    try {
      for (let turn = 0; ; turn++) {
        const capHit = turn >= req.loopCap;
        if (capHit) noteCap(req);
        // Permissions may have changed while the last turn's tools ran (a revoked grant): asked again before every later turn.
        if (turn > 0 && req.refreshToolSet) req.toolSet = req.refreshToolSet();
        const started = performance.now();
        let t: T;
        try {
          t = await mode.readTurn(turnParams(req, messages, turn, capHit), req.signal);
        } catch (err) {
          recordTurn(req, turn, started, 'error', null, err instanceof AppError ? err.code : 'aborted', mode.stream, null);
          throw err;
        }
        recordTurn(req, turn, started, 'ok', t.usage, null, mode.stream, t.model);
        if (t.usage) {
          usage.known = true;
          usage.prompt += t.usage.prompt_tokens ?? 0;
          usage.completion += t.usage.completion_tokens ?? 0;
        }
        if (t.calls.length === 0 || capHit) {
          const result = await mode.emitFinal(t, totals(), turn + 1, capHit);
          deps.bus.publish({ type: 'final_answer', orgId: req.orgId, requestId: req.requestId, at: Date.now(), turns: turn + 1 });
          return result;
        }
        messages.push({ role: 'assistant', content: t.content, tool_calls: t.calls });
        messages.push(...(await mode.whileToolsRun(executeCalls(req, t.calls, turn))));
      }
    } catch (err) {
      let ended: { result: R; errorClass: string };
      try {
        ended = mode.fail(err, totals());
      } catch (thrown) {
        publishFailed(req, failureClass(thrown));
        throw thrown;
      }
      publishFailed(req, ended.errorClass);
      return ended.result;
    }
  }

  const json = createJsonTurns(deps.pool);

  return {
    /** Non-streaming: the final chat.completion, usage summed over every turn; failures are thrown. */
    json(req: LoopRequest): Promise<JsonAnswer> {
      return run(req, json);
    },
    /** Streaming: writes the caller's SSE stream; a failure after its headers ends it with an error event. */
    stream(req: LoopRequest, sink: ResponseSink, clientWantsUsage: boolean): Promise<CompletionOutcome> {
      return run(req, createStreamTurns({ pool: deps.pool, keepAliveMs: deps.keepAliveMs }, req, sink, clientWantsUsage));
    },
  };
}
export type LoopEngine = ReturnType<typeof createLoopEngine>;
