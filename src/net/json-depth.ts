/**
 * The nesting limit of JSON that Plugboard accepts from outside, and a cheap scan that enforces it
 * on the text before anything recursive (JSON.stringify, validators, the SDKs) walks the value.
 *
 * V8's JSON.parse is iterative and takes any depth, but JSON.stringify and every validator recurse:
 * 100,000 nested `[` under the body-size limit overflowed the stack (a 500 on one path, a 200 on
 * another). The scan reads bytes (the structural characters are ASCII, so UTF-8 needs no decoding)
 * and never allocates. It must never be the only check of JSON validity: JSON.parse stays that.
 */

/**
 * Deepest nesting of arrays and objects accepted, counting the outermost value as 1. The same
 * figure as serde_json's recursion limit; a chat request with a deeply nested JSON schema in its
 * `tools` or `response_format` uses a few dozen levels at most.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** The deepest nesting in JSON text (0 for a scalar), stopping early once past `limit`. */
export function jsonDepth(text: Uint8Array | string, limit = MAX_JSON_DEPTH): number {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  // Bounded by the text's length: one step per byte.
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      depth--;
    }
  }
  return deepest;
}

/** True when the JSON text nests deeper than `limit`. */
export function isTooDeep(text: Uint8Array | string, limit = MAX_JSON_DEPTH): boolean {
  return jsonDepth(text, limit) > limit;
}
