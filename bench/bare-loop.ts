/**
 * The floor-lean client's work behind a bare Node HTTP server: what any Node gateway that runs the
 * tool loop server-side pays at the least on this machine (one more process and HTTP hop, woken
 * for the request and each of the three answers), without anything of Plugboard's — no key, no
 * decision, no validation, no usage, no events, no log.
 *
 * `POST /v1/chat/completions`: reads and parses the body, then sends the first turn configured for
 * its kind (the exact bytes the gateway sent, captured by the harness), calls the tool on a warm
 * MCP session over the gateway's own transport, sends the final turn, and answers with the
 * upstream's final answer as it came.
 *
 * Run by the tool-loop suite: `node bench/bare-loop.ts --upstream ORIGIN --mcp URL --tool-prefix crm__`,
 * then `POST /__bench/config {"json": "<first turn>", "sse": "<first turn>"}`. Prints one JSON
 * line `{"ready":true,"port":…}` once listening.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { floorTurns, mcpClient } from './lib/floor.ts';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    mcp: { type: 'string' },
    'tool-prefix': { type: 'string' },
    port: { type: 'string', default: '0' },
  },
});
if (!values.upstream || !values.mcp || !values['tool-prefix']) {
  process.stderr.write('usage: node bench/bare-loop.ts --upstream ORIGIN --mcp URL --tool-prefix PREFIX [--port N]\n');
  process.exit(2);
}
const toolPrefix = values['tool-prefix'];
const pool = new Pool(values.upstream, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
const mcp = await mcpClient(values.mcp, 'plugboard');
const upstreamHeaders = { 'content-type': 'application/json', authorization: 'Bearer bench' };
const firstTurns: Partial<Record<'json' | 'sse', { bytes: Buffer; obj: Record<string, unknown> & { messages: unknown[] } }>> = {};

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

const server = http.createServer((req, res) => {
  const fail = (status: number, message: string) => {
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message } }));
    else res.destroy();
  };
  readBody(req)
    .then(async (text) => {
      if (req.url === '/__bench/config' && req.method === 'POST') {
        const cfg = JSON.parse(text) as Record<string, string>;
        for (const kind of ['json', 'sse'] as const) if (cfg[kind]) firstTurns[kind] = { bytes: Buffer.from(cfg[kind]), obj: JSON.parse(cfg[kind]) };
        res.writeHead(200).end('{}');
        return;
      }
      if (req.url !== '/v1/chat/completions' || req.method !== 'POST') return fail(404, 'not found');
      const body = JSON.parse(text) as { stream?: boolean };
      const kind = body.stream === true ? 'sse' : 'json';
      const first = firstTurns[kind];
      if (!first) return fail(500, `no first turn configured for ${kind}`);
      const out = await floorTurns({ pool, mcp, path: '/v1/chat/completions', headers: upstreamHeaders, first: first.bytes, firstObj: first.obj, stream: kind === 'sse', toolPrefix });
      if (!out.ok) return fail(502, out.problem);
      res.writeHead(out.final.status, { 'content-type': out.final.contentType }).end(out.final.text);
    })
    .catch((err: unknown) => fail(500, (err as Error).message));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ ready: true, port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  void Promise.all([pool.destroy(), mcp.close()]).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
