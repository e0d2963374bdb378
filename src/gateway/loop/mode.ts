/**
 * The seam between the one tool loop (engine.ts) and its two modes (json-turns.ts,
 * stream-turns.ts): a mode says how one model turn is sent and read, how tools run while the
 * caller waits, how the final answer is emitted and how a failure ends the answer. Everything else
 * — the cap, usage sums, usage rows, tool-set refresh, live events, tool execution — is the
 * engine's, written once. Types only: no behaviour here.
 */
import type { ToolSet } from '../../plugins/runtime.ts';

export type ChatMessage = Record<string, unknown>;
export type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };
export interface TurnUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

export interface LoopRequest {
  orgId: string;
  keyId: string | null;
  instanceId: string | null;
  customerRef: string | null;
  /** Sender the API caller named for WhatsApp sends; null in conversations and when not named. */
  senderInstanceId?: string | null;
  requestId: string;
  /** The caller's body (model already resolved), without tools. */
  body: Record<string, unknown>;
  toolSet: ToolSet;
  /** Rebuilds the tool set before each later turn (grants re-read), when permissions may change mid-loop. */
  refreshToolSet?: () => ToolSet;
  loopCap: number;
  signal: AbortSignal;
}

/** One model turn as a mode read it. */
export interface Turn {
  /** The tool calls the model asked for, in order; empty = a final answer. */
  calls: ToolCall[];
  /** The assistant's text of the turn (null when none): kept in the history beside its tool calls. */
  content: string | null;
  usage: TurnUsage | null;
  model: string | null;
}

/** Tokens summed over every turn that reported usage. */
export interface Totals {
  prompt: number;
  completion: number;
}

export interface TurnMode<T extends Turn, R> {
  readonly stream: boolean;
  /** Sends one turn and reads it whole (streaming: content forwarded as it arrives). Throws the caller's error. */
  readTurn(params: Record<string, unknown>, signal: AbortSignal): Promise<T>;
  /** Waits for the turn's tools (streaming: keep-alives flow meanwhile). */
  whileToolsRun<V>(work: Promise<V>): Promise<V>;
  /** Emits the final answer; `capHit`: the loop cap dropped any tool calls the model still asked for. */
  emitFinal(turn: T, totals: Totals | null, turns: number, capHit: boolean): Promise<R>;
  /** A failed run: rethrows (nothing was sent: the caller renders it) or ends the answer with the error. */
  fail(err: unknown, totals: Totals | null): { result: R; errorClass: string };
}
