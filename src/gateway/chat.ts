/**
 * `/v1/chat/completions` use case: validate, decide passthrough or orchestration, answer, and
 * record one usage event per completion, made safe before the answer's last byte. Knows nothing of Koa: it writes to a ResponseSink.
 */
import { invalidRequest } from '../errors.ts';
import type { GatewayKey } from '../storage/repos/gateway-keys.ts';
import type { UsageRecorder } from '../usage/recorder.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import { passthroughChat, type CompletionOutcome, type FaultDeps } from './passthrough.ts';
import { holdLastWrite, type ResponseSink } from './sink.ts';

export interface ChatCall {
  key: GatewayKey;
  body: Record<string, unknown>;
  raw: Buffer;
  requestId: string;
  signal: AbortSignal;
  /** Plugins the request narrows itself to (`X-Plugboard-Plugins`); null = no narrowing. */
  narrowTo?: string[] | null;
  /** WhatsApp instance named by `X-Plugboard-WhatsApp-Instance` for first-party sends. */
  senderInstanceId?: string | null;
}

/** Plugin orchestration, when the decision table says so; returns null to pass through. */
export type Orchestrator = (call: ChatCall, sink: ResponseSink) => Promise<CompletionOutcome | null>;

export interface ChatDeps {
  pool: UpstreamPool;
  aliases: Readonly<Record<string, string>>;
  recorder: UsageRecorder;
  orchestrate?: Orchestrator;
  /** Log and redactor for faults after the answer started. */
  faults: FaultDeps;
}

/** The few checks that keep garbage from reaching the upstream; everything else passes through. */
export function validateChatBody(body: Record<string, unknown>): void {
  if (typeof body.model !== 'string' || body.model.length === 0) {
    throw invalidRequest(body.model === undefined ? 'Missing required parameter: model.' : 'model must be a non-empty string.', 'model', body.model === undefined ? 'missing_required_parameter' : 'invalid_type');
  }
  if (!Array.isArray(body.messages)) {
    throw invalidRequest(body.messages === undefined ? 'Missing required parameter: messages.' : 'messages must be an array.', 'messages', body.messages === undefined ? 'missing_required_parameter' : 'invalid_type');
  }
  if (body.messages.length === 0) throw invalidRequest('messages must contain at least one message.', 'messages', 'empty_array');
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i] as { role?: unknown } | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m) || typeof m.role !== 'string') {
      throw invalidRequest(`messages[${i}] must be an object with a string role.`, `messages[${i}]`, 'invalid_type');
    }
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean' && body.stream !== null) {
    throw invalidRequest('stream must be a boolean.', 'stream', 'invalid_type');
  }
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) {
    throw invalidRequest('tools must be an array.', 'tools', 'invalid_type');
  }
}

/**
 * Answers one completion and records its usage row. The row (with the rows of its model turns and
 * tool calls, recorded earlier) is safe before the response's last write leaves: the sink holds
 * that write until the recorder's commit has returned (see usage/recorder.ts).
 */
export async function handleChatCompletion(deps: ChatDeps, call: ChatCall, sink: ResponseSink): Promise<void> {
  validateChatBody(call.body);
  const started = performance.now();
  const stream = call.body.stream === true;
  const requestedModel = call.body.model as string;
  const held = holdLastWrite(sink);
  let outcome: CompletionOutcome | null = null;
  try {
    outcome = deps.orchestrate ? await deps.orchestrate(call, held) : null;
    if (!outcome) outcome = await passthroughChat(deps.pool, deps.aliases, call, held, deps.faults);
  } catch (err) {
    const e = err as { status?: number; code?: string };
    // The caller renders the error after this: the error row is safe before it.
    deps.recorder.commit({
      orgId: call.key.orgId, requestId: call.requestId, kind: 'completion', keyId: call.key.id, model: requestedModel,
      status: 'error', httpStatus: e.status ?? 500, errorClass: e.code ?? 'internal_error', latencyMs: performance.now() - started,
      stream, createdAt: Date.now(),
    });
    // Only a fault after the answer's last write was held lands here with one: the caller still gets that answer.
    if (held.holding) held.release();
    throw err;
  }
  deps.recorder.commit({
    orgId: call.key.orgId, requestId: call.requestId, kind: 'completion', keyId: call.key.id, model: outcome.model ?? requestedModel,
    status: outcome.status, httpStatus: outcome.httpStatus, errorClass: outcome.errorClass, promptTokens: outcome.promptTokens,
    completionTokens: outcome.completionTokens, latencyMs: performance.now() - started, stream, createdAt: Date.now(),
  });
  held.release();
}
