/**
 * Seed 000's decision table, exactly, plus the "may inject" refinements: organisation setting,
 * per-key plugin scope and per-request narrowing, which can only ever remove plugins.
 *
 * | request state                              | behaviour                 |
 * | plugin runtime disabled in config          | passthrough               |
 * | request has its own tools[]                | passthrough, nothing run  |
 * | organisation has no usable plugins         | passthrough               |
 * | plugins usable and request omits tools[]   | inject and run the loop   |
 */
import type { PluginRuntime, PluginSummary } from '../plugins/runtime.ts';

export type Decision =
  | { mode: 'passthrough'; reason: 'plugins_disabled' | 'client_tools' | 'injection_off' | 'no_plugins' }
  | { mode: 'orchestrate'; plugins: PluginSummary[] };

export interface DecideInput {
  pluginsEnabled: boolean;
  body: Record<string, unknown>;
  orgId: string;
  orgInjection: boolean;
  keyAllowed: readonly string[] | null;
  /** Request or WhatsApp narrowing (plugin ids or slugs); null = none. */
  narrowTo: readonly string[] | null;
}

export function decide(runtime: PluginRuntime, input: DecideInput): Decision {
  if (!input.pluginsEnabled) return { mode: 'passthrough', reason: 'plugins_disabled' };
  if (input.body.tools !== undefined && input.body.tools !== null) return { mode: 'passthrough', reason: 'client_tools' };
  if (!input.orgInjection) return { mode: 'passthrough', reason: 'injection_off' };
  const plugins = runtime.usablePlugins(input.orgId, { keyAllowed: input.keyAllowed, narrowTo: input.narrowTo });
  if (plugins.length === 0) return { mode: 'passthrough', reason: 'no_plugins' };
  return { mode: 'orchestrate', plugins };
}

/** Parses `X-Plugboard-Plugins: id-or-slug, …` (`none` = no plugins for this request). */
export function parseNarrowingHeader(value: string | undefined): string[] | null {
  if (value === undefined || value.trim() === '') return null;
  if (value.trim().toLowerCase() === 'none') return [];
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}
