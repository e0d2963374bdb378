/**
 * A minimal custom plugin for the benchmark (issue 11's tool endpoint), on node:http, 127.0.0.1 only.
 * It does what a real plugin must do per call and nothing more: read the raw body, check the
 * Standard Webhooks signature with the published `standardwebhooks` package (which also checks the
 * timestamp and parses the JSON), answer the one tool with a small JSON record.
 *
 *   POST <tools path>          a signed call `{tool, input, mode, context, config, bridge}`; the
 *                              secret is the one configured for that path (see below). `lookup`
 *                              {id} → 200 `{"customer":id,…}` (the same for the same id, so the
 *                              final answer can be checked byte for byte); a bad signature → 401,
 *                              anything else → 400 — both counted, both a run failure for the harness.
 *   GET  /health               {"status":"ok"}
 *   POST /__bench/config       {"secrets": {"<tools path>": "whsec_…"}}: the signing secret per
 *                              tools path (the gateway and an A/B baseline register the plugin
 *                              separately, so each has its own secret and its own path).
 *   GET  /__bench/stats        {calls, byPath, rejected, badRequests, pid}
 *   GET  /__bench/captured     {"<tools path>": "<last verified body>"}: the body as the caller sent it.
 *
 * Run standalone: `node bench/plugin-server.ts [--port 0]`. Prints one JSON line
 * `{"ready":true,"port":…}` on stdout once listening.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

/** The JSON text `lookup` answers for `id` (the harness computes the expected final answer from it). */
export function pluginLookupText(id: string): string {
  return JSON.stringify({ customer: id, name: 'Ada Lovelace', plan: 'pro', status: 'active', openTickets: 3 });
}

export interface BenchPluginServer {
  port: number;
  close(): Promise<void>;
}

export async function startBenchPluginServer(opts: { host?: string; port?: number } = {}): Promise<BenchPluginServer> {
  const stats = { calls: 0, byPath: {} as Record<string, number>, rejected: 0, badRequests: 0 };
  const verifiers = new Map<string, Webhook>();
  const captured: Record<string, string> = {};

  function json(res: http.ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const wh = req.method === 'POST' ? verifiers.get(path) : undefined;
      if (wh) {
        const text = raw.toString('utf8');
        let call: { tool?: unknown; input?: { id?: unknown } };
        try {
          call = wh.verify(text, req.headers as Record<string, string>) as typeof call;
        } catch {
          stats.rejected++;
          return json(res, 401, '{"error":{"message":"bad signature"}}');
        }
        if (call?.tool !== 'lookup' || typeof call.input?.id !== 'string') {
          stats.badRequests++;
          return json(res, 400, '{"error":{"message":"unknown tool or input"}}');
        }
        stats.calls++;
        stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
        captured[path] = text;
        return json(res, 200, pluginLookupText(call.input.id));
      }
      if (req.method === 'GET' && path === '/health') return json(res, 200, '{"status":"ok"}');
      if (req.method === 'POST' && path === '/__bench/config') {
        try {
          const c = JSON.parse(raw.toString('utf8') || '{}') as { secrets?: Record<string, string> };
          for (const [p, secret] of Object.entries(c.secrets ?? {})) verifiers.set(p, new Webhook(secret));
        } catch (err) {
          return json(res, 400, JSON.stringify({ error: { message: `bad config: ${(err as Error).message}` } }));
        }
        return json(res, 200, JSON.stringify({ paths: [...verifiers.keys()] }));
      }
      if (req.method === 'GET' && path === '/__bench/stats') return json(res, 200, JSON.stringify({ ...stats, pid: process.pid }));
      if (req.method === 'GET' && path === '/__bench/captured') return json(res, 200, JSON.stringify(captured));
      stats.badRequests++;
      json(res, 404, JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } } });
  const srv = await startBenchPluginServer({ host: values.host, port: Number(values.port) });
  process.stdout.write(`${JSON.stringify({ ready: true, name: 'plugin-server', pid: process.pid, port: srv.port })}\n`);
  const stop = () => void srv.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
