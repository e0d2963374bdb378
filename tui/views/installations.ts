/**
 * Pure views of MCP integrations: table rows, the detail text of one integration, and the parsing
 * of the "add integration" form into a request body. Never import blessed or call the API.
 */
import type { CreateMcpIntegrationRequest, McpIntegration, McpTransport, UpdateMcpIntegrationRequest } from '../../src/shared/api.ts';
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
    `Timeout    ${i.timeoutMs === null ? 'default' : `${i.timeoutMs} ms`}`,
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

/** One line per catalog tool: allowed mark, name, its rate limit, first line of its description. */
export function toolRows(i: McpIntegration): string[] {
  return i.tools.map((t) => {
    const limit = i.toolRateLimits[t.name];
    const lim = limit ? `${limit.points}/${limit.durationSeconds}s` : 'no limit';
    return `[${t.allowed ? 'x' : ' '}] ${clean(t.name)}  (${lim})  ${clean(t.description?.split('\n')[0], '')}`;
  });
}

/** The allowlist after toggling `name` (null = every tool allowed; back to null when all are allowed again). */
export function toggleTool(i: McpIntegration, name: string): string[] | null {
  const all = i.tools.map((t) => t.name);
  const current = new Set(i.toolAllowlist ?? all);
  if (current.has(name)) current.delete(name);
  else current.add(name);
  const next = all.filter((n) => current.has(n));
  return next.length === all.length ? null : next;
}

/** The per-tool limits after setting `name` to `points` per `seconds` (empty points: removed). */
export function parseToolLimit(i: McpIntegration, name: string, f: { points: string; seconds: string }): { ok: true; limits: Record<string, { points: number; durationSeconds: number }> } | { ok: false; error: string } {
  const limits = { ...i.toolRateLimits };
  const p = f.points.trim();
  if (!p) {
    delete limits[name];
    return { ok: true, limits };
  }
  if (!/^\d+$/.test(p) || Number(p) < 1) return { ok: false, error: 'Calls must be a whole number ≥ 1 (empty removes the limit).' };
  const s = f.seconds.trim() || '60';
  if (!/^\d+$/.test(s) || Number(s) < 1) return { ok: false, error: 'Seconds must be a whole number ≥ 1.' };
  limits[name] = { points: Number(p), durationSeconds: Number(s) };
  return { ok: true, limits };
}

export interface IntegrationEditForm {
  displayName: string;
  url: string;
  timeoutMs: string;
  credentialType: string;
  headerName: string;
  secret: string;
}

/** The PATCH of the edit form: only what changed; an empty secret keeps the stored credential, `none` removes it. */
export function parseIntegrationEdit(i: McpIntegration, f: IntegrationEditForm, transport: McpTransport): { ok: true; patch: UpdateMcpIntegrationRequest } | { ok: false; error: string } {
  const patch: UpdateMcpIntegrationRequest = {};
  const name = f.displayName.trim();
  if (!name) return { ok: false, error: 'The display name is required.' };
  if (name !== i.displayName) patch.displayName = name;
  const url = f.url.trim();
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, error: 'The URL must start with http:// or https://.' };
  } catch {
    return { ok: false, error: 'The URL is not a valid URL.' };
  }
  if (url !== i.url) patch.url = url;
  if (transport !== i.transport) patch.transport = transport;
  const t = f.timeoutMs.trim();
  const timeout = t === '' || t === 'default' ? null : /^\d+$/.test(t) ? Number(t) : NaN;
  if (Number.isNaN(timeout)) return { ok: false, error: 'Timeout must be milliseconds (a whole number) or empty for the default.' };
  if (timeout !== i.timeoutMs) patch.timeoutMs = timeout;
  const type = f.credentialType.trim().toLowerCase() || (i.credential?.type ?? 'none');
  if (!['none', 'bearer', 'header'].includes(type)) return { ok: false, error: 'Credential must be none, bearer or header.' };
  if (type === 'none') {
    if (i.credential) patch.credential = null;
  } else if (f.secret.trim()) {
    if (type === 'bearer') patch.credential = { type: 'bearer', token: f.secret.trim() };
    else {
      if (!f.headerName.trim()) return { ok: false, error: 'A header credential needs the header name.' };
      patch.credential = { type: 'header', name: f.headerName.trim(), value: f.secret.trim() };
    }
  } else if (type !== (i.credential?.type ?? 'none')) return { ok: false, error: `A ${type} credential needs its secret.` };
  return { ok: true, patch };
}
