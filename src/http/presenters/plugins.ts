/**
 * Runtime view → API JSON for the organisation's plugins (any kind) and one plugin's tools in
 * OpenAI's function shape. Never includes an installation's settings or credential.
 */
import type * as Api from '../../shared/api.ts';
import type { OpenAiFunctionTool, PluginSummary } from '../../plugins/runtime.ts';

export function presentPlugin(p: PluginSummary): Api.Plugin {
  return { id: p.handle.id, kind: p.handle.kind, slug: p.handle.slug, displayName: p.handle.displayName, description: p.handle.description, toolCount: p.toolCount };
}

export function presentPluginTool(t: OpenAiFunctionTool): Api.PluginTool {
  return { name: t.function.name, description: t.function.description, parameters: t.function.parameters };
}
