/**
 * A real MCP server for tests, on 127.0.0.1 over node:http: Streamable HTTP (session mode) at
 * `/mcp` and legacy SSE at `/sse` + `/messages`, built on the SDK's low-level `Server` so tests can
 * paginate, fail, throw, stall and die on purpose. Knobs let tests expire sessions, change the
 * tool list (sending list_changed) and read every call with the headers it arrived with. In echo
 * mode (`echoCredentials`) it quotes the credentials it received wherever it can: in 401 and
 * scripted-failure bodies (`failRequests`) and through the `leak_error` / `leak_throw` tools — the
 * server a secrets test needs. It must never listen beyond loopback or keep the process alive after close().
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { defaultTools, dummyTools, hangupTool } from './test-tools.ts';
import type { FakeTool, FakeToolContext } from './test-tools.ts';

export type { FakeTool };
export { PLANTED_SECRET, PLANTED_TOKEN } from './test-tools.ts';

export interface McpTestServerOptions {
  /** Answer 401 unless `Authorization: Bearer <this>` is sent. */
  requireBearer?: string;
  /** Answer 401 unless this header carries this value. */
  requireHeader?: { name: string; value: string };
  /** Quote received credentials in 401 and failure bodies, and offer `leak_error` / `leak_throw`. */
  echoCredentials?: boolean;
  /** Page tools/list with this many tools per page (opaque cursors); adds `extraTools` dummies. */
  pageSize?: number;
  /** Dummy tools added (`dummy_01`…); default 30 when `pageSize` is set, else 0. */
  extraTools?: number;
  /** Serve only Streamable HTTP (no `/sse`). */
  streamableOnly?: boolean;
  /** Serve only legacy SSE: `/mcp` then answers GET with an SSE stream and POST with 405. */
  sseOnly?: boolean;
  /** Port to listen on (e.g. to restart on the same port); default 0. */
  port?: number;
  /** Streamable HTTP answers as plain JSON instead of SSE (`enableJsonResponse`). */
  jsonResponse?: boolean;
  /** Streamable HTTP with an event store (event ids, `retry: 50`, resumption by Last-Event-ID) and the `hangup` tool. */
  resumable?: boolean;
}

export interface RecordedCall {
  tool: string;
  args: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export interface McpTestServer extends AsyncDisposable {
  /** Streamable HTTP endpoint (`http://127.0.0.1:PORT/mcp`). */
  url: string;
  /** Legacy SSE endpoint (`http://127.0.0.1:PORT/sse`). */
  sseUrl: string;
  port: number;
  /** Every tools/call that reached a tool, in order. */
  calls: RecordedCall[];
  /** Sessions initialised so far (both transports). */
  readonly sessionsCreated: number;
  /** Open server→client streams (Streamable HTTP GET streams and SSE streams). */
  openStreams(): number;
  /** Forgets every Streamable HTTP session: the next request carrying an old id gets 404. */
  expireSessions(): void;
  /** Replaces the tool list and sends notifications/tools/list_changed to every session. */
  setTools(tools: FakeTool[]): void;
  /** Adds (or replaces) one tool and sends notifications/tools/list_changed. */
  addTool(tool: FakeTool): void;
  /** Answers every request with this status (body quoting the received headers in echo mode) until set to null. */
  failRequests(status: number | null): void;
  /** Every request's headers, in order. */
  readonly requestHeaders: Array<Record<string, string | string[] | undefined>>;
  close(): Promise<void>;
}

interface Session {
  server: Server;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 (port 0 unless given). */
export async function startMcpTestServer(opts: McpTestServerOptions = {}): Promise<McpTestServer> {
  const tools = new Map<string, FakeTool>();
  for (const t of [...defaultTools(), ...dummyTools(opts.extraTools ?? (opts.pageSize ? 30 : 0)), ...(opts.resumable ? [hangupTool()] : []), ...(opts.echoCredentials ? leakTools() : [])]) tools.set(t.name, t);
  let failing: number | null = null;
  const requestHeaders: McpTestServer['requestHeaders'] = [];
  const calls: RecordedCall[] = [];
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();
  const sessions = new Set<Session>();
  const sockets = new Set<Socket>();
  let getStreams = 0;
  let sessionsCreated = 0;

  const context: FakeToolContext = { killConnections: () => killAll() };

  function buildServer(): Server {
    const server = new Server({ name: 'plugboard-test-mcp', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.setRequestHandler(ListToolsRequestSchema, async (request) => {
      const all: Tool[] = [...tools.values()].map(({ handler: _h, ...def }) => def as Tool);
      if (!opts.pageSize) return { tools: all };
      const start = decodeCursor(request.params?.cursor);
      const end = start + opts.pageSize;
      return { tools: all.slice(start, end), ...(end < all.length ? { nextCursor: encodeCursor(end) } : {}) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
      const tool = tools.get(request.params.name);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      const headers = { ...(extra.requestInfo?.headers ?? {}) } as RecordedCall['headers'];
      calls.push({ tool: tool.name, args, headers });
      return tool.handler(args, { ...context, closeStream: extra.closeSSEStream, signal: extra.signal, headers });
    });
    return server;
  }

  function killAll(): void {
    for (const socket of sockets) socket.destroy();
  }

  async function handleStreamable(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId) {
      const transport = streamable.get(sessionId);
      if (!transport) return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      if (req.method === 'GET') trackStream(res);
      return transport.handleRequest(req, res);
    }
    if (req.method !== 'POST') return json(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'No session id' }, id: null });
    const server = buildServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: opts.jsonResponse ?? false,
      ...(opts.resumable ? { eventStore: new InMemoryEventStore(), retryInterval: 50 } : {}),
      onsessioninitialized: (id) => {
        sessionsCreated++;
        streamable.set(id, transport);
      },
    });
    const session: Session = { server, close: () => server.close() };
    sessions.add(session);
    transport.onclose = () => {
      sessions.delete(session);
      if (transport.sessionId) streamable.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  async function handleSseOpen(res: http.ServerResponse): Promise<void> {
    const server = buildServer();
    const transport = new SSEServerTransport('/messages', res);
    const session: Session = { server, close: () => server.close() };
    sessions.add(session);
    legacy.set(transport.sessionId, transport);
    sessionsCreated++;
    trackStream(res);
    transport.onclose = () => {
      sessions.delete(session);
      legacy.delete(transport.sessionId);
    };
    await server.connect(transport);
  }

  function trackStream(res: http.ServerResponse): void {
    getStreams++;
    res.once('close', () => getStreams--);
  }

  const httpServer = http.createServer((req, res) => {
    const route = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requestHeaders.push({ ...req.headers });
    const quoted = opts.echoCredentials ? ` (received headers: ${JSON.stringify(req.headers)})` : '';
    if (opts.requireBearer && header(req, 'authorization') !== `Bearer ${opts.requireBearer}`) {
      return json(res, 401, { error: `unauthorized${quoted}` });
    }
    if (opts.requireHeader && header(req, opts.requireHeader.name.toLowerCase()) !== opts.requireHeader.value) {
      return json(res, 401, { error: `unauthorized${quoted}` });
    }
    if (failing !== null) {
      req.resume();
      return json(res, failing, { error: `scripted failure${quoted}` });
    }
    const run = async () => {
      if (route === '/mcp' && opts.sseOnly) {
        if (req.method === 'GET') return handleSseOpen(res);
        return json(res, 405, { error: 'method not allowed' });
      }
      if (route === '/mcp' && !opts.sseOnly) return handleStreamable(req, res);
      if (route === '/sse' && !opts.streamableOnly && req.method === 'GET') return handleSseOpen(res);
      if (route === '/messages' && !opts.streamableOnly && req.method === 'POST') {
        const transport = legacy.get(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('sessionId') ?? '');
        if (!transport) return json(res, 404, { error: 'unknown session' });
        return transport.handlePostMessage(req, res);
      }
      json(res, 404, { error: 'not found' });
    };
    run().catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  httpServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port: opts.port ?? 0, host: '127.0.0.1' }, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;

  const notifyAll = () => {
    for (const s of sessions) s.server.sendToolListChanged().catch(() => undefined);
  };
  const close = async () => {
    await Promise.allSettled([...sessions].map((s) => s.close()));
    killAll();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  };

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sseUrl: `http://127.0.0.1:${port}/sse`,
    port,
    calls,
    get sessionsCreated() {
      return sessionsCreated;
    },
    openStreams: () => getStreams,
    expireSessions() {
      const expired = [...streamable.values()];
      streamable.clear();
      for (const t of expired) void t.close();
    },
    setTools(next) {
      tools.clear();
      for (const t of next) tools.set(t.name, t);
      notifyAll();
    },
    addTool(tool) {
      tools.set(tool.name, tool);
      notifyAll();
    },
    failRequests(status) {
      failing = status;
    },
    requestHeaders,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Echo mode's tools: a tool error and a thrown error, each quoting the request headers the call arrived with. */
function leakTools(): FakeTool[] {
  return [
    {
      name: 'leak_error',
      description: 'Returns an isError result quoting the request headers.',
      inputSchema: { type: 'object', properties: {} },
      handler: (_args, ctx) => ({ isError: true, content: [{ type: 'text', text: `denied; you sent ${JSON.stringify(ctx.headers)}` }] }),
    },
    {
      name: 'leak_throw',
      description: 'Throws an error quoting the request headers.',
      inputSchema: { type: 'object', properties: {} },
      handler: (_args, ctx) => {
        throw new McpError(ErrorCode.InternalError, `crashed handling ${JSON.stringify(ctx.headers)}`);
      },
    },
  ];
}

/** Opaque cursor: the offset, wrapped so clients cannot treat it as a number. */
function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset, n: randomUUID().slice(0, 8) })).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  try {
    const { o } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o: unknown };
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor');
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
