/**
 * A minimal, fast OpenAI-compatible upstream for the benchmark (node:http only).
 *
 *   POST /v1/chat/completions   fixed `chat.completion` (with usage), or SSE when `"stream": true`:
 *                               `pieces` content chunks, a finish chunk, the usage chunk when
 *                               `stream_options.include_usage`, then `data: [DONE]`.
 *                               The first chunk goes out with the headers at once; the rest follow
 *                               after `firstGapMs` (then `chunkGapMs` between each), 0 = next tick.
 *                               Tool-loop turns (JSON or SSE, same framing):
 *                               - a request with `tools` whose last message is from the user gets
 *                                 a turn calling `toolName` (default crm__lookup) with `toolArgs`;
 *                               - a request whose last message is a `tool` message gets the final
 *                                 answer "Done. The CRM says: <the tool result, unwrapped>", so the
 *                                 caller can check the tool really ran.
 *                               The last body of each of these two turns is kept (`/__bench/captured`).
 *   GET  /v1/models             a small model list.
 *   POST /__bench/config        {"firstGapMs"?, "chunkGapMs"?, "stamp"?, "toolName"?, "toolArgs"?}:
 *                               change the gaps, and with stamp put the send time (epoch ms, µs
 *                               precision) into every SSE chunk as "bench_sent_at" (used by the
 *                               "streams never buffered" check); the tool the tool-call turn names.
 *                               Answers the current settings.
 *   GET  /__bench/stats         request counters and pid (lets the harness verify a target really calls
 *                               us, and account for our CPU).
 *   GET  /__bench/captured      {toolCall, toolFinal}: the last request body of each tool-loop turn
 *                               (text), as the caller sent it.
 *
 * Run standalone: `node bench/fake-upstream.ts [--port 0] [--pieces 8] [--chunk-gap-ms 0] [--first-gap-ms 0]`.
 * It prints one JSON line `{"ready":true,"port":…}` on stdout once listening.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { BENCH_TOOL_ARGS, BENCH_TOOL_NAME, completionJson, completionSseEvents, finalAnswerContent, finalAnswerPieces, toolCallCompletionJson, toolCallSseEvents, toolResultInner } from './lib/fixtures.ts';

export interface FakeUpstreamOptions {
  host?: string;
  port?: number;
  /** Content chunks per streamed answer (and pieces of the JSON answer). */
  pieces?: number;
  /** Gap after the first SSE chunk (0 = use chunkGapMs). */
  firstGapMs?: number;
  /** Gap between the other SSE chunks (0 = all in the next tick). */
  chunkGapMs?: number;
}

export interface FakeUpstream {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

interface Prepared {
  json: Buffer;
  sse: Buffer[];
}

const JSON_HEADERS = { 'content-type': 'application/json', 'x-request-id': 'req_bench', 'openai-processing-ms': '1' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_bench', 'openai-processing-ms': '1' };
const MODELS = Buffer.from(
  JSON.stringify({
    object: 'list',
    data: ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini'].map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'bench' })),
  }),
);

export function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const pieces = opts.pieces ?? 8;
  const settings = { firstGapMs: opts.firstGapMs ?? 0, chunkGapMs: opts.chunkGapMs ?? 0, stamp: false, toolName: BENCH_TOOL_NAME, toolArgs: BENCH_TOOL_ARGS };
  /** chat/chatStream: plain answers; toolCall/toolFinal: tool-loop turns; withTools: requests carrying `tools`. */
  const stats = { chat: 0, chatStream: 0, toolCall: 0, toolFinal: 0, withTools: 0, models: 0, other: 0 };
  const cache = new Map<string, Prepared>();
  const captured: { toolCall: Buffer | null; toolFinal: Buffer | null } = { toolCall: null, toolFinal: null };

  /** Tool-call turn (per model, tool name and arguments). */
  function preparedToolCall(model: string, includeUsage: boolean): Prepared {
    const key = `t${includeUsage ? 1 : 0}${settings.toolName}\u0000${settings.toolArgs}\u0000${model}`;
    let p = cache.get(key);
    if (!p) {
      p = {
        json: Buffer.from(toolCallCompletionJson(model, settings.toolName, settings.toolArgs)),
        sse: toolCallSseEvents(model, settings.toolName, settings.toolArgs, includeUsage).map((s) => Buffer.from(s)),
      };
      if (cache.size < 64) cache.set(key, p);
    }
    return p;
  }

  /** Final answer after a tool message whose content is `toolContent`. */
  function preparedFinal(model: string, includeUsage: boolean, toolContent: string): Prepared {
    const key = `f${includeUsage ? 1 : 0}${model}\u0000${toolContent}`;
    let p = cache.get(key);
    if (!p) {
      const content = finalAnswerContent(toolResultInner(toolContent));
      const parts = finalAnswerPieces(content);
      p = {
        json: Buffer.from(completionJson(model, parts.length, content)),
        sse: completionSseEvents(model, parts.length, includeUsage, parts).map((s) => Buffer.from(s)),
      };
      if (cache.size < 64) cache.set(key, p);
    }
    return p;
  }

  function prepared(model: string, includeUsage: boolean): Prepared {
    const key = `${includeUsage ? 1 : 0}${model}`;
    let p = cache.get(key);
    if (!p) {
      p = {
        json: Buffer.from(completionJson(model, pieces)),
        sse: completionSseEvents(model, pieces, includeUsage).map((s) => Buffer.from(s)),
      };
      if (cache.size < 64) cache.set(key, p);
    }
    return p;
  }

  function sendJson(res: http.ServerResponse, status: number, body: Buffer | string) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...JSON_HEADERS, 'content-length': buf.length });
    res.end(buf);
  }

  /** The event with the current time inserted as its first field (`data: {"bench_sent_at":…,`). */
  function stamped(ev: Buffer): Buffer {
    if (ev[6] !== 0x7b /* { */) return ev; // data: [DONE]
    const at = (performance.timeOrigin + performance.now()).toFixed(3);
    return Buffer.concat([Buffer.from(`data: {"bench_sent_at":${at},`), ev.subarray(7)]);
  }

  function stream(res: http.ServerResponse, all: Buffer[]) {
    const stamp = settings.stamp;
    const events = stamp ? { length: all.length, at: (i: number) => stamped(all[i]) } : { length: all.length, at: (i: number) => all[i] };
    res.writeHead(200, SSE_HEADERS);
    res.write(events.at(0)); // the first chunk leaves with the headers, immediately
    const { firstGapMs, chunkGapMs } = settings;
    const first = firstGapMs > 0 ? firstGapMs : chunkGapMs;
    if (first <= 0) {
      setImmediate(() => {
        if (res.destroyed) return;
        for (let i = 1; i < events.length; i++) res.write(events.at(i));
        res.end();
      });
      return;
    }
    // Gaps are scheduled against absolute times so timer lateness does not accumulate.
    const t0 = performance.now();
    let i = 1;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => clearTimeout(timer));
    const next = () => {
      if (res.destroyed) return;
      res.write(events.at(i++));
      if (i >= events.length) return void res.end();
      timer = setTimeout(next, Math.max(0, t0 + first + (i - 1) * chunkGapMs - performance.now()));
    };
    timer = setTimeout(next, first);
  }

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
        let body: { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown }; tools?: unknown; messages?: unknown };
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          stats.other++;
          return sendJson(res, 400, JSON.stringify({ error: { message: 'invalid JSON body', type: 'invalid_request_error', param: null, code: null } }));
        }
        const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
        const includeUsage = body.stream_options?.include_usage === true;
        const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
        if (hasTools) stats.withTools++;
        const msgs = Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
        const last = msgs[msgs.length - 1];
        if (last?.role === 'tool') {
          stats.toolFinal++;
          captured.toolFinal = raw;
          const p = preparedFinal(model, includeUsage, typeof last.content === 'string' ? last.content : JSON.stringify(last.content ?? ''));
          return body.stream === true ? stream(res, p.sse) : sendJson(res, 200, p.json);
        }
        if (hasTools && last?.role === 'user') {
          stats.toolCall++;
          captured.toolCall = raw;
          const p = preparedToolCall(model, includeUsage);
          return body.stream === true ? stream(res, p.sse) : sendJson(res, 200, p.json);
        }
        if (body.stream === true) {
          stats.chatStream++;
          return stream(res, prepared(model, includeUsage).sse);
        }
        stats.chat++;
        return sendJson(res, 200, prepared(model, false).json);
      }
      if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
        stats.models++;
        return sendJson(res, 200, MODELS);
      }
      if (req.method === 'POST' && path === '/__bench/config') {
        try {
          const c = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
          if (typeof c.firstGapMs === 'number' && c.firstGapMs >= 0) settings.firstGapMs = c.firstGapMs;
          if (typeof c.chunkGapMs === 'number' && c.chunkGapMs >= 0) settings.chunkGapMs = c.chunkGapMs;
          if (typeof c.stamp === 'boolean') settings.stamp = c.stamp;
          if (typeof c.toolName === 'string' && c.toolName) settings.toolName = c.toolName;
          if (typeof c.toolArgs === 'string') settings.toolArgs = c.toolArgs;
        } catch {
          return sendJson(res, 400, '{"error":"invalid JSON"}');
        }
        return sendJson(res, 200, JSON.stringify(settings));
      }
      if (req.method === 'GET' && path === '/__bench/stats') return sendJson(res, 200, JSON.stringify({ ...stats, pid: process.pid }));
      if (req.method === 'GET' && path === '/__bench/captured') {
        return sendJson(res, 200, JSON.stringify({ toolCall: captured.toolCall?.toString('utf8') ?? null, toolFinal: captured.toolFinal?.toString('utf8') ?? null }));
      }
      stats.other++;
      sendJson(res, 404, JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'not_found' } }));
    });
  });
  server.keepAliveTimeout = 65_000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        server,
        port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      pieces: { type: 'string', default: '8' },
      'first-gap-ms': { type: 'string', default: '0' },
      'chunk-gap-ms': { type: 'string', default: '0' },
    },
  });
  const up = await startFakeUpstream({
    host: values.host,
    port: Number(values.port),
    pieces: Number(values.pieces),
    firstGapMs: Number(values['first-gap-ms']),
    chunkGapMs: Number(values['chunk-gap-ms']),
  });
  process.stdout.write(`${JSON.stringify({ ready: true, name: 'fake-upstream', pid: process.pid, port: up.port })}\n`);
  const stop = () => void up.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
