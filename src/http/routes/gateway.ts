/**
 * `/v1/*`: the OpenAI-compatible gateway routes. Pipeline per request:
 * authenticate key → rate limit → read body (size limit) → chat use case → usage.
 *
 * `POST /v1/chat/completions` is the hot path: `serveChatCompletion` works on Node's request and
 * response directly, and the server dispatches to it before Koa builds a context (see
 * `fastChatCompletions`); the Koa route below serves the same function for completeness.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import type { KeyAuthenticator } from '../../gateway/key-auth.ts';
import type { KeyLimiter } from '../../gateway/key-limits.ts';
import { handleChatCompletion, type ChatDeps } from '../../gateway/chat.ts';
import { parseNarrowingHeader } from '../../gateway/decide.ts';
import { isAbort, mapTransportError, readUpstreamBody } from '../../gateway/upstream-pool.ts';
import type { UpstreamPool } from '../../gateway/upstream-pool.ts';
import type { Redactor } from '../../storage/known-secrets.ts';
import { parseJsonObject, readRawBody } from '../body.ts';
import { createNodeSink } from '../node-sink.ts';
import { createAccessLog, resolveRequestId, writeRawError, type RequestState } from '../request-context.ts';
import type { Logger } from '../../log.ts';
import type { GatewayKey } from '../../storage/repos/gateway-keys.ts';
import { clientAddress, type AuthThrottle } from '../auth-throttle.ts';
import { isAppError } from '../../errors.ts';

/** Largest model list read from the upstream (a list of thousands of models is well below it). */
const MODEL_LIST_MAX_BYTES = 8 * 1024 * 1024;

export interface GatewayRouteDeps {
  keyAuth: KeyAuthenticator;
  limiter: KeyLimiter;
  defaultRpm: number;
  maxBodyBytes: number;
  pool: UpstreamPool;
  chat: ChatDeps;
  aliases: Readonly<Record<string, string>>;
  /** Failed-authentication throttle of the Koa-free path (the Koa routes have it as middleware). */
  authThrottle?: AuthThrottle;
  trustProxy?: boolean;
}

async function authorizeKey(deps: GatewayRouteDeps, authorization: string | undefined, state: { orgId?: string; keyId?: string }): Promise<{ key: GatewayKey; limitHeaders: Record<string, string> }> {
  const key = deps.keyAuth.authenticate(authorization);
  deps.chat.recorder.touchKey(key.id, Date.now());
  state.orgId = key.orgId;
  state.keyId = key.id;
  const limitHeaders = await deps.limiter.consume(key.orgId, key.id, key.rateLimitRpm ?? deps.defaultRpm);
  return { key, limitHeaders };
}

async function authorize(deps: GatewayRouteDeps, ctx: ParameterizedContext): Promise<{ key: GatewayKey; limitHeaders: Record<string, string> }> {
  const out = await authorizeKey(deps, ctx.get('authorization') || undefined, ctx.state as RequestState);
  for (const [k, v] of Object.entries(out.limitHeaders)) ctx.set(k, v);
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Serves one chat completion on Node's request/response. Errors before the answer starts are
 * thrown (the caller renders them); a caller that disconnects ends it quietly.
 */
export async function serveChatCompletion(deps: GatewayRouteDeps, req: IncomingMessage, res: ServerResponse, requestId: string, state: { orgId?: string; keyId?: string }): Promise<void> {
  const { key, limitHeaders } = await authorizeKey(deps, header(req, 'authorization'), state);
  for (const [k, v] of Object.entries(limitHeaders)) res.setHeader(k, v);
  const raw = await readRawBody(req, deps.maxBodyBytes);
  const body = parseJsonObject(raw);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const sink = createNodeSink(res, { 'x-request-id': requestId });
  try {
    const narrowTo = parseNarrowingHeader(header(req, 'x-plugboard-plugins'));
    await handleChatCompletion(deps.chat, { key, body, raw, requestId, signal: abort.signal, narrowTo, senderInstanceId: header(req, 'x-plugboard-whatsapp-instance') ?? null }, sink);
  } catch (err) {
    if (isAbort(err) && abort.signal.aborted) return;
    throw err;
  }
}

/** The hot path without Koa: request id, the same error shape and the same access log line. */
export function fastChatCompletions(deps: GatewayRouteDeps, log: Logger, secrets?: Redactor): (req: IncomingMessage, res: ServerResponse) => void {
  const accessLog = createAccessLog(log);
  return function fastChatCompletionsHandler(req, res) {
    const started = performance.now();
    const requestId = resolveRequestId(header(req, 'x-request-id'));
    const state: { orgId?: string; keyId?: string } = {};
    res.setHeader('x-request-id', requestId);
    // The client address is worked out only when needed: an address was throttled, or this request failed.
    const throttle = deps.authThrottle;
    let address: string | undefined;
    const addressOf = (): string => (address ??= clientAddress(req, deps.trustProxy ?? false));
    let served: Promise<void>;
    try {
      if (throttle?.size) throttle.assertAllowed(addressOf());
      served = serveChatCompletion(deps, req, res, requestId, state);
    } catch (err) {
      served = Promise.reject(err);
    }
    served
      .catch(async (err: unknown) => {
        const refusal = throttle && isAppError(err) && err.status === 401 ? await throttle.failed(addressOf()).catch(() => null) : null;
        writeRawError(res, refusal ?? err, requestId, log, secrets);
      })
      .finally(() => accessLog({ requestId, method: 'POST', path: '/v1/chat/completions', status: res.statusCode, ms: performance.now() - started, orgId: state.orgId, keyId: state.keyId }));
  };
}

export function gatewayRoutes(deps: GatewayRouteDeps): Router {
  const router = new Router({ prefix: '/v1' });

  router.post('/chat/completions', async function chatCompletions(ctx) {
    const state = ctx.state as RequestState;
    await serveChatCompletion(deps, ctx.req, ctx.res, state.requestId, state);
    ctx.respond = false;
  });

  router.get('/models', async function listModels(ctx) {
    await authorize(deps, ctx);
    let res;
    try {
      res = await deps.pool.request({ method: 'GET', path: '/models' });
    } catch (err) {
      throw mapTransportError(err);
    }
    // Statuses ≥ 400 were thrown by the pool, mapped and scrubbed; the list itself is bounded.
    const text = (await readUpstreamBody(res.body, MODEL_LIST_MAX_BYTES)).toString('utf8');
    let data: Array<Record<string, unknown>> = [];
    try {
      const parsed = JSON.parse(text) as { data?: unknown };
      if (Array.isArray(parsed.data)) data = parsed.data as Array<Record<string, unknown>>;
    } catch {
      // An upstream without a usable model list still gets the aliases below.
    }
    const created = Math.floor(Date.now() / 1000);
    for (const [alias, target] of Object.entries(deps.aliases)) {
      if (!data.some((m) => m.id === alias)) data.push({ id: alias, object: 'model', created, owned_by: 'plugboard', alias_of: target });
    }
    ctx.body = { object: 'list', data };
  });

  return router;
}
