/**
 * The custom-plugin floor's work for one request (custom-plugin suite): what the gateway's loop
 * does for one custom plugin tool call, done by a minimal client — POST the first turn to the
 * upstream, build the call body (issue 11's fields), sign it with Standard Webhooks, POST it to the
 * plugin's tool endpoint, read its JSON answer, POST the final turn (the first turn plus the call
 * and the wrapped result), read the answer.
 *
 * Two clients for the signed POST:
 *   `minimal`   the published `standardwebhooks` package signs (`Webhook.sign`), an undici `Pool`
 *               to the plugin's origin sends — what a developer would write;
 *   `plugboard` the gateway's own signer (src/net/standard-webhooks.ts, node:crypto HMAC) and its
 *               SSRF-guarded undici request (src/net/ssrf.ts) — the stricter floor, so that
 *               `gateway − floor-lean` is the gateway's own cost and not a client difference.
 */
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Pool } from 'undici';
import { createGuardedFetch } from '../../src/net/ssrf.ts';
import { createWebhookSigner } from '../../src/net/standard-webhooks.ts';
import { toolCallsOf } from './floor.ts';

export type PluginClientKind = 'minimal' | 'plugboard';

/** One signed POST of a call body to the plugin; resolves with the answer's status and text. */
export type PluginCaller = { call(body: string): Promise<{ status: number; text: string }>; close(): Promise<void> };

/** The gateway's own guard (loopback allowed, as the harness runs the gateway). */
let loopbackGuard: ReturnType<typeof createGuardedFetch> | undefined;

/** A webhook id as the gateway makes them (`call_` + time + random). */
function webhookId(): string {
  return `call_${Date.now().toString(36)}${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

/** Callers kept across jobs (warm connections, as the gateway keeps its own). */
const callers = new Map<string, PluginCaller>();

export function pluginCaller(toolsUrl: string, secret: string, kind: PluginClientKind): PluginCaller {
  const key = `${kind} ${toolsUrl} ${secret}`;
  let c = callers.get(key);
  if (!c) {
    c = newPluginCaller(toolsUrl, secret, kind);
    callers.set(key, c);
  }
  return c;
}

function newPluginCaller(toolsUrl: string, secret: string, kind: PluginClientKind): PluginCaller {
  const url = new URL(toolsUrl);
  if (kind === 'minimal') {
    const wh = new Webhook(secret);
    const pool = new Pool(url.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
    return {
      async call(body) {
        const id = webhookId();
        const now = new Date();
        const headers = {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': wh.sign(id, now, body),
        };
        const res = await pool.request({ path: url.pathname, method: 'POST', headers, body });
        return { status: res.statusCode, text: await res.body.text() };
      },
      close: () => pool.close().catch(() => {}),
    };
  }
  loopbackGuard ??= createGuardedFetch({ allowedNetworks: ['127.0.0.0/8'] }, { label: 'plugin endpoint' });
  const request = loopbackGuard.request;
  const signer = createWebhookSigner(secret);
  return {
    async call(body) {
      const headers = { 'content-type': 'application/json', 'user-agent': 'Plugboard', ...signer.headers(webhookId(), Math.floor(Date.now() / 1000), body) };
      const res = await request(url, { method: 'POST', headers, body });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: async () => {},
  };
}

/** The parts of the gateway's call body that do not change per request (captured from its first call). */
export interface CallTemplate {
  mode: string;
  context: Record<string, unknown>;
  config: Record<string, unknown>;
}

export interface PluginFloorInput {
  pool: Pool;
  plugin: PluginCaller;
  template: CallTemplate;
  /** Upstream path and headers of both turns. */
  path: string;
  headers: Record<string, string>;
  first: Buffer | string;
  firstObj: Record<string, unknown> & { messages: unknown[] };
  stream: boolean;
  /** `<slug>__`: stripped from the model's tool name to get the plugin's tool name. */
  toolPrefix: string;
}

export type PluginFloorOutcome =
  | { ok: true; final: { status: number; text: string }; finalBody: string; callBody: string }
  | { ok: false; status: number; problem: string; body?: string };

export async function pluginFloorTurns(x: PluginFloorInput): Promise<PluginFloorOutcome> {
  // 1. the model turn that asks for the tool
  const r1 = await x.pool.request({ path: x.path, method: 'POST', headers: x.headers, body: x.first });
  const t1 = await r1.body.text();
  if (r1.statusCode !== 200) return { ok: false, status: r1.statusCode, problem: `first turn: HTTP ${r1.statusCode}: ${t1.slice(0, 300)}`, body: t1 };
  const calls = toolCallsOf(t1, x.stream);
  if (calls.length !== 1) return { ok: false, status: 502, problem: `first turn: expected one tool call, got ${calls.length}: ${t1.slice(0, 300)}` };
  const call = calls[0];
  if (!call.function.name.startsWith(x.toolPrefix)) return { ok: false, status: 502, problem: `first turn: tool ${call.function.name} does not start with ${x.toolPrefix}` };
  // 2. the signed call, with issue 11's body (a new request id per request, as the gateway's)
  const callBody = JSON.stringify({
    tool: call.function.name.slice(x.toolPrefix.length),
    input: JSON.parse(call.function.arguments || '{}'),
    mode: x.template.mode,
    context: { ...x.template.context, requestId: crypto.randomUUID() },
    config: x.template.config,
    bridge: null,
  });
  const answer = await x.plugin.call(callBody);
  if (answer.status !== 200) return { ok: false, status: 502, problem: `plugin call: HTTP ${answer.status}: ${answer.text.slice(0, 300)}`, body: answer.text };
  JSON.parse(answer.text); // the gateway checks the answer is JSON; so does the floor
  const wrapped = `<tool_result tool="${call.function.name}" status="ok">\n${answer.text.trim()}\n</tool_result>`;
  // 3. the final turn: the same conversation plus the call and its result
  const finalBody = JSON.stringify({ ...x.firstObj, messages: [...x.firstObj.messages, { role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', tool_call_id: call.id, content: wrapped }] });
  const r2 = await x.pool.request({ path: x.path, method: 'POST', headers: x.headers, body: finalBody });
  return { ok: true, final: { status: r2.statusCode, text: await r2.body.text() }, finalBody, callBody };
}
