/**
 * The tool-loop floor's work for one request, shared by the load generator (floor, floor-lean: the
 * client does it itself) and bench/bare-loop.ts (the same work behind a bare Node HTTP server):
 * POST the first turn, call the tool on a warm MCP session, POST the final turn.
 */
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Pool } from 'undici';
import { McpHttpTransport } from '../../src/plugins/kinds/mcp/http-transport.ts';
import { createGuardedFetch } from '../../src/net/ssrf.ts';

export type McpTransportKind = 'plugboard' | 'sdk';

/** Warm MCP sessions, one per (server URL, transport), kept across jobs (as the gateway keeps its own). */
export const mcpClients = new Map<string, Promise<McpClient>>();
/** The gateway's own guard and transport (loopback allowed, as the harness runs the gateway). */
const loopbackGuard = createGuardedFetch({ allowedNetworks: ['127.0.0.0/8'] });

export function mcpClient(url: string, transport: McpTransportKind): Promise<McpClient> {
  const key = `${transport} ${url}`;
  let c = mcpClients.get(key);
  if (!c) {
    c = (async () => {
      const client = new McpClient({ name: 'plugboard-bench-floor', version: '1.0.0' });
      await client.connect(
        transport === 'sdk' ? new StreamableHTTPClientTransport(new URL(url)) : new McpHttpTransport(new URL(url), { request: loopbackGuard.request, headers: {} }),
      );
      return client;
    })();
    c.catch(() => mcpClients.delete(key));
    mcpClients.set(key, c);
  }
  return c;
}

export type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };

/** The tool calls of a turn: from `message.tool_calls` (JSON) or assembled from the deltas (SSE). */
export function toolCallsOf(text: string, stream: boolean): ToolCall[] {
  if (!stream) {
    const obj = JSON.parse(text) as { choices?: { message?: { tool_calls?: ToolCall[] } }[] };
    return obj.choices?.[0]?.message?.tool_calls ?? [];
  }
  const calls: ToolCall[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const ev = JSON.parse(line.slice(6)) as { choices?: { delta?: { tool_calls?: { index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }[] } }[] };
    for (const d of ev.choices?.[0]?.delta?.tool_calls ?? []) {
      const c = (calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (d.id) c.id = d.id;
      if (d.function?.name) c.function.name += d.function.name;
      if (d.function?.arguments) c.function.arguments += d.function.arguments;
    }
  }
  return calls.filter(Boolean);
}

/** Text of an MCP tool result, as the gateway hands it to the model (text items joined by newlines). */
function resultText(result: Record<string, unknown>): string {
  const items = Array.isArray(result.content) ? (result.content as { type?: string; text?: string }[]) : [];
  return items.filter((x) => x.type === 'text' && typeof x.text === 'string').map((x) => x.text).join('\n') || '(no output)';
}

async function readAll(pool: Pool, path: string, headers: Record<string, string>, body: Buffer | string): Promise<{ status: number; text: string; contentType: string }> {
  const res = await pool.request({ path, method: 'POST', headers, body });
  const ct = res.headers['content-type'];
  return { status: res.statusCode, text: await res.body.text(), contentType: (Array.isArray(ct) ? ct[0] : ct) ?? 'application/json' };
}

export interface FloorInput {
  pool: Pool;
  mcp: McpClient;
  /** Upstream path and headers of both turns. */
  path: string;
  headers: Record<string, string>;
  /** The first turn's bytes (what the gateway sends) and the same, parsed. */
  first: Buffer | string;
  firstObj: Record<string, unknown> & { messages: unknown[] };
  stream: boolean;
  /** Stripped from the model's tool name to get the MCP tool's. */
  toolPrefix: string;
}

export type FloorOutcome =
  | { ok: true; final: { status: number; text: string; contentType: string }; finalBody: string }
  | { ok: false; status: number; problem: string; body?: string };

export async function floorTurns(x: FloorInput): Promise<FloorOutcome> {
  // 1. the model turn that asks for the tool
  const r1 = await readAll(x.pool, x.path, x.headers, x.first);
  if (r1.status !== 200) return { ok: false, status: r1.status, problem: `first turn: HTTP ${r1.status}: ${r1.text.slice(0, 300)}`, body: r1.text };
  const calls = toolCallsOf(r1.text, x.stream);
  if (calls.length !== 1) return { ok: false, status: 502, problem: `first turn: expected one tool call, got ${calls.length}: ${r1.text.slice(0, 300)}` };
  const call = calls[0];
  if (!call.function.name.startsWith(x.toolPrefix)) return { ok: false, status: 502, problem: `first turn: tool ${call.function.name} does not start with ${x.toolPrefix}` };
  // 2. the tool, on the warm session
  const result = await x.mcp.callTool({ name: call.function.name.slice(x.toolPrefix.length), arguments: JSON.parse(call.function.arguments || '{}') });
  const wrapped = `<tool_result tool="${call.function.name}" status="${result.isError ? 'error' : 'ok'}">\n${resultText(result)}\n</tool_result>`;
  // 3. the final turn: the same conversation plus the call and its result
  const finalBody = JSON.stringify({ ...x.firstObj, messages: [...x.firstObj.messages, { role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', tool_call_id: call.id, content: wrapped }] });
  const final = await readAll(x.pool, x.path, x.headers, finalBody);
  return { ok: true, final, finalBody };
}
