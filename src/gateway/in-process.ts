/**
 * Completions for in-process callers (the WhatsApp reply worker): the same decision
 * (`pluginsToInject`, chat.ts) and the same loop engine as the HTTP gateway, never the HTTP
 * layer. The caller sees only the plugins it names — re-read before every model turn, so a
 * revoked grant takes effect on the next turn — and can never widen beyond the organisation's.
 * Its usage rows are safe before it gets the answer, as an HTTP caller's are.
 */
import type { ConfigVersion } from '../storage/config-version.ts';
import { pluginsToInject, type ChatDeps } from './chat.ts';
import { resolveModel } from './models.ts';
import { completeTurn } from './upstream-chat.ts';
import type { InProcessRequest, InProcessResult } from './types.ts';

export type { InProcessRequest, InProcessResult } from './types.ts';

export interface InProcessDeps extends ChatDeps {
  configVersion: ConfigVersion;
}

export function createInProcessCompletion(deps: InProcessDeps) {
  return async function complete(r: InProcessRequest): Promise<InProcessResult> {
    const started = performance.now();
    deps.configVersion.refresh();
    const body: Record<string, unknown> = { model: r.model, messages: r.messages };
    resolveModel(body, deps.aliases);
    const granted = (): readonly string[] => (typeof r.enabledPluginIds === 'function' ? r.enabledPluginIds() : r.enabledPluginIds);
    // No key and no organisation setting here: the caller's list (a WhatsApp number's grants) is the scope.
    // A customer to act for makes it a conversation: conversation-only plugins (Escalations, Scheduling) may join.
    const decide = () => pluginsToInject(deps.plugins, r.orgId, body, null, granted(), false, r.customerRef !== null);
    const plugins = decide();
    const record = (status: 'ok' | 'error', p: number | null, c: number | null, errorClass: string | null): void =>
      deps.recorder.commit({
        orgId: r.orgId, requestId: r.requestId, kind: 'completion', instanceId: r.instanceId, model: body.model as string, status,
        httpStatus: status === 'ok' ? 200 : null, errorClass, promptTokens: p, completionTokens: c, latencyMs: performance.now() - started, createdAt: Date.now(),
      });
    try {
      if (plugins === null) {
        const completion = await completeTurn(deps.pool, body, r.signal);
        const u = completion.usage;
        record('ok', u?.prompt_tokens ?? null, u?.completion_tokens ?? null, null);
        return { content: deps.pool.echo.redact(completion.choices?.[0]?.message?.content ?? ''), promptTokens: u?.prompt_tokens ?? null, completionTokens: u?.completion_tokens ?? null, turns: 1 };
      }
      const runtime = deps.plugins.runtime;
      const { completion, outcome, turns } = await deps.loop.json({
        orgId: r.orgId, keyId: null, instanceId: r.instanceId, customerRef: r.customerRef, requestId: r.requestId, body,
        toolSet: runtime.buildToolSet(plugins), loopCap: r.loopCap ?? deps.loopCap, signal: r.signal,
        refreshToolSet: typeof r.enabledPluginIds === 'function' ? () => runtime.buildToolSet(decide() ?? []) : undefined,
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
