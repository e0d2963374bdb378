/**
 * Pure views of gateway keys: table rows and the one-time secret message. Never import blessed
 * or call the API, and never keep a secret beyond the string it returns.
 */
import type { CreatedGatewayKey, CreateKeyRequest, GatewayKey, Plugin } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const KEY_COLUMNS: Column[] = [
  { title: 'NAME', min: 10 },
  { title: 'KEY', width: 20 },
  { title: 'STATUS', width: 8 },
  { title: 'CREATED', width: 14, drop: 2 },
  { title: 'LAST USED', width: 14 },
  { title: 'RPM', width: 7, align: 'right', drop: 1 },
  { title: 'PLUGINS', width: 16, drop: 3 },
];

/** `all` or the slugs of the allowed plugins (ids the TUI does not know shown as ids). */
export function allowedLabel(ids: readonly string[] | null, plugins: readonly Plugin[]): string {
  if (ids === null) return 'all';
  if (!ids.length) return 'none';
  return ids.map((id) => clean(plugins.find((p) => p.id === id)?.slug ?? id)).join(',');
}

/** The key's limits in one line (the detail of the selected key). */
export function keyLimits(k: GatewayKey, plugins: readonly Plugin[]): string {
  return `${clean(k.name, '(unnamed)')}: ${k.rateLimitRpm === null ? 'default rate limit' : `${k.rateLimitRpm} requests/min`}; plugins: ${allowedLabel(k.allowedPluginIds, plugins)}`;
}

export interface KeyForm {
  name: string;
  rpm: string;
  plugins: string;
}

/** The create/update body of the key form: empty RPM = default; plugins `all` (or empty), `none`, or slugs separated by commas. */
export function parseKeyForm(f: KeyForm, plugins: readonly Plugin[]): { ok: true; body: CreateKeyRequest } | { ok: false; error: string } {
  const body: CreateKeyRequest = {};
  if (f.name.trim()) body.name = f.name.trim();
  const rpm = f.rpm.trim();
  if (rpm && rpm !== 'default') {
    if (!/^\d+$/.test(rpm) || Number(rpm) < 1) return { ok: false, error: 'Requests per minute must be a whole number ≥ 1 (empty: the default).' };
    body.rateLimitRpm = Number(rpm);
  } else body.rateLimitRpm = null;
  const list = f.plugins.trim();
  if (!list || list === 'all') body.allowedPluginIds = null;
  else if (list === 'none') body.allowedPluginIds = [];
  else {
    const ids: string[] = [];
    for (const slug of list.split(/[,\s]+/).filter(Boolean)) {
      const p = plugins.find((x) => x.slug === slug || x.id === slug);
      if (!p) return { ok: false, error: `No plugin "${clean(slug)}" (known: ${plugins.map((x) => clean(x.slug)).join(', ') || 'none'}).` };
      ids.push(p.id);
    }
    body.allowedPluginIds = ids;
  }
  return { ok: true, body };
}

/** What a listing may show of a key: its display prefix and last four characters. */
export function maskedKey(k: Pick<GatewayKey, 'prefix' | 'last4'>): string {
  return `${clean(k.prefix)}…${clean(k.last4)}`;
}

export function keyRow(k: GatewayKey, plugins: readonly Plugin[] = []): string[] {
  return [clean(k.name, '(unnamed)'), maskedKey(k), k.status, shortTime(k.createdAt), shortTime(k.lastUsedAt), k.rateLimitRpm === null ? 'default' : String(k.rateLimitRpm), allowedLabel(k.allowedPluginIds, plugins)];
}

/** The one-time secret, with where applications send it (the gateway's OpenAI-compatible base URL). */
export function secretMessage(k: CreatedGatewayKey, baseUrl?: string, plugins: readonly Plugin[] = []): string {
  return [
    `Gateway key "${clean(k.name, '(unnamed)')}" created.`,
    '',
    k.key,
    '',
    'Copy it now: it is shown only this once.',
    ...(baseUrl ? [`Gateway base URL: ${clean(baseUrl.replace(/\/+$/, ''))}/v1`] : []),
    'Applications send it as "Authorization: Bearer <key>".',
    `Limits: ${k.rateLimitRpm === null ? 'default rate limit' : `${k.rateLimitRpm} requests/min`}; plugins: ${allowedLabel(k.allowedPluginIds, plugins)}`,
  ].join('\n');
}
