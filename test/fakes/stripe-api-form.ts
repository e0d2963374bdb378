/**
 * Request-body handling for the loopback Stripe fake: Stripe's form encoding with nested keys
 * (`line_items[0][price_data][unit_amount]=1000`, `expand[0]=…`), parameter checks that answer
 * in Stripe's error shape, and a stable fingerprint for idempotency comparisons.
 *
 * Test-only. Must never coerce a malformed parameter into a valid one: a fake that is more
 * lenient than Stripe hides provider bugs.
 */

/** A parsed form: nested objects (prototype-free) and arrays, leaves are strings. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Stripe's error `type` values the fake uses. */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

/**
 * An error the fake answers with `{"error":{…}}`. `stored: false` marks a failure before the
 * endpoint began executing (auth, parameter validation): Stripe does not save those under an
 * idempotency key, so a retry with the same key runs again.
 */
export class FakeStripeError extends Error {
  readonly status: number;
  readonly type: StripeErrorType;
  readonly code: string | null;
  readonly param: string | null;
  readonly stored: boolean;
  readonly headers: Record<string, string>;

  constructor(init: { status: number; type: StripeErrorType; message: string; code?: string; param?: string; stored?: boolean; headers?: Record<string, string> }) {
    super(init.message);
    this.status = init.status;
    this.type = init.type;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.stored = init.stored ?? true;
    this.headers = init.headers ?? {};
  }

  /** The body Stripe sends: only the keys that have a value. */
  toJson(): { error: Record<string, string> } {
    const error: Record<string, string> = { message: this.message, type: this.type };
    if (this.code !== null) {
      error.code = this.code;
      error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, '-')}`;
    }
    if (this.param !== null) error.param = this.param;
    return { error };
  }
}

/** A parameter problem found before execution (never stored under an idempotency key). */
export function invalidParam(message: string, param: string, code = 'parameter_invalid'): FakeStripeError {
  return new FakeStripeError({ status: 400, type: 'invalid_request_error', message, code, param, stored: false });
}

const MAX_PAIRS = 1000;
const MAX_DEPTH = 8;

/**
 * Parses `application/x-www-form-urlencoded` the way Stripe reads it: `a[b][0][c]` nests, numeric
 * segments make arrays (indices must run 0..n-1), `a[]` appends. Keys never reach a prototype.
 */
export function parseStripeForm(raw: string): FormObject {
  const root = Object.create(null) as Record<string, unknown>;
  let pairs = 0;
  for (const [fullKey, value] of new URLSearchParams(raw)) {
    if (++pairs > MAX_PAIRS) throw invalidParam('Too many parameters.', fullKey);
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(fullKey);
    if (!m) throw invalidParam(`Invalid parameter name: ${fullKey}`, fullKey);
    const path = [m[1], ...[...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1])];
    if (path.length > MAX_DEPTH) throw invalidParam(`Parameter nested too deeply: ${fullKey}`, fullKey);
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i] === '' ? String(Object.keys(node).length) : path[i];
      const last = i === path.length - 1;
      const existing = node[seg];
      if (last) {
        if (existing !== undefined) throw invalidParam(`Invalid ${fullKey}: given more than once.`, fullKey);
        node[seg] = value;
      } else {
        if (typeof existing === 'string') throw invalidParam(`Invalid ${fullKey}: ${path.slice(0, i + 1).join('.')} is not a hash.`, fullKey);
        node = (existing ?? (node[seg] = Object.create(null))) as Record<string, unknown>;
      }
    }
  }
  return toArrays(root, '') as FormObject;
}

/** Objects whose keys are all numeric become arrays; the indices must be exactly 0..n-1. */
function toArrays(node: unknown, name: string): FormValue {
  if (typeof node === 'string') return node;
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    const idx = keys.map(Number).sort((a, b) => a - b);
    if (idx.some((n, i) => n !== i)) throw invalidParam(`Invalid array: ${name} must be indexed from 0 without gaps.`, name);
    return idx.map((i) => toArrays(obj[String(i)], `${name}[${i}]`));
  }
  const out = Object.create(null) as FormObject;
  for (const k of keys) out[k] = toArrays(obj[k], name ? `${name}[${k}]` : k);
  return out;
}

/** A canonical text of a form (sorted keys) for "same parameters?" comparisons. */
export function fingerprint(method: string, path: string, form: FormValue): string {
  const canon = (v: FormValue): unknown =>
    typeof v === 'string' ? v : Array.isArray(v) ? v.map(canon) : Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return JSON.stringify([method, path, canon(form)]);
}

/** Rejects parameters the fake does not model, naming the first one in Stripe's style. */
export function onlyKnown(form: FormObject, known: readonly string[], prefix = ''): void {
  for (const k of Object.keys(form)) {
    if (!known.includes(k)) {
      const name = prefix ? `${prefix}[${k}]` : k;
      throw invalidParam(`Received unknown parameter: ${name} (the fake models only ${known.join(', ')})`, name, 'parameter_unknown');
    }
  }
}

export function isObject(v: FormValue | undefined): v is FormObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requireParam(form: FormObject, name: string, param = name): FormValue {
  const v = form[name];
  if (v === undefined || v === '') throw invalidParam(`Missing required param: ${param}.`, param, 'parameter_missing');
  return v;
}

export function stringParam(form: FormObject, name: string, opts: { param?: string; max?: number; required?: boolean } = {}): string | null {
  const param = opts.param ?? name;
  const v = opts.required ? requireParam(form, name, param) : form[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string') throw invalidParam(`Invalid string: ${param}`, param);
  if (opts.max !== undefined && v.length > opts.max) {
    throw invalidParam(`Invalid ${param}: must be at most ${opts.max} characters`, param, 'string_length_exceeds_maximum');
  }
  return v;
}

export function intParam(form: FormObject, name: string, opts: { param?: string; min?: number; max?: number; required?: boolean } = {}): number | null {
  const param = opts.param ?? name;
  const v = opts.required ? requireParam(form, name, param) : form[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string' || !/^-?\d{1,15}$/.test(v)) throw invalidParam(`Invalid integer: ${typeof v === 'string' ? v : param}`, param, 'parameter_invalid_integer');
  const n = Number(v);
  if (opts.min !== undefined && n < opts.min) throw invalidParam(`Invalid ${param}: must be greater than or equal to ${opts.min}`, param);
  if (opts.max !== undefined && n > opts.max) throw invalidParam(`Invalid ${param}: must be less than or equal to ${opts.max}`, param);
  return n;
}

/** Stripe's metadata rules: ≤50 keys, key ≤40 chars without brackets, value ≤500 chars. */
export function metadataParam(form: FormObject, name: string, param = name): Record<string, string> {
  const v = form[name];
  if (v === undefined || v === '') return {};
  if (!isObject(v)) throw invalidParam(`Invalid hash: ${param}`, param);
  const keys = Object.keys(v);
  if (keys.length > 50) throw invalidParam(`Invalid ${param}: at most 50 keys`, param);
  const out: Record<string, string> = {};
  for (const k of keys) {
    const value = v[k];
    if (k.length > 40) throw invalidParam(`Invalid ${param}[${k}]: keys must be at most 40 characters`, `${param}[${k}]`);
    if (typeof value !== 'string') throw invalidParam(`Invalid ${param}[${k}]: must be a string`, `${param}[${k}]`);
    if (value.length > 500) throw invalidParam(`Invalid ${param}[${k}]: values must be at most 500 characters`, `${param}[${k}]`);
    if (value !== '') out[k] = value;
  }
  return out;
}

/** `expand[n]` as a list of dotted paths. */
export function expandParam(form: FormObject): string[] {
  const v = form.expand;
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParam('Invalid array: expand', 'expand');
  return v as string[];
}
