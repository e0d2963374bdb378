/**
 * Example Plugboard plugin: Acme Delivery (seed 001's delivery-lookup example), with no dependency
 * beyond Node (>= 22.18). It serves the two tools of `plugboard-plugin.json`:
 *   POST /tools/call   signed tool calls (lookup_delivery, create_delivery_job)
 *   GET  /health       {"status":"ok"}
 * Every call is verified with the kit before its body is read as JSON; answers are compact JSON
 * for the model, errors are `{"error":{"message"}}` with a 4xx status.
 * Deliveries live in memory: a real plugin would call its delivery system with `config.api_key`.
 *
 * Run:  DELIVERY_PLUGIN_SECRET=whsec_… node examples/delivery-plugin/server.ts
 * (DELIVERY_PLUGIN_PORT, default 8787; DELIVERY_PLUGIN_HOST, default 127.0.0.1).
 * It never logs a request body, a config value or the secret.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertSigningSecret, PlugboardRequestError, readRawBody, verifyPlugboardRequest, type PlugboardToolCall, type VerifyOptions } from './plugboard-kit.ts';

const ORDER_NUMBER = /^[A-Z]{3}-[0-9]{4}-[0-9]{4}-[0-9]{4}$/;
/** This demo treats references of these shapes as paid (a real plugin asks its payment system). */
const PAID_REFERENCE = /^(PAY|ORD)-[A-Z0-9-]{4,60}$/;
/** Answers kept for repeated webhook-ids (Plugboard retries idempotent tools with the same id). */
const MAX_REMEMBERED_CALLS = 1000;
const MAX_BODY_BYTES = 256 * 1024;

interface Delivery {
  orderNumber: string;
  jobId: string;
  deliveryStatus: 'scheduled' | 'out_for_delivery' | 'delivered' | 'failed';
  eta: string;
}

type Answer = { status: number; body: unknown };

const fail = (status: number, message: string): Answer => ({ status, body: { error: { message } } });

export interface DeliveryPluginOptions {
  /** The plugin's signing secret(s) from Plugboard (`whsec_…`). */
  secret: string | readonly string[];
  /** Passed to the kit (tests move the clock). */
  verify?: VerifyOptions;
}

/** The example plugin as an http.Server (not yet listening). */
export function createDeliveryPluginServer(opts: DeliveryPluginOptions): http.Server {
  for (const s of typeof opts.secret === 'string' ? [opts.secret] : opts.secret) assertSigningSecret(s);
  const deliveries = new Map<string, Delivery>([
    ['MAT-2026-0510-0041', { orderNumber: 'MAT-2026-0510-0041', jobId: 'DJ-100041', deliveryStatus: 'out_for_delivery', eta: 'Today between 3:00 PM and 5:00 PM' }],
    ['MAT-2026-0509-0007', { orderNumber: 'MAT-2026-0509-0007', jobId: 'DJ-100007', deliveryStatus: 'delivered', eta: 'Delivered yesterday at 11:40 AM' }],
  ]);
  const answered = new Map<string, Answer>();
  let nextJob = 200000;

  function lookupDelivery(call: PlugboardToolCall): Answer {
    const { orderNumber } = call.input;
    if (typeof orderNumber !== 'string' || !ORDER_NUMBER.test(orderNumber)) return fail(400, 'orderNumber must look like MAT-2026-0510-0041');
    const d = deliveries.get(orderNumber);
    if (!d) return { status: 200, body: { status: 'not_found', orderNumber } };
    return { status: 200, body: { status: 'found', orderNumber, deliveryStatus: d.deliveryStatus, eta: d.eta } };
  }

  function createDeliveryJob(call: PlugboardToolCall): Answer {
    const { orderNumber, paidOrderReference, address, express } = call.input;
    if (typeof call.config.api_key !== 'string' || call.config.api_key === '') return fail(400, 'this installation has no Acme Delivery API key configured');
    if (typeof orderNumber !== 'string' || !ORDER_NUMBER.test(orderNumber)) return fail(400, 'orderNumber must look like MAT-2026-0510-0041');
    if (typeof address !== 'string' || address.trim().length < 8) return fail(400, 'address must be a street address with suburb and city');
    // Business authorization stays with the plugin (seed 001): no paid reference, no delivery job.
    if (typeof paidOrderReference !== 'string' || !PAID_REFERENCE.test(paidOrderReference)) {
      return fail(422, 'paidOrderReference does not name a paid order: confirm payment first, then call again with its reference');
    }
    const existing = deliveries.get(orderNumber);
    if (existing) return { status: 200, body: { status: 'already_booked', jobId: existing.jobId, orderNumber, eta: existing.eta } };
    const fast = typeof express === 'boolean' ? express : call.config.express_by_default === true;
    const jobId = `${call.mode === 'sandbox' ? 'TEST-' : ''}DJ-${nextJob++}`;
    const eta = fast ? 'Today between 3:00 PM and 5:00 PM' : 'Tomorrow between 9:00 AM and 1:00 PM';
    deliveries.set(orderNumber, { orderNumber, jobId, deliveryStatus: 'scheduled', eta });
    return { status: 200, body: { status: 'created', jobId, orderNumber, eta } };
  }

  function run(call: PlugboardToolCall): Answer {
    if (call.tool === 'lookup_delivery') return lookupDelivery(call);
    if (call.tool === 'create_delivery_job') return createDeliveryJob(call);
    return fail(400, `unknown tool "${call.tool.slice(0, 64)}"`);
  }

  async function handleToolCall(req: http.IncomingMessage): Promise<Answer> {
    try {
      const raw = await readRawBody(req, MAX_BODY_BYTES);
      const call = verifyPlugboardRequest(opts.secret, req.headers, raw, opts.verify);
      const earlier = answered.get(call.webhookId);
      if (earlier) return earlier;
      const answer = run(call);
      if (answered.size >= MAX_REMEMBERED_CALLS) answered.delete(answered.keys().next().value as string);
      answered.set(call.webhookId, answer);
      return answer;
    } catch (err) {
      // Drain the rest of an oversized body so the client reads the 413 instead of a reset.
      if (err instanceof PlugboardRequestError && err.code === 'body_too_large') req.resume();
      if (err instanceof PlugboardRequestError) return fail(err.status, err.status === 500 ? 'the plugin is misconfigured' : err.message);
      return fail(500, 'the plugin failed');
    }
  }

  return http.createServer((req, res) => {
    const send = ({ status, body }: Answer) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const url = new URL(req.url ?? '/', 'http://plugin.invalid');
    if (url.pathname === '/health') {
      if (req.method === 'GET') send({ status: 200, body: { status: 'ok' } });
      else send(fail(405, 'use GET'));
    } else if (url.pathname === '/tools/call') {
      if (req.method === 'POST') handleToolCall(req).then(send, () => send(fail(500, 'the plugin failed')));
      else send(fail(405, 'use POST'));
    } else {
      send(fail(404, 'not found'));
    }
  });
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const secret = process.env.DELIVERY_PLUGIN_SECRET;
  if (!secret) {
    console.error('Set DELIVERY_PLUGIN_SECRET to the signing secret (whsec_…) Plugboard showed when you registered the plugin.');
    process.exit(1);
  }
  const port = Number(process.env.DELIVERY_PLUGIN_PORT ?? 8787);
  const host = process.env.DELIVERY_PLUGIN_HOST ?? '127.0.0.1';
  let server: http.Server;
  try {
    server = createDeliveryPluginServer({ secret });
  } catch (err) {
    console.error(err instanceof Error ? err.message : 'invalid DELIVERY_PLUGIN_SECRET');
    process.exit(1);
  }
  server.listen(port, host, () => {
    const { port: bound } = server.address() as { port: number };
    console.log(`Acme Delivery plugin listening on http://${host}:${bound} (POST /tools/call, GET /health)`);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
}
