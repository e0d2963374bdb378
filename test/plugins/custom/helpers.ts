/**
 * Shared set-up for the custom plugin tests: a real plugin HTTP server on 127.0.0.1 that checks
 * every call's signature with the published `standardwebhooks` package (the secret is set once
 * Plugboard has shown it) and answers through a scriptable handler; a valid test manifest; and
 * small API helpers (register, install, operator token). Everything is loopback and disposable.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { TestApp, Tenant } from '../../helpers/app.ts';

export interface ReceivedCall {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** The body as `standardwebhooks` verified it (null when no secret verified it). */
  verified: Record<string, any> | null;
  /** Which secrets (by index in `secrets`) verified the signature. */
  verifiedBy: number[];
}

export interface PluginAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** JSON body (serialised). */
  json?: unknown;
  /** Raw body. */
  text?: string;
  /** Bytes of padding written as the body (an oversize answer). */
  padBytes?: number;
  delayMs?: number;
  /** Destroy the socket without an answer. */
  destroy?: boolean;
}

export type Handler = (call: ReceivedCall) => PluginAnswer | Promise<PluginAnswer>;

export interface PluginServer extends AsyncDisposable {
  origin: string;
  calls: ReceivedCall[];
  /** Secrets the server verifies with (the newest first). */
  secrets: string[];
  handler: Handler;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPluginServer(handler: Handler = () => ({ json: { ok: true } })): Promise<PluginServer> {
  const sockets = new Set<Socket>();
  const self: PluginServer = {
    origin: '', calls: [], secrets: [], handler,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    [Symbol.asyncDispose]() {
      return self.close();
    },
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const headers = req.headers;
    let verified: Record<string, any> | null = null;
    const verifiedBy: number[] = [];
    self.secrets.forEach((secret, i) => {
      try {
        verified = new Webhook(secret).verify(rawBody, headers as Record<string, string>) as Record<string, any>;
        verifiedBy.push(i);
      } catch {
        // not this secret
      }
    });
    const call: ReceivedCall = { headers, rawBody, verified, verifiedBy };
    self.calls.push(call);
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (!verified && self.secrets.length > 0) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'bad signature' } }));
      return;
    }
    const a = await self.handler(call);
    if (a.delayMs) await sleep(a.delayMs);
    if (a.destroy) {
      req.socket.destroy();
      return;
    }
    const body = a.text ?? (a.json !== undefined ? JSON.stringify(a.json) : '');
    res.writeHead(a.status ?? 200, { 'content-type': a.json !== undefined ? 'application/json' : 'text/plain', ...a.headers });
    if (a.padBytes) {
      res.write(body);
      const chunk = Buffer.alloc(64 * 1024, 0x78);
      for (let left = a.padBytes; left > 0 && !res.destroyed; left -= chunk.length) {
        if (!res.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
      res.end();
      return;
    }
    res.end(body);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  self.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return self;
}

/** A valid manifest of a small order-lookup plugin at `baseUrl`. */
export function testManifest(baseUrl: string, over: Record<string, unknown> = {}): Record<string, any> {
  return {
    schemaVersion: 1,
    slug: 'orders',
    name: 'Order Desk',
    version: '1.0.0',
    description: 'Looks up orders in the Order Desk system.',
    baseUrl,
    endpoints: { tools: '/tools/call', health: '/health' },
    auth: { mode: 'standard-webhooks-hmac' },
    contact: { email: 'dev@orders.example.com', name: 'Order Desk developers' },
    permissions: [
      { key: 'orders:orders:read', label: 'Read orders', description: 'Look up the status of customer orders.', default: true },
      { key: 'orders:notes:write', label: 'Write order notes', description: 'Add a note to a customer order.' },
    ],
    config: [
      { key: 'api_key', label: 'Order Desk API key', type: 'secret', required: true },
      { key: 'region', label: 'Region', type: 'select', required: true, default: 'eu', options: [{ value: 'eu', label: 'Europe' }, { value: 'us', label: 'United States' }] },
      { key: 'shop_name', label: 'Shop name', type: 'string', maxLength: 40 },
    ],
    tools: [
      {
        name: 'lookup_order',
        description: 'Look up an order by its number. Use this when a customer asks where their order is or when it arrives.',
        inputSchema: { type: 'object', properties: { orderNumber: { type: 'string', pattern: '^A-[0-9]{4}$' } }, required: ['orderNumber'], additionalProperties: false },
        outputSchema: { type: 'object', properties: { status: { enum: ['found', 'not_found'] }, eta: { type: 'string' } }, required: ['status'] },
        permissions: ['orders:orders:read'],
        effect: 'read',
        idempotent: true,
        timeoutMs: 3000,
      },
      {
        name: 'add_note',
        description: 'Add a note to an order when the customer asks to pass on a delivery instruction.',
        inputSchema: { type: 'object', properties: { orderNumber: { type: 'string' }, note: { type: 'string', maxLength: 200 } }, required: ['orderNumber', 'note'], additionalProperties: false },
        permissions: ['orders:notes:write'],
        effect: 'write',
        timeoutMs: 3000,
      },
    ],
    ...over,
  };
}

export const API_KEY_A = 'odk-live-canary-A-7f3k22qx91';

/** Registers `manifest` for `who`; returns the 201 body (with the signing secret). */
export async function register(t: TestApp, who: Tenant, manifest: unknown): Promise<Record<string, any>> {
  const res = await t.api('POST', `/organizations/${who.orgId}/developer/plugins`, { token: who.ownerToken, body: { manifest } });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

export async function install(t: TestApp, who: Tenant, body: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await t.api('POST', `/organizations/${who.orgId}/plugin-installations`, { token: who.ownerToken, body });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

/** A new operator token (as `plugboard operator token create` makes it). */
export function operatorToken(t: TestApp, name = 'reviewer'): string {
  return t.app.operatorTokens.create(name).secret;
}

/** Submits and approves `version` of `pluginId`; returns the approved version. */
export async function publish(t: TestApp, who: Tenant, pluginId: string, version: string, operator: string): Promise<Record<string, any>> {
  const sub = await t.api('POST', `/organizations/${who.orgId}/developer/plugins/${pluginId}/versions/${version}/submit`, { token: who.ownerToken });
  assert.equal(sub.status, 200, sub.text);
  const ok = await t.api('POST', `/operator/plugin-versions/${sub.json.id}/approve`, { token: operator });
  assert.equal(ok.status, 200, ok.text);
  return ok.json;
}

/** An error answer with the problem list: the OpenAI shape plus `error.problems`; returns the problems' paths. */
export function assertProblems(res: { status: number; json: any; text: string }, status: number, code: string, param?: string | null): string[] {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ['error'], res.text);
  assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message', 'param', 'problems', 'type'], res.text);
  assert.equal(res.json.error.code, code, res.text);
  if (param !== undefined) assert.equal(res.json.error.param, param, res.text);
  assert.ok(Array.isArray(res.json.error.problems) && res.json.error.problems.length > 0, res.text);
  for (const p of res.json.error.problems) assert.deepEqual(Object.keys(p).sort(), ['message', 'path']);
  return res.json.error.problems.map((p: { path: string }) => p.path);
}
