/**
 * An installation's configuration against its manifest's `config[]` fields: type, required,
 * default, pattern, length, range and select options, every problem listed at once. Secret values
 * are handled apart (the caller seals them and never reads them back out), so this module only ever
 * sees a secret that is being written. Used at install, on PATCH and when an upgrade moves an
 * installation to a version whose fields differ. Must never put a secret value in a problem text.
 */
import type { ManifestConfigField, ManifestProblem } from './manifest.ts';

export type ConfigValue = string | number | boolean;

/** What is stored: plain values, and which secret fields hold a (sealed) value. */
export interface StoredConfig {
  values: Record<string, ConfigValue>;
  secretKeys: readonly string[];
}

/** The outcome: the plain values to store, secrets to seal (new values) and secret fields to clear. */
export interface ResolvedConfig {
  values: Record<string, ConfigValue>;
  setSecrets: Record<string, string>;
  dropSecrets: string[];
}

/** What a member sees of a secret field that holds a value. */
export const MASK = '••••••••';
/** Longest string or secret value when the field sets no maxLength. */
const DEFAULT_MAX_LENGTH = 4096;

const patterns = new Map<string, RegExp | null>();
function compiled(pattern: string): RegExp | null {
  let re = patterns.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = null;
    }
    if (patterns.size > 1000) patterns.clear();
    patterns.set(pattern, re);
  }
  return re;
}

/** Why `value` does not fit `field`, or null. Never quotes a secret. */
export function fieldProblem(field: ManifestConfigField, value: unknown): string | null {
  switch (field.type) {
    case 'string':
    case 'secret': {
      if (typeof value !== 'string') return 'must be a string';
      if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) return 'must not contain control characters';
      const max = field.maxLength ?? DEFAULT_MAX_LENGTH;
      if (value.length > max) return `must be at most ${max} characters`;
      if (field.pattern && !compiled(field.pattern)?.test(value)) return field.type === 'secret' ? 'does not have the expected format' : `must match ${field.pattern}`;
      return null;
    }
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be ${field.type === 'integer' ? 'an integer' : 'a number'}`;
      if (field.type === 'integer' && !Number.isInteger(value)) return 'must be an integer';
      if (field.minimum !== undefined && value < field.minimum) return `must be at least ${field.minimum}`;
      if (field.maximum !== undefined && value > field.maximum) return `must be at most ${field.maximum}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'select': {
      const options = field.options ?? [];
      return typeof value === 'string' && options.some((o) => o.value === value) ? null : `must be one of ${options.map((o) => JSON.stringify(o.value)).join(', ')}`;
    }
    default:
      return 'has an unknown type';
  }
}

/**
 * Applies `input` (a whole config at install, a partial one on PATCH or upgrade; `null` clears a
 * field) to what is stored, for the fields of `fields`. Stored values of fields that no longer
 * exist or changed kind are dropped; stored values that no longer fit are problems; defaults fill
 * what is missing; a required field without a value is a problem. Problems point at `/config/<key>`.
 */
export function resolveConfig(fields: readonly ManifestConfigField[], input: Record<string, unknown>, stored: StoredConfig): { ok: true; config: ResolvedConfig } | { ok: false; problems: ManifestProblem[] } {
  const problems: ManifestProblem[] = [];
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const at = (key: string): string => `/config/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  const values: Record<string, ConfigValue> = {};
  const hasSecret = new Set<string>();
  const setSecrets: Record<string, string> = {};
  const dropSecrets: string[] = [];
  /** Fields with a problem already (not reported as missing too). */
  const invalid = new Set<string>();

  for (const [key, value] of Object.entries(stored.values)) {
    const f = byKey.get(key);
    if (f && f.type !== 'secret' && !(key in input)) {
      const problem = fieldProblem(f, value);
      if (problem) problems.push({ path: at(key), message: `the stored value no longer fits this version: ${problem}; set it again` });
      else values[key] = value;
    }
  }
  for (const key of stored.secretKeys) {
    if (byKey.get(key)?.type === 'secret') hasSecret.add(key);
    else dropSecrets.push(key);
  }
  for (const [key, value] of Object.entries(input)) {
    const f = byKey.get(key);
    if (!f) {
      problems.push({ path: at(key), message: `is not a config field of this plugin (fields: ${fields.map((x) => x.key).join(', ') || 'none'})` });
      continue;
    }
    if (value === null) {
      if (f.type === 'secret') {
        if (hasSecret.delete(key)) dropSecrets.push(key);
      } else delete values[key];
      continue;
    }
    const problem = fieldProblem(f, value);
    if (problem) {
      problems.push({ path: at(key), message: problem });
      invalid.add(key);
      continue;
    }
    if (f.type === 'secret') {
      setSecrets[key] = value as string;
      hasSecret.add(key);
    } else values[key] = value as ConfigValue;
  }
  for (const f of fields) {
    if (invalid.has(f.key)) continue;
    if (f.type === 'secret') {
      if (f.required && !hasSecret.has(f.key)) problems.push({ path: at(f.key), message: `is required (${f.label})` });
      continue;
    }
    if (values[f.key] === undefined && f.default !== undefined && !(f.key in input)) values[f.key] = f.default;
    if (f.required && (values[f.key] === undefined || values[f.key] === '')) problems.push({ path: at(f.key), message: `is required (${f.label})` });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { values, setSecrets, dropSecrets: [...new Set(dropSecrets)] } };
}

/** The configuration as members see it: plain values as they are, secret fields masked (null when empty). */
export function maskedConfig(fields: readonly ManifestConfigField[], stored: StoredConfig): Record<string, ConfigValue | null> {
  const out: Record<string, ConfigValue | null> = {};
  const secrets = new Set(stored.secretKeys);
  for (const f of fields) out[f.key] = f.type === 'secret' ? (secrets.has(f.key) ? MASK : null) : (stored.values[f.key] ?? null);
  return out;
}
