/**
 * Pure views of the organisation's plugins and of one plugin's tools (as the model sees them).
 * Never import blessed or call the API.
 */
import type { Plugin, PluginTool } from '../../src/shared/api.ts';
import { clean, type Column } from './text.ts';

export const PLUGIN_COLUMNS: Column[] = [
  { title: 'SLUG', width: 16 },
  { title: 'NAME', min: 10 },
  { title: 'KIND', width: 11 },
  { title: 'TOOLS', width: 5, align: 'right' },
];

export function pluginRow(p: Plugin): string[] {
  return [clean(p.slug), clean(p.displayName), p.kind, String(p.toolCount)];
}

/** `name(a*, b)`: parameter names from a JSON Schema object, `*` marking required ones. */
export function signature(name: string, parameters: unknown): string {
  const schema = (parameters ?? {}) as { properties?: Record<string, unknown>; required?: unknown };
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const props = schema.properties && typeof schema.properties === 'object' ? Object.keys(schema.properties) : [];
  return `${clean(name)}(${props.map((p) => clean(p) + (required.has(p) ? '*' : '')).join(', ')})`;
}

export function toolLines(tools: PluginTool[]): string[] {
  if (tools.length === 0) return ['(no tools)'];
  const out: string[] = [];
  for (const t of tools) {
    out.push(signature(t.name, t.parameters));
    const first = t.description?.trim().split('\n')[0];
    if (first) out.push(`    ${clean(first)}`);
  }
  return out;
}
