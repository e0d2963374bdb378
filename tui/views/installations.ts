/**
 * Pure views of MCP integrations: table rows, the detail text of one integration, and the parsing
 * of the "add integration" form into a request body. Never import blessed or call the API.
 */
import type { CreateMcpIntegrationRequest, McpIntegration, McpTransport } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const INTEGRATION_COLUMNS: Column[] = [
  { title: 'SLUG', width: 16 },
  { title: 'NAME', min: 10 },
  { title: 'STATUS', width: 8 },
  { title: 'HEALTH', width: 10 },
  { title: 'TOOLS', width: 5, align: 'right' },
  { title: 'TRANSPORT', width: 15, drop: 1 },
];

/** `off` when disabled, else `connected`, `error` (last attempt failed) or `idle` (no live session yet). */
export function healthLabel(i: Pick<McpIntegration, 'status' | 'health'>): string {
  if (i.status === 'disabled') return 'off';
  if (i.health.connected) return 'connected';
  if (i.health.lastError && (!i.health.lastSuccessAt || (i.health.lastErrorAt ?? '') >= i.health.lastSuccessAt)) return 'error';
  return 'idle';
}

export function integrationRow(i: McpIntegration): string[] {
  return [clean(i.slug), clean(i.displayName), i.status, healthLabel(i), String(i.toolCount), clean(i.resolvedTransport ?? i.transport)];
}

/** The detail panel: endpoint, health and the tool catalog (allowed tools first marked ✓). */
export function integrationDetail(i: McpIntegration): string[] {
  const lines = [
    `${clean(i.displayName)} (${clean(i.slug)}) — ${i.status}`,
    `URL        ${clean(i.url)}`,
    `Transport  ${i.transport}${i.resolvedTransport ? ` → ${clean(i.resolvedTransport)}` : ''}`,
    `Credential ${i.credential ? `${i.credential.type}${i.credential.name ? ` ${clean(i.credential.name)}` : ''} (configured)` : 'none'}`,
    `Catalog    ${i.toolCount} of ${i.tools.length} tools allowed, fetched ${shortTime(i.catalogFetchedAt)}`,
    `Health     ${healthLabel(i)}; last ok ${shortTime(i.health.lastSuccessAt)}`,
  ];
  if (i.health.lastError) lines.push(`Last error ${shortTime(i.health.lastErrorAt)} ${clean(i.health.lastError)}`);
  if (i.description) lines.push('', clean(i.description));
  lines.push('', 'Tools:');
  for (const t of i.tools) lines.push(`${t.allowed ? '✓' : '✗'} ${clean(t.prefixedName)}  ${clean(t.description?.split('\n')[0], '')}`);
  for (const s of i.skippedTools) lines.push(`! ${clean(s.name)} skipped: ${clean(s.reason)}`);
  if (i.tools.length === 0 && i.skippedTools.length === 0) lines.push('(no tools)');
  return lines;
}

export const TRANSPORTS: readonly McpTransport[] = ['auto', 'streamable_http', 'sse'];

export interface IntegrationForm {
  slug: string;
  displayName: string;
  url: string;
  transport: string;
  token: string;
}

export type ParsedForm = { ok: true; body: CreateMcpIntegrationRequest } | { ok: false; error: string };

/** Checks what the TUI can check before sending (the server validates everything again). */
export function parseIntegrationForm(form: IntegrationForm): ParsedForm {
  const slug = form.slug.trim();
  const displayName = form.displayName.trim();
  const url = form.url.trim();
  const transport = (form.transport.trim() || 'auto') as McpTransport;
  const token = form.token.trim();
  if (!slug) return { ok: false, error: 'The slug is required.' };
  if (!displayName) return { ok: false, error: 'The display name is required.' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: 'The URL is not a valid URL.' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { ok: false, error: 'The URL must start with http:// or https://.' };
  if (!TRANSPORTS.includes(transport)) return { ok: false, error: `The transport must be one of ${TRANSPORTS.join(', ')}.` };
  const body: CreateMcpIntegrationRequest = { slug, displayName, url, transport };
  if (token) body.credential = { type: 'bearer', token };
  return { ok: true, body };
}
