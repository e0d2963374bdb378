/**
 * A bounded copy of untrusted input as plain JSON data, before any validator looks at it: cycles,
 * nesting deeper than a limit, input larger than a limit and values JSON cannot carry (functions,
 * `undefined`, BigInt, NaN, Date, Map, class instances) are found without recursion and without
 * serialising the whole input first. The copy has own data properties only (a `__proto__` key stays
 * a key), so later checks never run a getter twice or touch the caller's object again.
 * Must never recurse over the input, call JSON.stringify on it, or throw.
 */

/** A problem found while copying, at a JSON Pointer. */
export interface CopyProblem {
  path: string;
  message: string;
}

export type CopyResult = { ok: true; value: unknown; bytes: number } | { ok: false; problems: CopyProblem[] };

export interface CopyLimits {
  maxBytes: number;
  maxDepth: number;
}

/** One JSON Pointer segment (RFC 6901). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** UTF-8 length of a string as JSON text (quotes and escapes included), cheaply overestimated for escapes. */
function jsonStringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) n += c < 0x20 ? 6 : 2;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function defineData(target: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The containers above a value, to tell a cycle from an object that is merely shared. */
interface Ancestor {
  object: object;
  parent: Ancestor | null;
}

interface Frame {
  ancestors: Ancestor | null;
  source: unknown;
  target: Record<string, unknown> | unknown[];
  key: string | number;
  path: string;
  depth: number;
}

/**
 * Copies `input` as plain JSON. Stops at the first size or depth breach (the input may be huge);
 * non-JSON values are all reported (each at its path) within that bound.
 */
export function copyPlainJson(input: unknown, limits: CopyLimits): CopyResult {
  const problems: CopyProblem[] = [];
  const root: unknown[] = [];
  const stack: Frame[] = [{ ancestors: null, source: input, target: root, key: 0, path: '', depth: 0 }];
  let bytes = 0;
  const tooBig = (): CopyResult => ({ ok: false, problems: [{ path: '', message: `is larger than ${limits.maxBytes} bytes as JSON` }] });
  // Each visit adds at least one byte to the budget and cycles are cut, so the loop is bounded by
  // maxBytes (a shared object is copied each time it appears, and paid for each time).
  while (stack.length > 0) {
    const { ancestors, source, target, key, path, depth } = stack.pop() as Frame;
    if (source === null || typeof source === 'boolean') {
      bytes += source === true ? 4 : 5;
      defineData(target, key, source);
    } else if (typeof source === 'string') {
      if (source.length > limits.maxBytes) return tooBig();
      bytes += jsonStringBytes(source);
      defineData(target, key, source);
    } else if (typeof source === 'number') {
      if (!Number.isFinite(source)) problems.push({ path, message: `is ${String(source)}, which JSON cannot carry` });
      bytes += String(source).length;
      defineData(target, key, source);
    } else if (typeof source === 'object') {
      let cycle = false;
      for (let a = ancestors; a && !cycle; a = a.parent) cycle = a.object === source;
      if (cycle) {
        problems.push({ path, message: 'refers back to one of its own containers (a cycle is not JSON)' });
        continue;
      }
      if (depth >= limits.maxDepth) {
        return { ok: false, problems: [{ path, message: `is nested deeper than ${limits.maxDepth} levels` }] };
      }
      const here: Ancestor = { object: source, parent: ancestors };
      if (Array.isArray(source)) {
        const copy: unknown[] = [];
        defineData(target, key, copy);
        bytes += 2;
        const length = source.length;
        for (let i = 0; i < length; i++) {
          bytes += 1;
          if (bytes > limits.maxBytes) return tooBig();
          stack.push({ ancestors: here, source: source[i], target: copy, key: i, path: `${path}/${i}`, depth: depth + 1 });
        }
      } else {
        const proto = Object.getPrototypeOf(source);
        if (proto !== Object.prototype && proto !== null) {
          problems.push({ path, message: 'is not plain JSON data (an object of a class such as Date or Map)' });
          continue;
        }
        const copy: Record<string, unknown> = {};
        defineData(target, key, copy);
        bytes += 2;
        const keys = Object.keys(source);
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i];
          bytes += jsonStringBytes(k) + 2;
          if (bytes > limits.maxBytes) return tooBig();
          const value = (source as Record<string, unknown>)[k];
          if (value === undefined) {
            problems.push({ path: `${path}/${pointerSegment(k)}`, message: 'is undefined, which JSON cannot carry' });
            continue;
          }
          stack.push({ ancestors: here, source: value, target: copy, key: k, path: `${path}/${pointerSegment(k)}`, depth: depth + 1 });
        }
      }
    } else {
      problems.push({ path, message: source === undefined ? 'is undefined, which JSON cannot carry' : `is a ${typeof source}, which JSON cannot carry` });
    }
    if (bytes > limits.maxBytes) return tooBig();
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: root[0], bytes };
}

/** The value at a JSON Pointer in plain data (own properties only), or undefined. */
export function valueAt(root: unknown, pointer: string): unknown {
  let v = root;
  for (const seg of pointer.split('/').slice(1)) {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    v = v !== null && typeof v === 'object' && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

/** Depth of nested objects and arrays in plain JSON data (a scalar is 0), without recursion. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
