/**
 * Plugin orchestration entry points: for the HTTP gateway path (decides, then runs the tool loop
 * into the caller's response) and in-process (the WhatsApp reply worker), which sees only the
 * plugins it names and can never widen beyond the organisation's.
 */
import { invalidRequest } from '../errors.ts';
import type { OrganizationsRepo } from '../storage/repos/organizations.ts';
import type { PluginRuntime } from '../plugins/runtime.ts';
import type { ChatCall, Orchestrator } from './chat.ts';
import { decide } from './decide.ts';
import { resolveModel, type CompletionOutcome } from './passthrough.ts';
import type { ToolLoop } from './tool-loop.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import { completeTurn } from './upstream-chat.ts';
import type { UsageRecorder } from '../usage/recorder.ts';
import { createVersionedCache, type ConfigVersion } from '../storage/config-version.ts';

export interface OrchestrationDeps {
  pluginsEnabled: boolean;
  loopCap: number;
  aliases: Readonly<Record<string, string>>;
  orgs: OrganizationsRepo;
  runtime: PluginRuntime;
  loop: ToolLoop;
  pool: UpstreamPool;
  recorder: UsageRecorder;
  configVersion: ConfigVersion;
}

function checkInjectable(body: Record<string, unknown>): void {
  if (typeof body.n === 'number' && body.n > 1) {
    throw invalidRequest('n > 1 cannot be combined with plugin tools run by the gateway. Send n = 1, or send your own tools[] to opt out of plugins.', 'n', 'unsupported_with_plugins');
  }
}

export function createHttpOrchestrator(deps: OrchestrationDeps): Orchestrator {
  // The organisation's injection setting is read on every request: cached until configuration changes.
  const injection = createVersionedCache<string, boolean>(deps.configVersion);
  return async function orchestrate(call: ChatCall, sink): Promise<CompletionOutcome | null> {
    if (!deps.pluginsEnabled) return null;
    const orgInjection = injection.get(call.key.orgId, () => deps.orgs.get(call.key.orgId)?.settings.pluginInjection !== false);
    const decision = decide(deps.runtime, {
      pluginsEnabled: deps.pluginsEnabled, body: call.body, orgId: call.key.orgId, orgInjection,
      keyAllowed: call.key.allowedPluginIds, narrowTo: call.narrowTo ?? null,
    });
    if (decision.mode === 'passthrough') return null;
    checkInjectable(call.body);
    const body = { ...call.body };
    resolveModel(body, deps.aliases);
    const toolSet = deps.runtime.buildToolSet(decision.plugins);
    const req = {
      orgId: call.key.orgId, keyId: call.key.id, instanceId: null, customerRef: null, senderInstanceId: call.senderInstanceId ?? null, requestId: call.requestId, body, toolSet,
      loopCap: deps.loopCap, signal: call.signal,
    };
    if (toolSet.omitted.length) sink.header?.('x-plugboard-tools-omitted', String(toolSet.omitted.length));
    if (body.stream === true) {
      const so = body.stream_options as { include_usage?: unknown } | undefined;
      return deps.loop.runStreaming(req, sink, so?.include_usage === true);
    }
    const { completion, outcome } = await deps.loop.run(req);
    sink.json(200, deps.pool.echo.redact(JSON.stringify(completion)));
    return outcome;
  };
}

export interface InProcessRequest {
  orgId: string;
  instanceId: string | null;
  customerRef: string | null;
  requestId: string;
  model: string;
  messages: Array<Record<string, unknown>>;
  /**
   * Only these plugins (ids or slugs) are visible; an empty list means none. A function is asked
   * again before every model turn, so a revoked grant takes effect on the next turn.
   */
  enabledPluginIds: readonly string[] | (() => readonly string[]);
  loopCap?: number;
  signal: AbortSignal;
}

export interface InProcessResult {
  content: string;
  promptTokens: number | null;
  completionTokens: number | null;
  turns: number;
}

/** A completion for in-process callers: the same decision table and loop, never the HTTP layer. */
export function createInProcessCompletion(deps: OrchestrationDeps) {
  return async function complete(r: InProcessRequest): Promise<InProcessResult> {
    const started = performance.now();
    deps.configVersion.refresh();
    const body: Record<string, unknown> = { model: r.model, messages: r.messages };
    resolveModel(body, deps.aliases);
    const granted = (): readonly string[] => (typeof r.enabledPluginIds === 'function' ? r.enabledPluginIds() : r.enabledPluginIds);
    const decideNow = () => decide(deps.runtime, { pluginsEnabled: deps.pluginsEnabled, body, orgId: r.orgId, orgInjection: true, keyAllowed: null, narrowTo: granted() });
    const decision = decideNow();
    // The caller gets the answer once its usage rows are safe, as an HTTP caller does (usage/recorder.ts).
    const record = (status: 'ok' | 'error', p: number | null, c: number | null, errorClass: string | null): void =>
      deps.recorder.commit({
        orgId: r.orgId, requestId: r.requestId, kind: 'completion', instanceId: r.instanceId, model: body.model as string, status,
        httpStatus: status === 'ok' ? 200 : null, errorClass, promptTokens: p, completionTokens: c, latencyMs: performance.now() - started, createdAt: Date.now(),
      });
    try {
      if (decision.mode === 'passthrough') {
        const completion = await completeTurn(deps.pool, body, r.signal);
        const u = completion.usage;
        record('ok', u?.prompt_tokens ?? null, u?.completion_tokens ?? null, null);
        return { content: deps.pool.echo.redact(completion.choices?.[0]?.message?.content ?? ''), promptTokens: u?.prompt_tokens ?? null, completionTokens: u?.completion_tokens ?? null, turns: 1 };
      }
      const { completion, outcome, turns } = await deps.loop.run({
        orgId: r.orgId, keyId: null, instanceId: r.instanceId, customerRef: r.customerRef, requestId: r.requestId, body,
        toolSet: deps.runtime.buildToolSet(decision.plugins), loopCap: r.loopCap ?? deps.loopCap, signal: r.signal,
        refreshToolSet: typeof r.enabledPluginIds === 'function' ? () => {
          const d = decideNow();
          return deps.runtime.buildToolSet(d.mode === 'orchestrate' ? d.plugins : []);
        } : undefined,
      });
      record('ok', outcome.promptTokens, outcome.completionTokens, null);
      return { content: deps.pool.echo.redact(completion.choices?.[0]?.message?.content ?? ''), promptTokens: outcome.promptTokens, completionTokens: outcome.completionTokens, turns };
    } catch (err) {
      record('error', null, null, (err as { code?: string }).code ?? 'internal_error');
      throw err;
    }
  };
}
export type InProcessCompletion = ReturnType<typeof createInProcessCompletion>;
