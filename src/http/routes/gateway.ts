/**
 * `/v1/*`: the OpenAI-compatible gateway routes. Pipeline per request:
 * authenticate key → rate limit → read body (size limit) → use case → answer.
 *
 * `POST /v1/chat/completions` is the hot path and has no Koa route: `fastChatCompletions` works on
 * Node's request and response directly, and the server dispatches to it before Koa builds a
 * context (server.ts `dispatch`, which also answers its other methods). It keeps what the Koa
 * stack gives every other route: the injected request id, the one error writer, the failed-auth
 * throttle and the access log line. `GET /v1/models` is a Koa route over gateway/models.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import type { KeyAuthenticator } from '../../gateway/key-auth.ts';
import type { KeyLimiter } from '../../gateway/key-limits.ts';
import { completeChat, type ChatDeps } from '../../gateway/chat.ts';
import { listModels } from '../../gateway/models.ts';
import { isAbort } from '../../gateway/upstream-pool.ts';
import { parseJsonObject, readRawBody } from '../body.ts';
import { NodeSink } from '../node-sink.ts';
import { headerOf, narrowingOf, senderInstanceOf } from '../headers.ts';
import { createAccessLog, resolveRequestId, type RequestObserver, type RequestState } from '../request-context.ts';
import type { ErrorWriter } from '../error-writer.ts';
import type { Logger } from '../../log.ts';
import type { GatewayKey } from '../../storage/repos/gateway-keys.ts';
import { clientAddress, type AuthThrottle } from '../auth-throttle.ts';
import { isAppError } from '../../errors.ts';

export interface GatewayRouteDeps {
  keyAuth: KeyAuthenticator;
  limiter: KeyLimiter;
  defaultRpm: number;
  maxBodyBytes: number;
  chat: ChatDeps;
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

/**
 * Serves one chat completion on Node's request/response. Errors before the answer starts are
 * thrown (the caller renders them); a caller that disconnects ends it quietly.
 */
export async function serveChatCompletion(deps: GatewayRouteDeps, errors: ErrorWriter, req: IncomingMessage, res: ServerResponse, requestId: string, state: { orgId?: string; keyId?: string }): Promise<void> {
  const { key, limitHeaders } = await authorizeKey(deps, headerOf(req, 'authorization'), state);
  for (const [k, v] of Object.entries(limitHeaders)) res.setHeader(k, v);
  const raw = await readRawBody(req, deps.maxBodyBytes);
  const body = parseJsonObject(raw);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const sink = new NodeSink(res, requestId, errors);
  try {
    await completeChat(deps.chat, { key, body, raw, requestId, signal: abort.signal, narrowTo: narrowingOf(req), senderInstanceId: senderInstanceOf(req) }, sink);
  } catch (err) {
    if (isAbort(err) && abort.signal.aborted) return;
    throw err;
  }
}

const CHAT_PATH = '/v1/chat/completions';

/** The hot path without Koa: the injected request id, the one error writer and the same access log line. */
export function fastChatCompletions(deps: GatewayRouteDeps, opts: { log: Logger; errors: ErrorWriter; generateId?: () => string; observe?: RequestObserver }): (req: IncomingMessage, res: ServerResponse) => void {
  const accessLog = createAccessLog(opts.log);
  const { errors, generateId, observe } = opts;
  return function fastChatCompletionsHandler(req, res) {
    const started = performance.now();
    const requestId = resolveRequestId(headerOf(req, 'x-request-id'), generateId);
    const state: { orgId?: string; keyId?: string } = {};
    res.setHeader('x-request-id', requestId);
    // The client address is worked out only when needed: an address was throttled, or this request failed.
    const throttle = deps.authThrottle;
    let address: string | undefined;
    const addressOf = (): string => (address ??= clientAddress(req, deps.trustProxy ?? false));
    let served: Promise<void>;
    try {
      if (throttle?.size) throttle.assertAllowed(addressOf());
      served = serveChatCompletion(deps, errors, req, res, requestId, state);
    } catch (err) {
      served = Promise.reject(err);
    }
    served
      .catch(async (err: unknown) => {
        const refusal = throttle && isAppError(err) && err.status === 401 ? await throttle.failed(addressOf()).catch(() => null) : null;
        errors.raw(res, refusal ?? err, requestId);
      })
      .finally(() => {
        const ms = performance.now() - started;
        accessLog({ requestId, method: 'POST', path: CHAT_PATH, status: res.statusCode, ms, orgId: state.orgId, keyId: state.keyId });
        observe?.(CHAT_PATH, 'POST', res.statusCode, ms / 1000);
      });
  };
}

export function gatewayRoutes(deps: GatewayRouteDeps): Router {
  const router = new Router({ prefix: '/v1' });
  router.get('/models', async function listModelsRoute(ctx) {
    await authorize(deps, ctx);
    ctx.body = await listModels(deps.chat.pool, deps.chat.aliases);
  });
  return router;
}
