/**
 * A scripted OpenAI-compatible upstream on loopback, reached by the gateway (and by the `openai`
 * SDK) through its base URL. Each request consumes the next scripted turn; a turn may `expect()`
 * things of the request, and tests assert `remaining === 0` so every turn was used. With
 * `echoCredentials`, `$AUTHORIZATION` and `$KEY` anywhere in a turn's body or headers become the
 * Authorization header and bearer key the request carried, as an upstream or proxy that quotes the
 * request in its errors would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown> | null;
  rawBody: string;
  /** Set when the client went away before the answer was finished. */
  aborted: boolean;
  finished: boolean;
}

export interface ScriptedTurn {
  expect?: (req: ReceivedRequest) => void;
  status?: number;
  headers?: Record<string, string>;
  /** Non-streaming JSON body. */
  json?: unknown;
  /** Raw text body (e.g. a non-JSON error page). */
  text?: string;
  /** SSE events: objects become `data: <json>`, strings are written as they are. `[DONE]` is added unless `noDone`. */
  sse?: Array<unknown>;
  noDone?: boolean;
  /** Gap between SSE events. */
  chunkDelayMs?: number;
  /** Pause after an SSE event (to prove the gateway does not buffer). */
  holdAfterFirstMs?: number;
  /** Which event (1-based) `holdAfterFirstMs` pauses after; default 1. */
  holdAfterEvent?: number;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Never answer (until the client gives up). */
  hang?: boolean;
  /** Destroy the socket without an answer. */
  destroy?: boolean;
  /** Destroy the socket after this many SSE events. */
  destroyAfterEvents?: number;
  /** Replace `$AUTHORIZATION` and `$KEY` in the body, SSE events and headers with what the request carried. */
  echoCredentials?: boolean;
  /** Write this many bytes of `x` as the body after `text` (an oversize answer), in 64 KiB writes. */
  padBytes?: number;
}

export interface FakeUpstream extends AsyncDisposable {
  /** Base URL including `/v1`. */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Requests that found no scripted turn (answered 500). */
  readonly unexpected: ReceivedRequest[];
  script(...turns: ScriptedTurn[]): void;
  /** Used when the script is empty (benchmarks, bursts); otherwise unexpected requests get 500. */
  setFallback(fn: ((req: ReceivedRequest) => ScriptedTurn) | null): void;
  readonly remaining: number;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const turns: ScriptedTurn[] = [];
  const requests: ReceivedRequest[] = [];
  const unexpected: ReceivedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let fallback: ((req: ReceivedRequest) => ScriptedTurn) | null = null;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | null = null;
    try {
      body = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : null;
    } catch {
      body = null;
    }
    const rec: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, rawBody, aborted: false, finished: false };
    requests.push(rec);
    res.on('close', () => {
      if (!res.writableFinished) rec.aborted = true;
    });

    if (req.method === 'GET' && req.url?.endsWith('/models') && turns.length === 0) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-test', object: 'model', created: 0, owned_by: 'fake' }] }));
      rec.finished = true;
      return;
    }
    let turn = turns.shift();
    if (!turn && fallback) turn = fallback(rec);
    if (!turn) {
      unexpected.push(rec);
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'fake upstream: no scripted turn left', type: 'server_error' } }));
      return;
    }
    try {
      turn.expect?.(rec);
    } catch (err) {
      unexpected.push(rec);
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake upstream expectation failed: ${(err as Error).message}`, type: 'server_error' } }));
      return;
    }
    const authorization = String(req.headers.authorization ?? '');
    const echo = (x: string): string => (turn.echoCredentials ? x.replaceAll('$AUTHORIZATION', authorization).replaceAll('$KEY', authorization.replace(/^Bearer\s+/i, '')) : x);
    const headers = Object.fromEntries(Object.entries(turn.headers ?? {}).map(([k, v]) => [k, echo(v)]));
    if (turn.delayMs) await sleep(turn.delayMs);
    if (turn.hang) return;
    if (turn.destroy) {
      req.socket.destroy();
      return;
    }
    const status = turn.status ?? 200;
    if (turn.sse) {
      res.writeHead(status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
      let i = 0;
      const events = turn.noDone ? turn.sse : [...turn.sse, '[DONE]'];
      for (const ev of events) {
        if (res.destroyed) return;
        if (turn.destroyAfterEvents !== undefined && i >= turn.destroyAfterEvents) {
          req.socket.destroy();
          return;
        }
        res.write(echo(`data: ${typeof ev === 'string' ? ev : JSON.stringify(ev)}\n\n`));
        i++;
        if (i === (turn.holdAfterEvent ?? 1) && turn.holdAfterFirstMs) await sleep(turn.holdAfterFirstMs);
        else if (turn.chunkDelayMs) await sleep(turn.chunkDelayMs);
      }
      res.end();
      rec.finished = true;
      return;
    }
    const text = echo(turn.text ?? JSON.stringify(turn.json ?? chatCompletion({ content: 'ok' })));
    res.writeHead(status, { 'content-type': turn.text !== undefined ? 'text/plain' : 'application/json', ...headers });
    if (turn.padBytes) {
      res.write(text);
      const block = Buffer.alloc(64 * 1024, 'x');
      for (let left = turn.padBytes; left > 0 && !res.destroyed; left -= block.length) {
        if (!res.write(left >= block.length ? block : block.subarray(0, left))) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
      }
      res.end();
      rec.finished = !res.destroyed;
      return;
    }
    res.end(text);
    rec.finished = true;
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    unexpected,
    script: (...t) => void turns.push(...t),
    setFallback: (fn) => void (fallback = fn),
    get remaining() {
      return turns.length;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Names of the function tools a received request offered, sorted. */
export function toolNames(req: ReceivedRequest): string[] {
  return ((req.body?.tools as Array<{ function: { name: string } }>) ?? []).map((x) => x.function.name).sort();
}

/** The `role: "tool"` messages of a received request, in order. */
export function toolMessages(req: ReceivedRequest): Array<{ tool_call_id: string; content: string }> {
  return ((req.body?.messages as Array<{ role: string; tool_call_id: string; content: string }>) ?? []).filter((m) => m.role === 'tool');
}

let counter = 0;

export interface ToolCallSpec {
  id?: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

/** A `chat.completion` object. */
export function chatCompletion(opts: { content?: string | null; toolCalls?: ToolCallSpec[]; model?: string; usage?: { prompt_tokens: number; completion_tokens: number }; finishReason?: string }) {
  const toolCalls = opts.toolCalls?.map((c, i) => ({
    id: c.id ?? `call_${++counter}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
  }));
  const usage = opts.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
  return {
    id: `chatcmpl-${++counter}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: opts.model ?? 'gpt-test',
    choices: [{
      index: 0,
      message: { role: 'assistant', content: opts.content ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}), refusal: null },
      finish_reason: opts.finishReason ?? (toolCalls ? 'tool_calls' : 'stop'),
      logprobs: null,
    }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

function chunk(id: string, model: string, delta: Record<string, unknown>, finish: string | null) {
  return { id, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
}

/** SSE events of a content answer, split into `parts`, with the usage chunk when `usage` is given. */
export function contentChunks(parts: string[], opts: { model?: string; usage?: { prompt_tokens: number; completion_tokens: number } | null } = {}) {
  const id = `chatcmpl-${++counter}`;
  const model = opts.model ?? 'gpt-test';
  const events: unknown[] = [chunk(id, model, { role: 'assistant', content: '' }, null)];
  for (const p of parts) events.push(chunk(id, model, { content: p }, null));
  events.push(chunk(id, model, {}, 'stop'));
  const usage = opts.usage === undefined ? { prompt_tokens: 10, completion_tokens: parts.length } : opts.usage;
  if (usage) events.push({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
  return events;
}

/** SSE events of a turn that ends in tool calls (arguments split in two fragments each). */
export function toolCallChunks(calls: ToolCallSpec[], opts: { model?: string; usage?: { prompt_tokens: number; completion_tokens: number } | null } = {}) {
  const id = `chatcmpl-${++counter}`;
  const model = opts.model ?? 'gpt-test';
  const events: unknown[] = [chunk(id, model, { role: 'assistant', content: null }, null)];
  calls.forEach((c, index) => {
    const args = typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments);
    const half = Math.floor(args.length / 2);
    events.push(chunk(id, model, { tool_calls: [{ index, id: c.id ?? `call_${++counter}_${index}`, type: 'function', function: { name: c.name, arguments: args.slice(0, half) } }] }, null));
    events.push(chunk(id, model, { tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, null));
  });
  events.push(chunk(id, model, {}, 'tool_calls'));
  const usage = opts.usage === undefined ? { prompt_tokens: 10, completion_tokens: 3 } : opts.usage;
  if (usage) events.push({ id, object: 'chat.completion.chunk', created: 1_700_000_000, model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
  return events;
}
