/**
 * The tools of the MCP test server: each one exercises one behaviour of the client (text, structured
 * content, errors, throws, stalls, huge results, dying connections, images, header echo).
 * Secrets planted here must be scrubbed before any test-visible client output. Never imports src/.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A credential-like value planted in error texts (tests pass it as a known secret). */
export const PLANTED_SECRET = 'hunter2-planted-secret-value';
/** A token-shaped value planted in error texts (scrubbed by pattern, not by the secrets list). */
export const PLANTED_TOKEN = 'sk-live-PLANTEDtoken1234567890abcdef';

/** Longest `slow` sleep, so no test can stall a run. */
const MAX_SLOW_MS = 30_000;
/** Largest `big` result. */
const MAX_BIG_BYTES = 16 * 1024 * 1024;

export interface FakeToolContext {
  /** Destroys every open socket of the server (the current request's included). */
  killConnections(): void;
  /** Ends this request's SSE response stream without its answer (resumable servers only; SEP-1699 polling). */
  closeStream?: () => void;
}

export interface FakeTool {
  name: string;
  description: string;
  inputSchema: { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [k: string]: unknown };
  outputSchema?: { type: 'object'; [k: string]: unknown };
  handler(
    args: Record<string, unknown>,
    ctx: FakeToolContext & { signal: AbortSignal; headers: Record<string, string | string[] | undefined> },
  ): Promise<CallToolResult> | CallToolResult;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });

/** The standard tool set: echo, add, slow, fail, boom, big, die, image, whoami. */
export function defaultTools(): FakeTool[] {
  return [
    {
      name: 'echo',
      description: 'Echoes text back.',
      inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      handler: (args) => text(String(args.text ?? '')),
    },
    {
      name: 'add',
      description: 'Adds two numbers.',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
      handler: (args) => {
        const sum = Number(args.a) + Number(args.b);
        return { content: [{ type: 'text', text: `The sum is ${sum}` }], structuredContent: { sum } };
      },
    },
    {
      name: 'slow',
      description: 'Sleeps for ms milliseconds (stops early when cancelled).',
      inputSchema: { type: 'object', properties: { ms: { type: 'number' } }, required: ['ms'] },
      handler: async (args, ctx) => {
        const ms = Math.min(MAX_SLOW_MS, Math.max(0, Number(args.ms) || 0));
        await sleep(ms, undefined, { signal: ctx.signal }).catch(() => undefined);
        return text(`slept ${ms} ms`);
      },
    },
    {
      name: 'fail',
      description: 'Returns an isError result with a secret and a stack trace in it.',
      inputSchema: { type: 'object', properties: {} },
      handler: () => ({
        isError: true,
        content: [
          {
            type: 'text',
            text:
              `Database rejected the query: password=${PLANTED_SECRET} token ${PLANTED_TOKEN} at db.internal.svc\n` +
              '    at runQuery (/srv/app/node_modules/db/index.js:42:13)\n' +
              '    at async handler (/srv/app/tools/fail.js:7:5)',
          },
        ],
      }),
    },
    {
      name: 'boom',
      description: 'Throws (a JSON-RPC error) with a secret in the message.',
      inputSchema: { type: 'object', properties: {} },
      handler: () => {
        throw new Error(`boom: upstream rejected ${PLANTED_SECRET} and ${PLANTED_TOKEN} from http://10.1.2.3:8080/x`);
      },
    },
    {
      name: 'big',
      description: 'Returns `bytes` bytes of text (UTF-8: `char` repeated, default "a").',
      inputSchema: { type: 'object', properties: { bytes: { type: 'number' }, char: { type: 'string' } }, required: ['bytes'] },
      handler: (args) => {
        const bytes = Math.min(MAX_BIG_BYTES, Math.max(0, Number(args.bytes) || 0));
        const unit = typeof args.char === 'string' && args.char ? args.char : 'a';
        const unitBytes = Buffer.byteLength(unit);
        return text(unit.repeat(Math.floor(bytes / unitBytes)) + 'z'.repeat(bytes % unitBytes));
      },
    },
    {
      name: 'die',
      description: 'Destroys every connection of the server mid-call; never answers.',
      inputSchema: { type: 'object', properties: {} },
      handler: async (_args, ctx) => {
        // Let the response stream start, so the client sees a broken stream rather than a refused request.
        await sleep(50);
        ctx.killConnections();
        await sleep(MAX_SLOW_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
        return text('unreachable');
      },
    },
    {
      name: 'image',
      description: 'Returns a text block and a 12,345-byte PNG image block.',
      inputSchema: { type: 'object', properties: {} },
      handler: () => ({
        content: [
          { type: 'text', text: 'Here is the chart:' },
          { type: 'image', data: Buffer.alloc(12_345, 7).toString('base64'), mimeType: 'image/png' },
        ],
      }),
    },
    {
      name: 'whoami',
      description: 'Returns the request headers the server received, as JSON.',
      inputSchema: { type: 'object', properties: {} },
      handler: (_args, ctx) => text(JSON.stringify(ctx.headers)),
    },
  ];
}

/** `count` do-nothing tools (`dummy_01`…) for pagination tests. */
export function dummyTools(count: number): FakeTool[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `dummy_${String(i + 1).padStart(2, '0')}`;
    return {
      name,
      description: `Dummy tool ${i + 1}.`,
      inputSchema: { type: 'object', properties: {} },
      handler: () => text(name),
    };
  });
}

/**
 * `hangup` (resumable servers only): ends the call's response stream right after its priming event,
 * then answers after `ms`; the answer reaches the client only if it resumes the stream with
 * GET + `Last-Event-ID`.
 */
export function hangupTool(): FakeTool {
  return {
    name: 'hangup',
    description: 'Closes the response stream, then answers on the resumed stream.',
    inputSchema: { type: 'object', properties: { ms: { type: 'number' } } },
    handler: async (args, ctx) => {
      ctx.closeStream?.();
      await sleep(Math.min(MAX_SLOW_MS, Math.max(0, Number(args.ms) || 100)), undefined, { signal: ctx.signal }).catch(() => undefined);
      return text(`answered after the hang-up`);
    },
  };
}
