/**
 * THE chat use case (`/v1/chat/completions`), read as seed 000's decision table: validate, decide
 * whether plugins are injected (`pluginsToInject`), then pass through or run the tool loop (JSON or
 * streaming), and record one usage row per completion, made safe before the answer's last byte.
 * Knows nothing of Koa or HTTP: it writes to a ResponseSink and throws errors it cannot answer
 * itself. The in-process completion (in-process.ts) decides with the same function.
 */
import { invalidRequest } from '../errors.ts';
import type { OrganizationsRepo } from '../storage/repos/organizations.ts';
import { createVersionedCache, type ConfigVersion } from '../storage/config-version.ts';
import type { PluginRuntime, PluginSummary } from '../plugins/runtime.ts';
import type { UsageRecorder } from '../usage/recorder.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { LoopEngine } from './loop/engine.ts';
import { passthroughChat } from './passthrough.ts';
import { resolveModel, type Aliases } from './models.ts';
import { holdLastWrite, type ResponseSink } from './sink.ts';
import type { ChatCall, CompletionOutcome } from './types.ts';

/** What the decision needs: the runtime, the config switch and the organisation's setting. */
export interface PluginChoice {
  /** `PLUGBOARD_PLUGINS_ENABLED`: false = a plain gateway. */
  readonly enabled: boolean;
  readonly runtime: PluginRuntime;
  /** The organisation's "inject plugins" setting, cached until the configuration changes. */
  injects(orgId: string): boolean;
}

export function createPluginChoice(deps: { enabled: boolean; runtime: PluginRuntime; orgs: OrganizationsRepo; configVersion: ConfigVersion }): PluginChoice {
  const injection = createVersionedCache<string, boolean>(deps.configVersion);
  return {
    enabled: deps.enabled,
    runtime: deps.runtime,
    injects: (orgId) => injection.get(orgId, () => deps.orgs.get(orgId)?.settings.pluginInjection !== false),
  };
}

/**
 * Seed 000's decision table, exactly, plus the refinements that can only ever remove plugins
 * (organisation setting, the key's plugin scope, the request's narrowing or a WhatsApp number's
 * grants). Returns the plugins to inject, or null: pass the request through untouched.
 *
 * | request state                              | behaviour                 |
 * | plugin runtime disabled in config          | passthrough               |
 * | request has its own tools[]                | passthrough, nothing run  |
 * | organisation has no usable plugins         | passthrough               |
 * | plugins usable and request omits tools[]   | inject and run the loop   |
 */
export function pluginsToInject(
  choice: PluginChoice, orgId: string, body: Record<string, unknown>, keyAllowed: readonly string[] | null, narrowTo: readonly string[] | null, askOrgSetting: boolean,
  inConversation = false,
): PluginSummary[] | null {
  // Plugin runtime disabled in config: passthrough.
  if (!choice.enabled) return null;
  // The request brings its own tools[]: passthrough, nothing run by the gateway.
  if (body.tools !== undefined && body.tools !== null) return null;
  // The organisation turned injection off (HTTP callers): passthrough.
  if (askOrgSetting && !choice.injects(orgId)) return null;
  // The organisation's plugins ∩ the key's scope ∩ the request's narrowing (or a number's grants):
  // none usable → passthrough; else inject them and run the loop.
  const plugins = choice.runtime.usablePlugins(orgId, { keyAllowed, narrowTo, inConversation });
  return plugins.length === 0 ? null : plugins;
}

export interface ChatDeps {
  pool: UpstreamPool;
  aliases: Aliases;
  recorder: UsageRecorder;
  plugins: PluginChoice;
  loop: LoopEngine;
  loopCap: number;
}

/** The few checks that keep garbage from reaching the upstream; everything else passes through. */
export function validateChatBody(body: Record<string, unknown>): void {
  if (typeof body.model !== 'string' || body.model.length === 0) {
    throw invalidRequest(body.model === undefined ? 'Missing required parameter: model.' : 'model must be a non-empty string.', 'model', body.model === undefined ? 'missing_required_parameter' : 'invalid_type');
  }
  if (!Array.isArray(body.messages)) {
    throw invalidRequest(body.messages === undefined ? 'Missing required parameter: messages.' : 'messages must be an array.', 'messages', body.messages === undefined ? 'missing_required_parameter' : 'invalid_type');
  }
  if (body.messages.length === 0) throw invalidRequest('messages must contain at least one message.', 'messages', 'empty_array');
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i] as { role?: unknown } | null;
    if (m === null || typeof m !== 'object' || Array.isArray(m) || typeof m.role !== 'string') {
      throw invalidRequest(`messages[${i}] must be an object with a string role.`, `messages[${i}]`, 'invalid_type');
    }
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean' && body.stream !== null) {
    throw invalidRequest('stream must be a boolean.', 'stream', 'invalid_type');
  }
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) {
    throw invalidRequest('tools must be an array.', 'tools', 'invalid_type');
  }
}

/** Requests the loop cannot serve with injected tools, refused clearly instead of half-served. */
function refuseUninjectable(body: Record<string, unknown>): void {
  if (typeof body.n === 'number' && body.n > 1) {
    throw invalidRequest('n > 1 cannot be combined with plugin tools run by the gateway. Send n = 1, or send your own tools[] to opt out of plugins.', 'n', 'unsupported_with_plugins');
  }
}

/** Injects the plugins' tools and runs the loop into the caller's answer (JSON or streaming). */
async function injectAndLoop(deps: ChatDeps, call: ChatCall, plugins: PluginSummary[], sink: ResponseSink): Promise<CompletionOutcome> {
  refuseUninjectable(call.body);
  const body = { ...call.body };
  resolveModel(body, deps.aliases);
  const toolSet = deps.plugins.runtime.buildToolSet(plugins);
  if (toolSet.omitted.length) sink.header?.('x-plugboard-tools-omitted', String(toolSet.omitted.length));
  const req = {
    orgId: call.key.orgId, keyId: call.key.id, instanceId: null, customerRef: null, senderInstanceId: call.senderInstanceId ?? null,
    requestId: call.requestId, body, toolSet, loopCap: deps.loopCap, signal: call.signal,
  };
  if (body.stream === true) {
    const so = body.stream_options as { include_usage?: unknown } | undefined;
    return deps.loop.stream(req, sink, so?.include_usage === true);
  }
  const { completion, outcome } = await deps.loop.json(req);
  sink.json(200, deps.pool.echo.redact(JSON.stringify(completion)));
  return outcome;
}

/**
 * Answers one completion and records its usage row. The row (with the rows of its model turns and
 * tool calls, recorded earlier) is safe before the response's last write leaves: the sink holds
 * that write until the recorder's commit has returned (see usage/recorder.ts).
 */
export async function completeChat(deps: ChatDeps, call: ChatCall, sink: ResponseSink): Promise<void> {
  validateChatBody(call.body);
  const started = performance.now();
  const stream = call.body.stream === true;
  const requestedModel = call.body.model as string;
  const held = holdLastWrite(sink);
  let outcome: CompletionOutcome;
  try {
    const plugins = pluginsToInject(deps.plugins, call.key.orgId, call.body, call.key.allowedPluginIds, call.narrowTo ?? null, true);
    outcome = plugins === null ? await passthroughChat(deps.pool, deps.aliases, call, held) : await injectAndLoop(deps, call, plugins, held);
  } catch (err) {
    const e = err as { status?: number; code?: string };
    // The caller renders the error after this: the error row is safe before it.
    deps.recorder.commit({
      orgId: call.key.orgId, requestId: call.requestId, kind: 'completion', keyId: call.key.id, model: requestedModel,
      status: 'error', httpStatus: e.status ?? 500, errorClass: e.code ?? 'internal_error', latencyMs: performance.now() - started,
      stream, createdAt: Date.now(),
    });
    // Only a fault after the answer's last write was held lands here with one: the caller still gets that answer.
    if (held.holding) held.release();
    throw err;
  }
  // One journal append per event-loop turn for every completion ending in it (usage/recorder.ts).
  await deps.recorder.commitSoon({
    orgId: call.key.orgId, requestId: call.requestId, kind: 'completion', keyId: call.key.id, model: outcome.model ?? requestedModel,
    status: outcome.status, httpStatus: outcome.httpStatus, errorClass: outcome.errorClass, promptTokens: outcome.promptTokens,
    completionTokens: outcome.completionTokens, latencyMs: performance.now() - started, stream, createdAt: Date.now(),
  });
  held.release();
}
