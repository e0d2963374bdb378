/**
 * A minimal, real MCP server for the benchmark: the SDK's `McpServer` behind
 * `StreamableHTTPServerTransport` in session mode, on node:http, 127.0.0.1 only.
 *
 *   POST/GET/DELETE /mcp     Streamable HTTP (one McpServer + transport per session)
 *   GET  /__bench/stats      {sessions, calls, openSessions, pid}: lets the harness check who called
 *
 * One tool, `lookup` {id: string} → a one-line text record, the same for the same id, so the
 * answer that comes back through the gateway can be checked byte for byte.
 *
 * Run standalone: `node bench/mcp-server.ts [--port 0] [--json-response]`. Prints one JSON line
 * `{"ready":true,"port":…}` on stdout once listening. `--json-response` answers POSTs with plain
 * JSON instead of the SDK's default single-event SSE stream.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** The text `lookup` returns for `id` (the harness computes the expected final answer from it). */
export function lookupText(id: string): string {
  return `customer ${id}: Ada Lovelace, plan pro, status active, 3 open tickets`;
}

export interface BenchMcpServer {
  port: number;
  close(): Promise<void>;
}

export async function startBenchMcpServer(opts: { host?: string; port?: number; jsonResponse?: boolean } = {}): Promise<BenchMcpServer> {
  const stats = { sessions: 0, calls: 0 };
  const transports = new Map<string, StreamableHTTPServerTransport>();

  function buildServer(): McpServer {
    const server = new McpServer({ name: 'plugboard-bench-crm', version: '1.0.0' });
    server.registerTool(
      'lookup',
      {
        description: 'Look up a customer record by its id.',
        inputSchema: { id: z.string().describe('Customer id, e.g. C-1042') },
      },
      async ({ id }) => {
        stats.calls++;
        return { content: [{ type: 'text', text: lookupText(id) }] };
      },
    );
    return server;
  }

  function json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/__bench/stats' && req.method === 'GET') return json(res, 200, { ...stats, openSessions: transports.size, pid: process.pid });
    if (path !== '/mcp') return json(res, 404, { error: 'not found' });
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const t = transports.get(sid);
      if (!t) return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return t.handleRequest(req, res);
    }
    if (req.method !== 'POST') return json(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'No session id' }, id: null });
    const server = buildServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: opts.jsonResponse ?? false,
      onsessioninitialized: (id) => {
        stats.sessions++;
        transports.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  httpServer.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = httpServer.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    close: async () => {
      await Promise.allSettled([...transports.values()].map((t) => t.close()));
      await new Promise<void>((r) => {
        httpServer.close(() => r());
        httpServer.closeAllConnections();
      });
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'json-response': { type: 'boolean', default: false },
    },
  });
  const srv = await startBenchMcpServer({ host: values.host, port: Number(values.port), jsonResponse: values['json-response'] });
  process.stdout.write(`${JSON.stringify({ ready: true, name: 'mcp-server', pid: process.pid, port: srv.port })}\n`);
  const stop = () => void srv.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
