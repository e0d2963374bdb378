/**
 * A bare Node `http` reverse proxy: the practical floor of any Node hop on this machine.
 * One keep-alive `http.Agent` to the upstream; request and response bytes are piped, status
 * and headers copied. Nothing else (no parsing, no auth, no logging).
 *
 * Run standalone: `node bench/bare-proxy.ts --upstream http://127.0.0.1:PORT [--port 0]`.
 * It prints one JSON line `{"ready":true,"port":…}` on stdout once listening.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';

export interface BareProxy {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

export function startBareProxy(upstream: string, port = 0, host = '127.0.0.1'): Promise<BareProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 });
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === 'object' && addr ? addr.port : 0,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
            agent.destroy();
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
      upstream: { type: 'string' },
    },
  });
  if (!values.upstream) {
    process.stderr.write('usage: node bench/bare-proxy.ts --upstream http://127.0.0.1:PORT [--port 0]\n');
    process.exit(2);
  }
  const proxy = await startBareProxy(values.upstream, Number(values.port), values.host);
  process.stdout.write(`${JSON.stringify({ ready: true, name: 'bare-proxy', pid: process.pid, port: proxy.port })}\n`);
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
