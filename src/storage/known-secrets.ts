/**
 * The registry of every secret value this process holds in plain text, and the one redactor that
 * removes them (and their encoded forms) from text on its way out: log lines, error answers, usage
 * rows, job errors, live events, upstream and plugin error text.
 *
 * Filled by the composition root (the upstream key, the master key) and by the secret box, which
 * registers every value it seals or opens unless the caller says it is not a credential, so a new
 * kind of sealed secret is covered without anyone remembering to register it. Gateway keys and
 * control tokens are not here: they exist in plain text only once, at creation, and are stored hashed.
 *
 * `redact` is on the hot path (every log line): with few needles it is a handful of `includes`;
 * with many it scans the text once through a 16-bit index of every needle's first four characters,
 * so its cost grows with the text, not with the number of secrets. No regex per call.
 * Must never log, return or expose a registered value (only `size`).
 */

/** Values shorter than this are not registered: removing 1–7 characters everywhere would wreck every text. */
export const MIN_SECRET_LENGTH = 8;
/** Most values kept; beyond it the least recently added or seen is dropped (it comes back when next opened). */
const MAX_VALUES = 10_000;
/** Up to this many needles `includes` per needle is cheaper than the index scan. */
const SMALL_SET = 48;
/** Depth and leaf count followed in a sealed JSON value (credentials are small, flat objects). */
const MAX_JSON_DEPTH = 4;
const MAX_JSON_LEAVES = 64;
/** Fields of a sealed JSON value that describe the secret rather than hold it (`{"type":"header","name":"X-Api-Key","value":…}`). */
const DESCRIPTIVE_FIELDS = new Set(['type', 'kind', 'name', 'scheme']);
const BUCKETS = 1 << 16;

export const REDACTED = '[redacted]';

/** Something that removes secrets from text; `redact` returns the very same string when it found none. */
export interface Redactor {
  redact(text: string): string;
}

export interface KnownSecrets extends Redactor {
  /** Registers a secret value (ignored when not a string or shorter than MIN_SECRET_LENGTH). */
  add(value: unknown): void;
  /** Registers a sealed plaintext: the whole value and, for JSON, every string it holds except descriptive fields. */
  addSealed(plaintext: string): void;
  /** How many values are registered (never the values). */
  readonly size: number;
}

/**
 * The forms a value takes in text that leaves: as is, trimmed, without an auth scheme, URL-encoded,
 * JSON-escaped (log lines are JSON), and base64/base64url at each of the three byte alignments it
 * can have inside a longer encoded string (`Basic base64(user:secret)` holds none of base64(secret)).
 */
export function secretVariants(value: string): string[] {
  const out = new Set<string>();
  const trimmed = value.trim();
  const bases = new Set([value, trimmed]);
  const scheme = /^(?:bearer|basic|token|digest)\s+(\S+)$/i.exec(trimmed);
  if (scheme) bases.add(scheme[1]);
  for (const v of bases) {
    if (v.length < MIN_SECRET_LENGTH) continue;
    out.add(v);
    out.add(encodeURIComponent(v));
    out.add(JSON.stringify(v).slice(1, -1));
    for (const core of base64Cores(v)) {
      out.add(core);
      out.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...out].filter((n) => n.length >= MIN_SECRET_LENGTH);
}

/** The part of base64(x + value + y) fixed by `value` alone, for x of 0, 1 and 2 bytes. */
function base64Cores(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const enc = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64').replace(/=+$/, '');
    const start = shift === 0 ? 0 : 4;
    const total = shift + bytes.length;
    // The last group mixes in whatever follows the value unless the value ends on a group boundary.
    const end = total % 3 === 0 ? enc.length : Math.floor(total / 3) * 4;
    if (end - start >= MIN_SECRET_LENGTH) cores.push(enc.slice(start, end));
  }
  return cores;
}

function key4(s: string, i: number): number {
  return (((s.charCodeAt(i) * 31 + s.charCodeAt(i + 1)) * 31 + s.charCodeAt(i + 2)) * 31 + s.charCodeAt(i + 3)) & (BUCKETS - 1);
}

interface Matcher {
  needles: string[];
  /** Index of needles by the hash of their first four characters; null for small sets. */
  buckets: Array<string[] | undefined> | null;
  /** Which first two characters (low bytes) any needle starts with: most positions stop at one load and one lookup. */
  pairs: Uint8Array | null;
}

function pairOf(a: number, b: number): number {
  return ((a & 0xff) << 8) | (b & 0xff);
}

function buildMatcher(values: Iterable<string[]>): Matcher {
  const set = new Set<string>();
  for (const variants of values) for (const v of variants) set.add(v);
  const needles = [...set].sort((a, b) => b.length - a.length);
  if (needles.length <= SMALL_SET) return { needles, buckets: null, pairs: null };
  const buckets: Array<string[] | undefined> = new Array(BUCKETS);
  const pairs = new Uint8Array(1 << 16);
  for (const n of needles) {
    (buckets[key4(n, 0)] ??= []).push(n);
    pairs[pairOf(n.charCodeAt(0), n.charCodeAt(1))] = 1;
  }
  return { needles, buckets, pairs };
}

/** Every needle of `m` found in `text`, longest first; null when none. */
function find(m: Matcher, text: string): string[] | null {
  let found: string[] | null = null;
  if (m.buckets === null || m.pairs === null) {
    for (const n of m.needles) if (text.includes(n)) (found ??= []).push(n);
    return found;
  }
  const last = text.length - MIN_SECRET_LENGTH;
  const pairs = m.pairs;
  let prev = text.charCodeAt(0);
  for (let i = 0; i <= last; i++) {
    const next = text.charCodeAt(i + 1);
    const hit = pairs[pairOf(prev, next)];
    prev = next;
    if (hit === 0) continue;
    const bucket = m.buckets[key4(text, i)];
    if (bucket === undefined) continue;
    for (const n of bucket) if (text.startsWith(n, i)) (found ??= []).push(n);
  }
  return found && [...new Set(found)].sort((a, b) => b.length - a.length);
}

export function createKnownSecrets(): KnownSecrets {
  /** value → its variants, in insertion (recency) order. */
  const values = new Map<string, string[]>();
  let matcher: Matcher = { needles: [], buckets: null, pairs: null };
  let dirty = false;

  const add = (value: unknown): void => {
    if (typeof value !== 'string' || value.trim().length < MIN_SECRET_LENGTH) return;
    const known = values.get(value);
    values.delete(value);
    values.set(value, known ?? secretVariants(value));
    if (known) return;
    dirty = true;
    if (values.size > MAX_VALUES) values.delete(values.keys().next().value as string);
  };

  const addLeaves = (node: unknown, depth: number, budget: { left: number }): void => {
    if (depth > MAX_JSON_DEPTH || budget.left <= 0 || node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (budget.left-- <= 0) return;
      if (typeof v === 'string') {
        if (Array.isArray(node) || !DESCRIPTIVE_FIELDS.has(k)) add(v);
      } else addLeaves(v, depth + 1, budget);
    }
  };

  const redact = (text: string): string => {
    if (dirty) {
      matcher = buildMatcher(values.values());
      dirty = false;
    }
    if (typeof text !== 'string' || text.length < MIN_SECRET_LENGTH || matcher.needles.length === 0) return text;
    const found = find(matcher, text);
    if (!found) return text;
    let out = text;
    for (const n of found) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  };

  return {
    add,
    addSealed(plaintext) {
      add(plaintext);
      const c = plaintext.trimStart()[0];
      if (c !== '{' && c !== '[') return;
      try {
        addLeaves(JSON.parse(plaintext), 0, { left: MAX_JSON_LEAVES });
      } catch {
        // Not JSON: the whole value is registered above.
      }
    },
    redact,
    get size() {
      return values.size;
    },
  };
}

/** A redactor that knows nothing: for tools and tests that run without a registry. */
export const NO_SECRETS: Redactor = { redact: (text) => text };
