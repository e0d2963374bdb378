/**
 * The JSON mode of the tool loop: each model turn is one non-streamed completion; the final answer
 * is the last turn's `chat.completion` with usage summed over every turn (and, at the loop cap, any
 * tool calls the model still asked for dropped). Stateless: one instance serves every request.
 * A failure is thrown to the caller, which renders it; nothing here writes a response.
 */
import type { UpstreamPool } from '../upstream-pool.ts';
import { completeTurn } from '../upstream-chat.ts';
import type { CompletionOutcome } from '../types.ts';
import type { ToolCall, Turn, TurnMode } from './mode.ts';

export interface JsonTurn extends Turn {
  completion: Record<string, any>;
  message: Record<string, any>;
}

export interface JsonAnswer {
  completion: Record<string, any>;
  outcome: CompletionOutcome;
  turns: number;
}

export function createJsonTurns(pool: UpstreamPool): TurnMode<JsonTurn, JsonAnswer> {
  return {
    stream: false,
    async readTurn(params, signal) {
      const completion = await completeTurn(pool, params, signal);
      const message = completion.choices?.[0]?.message ?? {};
      return { completion, message, calls: (message.tool_calls ?? []) as ToolCall[], content: message.content ?? null, usage: completion.usage ?? null, model: completion.model ?? null };
    },
    whileToolsRun: (work) => work,
    async emitFinal(t, totals, turns, capHit) {
      const { completion, message } = t;
      if (capHit && t.calls.length) {
        delete message.tool_calls;
        completion.choices[0].finish_reason = 'stop';
      }
      if (totals) completion.usage = { prompt_tokens: totals.prompt, completion_tokens: totals.completion, total_tokens: totals.prompt + totals.completion };
      return {
        completion,
        turns,
        outcome: { httpStatus: 200, status: 'ok', model: completion.model ?? null, promptTokens: totals?.prompt ?? null, completionTokens: totals?.completion ?? null, errorClass: null },
      };
    },
    fail(err) {
      throw err;
    },
  };
}
