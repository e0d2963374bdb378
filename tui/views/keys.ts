/**
 * Pure views of gateway keys: table rows and the one-time secret message. Never import blessed
 * or call the API, and never keep a secret beyond the string it returns.
 */
import type { CreatedGatewayKey, GatewayKey } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const KEY_COLUMNS: Column[] = [
  { title: 'NAME', min: 10 },
  { title: 'KEY', width: 20 },
  { title: 'STATUS', width: 8 },
  { title: 'CREATED', width: 14, drop: 2 },
  { title: 'LAST USED', width: 14 },
  { title: 'RPM', width: 7, align: 'right', drop: 1 },
];

/** What a listing may show of a key: its display prefix and last four characters. */
export function maskedKey(k: Pick<GatewayKey, 'prefix' | 'last4'>): string {
  return `${clean(k.prefix)}…${clean(k.last4)}`;
}

export function keyRow(k: GatewayKey): string[] {
  return [clean(k.name, '(unnamed)'), maskedKey(k), k.status, shortTime(k.createdAt), shortTime(k.lastUsedAt), k.rateLimitRpm === null ? 'default' : String(k.rateLimitRpm)];
}

export function secretMessage(k: CreatedGatewayKey): string {
  return [
    `Gateway key "${clean(k.name, '(unnamed)')}" created.`,
    '',
    k.key,
    '',
    'Copy it now: it is shown only this once.',
    'Applications send it as "Authorization: Bearer <key>".',
  ].join('\n');
}
