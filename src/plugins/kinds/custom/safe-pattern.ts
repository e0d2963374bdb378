/**
 * Regular expressions written by plugin authors (config `pattern`, `pattern` and
 * `patternProperties` inside tool schemas) run on this appliance against installer and model input.
 * This module refuses the ones that do not compile as ECMAScript with the `u` flag (what ajv uses)
 * and the classic catastrophic-backtracking shapes: a repeated group that itself contains a
 * repetition (`(a+)+`, `(\w*\s?)*`) and backreferences. It is a heuristic (star height), not a proof.
 * Must never run the pattern against anything.
 */

/** Longest pattern accepted, in characters. */
export const MAX_PATTERN_LENGTH = 256;

interface GroupFrame {
  /** Some part of the group is repeated (a quantifier inside it). */
  repeatsInside: boolean;
}

/** Length of a quantifier starting at `i` (0 when none) and whether it repeats more than once. */
function quantifierAt(p: string, i: number): { length: number; repeats: boolean } {
  const c = p[i];
  if (c === '*' || c === '+') return { length: p[i + 1] === '?' ? 2 : 1, repeats: true };
  if (c === '?') return { length: p[i + 1] === '?' ? 2 : 1, repeats: false };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}\??/.exec(p.slice(i));
    if (!m) return { length: 0, repeats: false };
    const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    return { length: m[0].length, repeats: max > 1 };
  }
  return { length: 0, repeats: false };
}

/** Why `pattern` is refused, or null when it is acceptable. */
export function patternProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    return `is not a valid regular expression (ECMAScript, u flag): ${(err as Error).message}`;
  }
  const stack: GroupFrame[] = [{ repeatsInside: false }];
  // The index only moves forward and the pattern is at most MAX_PATTERN_LENGTH long.
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i];
    let atomEnd = i + 1;
    let groupRepeats = false;
    if (c === '\\') {
      if (/^[1-9]/.test(pattern[i + 1] ?? '') || pattern[i + 1] === 'k') return 'uses a backreference, which can make matching take exponential time';
      atomEnd = i + 2;
      if (pattern[i + 1] === 'u' && pattern[i + 2] === '{') atomEnd = pattern.indexOf('}', i) + 1;
    } else if (c === '[') {
      let j = i + 1;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      atomEnd = j + 1;
    } else if (c === '(') {
      stack.push({ repeatsInside: false });
      i += pattern[i + 1] === '?' ? (pattern[i + 2] === '<' && pattern[i + 3] !== '=' && pattern[i + 3] !== '!' ? pattern.indexOf('>', i) + 1 - i : 3) : 1;
      continue;
    } else if (c === ')') {
      const closed = stack.pop() ?? { repeatsInside: false };
      groupRepeats = closed.repeatsInside;
      if (stack.length === 0) stack.push({ repeatsInside: false });
    }
    const q = quantifierAt(pattern, atomEnd);
    if (q.repeats && groupRepeats) return 'repeats a group that itself repeats (e.g. "(a+)+"), which can make matching take exponential time';
    const top = stack[stack.length - 1];
    if (q.repeats || groupRepeats) top.repeatsInside = true;
    i = atomEnd + q.length;
  }
  return null;
}
