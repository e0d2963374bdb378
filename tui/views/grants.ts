/**
 * Pure views of WhatsApp number instances and their plugin grants (nothing is granted by
 * default), plus the toggle that computes the next `enabledPluginIds`. Never import blessed or
 * call the API.
 */
import type { Plugin, WhatsAppInstance } from '../../src/shared/api.ts';
import { clean } from './text.ts';

export const WHATSAPP_UNAVAILABLE = 'WhatsApp channel not available on this server';

export function instanceLine(i: WhatsAppInstance): string {
  return `${clean(i.name)}  ${clean(i.sender)}  [${clean(i.status)}]`;
}

export function grantLine(p: Plugin, enabled: readonly string[]): string {
  return `[${enabled.includes(p.id) ? 'x' : ' '}] ${clean(p.slug)}  ${clean(p.displayName)} (${p.toolCount} tools)`;
}

/** The grant list after toggling `pluginId`, in the order of `plugins` (ids the TUI does not know are kept). */
export function toggleGrant(enabled: readonly string[], pluginId: string, plugins: readonly Plugin[]): string[] {
  const set = new Set(enabled);
  if (set.has(pluginId)) set.delete(pluginId);
  else set.add(pluginId);
  const known = plugins.map((p) => p.id).filter((id) => set.has(id));
  const unknown = [...set].filter((id) => !plugins.some((p) => p.id === id));
  return [...known, ...unknown];
}
