/**
 * The manifest checks a JSON Schema cannot express: reserved slugs and permission namespaces,
 * `<slug>__<tool>` within OpenAI's 64 characters, permissions used but not declared, duplicates,
 * tool schemas, config defaults against their own rules, base URL and endpoint paths.
 * They run even when the schema found problems, on data that may have any shape, so every
 * problem is reported at once. Must never throw on odd shapes, do DNS or fetch anything.
 */
import { FUNCTION_NAME } from '../../naming.ts';
import { pointerSegment } from './json-copy.ts';
import type { ManifestProblem, ValidateManifestOptions } from './manifest-types.ts';
import { patternProblem } from './safe-pattern.ts';
import { toolSchemaProblems } from './tool-schema-check.ts';

/** Slugs no custom plugin may take: platform names, toolkits and plugin kinds. */
export const RESERVED_SLUGS: readonly string[] = [
  'whatsapp', 'payments', 'ecommerce', 'escalations', 'scheduling', 'messaging', 'obligations',
  'plugboard', 'toolkit', 'toolkits', 'first-party', 'firstparty', 'first_party', 'platform', 'bridge', 'bridges',
  'mcp', 'custom', 'kasilabs',
];
/** Slug prefixes that would pass for the platform's own (`plugboard-payments`, `toolkit-x`). */
export const RESERVED_SLUG_PREFIXES: readonly string[] = ['plugboard', 'toolkit', 'first-party', 'kasilabs'];
/** First segments of permission keys that belong to the platform (seed 001: never claim toolkit permissions). */
export const RESERVED_PERMISSION_NAMESPACES: readonly string[] = [
  'toolkit', 'toolkits', 'plugboard', 'platform', 'bridge', 'bridges', 'first_party', 'whatsapp', 'payments',
  'ecommerce', 'escalations', 'scheduling', 'messaging', 'obligations', 'mcp', 'kasilabs',
];

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The URL a manifest endpoint path names: the path appended to the base URL (no URL resolution). */
export function endpointUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** Why a slug is reserved, or null. */
export function reservedSlugProblem(slug: string): string | null {
  if (RESERVED_SLUGS.includes(slug)) return `"${slug}" is reserved for the platform`;
  const prefix = RESERVED_SLUG_PREFIXES.find((p) => slug.startsWith(p));
  return prefix ? `may not start with "${prefix}", which is reserved for the platform` : null;
}

/** Why a permission key belongs to the platform rather than to a plugin, or null. */
export function reservedPermissionProblem(key: string): string | null {
  if (/^toolkits?:/i.test(key)) {
    return 'claims a platform toolkit permission: a plugin never owns "toolkit:…" permissions; declare the toolkit in requires.toolkits instead';
  }
  const ns = key.split(':')[0].toLowerCase();
  if (RESERVED_PERMISSION_NAMESPACES.includes(ns)) return `uses the namespace "${ns}", which is reserved for the platform: name permissions after your plugin or external system (e.g. "acme:orders:read")`;
  return null;
}

/** Flags every repeat of a value in `items` at its own path. */
function duplicates(items: unknown[], pick: (item: unknown) => string | null, pathOf: (i: number) => string, what: string, out: ManifestProblem[]): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const v = pick(item);
    if (v === null) return;
    const j = first.get(v);
    if (j === undefined) first.set(v, i);
    else out.push({ path: pathOf(i), message: `repeats the ${what} "${v}" of ${pathOf(j)}` });
  });
}

function baseUrlProblems(raw: string, opts: ValidateManifestOptions, out: ManifestProblem[]): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    out.push({ path: '/baseUrl', message: 'is not a valid URL' });
    return null;
  }
  const before = out.length;
  if (url.protocol === 'http:') {
    let allowed = false;
    try {
      allowed = opts.allowHttpUrl?.(url) === true;
    } catch {
      allowed = false;
    }
    if (!allowed) out.push({ path: '/baseUrl', message: 'must use https (http is accepted only on networks the appliance operator allows)' });
  } else if (url.protocol !== 'https:') {
    out.push({ path: '/baseUrl', message: 'must use https' });
  }
  if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(raw)) out.push({ path: '/baseUrl', message: 'must not carry user info (user:password@)' });
  if (raw.includes('?')) out.push({ path: '/baseUrl', message: 'must not carry a query (?…)' });
  if (raw.includes('#')) out.push({ path: '/baseUrl', message: 'must not carry a fragment (#…)' });
  return out.length === before ? url : null;
}

function endpointPathProblem(path: string, base: URL | null): string | null {
  const segments = path.split('/').slice(1);
  if (segments.slice(0, -1).some((s) => s === '')) return 'must not contain empty segments ("//")';
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s))) return 'must not contain "." or ".." segments';
  if (/%(?![0-9a-f]{2})/i.test(path)) return 'has a "%" that does not start a valid percent-encoding';
  if (base) {
    const joined = new URL(endpointUrl(base.href, path));
    if (joined.origin !== base.origin || !joined.pathname.startsWith(base.pathname.replace(/\/+$/, ''))) return 'must stay under baseUrl';
  }
  return null;
}

function configProblems(fields: unknown[], out: ManifestProblem[]): void {
  duplicates(fields, (f) => str(rec(f)?.key), (i) => `/config/${i}/key`, 'key', out);
  fields.forEach((raw, i) => {
    const f = rec(raw);
    if (!f) return;
    const at = `/config/${i}`;
    let pattern: RegExp | null = null;
    if (typeof f.pattern === 'string') {
      const why = patternProblem(f.pattern);
      if (why) out.push({ path: `${at}/pattern`, message: why });
      else pattern = new RegExp(f.pattern, 'u');
    }
    const min = typeof f.minimum === 'number' ? f.minimum : null;
    const max = typeof f.maximum === 'number' ? f.maximum : null;
    if (min !== null && max !== null && min > max) out.push({ path: `${at}/maximum`, message: `is smaller than minimum (${min})` });
    const options = list(f.options);
    duplicates(options, (o) => str(rec(o)?.value), (j) => `${at}/options/${j}/value`, 'value', out);
    const d = f.default;
    if (typeof d === 'string') {
      if (pattern && !pattern.test(d)) out.push({ path: `${at}/default`, message: `does not match the field's own pattern ${String(f.pattern)}` });
      if (typeof f.maxLength === 'number' && d.length > f.maxLength) out.push({ path: `${at}/default`, message: `is longer than the field's maxLength (${f.maxLength})` });
      if (f.type === 'select' && options.length > 0 && !options.some((o) => rec(o)?.value === d)) out.push({ path: `${at}/default`, message: 'is not one of the field\'s options' });
    }
    if (typeof d === 'number' && (f.type === 'number' || f.type === 'integer')) {
      if (min !== null && d < min) out.push({ path: `${at}/default`, message: `is below the field's minimum (${min})` });
      if (max !== null && d > max) out.push({ path: `${at}/default`, message: `is above the field's maximum (${max})` });
    }
  });
}

function toolProblems(m: Rec, declared: Set<string>, out: ManifestProblem[]): void {
  const tools = list(m.tools);
  const slug = str(m.slug);
  duplicates(tools, (t) => str(rec(t)?.name), (i) => `/tools/${i}/name`, 'name', out);
  tools.forEach((raw, i) => {
    const t = rec(raw);
    if (!t) return;
    const at = `/tools/${i}`;
    const name = str(t.name);
    if (slug && name) {
      const fn = `${slug}__${name}`;
      if (fn.length > 64 || !FUNCTION_NAME.test(fn)) {
        out.push({ path: `${at}/name`, message: `reaches the model as "${fn}" (${fn.length} characters); OpenAI function names are 1-64 of [a-zA-Z0-9_-]: shorten the slug or the tool name` });
      }
    }
    const perms = list(t.permissions);
    perms.forEach((p, k) => {
      if (typeof p !== 'string') return;
      const reserved = reservedPermissionProblem(p);
      if (reserved) out.push({ path: `${at}/permissions/${k}`, message: reserved });
      else if (!declared.has(p)) out.push({ path: `${at}/permissions/${k}`, message: `"${p}" is not declared in the manifest's permissions[]` });
    });
    if ((t.effect === 'write' || t.effect === 'money' || t.effect === 'message') && perms.length === 0) {
      out.push({ path: `${at}/permissions`, message: `must name at least one permission: a tool whose effect is "${t.effect}" acts with authority the installer consents to` });
    }
    for (const [key, kind] of [['inputSchema', 'input'], ['outputSchema', 'output']] as const) {
      const schema = rec(t[key]);
      if (schema) out.push(...toolSchemaProblems(schema, `${at}/${key}`, kind));
    }
  });
}

/** Every semantic problem of `m` (any shape); the schema's own problems are reported elsewhere. */
export function semanticProblems(input: unknown, opts: ValidateManifestOptions): ManifestProblem[] {
  const out: ManifestProblem[] = [];
  const m = rec(input);
  if (!m) return out;
  const slug = str(m.slug);
  if (slug) {
    const why = reservedSlugProblem(slug);
    if (why) out.push({ path: '/slug', message: why });
  }
  const permissions = list(m.permissions);
  duplicates(permissions, (p) => str(rec(p)?.key), (i) => `/permissions/${i}/key`, 'key', out);
  permissions.forEach((p, i) => {
    const key = str(rec(p)?.key);
    const why = key === null ? null : reservedPermissionProblem(key);
    if (why) out.push({ path: `/permissions/${i}/key`, message: why });
  });
  const declared = new Set(permissions.map((p) => str(rec(p)?.key)).filter((k): k is string => k !== null));
  toolProblems(m, declared, out);
  configProblems(list(m.config), out);
  // The schema reports a base URL that is not http(s) at all; the finer rules are checked here.
  const base = typeof m.baseUrl === 'string' && /^https?:\/\/\S+$/.test(m.baseUrl) ? baseUrlProblems(m.baseUrl, opts, out) : null;
  const endpoints = rec(m.endpoints);
  for (const name of ['tools', 'health']) {
    const p = str(endpoints?.[name]);
    const why = p && p.startsWith('/') ? endpointPathProblem(p, base) : null;
    if (why) out.push({ path: `/endpoints/${name}`, message: why });
  }
  const contact = rec(m.contact);
  for (const key of ['url', 'privacyPolicyUrl', 'termsUrl']) {
    const v = str(contact?.[key]);
    if (v === null || !v.startsWith('https://')) continue; // the schema reports the rest
    let ok = false;
    try {
      ok = new URL(v).protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) out.push({ path: `/contact/${pointerSegment(key)}`, message: 'must be a valid https:// URL' });
  }
  duplicates(list(rec(m.requires)?.toolkits), (r) => {
    const any = list(rec(r)?.any).filter((x): x is string => typeof x === 'string');
    return any.length > 0 ? [...any].sort().join(' or ') : null;
  }, (i) => `/requires/toolkits/${i}`, 'requirement', out);
  return out;
}
