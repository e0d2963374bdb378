/**
 * Error scrubbing: turns error text from plugins and transports into one short line that is safe
 * to show to a model, a client or an organisation owner.
 *
 * It removes credentials (the caller's known secret values and anything token-shaped), stack
 * frames, file paths and internal host names or addresses. It must never throw, never return the
 * input unchanged without passing it through every rule, and never log what it removes.
 */
import ipaddr from 'ipaddr.js';
import type { Redactor } from '../storage/known-secrets.ts';

/** Secret values to remove: a list (a connection's own credential), or the appliance's known-secrets registry. */
export type SecretSource = readonly string[] | Redactor;

/** Default length cap of `scrubText`, in characters (the `…` included). */
export const DEFAULT_SCRUB_MAX_LENGTH = 500;
/** Secrets shorter than this are not searched for: replacing 1–3 characters everywhere would wreck the text. */
const MIN_SECRET_LENGTH = 4;
/** Work on at most this many characters: the output is short, and regexes over megabytes cost time. */
const MAX_INPUT_CHARS = 64 * 1024;
/** How many `cause` links `scrubError` follows (causes can be cyclic). */
const MAX_CAUSE_DEPTH = 3;

const REDACTED = '[redacted]';
const INTERNAL_HOST = '[internal-host]';
const PATH = '[path]';

export interface ScrubOptions {
  /** Exact values to remove (credentials); their URL- and base64-encoded forms are removed too. */
  secrets?: SecretSource;
  /** Cap in characters, `…` included; default 500. */
  maxLength?: number;
}

/**
 * Removes the given secret values (and their URL-encoded and base64 forms) from `text`, and
 * nothing else. Cheap enough for multi-megabyte tool results; keeps whitespace and length.
 */
export function redactSecrets(text: string, secrets: SecretSource | undefined): string {
  if (!secrets || !text) return text;
  if (!isList(secrets)) return secrets.redact(text);
  if (!secrets.length) return text;
  let out = text;
  for (const variant of secretVariants(secrets)) {
    if (out.includes(variant)) out = out.split(variant).join(REDACTED);
  }
  return out;
}

function isList(s: SecretSource): s is readonly string[] {
  return Array.isArray(s);
}

/** Every form of every secret worth searching for, longest first (so a prefix never wins). */
function secretVariants(secrets: readonly string[]): string[] {
  const set = new Set<string>();
  for (const raw of secrets) {
    if (typeof raw !== 'string') continue;
    const values = [raw.trim()];
    // A stored header value like "Bearer abc…" leaks as "abc…" just as well.
    const scheme = /^(?:bearer|basic|token|digest)\s+(\S+)$/i.exec(values[0]);
    if (scheme) values.push(scheme[1]);
    for (const v of values) {
      if (v.length < MIN_SECRET_LENGTH) continue;
      set.add(v);
      set.add(encodeURIComponent(v));
      const b64 = Buffer.from(v, 'utf8').toString('base64');
      set.add(b64);
      set.add(b64.replace(/=+$/, ''));
      set.add(Buffer.from(v, 'utf8').toString('base64url'));
    }
  }
  return [...set].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Host names that only make sense inside a private network. */
const INTERNAL_SUFFIX = /(?:^|\.)(?:localhost|internal|local|localdomain|svc|cluster\.local|lan|intranet|corp|home\.arpa)$/i;

function isInternalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (!h) return false;
  if (ipaddr.isValid(h)) return isNonPublicIp(h);
  if (!h.includes('.')) return true; // single-label names resolve only on the local network
  return INTERNAL_SUFFIX.test(h);
}

function isNonPublicIp(ip: string): boolean {
  try {
    return ipaddr.process(ip).range() !== 'unicast';
  } catch {
    return false;
  }
}

type Rule = [RegExp, string | ((match: string, ...groups: string[]) => string)];

/** Rules applied in order; later rules see the output of earlier ones. */
const RULES: readonly Rule[] = [
  // Stack frames ("    at fn (file:1:2)", "    at file:1:2") and Python's "File "x.py", line 3".
  [/^[ \t]*at [^\n]*(?::\d+|native|<anonymous>)\)?[ \t]*(?:\n|$)/gm, ''],
  [/\bFile "[^"\n]*", line \d+[^\n]*/g, ''],
  // user:pass@ in URLs, before hosts are looked at.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${REDACTED}@`],
  // Authorization schemes and key=value credentials.
  [/\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=-]{4,}/gi, `$1 ${REDACTED}`],
  [
    /\b((?:x-)?(?:api[-_]?key|access[-_]?token|auth[-_]?token|refresh[-_]?token|client[-_]?secret|secret|password|passwd|pwd|token|authorization|cookie|set-cookie|session[-_]?id|signature))(["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"',;&]+/gi,
    `$1$2${REDACTED}`,
  ],
  // Well-known token shapes.
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?/g, REDACTED],
  [/\b(?:sk|rk|pk)[-_](?:live[-_]|test[-_]|proj[-_]|ant[-_])?[A-Za-z0-9_-]{8,}/g, REDACTED],
  [/\b(?:pb_live|pb_test|pbc|pbt|whsec|ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abposr])[-_][A-Za-z0-9_+/=-]{6,}/g, REDACTED],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\b(?:AC|SK|MG|PN)[0-9a-fA-F]{32}\b/g, REDACTED],
  // file:// URLs and absolute paths (Windows, and Unix ones that look like files or system roots).
  [/\bfile:\/\/[^\s"'<>)]*/gi, PATH],
  [/\b[A-Za-z]:\\[^\s"'<>|]*/g, PATH],
  [
    /(^|[\s("'=,[])(\/(?:home|root|usr|var|opt|srv|app|apps|tmp|etc|mnt|proc|sys|dev|run|Users|workspace|work|data|lib|bin|private|Volumes|node_modules|code|src)\b[^\s"'<>)\]]*|(?:\/[\w.@+-]+)+\.[A-Za-z]{1,5}(?::\d+(?::\d+)?)?)/g,
    `$1${PATH}`,
  ],
  // Hosts inside URLs.
  [
    /\b((?:https?|wss?|ftp):\/\/(?:\[redacted\]@)?)(\[[0-9a-fA-F:.]+\]|[^\s/?#:"'<>[\]]+)/gi,
    (_m, scheme: string, host: string) => `${scheme}${isInternalHost(host) ? INTERNAL_HOST : host}`,
  ],
  // Bare addresses and names outside URLs.
  [/(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])/g, (m) => (isNonPublicIp(m) ? INTERNAL_HOST : m)],
  [/(?<![\w:.])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])/g, (m) => (ipaddr.isValid(m) && isNonPublicIp(m) ? INTERNAL_HOST : m)],
  [/\b(?:[A-Za-z0-9-]+\.)+(?:internal|local|localdomain|svc|cluster\.local|lan|intranet|corp|home\.arpa)\b/gi, INTERNAL_HOST],
  [/\blocalhost\b/gi, INTERNAL_HOST],
  [/\b(ENOTFOUND|EAI_AGAIN|getaddrinfo \w+)\s+(?!\[internal-host\])[^\s,;)]+/g, `$1 ${INTERNAL_HOST}`],
  // Long opaque runs: hex of 32+, or mixed-case alphanumerics with digits of 32+ (base64 secrets).
  [/[A-Za-z0-9+/_-]{32,}={0,2}/g, (m) => (looksLikeSecret(m) ? REDACTED : m)],
];

function looksLikeSecret(run: string): boolean {
  const body = run.replace(/=+$/, '');
  if (/^[0-9a-fA-F]+$/.test(body)) return true;
  return /[0-9]/.test(body) && /[a-z]/.test(body) && /[A-Z]/.test(body);
}

/**
 * Scrubs `text` for display: removes secrets, tokens, stack frames, paths and internal hosts,
 * collapses whitespace and caps the length (default 500 characters) with `…`.
 */
export function scrubText(text: string, opts: ScrubOptions = {}): string {
  const maxLength = Math.max(1, opts.maxLength ?? DEFAULT_SCRUB_MAX_LENGTH);
  let out = typeof text === 'string' ? text : String(text);
  if (out.length > MAX_INPUT_CHARS) {
    // Cut at whitespace so no half token survives the cut and slips past the rules below.
    out = out.slice(0, MAX_INPUT_CHARS);
    const lastSpace = out.search(/\s\S*$/);
    out = lastSpace > 0 ? out.slice(0, lastSpace) : '';
  }
  out = redactSecrets(out, opts.secrets);
  for (const [pattern, replacement] of RULES) {
    out = out.replace(pattern, replacement as string);
  }
  out = out.replace(/\s+/g, ' ').trim();
  return capChars(out, maxLength);
}

function capChars(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let cut = text.slice(0, maxLength - 1);
  // Never leave half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

/**
 * A safe one-line message from any thrown value: the error's name and message plus a few `cause`
 * messages (e.g. `fetch failed (connect ECONNREFUSED …)`), never its stack, then `scrubText`.
 */
export function scrubError(err: unknown, secrets: SecretSource = [], maxLength = DEFAULT_SCRUB_MAX_LENGTH): string {
  return scrubText(describe(err), { secrets, maxLength }) || 'Unknown error';
}

function describe(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  const seen = new Set<unknown>();
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current != null && !seen.has(current); depth++) {
    seen.add(current);
    parts.push(describeOne(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  const [head, ...causes] = parts.filter(Boolean);
  return causes.length ? `${head ?? ''} (${causes.join('; ')})` : (head ?? '');
}

function describeOne(value: unknown): string {
  if (value instanceof AggregateError) {
    const inner = value.errors.slice(0, 3).map((e) => describeOne(e)).join('; ');
    return `${value.name}: ${value.message || 'multiple errors'}${inner ? `: ${inner}` : ''}`;
  }
  if (value instanceof Error) {
    const name = value.name && value.name !== 'Error' ? `${value.name}: ` : '';
    const code = (value as { code?: unknown }).code;
    const codeText = typeof code === 'string' && !value.message.includes(code) ? ` [${code}]` : '';
    return `${name}${value.message}${codeText}`;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value).slice(0, MAX_INPUT_CHARS);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
