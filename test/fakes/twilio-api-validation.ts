/**
 * Request validation of the Twilio fake (test/fakes/twilio-api.ts): the create parameters as
 * Twilio's OpenAPI description types them, and the cross-field rules Twilio enforces with its
 * documented error codes (21604, 21211, 21603, 21212, 21910, 21602/21619, 21617, 21623, 21620,
 * 21609, 21654, 21656). Pure functions; must never do I/O.
 */

const E164 = /^\+[1-9]\d{1,14}$/;
const BODY_MAX_CHARS = 1600;
const MAX_MEDIA = 10;
/** Twilio's "parameter validation failed" (80701); the spec names no code for type/pattern errors. */
const INVALID_PARAMETER = 80701;

/** A form as received: repeated keys become arrays. */
export type Form = Record<string, string | string[]>;

/** One create parameter as Twilio's OpenAPI file types it (checked against the file by a test). */
export type ParamRule =
  | { type: 'string' | 'phone' | 'uri' | 'date-time' | 'number' | 'integer' | 'boolean' }
  | { type: 'sid'; pattern: RegExp }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'array'; items: 'string' | 'uri' };

/** Every documented parameter of `POST …/Messages.json`. */
export const CREATE_PARAMS: Readonly<Record<string, ParamRule>> = {
  To: { type: 'phone' },
  StatusCallback: { type: 'uri' },
  ApplicationSid: { type: 'sid', pattern: /^AP[0-9a-fA-F]{32}$/ },
  MaxPrice: { type: 'number' },
  ProvideFeedback: { type: 'boolean' },
  Attempt: { type: 'integer' },
  ValidityPeriod: { type: 'integer' },
  ForceDelivery: { type: 'boolean' },
  ContentRetention: { type: 'enum', values: ['retain', 'discard'] },
  AddressRetention: { type: 'enum', values: ['retain', 'obfuscate'] },
  SmartEncoded: { type: 'boolean' },
  PersistentAction: { type: 'array', items: 'string' },
  TrafficType: { type: 'enum', values: ['free'] },
  ShortenUrls: { type: 'boolean' },
  ScheduleType: { type: 'enum', values: ['fixed'] },
  SendAt: { type: 'date-time' },
  SendAsMms: { type: 'boolean' },
  ContentVariables: { type: 'string' },
  RiskCheck: { type: 'enum', values: ['enable', 'disable'] },
  From: { type: 'phone' },
  FallbackFrom: { type: 'phone' },
  MessagingServiceSid: { type: 'sid', pattern: /^MG[0-9a-fA-F]{32}$/ },
  Body: { type: 'string' },
  MediaUrl: { type: 'array', items: 'uri' },
  ContentSid: { type: 'sid', pattern: /^HX[0-9a-fA-F]{32}$/ },
};

/** An error Twilio would answer with: HTTP status plus Twilio code. */
export class TwilioError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
export const bad = (code: number, message: string) => new TwilioError(400, code, message);

/** Validates a create form the way Twilio does; returns the typed values by name. */
export function validateCreate(form: Form): Record<string, string | string[]> {
  const p: Record<string, string | string[]> = {};
  for (const [name, rule] of Object.entries(CREATE_PARAMS)) {
    const raw = form[name];
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (rule.type === 'array') p[name] = values;
    else p[name] = values[0];
    for (const v of rule.type === 'array' ? values : [values[0]]) checkType(name, rule, v);
  }
  const to = p.To as string | undefined;
  if (!to) throw bad(21604, "A 'To' phone number is required.");
  if (!isAddress(to)) throw bad(21211, `The 'To' number ${to} is not a valid phone number.`);
  const from = p.From as string | undefined;
  if (!from && !p.MessagingServiceSid) throw bad(21603, "A 'From' phone number is required.");
  if (from && !isAddress(from) && !/^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/.test(from) && !/^\d{3,8}$/.test(from)) {
    throw bad(21212, `The 'From' number ${from} is not a valid phone number, shortcode, or alphanumeric sender ID.`);
  }
  if (from && from.startsWith('whatsapp:') !== to.startsWith('whatsapp:')) {
    throw bad(21910, 'Invalid From and To pair. From and To should be of the same channel');
  }
  const body = p.Body as string | undefined;
  const media = (p.MediaUrl as string[] | undefined) ?? [];
  if (!body && media.length === 0 && !p.ContentSid) {
    throw p.MessagingServiceSid && !from
      ? bad(21619, 'A Message Body, Media URL or Content SID is required')
      : bad(21602, 'Message body is required.');
  }
  if (body && body.length > BODY_MAX_CHARS) throw bad(21617, 'The concatenated message body exceeds the 1600 character limit.');
  if (media.length > MAX_MEDIA) throw bad(21623, 'The number of media files exceeds the allowed limit of 10.');
  const vars = p.ContentVariables as string | undefined;
  if (vars !== undefined) {
    if (!p.ContentSid) throw bad(21654, 'ContentSid Required');
    let parsed: unknown;
    try {
      parsed = JSON.parse(vars);
    } catch {
      throw bad(21656, 'The ContentVariables Parameter is invalid.');
    }
    const ok = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) &&
      Object.values(parsed).every((v) => (typeof v === 'string' && v !== '') || typeof v === 'number');
    if (!ok) throw bad(21656, 'The ContentVariables Parameter is invalid.');
  }
  if (p.ShortenUrls === 'true' && !p.MessagingServiceSid) throw bad(INVALID_PARAMETER, "'ShortenUrls' requires 'MessagingServiceSid'.");
  return p;
}

function checkType(name: string, rule: ParamRule, v: string): void {
  const invalid = () => bad(INVALID_PARAMETER, `'${name}' is invalid.`);
  switch (rule.type) {
    case 'sid': if (!rule.pattern.test(v)) throw invalid(); return;
    case 'enum': if (!rule.values.includes(v)) throw invalid(); return;
    case 'boolean': if (!/^(true|false)$/i.test(v)) throw invalid(); return;
    case 'integer': if (!/^-?\d+$/.test(v)) throw invalid(); return;
    case 'number': if (v.trim() === '' || !Number.isFinite(Number(v))) throw invalid(); return;
    case 'date-time': if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v))) throw invalid(); return;
    case 'uri':
      if (name === 'StatusCallback' && !isHttpUrl(v, true)) throw bad(21609, 'Invalid StatusCallback url.');
      return;
    case 'array':
      if (rule.items === 'uri' && !isHttpUrl(v, false)) throw bad(21620, 'Invalid media URL(s).');
      return;
    default:
      return; // 'string' and 'phone' are checked with the cross-field rules
  }
}

function isAddress(v: string): boolean {
  return E164.test(v.startsWith('whatsapp:') ? v.slice('whatsapp:'.length) : v);
}

function isHttpUrl(v: string, noUnderscoreHost: boolean): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !(noUnderscoreHost && u.hostname.includes('_'));
  } catch {
    return false;
  }
}

export function intParam(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw bad(INVALID_PARAMETER, `'${name}' is invalid.`);
  return n;
}

export function dateParam(q: URLSearchParams, name: string): Date | null {
  const v = q.get(name);
  if (v === null) return null;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw bad(INVALID_PARAMETER, `'${name}' is invalid.`);
  return new Date(t);
}

