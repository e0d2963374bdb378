/**
 * Row → API JSON for usage events (ids, counts, times and the already-redacted error class; never
 * prompt or answer text).
 */
import type * as Api from '../../shared/api.ts';
import type { UsageEvent } from '../../storage/repos/usage-events.ts';
import { iso } from './common.ts';

export function presentUsageEvent(e: UsageEvent): Api.UsageEvent {
  return {
    id: String(e.id),
    object: 'usage_event',
    kind: e.kind,
    requestId: e.requestId,
    keyId: e.keyId,
    instanceId: e.instanceId,
    pluginId: e.pluginId,
    tool: e.tool,
    model: e.model,
    status: e.status,
    httpStatus: e.httpStatus,
    errorClass: e.errorClass,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    latencyMs: e.latencyMs,
    stream: e.stream,
    createdAt: iso(e.createdAt),
  };
}
