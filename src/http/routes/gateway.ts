/**
 * `/v1/*`: the OpenAI-compatible gateway routes. Pipeline per request:
 * authenticate key → rate limit → read body (size limit) → chat use case → usage.
 */
import Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import type { KeyAuthenticator } from '../../gateway/key-auth.ts';
import type { KeyLimiter } from '../../gateway/key-limits.ts';
import { handleChatCompletion, type ChatDeps } from '../../gateway/chat.ts';
import { parseNarrowingHeader } from '../../gateway/decide.ts';
import { isAbort, mapTransportError } from '../../gateway/upstream-pool.ts';
import { mapUpstreamStatus } from '../../gateway/upstream-errors.ts';
import type { UpstreamPool } from '../../gateway/upstream-pool.ts';
import { parseJsonObject, readRawBody } from '../body.ts';
import { createNodeSink } from '../node-sink.ts';
import type { RequestState } from '../request-context.ts';
import type { GatewayKey } from '../../storage/repos/gateway-keys.ts';

export interface GatewayRouteDeps {
  keyAuth: KeyAuthenticator;
  limiter: KeyLimiter;
  defaultRpm: number;
  maxBodyBytes: number;
  pool: UpstreamPool;
  chat: ChatDeps;
  aliases: Readonly<Record<string, string>>;
}

async function authorize(deps: GatewayRouteDeps, ctx: ParameterizedContext): Promise<{ key: GatewayKey; limitHeaders: Record<string, string> }> {
  const key = deps.keyAuth.authenticate(ctx.get('authorization') || undefined);
  deps.chat.recorder.touchKey(key.id, Date.now());
  const state = ctx.state as RequestState;
  state.orgId = key.orgId;
  state.keyId = key.id;
  const limitHeaders = await deps.limiter.consume(key.orgId, key.id, key.rateLimitRpm ?? deps.defaultRpm);
  for (const [k, v] of Object.entries(limitHeaders)) ctx.set(k, v);
  return { key, limitHeaders };
}

export function gatewayRoutes(deps: GatewayRouteDeps): Router {
  const router = new Router({ prefix: '/v1' });

  router.post('/chat/completions', async function chatCompletions(ctx) {
    const { key, limitHeaders } = await authorize(deps, ctx);
    const raw = await readRawBody(ctx.req, deps.maxBodyBytes);
    const body = parseJsonObject(raw);
    const state = ctx.state as RequestState;
    const abort = new AbortController();
    const onClose = (): void => {
      if (!ctx.res.writableFinished) abort.abort();
    };
    ctx.res.once('close', onClose);
    const sink = createNodeSink(ctx.res, { 'x-request-id': state.requestId, ...limitHeaders });
    try {
      const narrowTo = parseNarrowingHeader(ctx.get('x-plugboard-plugins') || undefined);
      await handleChatCompletion(deps.chat, { key, body, raw, requestId: state.requestId, signal: abort.signal, narrowTo, senderInstanceId: ctx.get('x-plugboard-whatsapp-instance') || null }, sink);
      ctx.respond = false;
    } catch (err) {
      if (isAbort(err) && abort.signal.aborted) {
        ctx.respond = false;
        return;
      }
      throw err;
    }
  });

  router.get('/models', async function listModels(ctx) {
    await authorize(deps, ctx);
    let res;
    try {
      res = await deps.pool.request({ method: 'GET', path: '/models' });
    } catch (err) {
      throw mapTransportError(err);
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) throw mapUpstreamStatus(res.statusCode, res.headers, text);
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
