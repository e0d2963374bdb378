/**
 * Splits a long model answer into WhatsApp-sized parts.
 *
 * Twilio refuses bodies above 1,600 characters (21617) and counts some emoji as more than one, so
 * parts default to 1,500 UTF-16 code units (JavaScript `length`, which never undercounts code
 * points). Cuts prefer paragraph, then line, then sentence, then word boundaries, and fall back to
 * a grapheme boundary so an emoji or accented letter is never torn apart. Must never drop or
 * reorder text other than the whitespace at a cut.
 */

/** Default part size; see the module comment. */
export const DEFAULT_PART_LIMIT = 1500;

const SENTENCE_END = /[.!?…。！？](?:["'”’)\]]*)(?=\s)/g;

/**
 * Splits `text` into parts of at most `limit` UTF-16 code units each, trimmed, none empty.
 * Text that already fits comes back as one trimmed part; blank text gives no parts.
 */
export function splitForWhatsApp(text: string, limit = DEFAULT_PART_LIMIT): string[] {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer.');
  const parts: string[] = [];
  let rest = text.replace(/\r\n?/g, '\n').trim();
  // Bounded by the text: every round removes at least one character from `rest`.
  while (rest.length > limit) {
    const cut = findCut(rest, limit);
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

/**
 * Index where `s` (trimmed at the start, longer than `limit`) should be cut: 1 ≤ cut ≤ limit.
 * Structural boundaries only count in the second half of the window, so a heading or short first
 * paragraph does not become a tiny message of its own.
 */
function findCut(s: string, limit: number): number {
  const window = s.slice(0, limit + 1); // the extra char shows whether a boundary follows `limit`
  const minGood = Math.max(1, Math.floor(limit / 2));

  const paragraph = window.lastIndexOf('\n\n');
  if (paragraph >= minGood) return paragraph;
  const line = window.lastIndexOf('\n');
  if (line >= minGood) return line;

  let sentence = -1;
  for (const m of window.matchAll(SENTENCE_END)) sentence = m.index + m[0].length;
  if (sentence >= minGood && sentence <= limit) return sentence;

  const space = lastWhitespace(window);
  if (space >= minGood) return space;

  return graphemeCut(s, limit);
}

function lastWhitespace(s: string): number {
  for (let i = s.length - 1; i >= 1; i--) if (/\s/.test(s[i])) return i;
  return -1;
}

/** Room past the limit so a grapheme cluster straddling it is segmented as in the full text. */
const GRAPHEME_LOOKAHEAD = 64;

/** Last grapheme boundary in 1..limit; failing that a code point boundary (only for tiny limits). */
function graphemeCut(s: string, limit: number): number {
  let best = 0;
  const segments = new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s.slice(0, limit + GRAPHEME_LOOKAHEAD));
  for (const { index } of segments) {
    if (index > limit) break;
    best = index;
  }
  if (best === 0) {
    // The first grapheme alone is longer than the limit: cut between code points instead.
    best = (s.codePointAt(0) ?? 0) > 0xffff && limit >= 2 ? 2 : 1;
  }
  return Math.min(best, limit);
}
