/**
 * Pure views of WhatsApp numbers: table rows, the detail with the webhook URL on a line of its own
 * (so it can be selected and copied whole), the warning when that URL cannot be reached by Twilio
 * (loopback, private or link-local address, `localhost`, plain http), and the create/edit forms'
 * parsing. Never import blessed or do I/O.
 */
import type { CreateWhatsAppInstanceRequest, UpdateWhatsAppInstanceRequest, WhatsAppInstance } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const NUMBER_COLUMNS: Column[] = [
  { title: 'NAME', min: 10 },
  { title: 'SENDER', width: 22 },
  { title: 'STATUS', width: 7 },
  { title: 'MODEL', width: 14, drop: 1 },
  { title: 'UPDATED', width: 14, drop: 2 },
];

export function numberRow(i: WhatsAppInstance): string[] {
  return [clean(i.name), clean(i.sender), i.status, clean(i.model), shortTime(i.updatedAt)];
}

function privateV4(host: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
}

/** Why Twilio cannot call `url`, or null when it looks public (https on a public name or address). */
export function publicUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'it is not a valid URL';
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '::' || privateV4(host)) {
    return `${host} is a loopback or private address that Twilio cannot reach`;
  }
  if (/^(fc|fd|fe8|fe9|fea|feb)[0-9a-f]*:/.test(host)) return `${host} is a private IPv6 address that Twilio cannot reach`;
  if (host.endsWith('.local') || host.endsWith('.internal') || host.endsWith('.lan') || !host.includes('.')) return `${host} is a local name that Twilio cannot resolve`;
  if (u.protocol !== 'https:') return 'it is plain http: Twilio needs https';
  return null;
}

/** The detail panel's lines; the webhook URL stands alone on its line (copy it with the mouse or tmux). */
export function numberDetail(i: WhatsAppInstance): { lines: string[]; warning: string | null } {
  const problem = publicUrlProblem(i.webhookUrl);
  const warning = problem
    ? `WARNING: Twilio cannot call this URL: ${problem}. Set PLUGBOARD_PUBLIC_BASE_URL to the public https address of a reverse proxy or tunnel in front of Plugboard.`
    : null;
  // The URL comes first: on a short terminal it must be visible without scrolling.
  const lines = [
    'Webhook URL (Twilio: "When a message comes in", POST):',
    clean(i.webhookUrl),
    '',
    `Status callback: ${clean(i.statusCallbackUrl)}`,
    `Sender: ${clean(i.sender)}   Status: ${i.status}   Model: ${clean(i.model)}   Loop cap: ${i.loopCap ?? 'default'}`,
    `Twilio account: ${clean(i.twilioAccountSid)}   Messaging service: ${clean(i.messagingServiceSid)}   Auth token: configured`,
    `System prompt: ${clean(i.systemPrompt, '(none)')}`,
    `Id: ${i.id}   Created: ${shortTime(i.createdAt)}   Updated: ${shortTime(i.updatedAt)}`,
  ];
  return { lines, warning };
}

export type NumberFormField = 'name' | 'sender' | 'twilioAccountSid' | 'twilioAuthToken' | 'model' | 'systemPrompt' | 'messagingServiceSid' | 'loopCap';
export type NumberForm = Record<NumberFormField, string>;

/** `+1415…` becomes `whatsapp:+1415…` (what Twilio calls the sender). */
export function normaliseSender(s: string): string {
  const t = s.trim().replace(/\s+/g, '');
  return /^\+\d/.test(t) ? `whatsapp:${t}` : t;
}

function loopCap(s: string): { ok: true; value: number | null } | { ok: false; error: string } {
  const t = s.trim();
  if (!t || t === 'default') return { ok: true, value: null };
  if (!/^\d+$/.test(t)) return { ok: false, error: 'Loop cap must be a whole number (or empty for the default).' };
  return { ok: true, value: Number(t) };
}

export function parseCreateNumber(f: NumberForm): { ok: true; body: CreateWhatsAppInstanceRequest } | { ok: false; error: string } {
  const missing = (['name', 'sender', 'twilioAccountSid', 'twilioAuthToken', 'model'] as const).filter((k) => !f[k].trim());
  if (missing.length) return { ok: false, error: `Required: ${missing.join(', ')}.` };
  const cap = loopCap(f.loopCap ?? '');
  if (!cap.ok) return cap;
  const body: CreateWhatsAppInstanceRequest = {
    name: f.name.trim(), sender: normaliseSender(f.sender), twilioAccountSid: f.twilioAccountSid.trim(), twilioAuthToken: f.twilioAuthToken.trim(),
    model: f.model.trim(), loopCap: cap.value,
  };
  if (f.systemPrompt.trim()) body.systemPrompt = f.systemPrompt.trim();
  if (f.messagingServiceSid.trim()) body.messagingServiceSid = f.messagingServiceSid.trim();
  return { ok: true, body };
}

/** Only what changed is sent; an empty auth token keeps the stored one. */
export function parseEditNumber(i: WhatsAppInstance, f: NumberForm): { ok: true; patch: UpdateWhatsAppInstanceRequest } | { ok: false; error: string } {
  const cap = loopCap(f.loopCap);
  if (!cap.ok) return cap;
  const patch: UpdateWhatsAppInstanceRequest = {};
  if (f.name.trim() !== i.name) patch.name = f.name.trim();
  if (normaliseSender(f.sender) !== i.sender) patch.sender = normaliseSender(f.sender);
  if (f.model.trim() !== i.model) patch.model = f.model.trim();
  if (f.systemPrompt !== i.systemPrompt) patch.systemPrompt = f.systemPrompt;
  if ((f.messagingServiceSid.trim() || null) !== i.messagingServiceSid) patch.messagingServiceSid = f.messagingServiceSid.trim() || null;
  if (cap.value !== i.loopCap) patch.loopCap = cap.value;
  if (f.twilioAccountSid.trim() !== i.twilioAccountSid) patch.twilioAccountSid = f.twilioAccountSid.trim();
  if (f.twilioAuthToken.trim()) patch.twilioAuthToken = f.twilioAuthToken.trim();
  return { ok: true, patch };
}
