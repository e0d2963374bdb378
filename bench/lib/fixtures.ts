/**
 * The OpenAI-shaped payloads of the benchmark: the request the load generator sends and the
 * responses the fake upstream returns. Shared so both sides agree on what "complete" means.
 */

export const BENCH_MODEL = 'gpt-4o-mini';

const WORDS = [
  'Plugboard ', 'forwards ', 'this ', 'completion ', 'from ', 'the ', 'fake ', 'upstream ',
  'without ', 'buffering ', 'a ', 'single ', 'byte ', 'of ', 'the ', 'stream.',
];

/** The content of the answer, split into `n` streamed pieces (deterministic). */
export function contentPieces(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[i % WORDS.length]);
  return out;
}

/** A realistic small chat request (system + user message), serialised once. */
export function chatRequestBody(stream: boolean, model = BENCH_MODEL): Buffer {
  const body: Record<string, unknown> = {
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant. Answer in one sentence.' },
      { role: 'user', content: 'In one sentence: what does an AI gateway do for a small team?' },
    ],
    temperature: 0.2,
    max_tokens: 64,
  };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return Buffer.from(JSON.stringify(body));
}

const CREATED = 1_732_600_000;
const ID = 'chatcmpl-bench0000000000000000000000';

function usage(completionTokens: number) {
  return {
    prompt_tokens: 31,
    completion_tokens: completionTokens,
    total_tokens: 31 + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** The non-streamed `chat.completion` for `model`, with usage; `content` replaces the default answer. */
export function completionJson(model: string, pieces: number, content?: string): string {
  return JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: content ?? contentPieces(pieces).join(''), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: usage(pieces),
    service_tier: 'default',
    system_fingerprint: 'fp_bench',
  });
}

/**
 * The SSE events of a streamed completion, each already framed as `data: …\n\n`:
 * a role chunk, `pieces` content chunks, a finish chunk, the usage chunk (when asked) and `[DONE]`.
 * The first element is the first content-bearing event the client waits for.
 */
export function completionSseEvents(model: string, pieces: number, includeUsage: boolean, parts: string[] = contentPieces(pieces)): string[] {
  const base = { id: ID, object: 'chat.completion.chunk', created: CREATED, model, service_tier: 'default', system_fingerprint: 'fp_bench' };
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  const nullUsage = includeUsage ? { usage: null } : {};
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const delta = i === 0 ? { role: 'assistant', content: parts[i], refusal: null } : { content: parts[i] };
    out.push(ev({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], ...nullUsage }));
  }
  out.push(ev({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...nullUsage }));
  if (includeUsage) out.push(ev({ ...base, choices: [], usage: usage(pieces) }));
  out.push('data: [DONE]\n\n');
  return out;
}

export interface StreamCheck {
  ok: boolean;
  problem?: string;
  events: number;
  content: string;
  sawUsage: boolean;
}

/**
 * Full validation of an SSE body: every `data:` event parses (except `[DONE]`), the deltas add up
 * to the expected content and the stream ends with `[DONE]`. Comment lines (`: …`) are allowed.
 */
export function checkSseBody(text: string, pieces: number, expected = contentPieces(pieces).join('')): StreamCheck {
  let content = '';
  let events = 0;
  let sawUsage = false;
  let sawDone = false;
  const blocks = text.replace(/\r\n/g, '\n').split('\n\n');
  for (const block of blocks) {
    if (!block.trim()) continue;
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (!data) continue;
    if (sawDone) return { ok: false, problem: 'event after [DONE]', events, content, sawUsage };
    events++;
    if (data === '[DONE]') {
      sawDone = true;
      continue;
    }
    let obj: { choices?: { delta?: { content?: string | null } }[]; usage?: unknown };
    try {
      obj = JSON.parse(data);
    } catch {
      return { ok: false, problem: `unparsable event: ${data.slice(0, 120)}`, events, content, sawUsage };
    }
    if (obj.usage) sawUsage = true;
    for (const c of obj.choices ?? []) if (typeof c.delta?.content === 'string') content += c.delta.content;
  }
  if (!sawDone) return { ok: false, problem: 'stream did not end with data: [DONE]', events, content, sawUsage };
  if (content !== expected) return { ok: false, problem: `content mismatch: ${JSON.stringify(content.slice(0, 80))}`, events, content, sawUsage };
  return { ok: true, events, content, sawUsage };
}

/** Full validation of a non-streamed body (`expected` replaces the default answer). */
export function checkJsonBody(text: string, pieces: number, expected = contentPieces(pieces).join('')): { ok: boolean; problem?: string; sawUsage: boolean } {
  let obj: { object?: string; choices?: { message?: { content?: string } }[]; usage?: unknown };
  try {
    obj = JSON.parse(text);
  } catch {
    return { ok: false, problem: `body is not JSON: ${text.slice(0, 120)}`, sawUsage: false };
  }
  if (obj.object !== 'chat.completion') return { ok: false, problem: `object is ${String(obj.object)}`, sawUsage: !!obj.usage };
  const content = obj.choices?.[0]?.message?.content;
  if (content !== expected) return { ok: false, problem: `content mismatch: ${JSON.stringify(content)}`, sawUsage: !!obj.usage };
  return { ok: true, sawUsage: !!obj.usage };
}

// ── the tool loop ──────────────────────────────────────────────────────────────────────────

/** The tool the fake upstream calls by default (slug `crm`, MCP tool `lookup`, as the gateway names it). */
export const BENCH_TOOL_NAME = 'crm__lookup';
/** Arguments of that call (a JSON string, as the model sends it). */
export const BENCH_TOOL_ARGS = '{"id":"C-1042"}';
/** Id of the tool call in the tool-call turn. */
export const BENCH_TOOL_CALL_ID = 'call_bench0000000000000001';

/** A request the gateway answers with its tool loop: no `tools` of its own (the gateway injects them). */
export function toolLoopRequestBody(stream: boolean, model = BENCH_MODEL): Buffer {
  const body: Record<string, unknown> = {
    model,
    messages: [
      { role: 'system', content: 'You are a support assistant. Use the CRM when a customer is named.' },
      { role: 'user', content: 'What is the status of customer C-1042?' },
    ],
    temperature: 0.2,
    max_tokens: 64,
  };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return Buffer.from(JSON.stringify(body));
}

/** The text inside the gateway's `<tool_result …>` wrapper (or the whole text when unwrapped). */
export function toolResultInner(content: string): string {
  const m = /^<tool_result[^>]*>\n?([\s\S]*?)\n?<\/tool_result>$/.exec(content.trim());
  return m ? m[1] : content;
}

/** The final answer the fake upstream gives after a tool message with `toolText` (unwrapped). */
export function finalAnswerContent(toolText: string): string {
  return `Done. The CRM says: ${toolText}`;
}

/** The final answer split into streamed pieces (about 8). */
export function finalAnswerPieces(content: string): string[] {
  const words = content.split(/(?<= )/);
  const per = Math.max(1, Math.ceil(words.length / 8));
  const out: string[] = [];
  for (let i = 0; i < words.length; i += per) out.push(words.slice(i, i + per).join(''));
  return out;
}

function toolCallUsage() {
  return { prompt_tokens: 88, completion_tokens: 17, total_tokens: 105 };
}

/** A non-streamed turn whose answer is one call of `name` with `args`. */
export function toolCallCompletionJson(model: string, name: string, args: string): string {
  return JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, annotations: [], tool_calls: [{ id: BENCH_TOOL_CALL_ID, type: 'function', function: { name, arguments: args } }] },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: toolCallUsage(),
    service_tier: 'default',
    system_fingerprint: 'fp_bench',
  });
}

/** The same turn streamed: the call's header, its arguments, the finish chunk, usage (when asked), [DONE]. */
export function toolCallSseEvents(model: string, name: string, args: string, includeUsage: boolean): string[] {
  const base = { id: ID, object: 'chat.completion.chunk', created: CREATED, model, service_tier: 'default', system_fingerprint: 'fp_bench' };
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  const nullUsage = includeUsage ? { usage: null } : {};
  const out = [
    ev({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: BENCH_TOOL_CALL_ID, type: 'function', function: { name, arguments: '' } }] }, logprobs: null, finish_reason: null }], ...nullUsage }),
    ev({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args } }] }, logprobs: null, finish_reason: null }], ...nullUsage }),
    ev({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }], ...nullUsage }),
  ];
  if (includeUsage) out.push(ev({ ...base, choices: [], usage: toolCallUsage() }));
  out.push('data: [DONE]\n\n');
  return out;
}
