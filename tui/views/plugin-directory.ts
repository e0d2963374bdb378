/**
 * Pure views of the plugin directory and of installing from it: table rows, the detail an
 * installer reads first (permissions, tools and their effects, config, required toolkits, base URL,
 * mode), the configuration form generated from the manifest's `config[]` fields (initial values,
 * per-type hints, client-side checks that turn the typed text into the request's `config`), and
 * the consent screen's lines and rules. Never import blessed or call the API; the server checks
 * every value again.
 */
import type {
  DirectoryPlugin, DirectoryPluginDetail, PluginConfigField, PluginPermission, PluginToolkitRequirement, PluginToolSummary,
} from '../../src/shared/api.ts';
import { clean, displayWidth, type Column } from './text.ts';

export const DIRECTORY_COLUMNS: Column[] = [
  { title: 'SLUG', width: 18 },
  { title: 'NAME', min: 10 },
  { title: 'LATEST', width: 12 },
  { title: 'SOURCE', width: 7 },
  { title: 'INSTALLED', width: 22, drop: 1 },
];

/** `own` for this organisation's plugins (unpublished versions install in sandbox), else `public`. */
export function directoryRow(d: DirectoryPlugin): string[] {
  const installed = d.installation ? `${clean(d.installation.version)} ${d.installation.state}` : '-';
  return [clean(d.slug), clean(d.name), clean(d.latestVersion, 'none'), d.ownPlugin ? 'own' : 'public', installed];
}

export function toolLine(t: PluginToolSummary): string {
  const hints = [t.effect, t.confirmation === 'human' ? 'asks a human' : null, t.idempotent ? 'idempotent' : null].filter(Boolean).join(', ');
  return `${clean(t.prefixedName)} [${hints}]  ${clean(t.description.split('\n')[0], '')}`;
}

export function permissionLines(perms: readonly PluginPermission[]): string[] {
  if (!perms.length) return ['(asks for no permissions)'];
  return perms.map((p) => `• ${clean(p.label)} (${clean(p.key)}): ${clean(p.description)}`);
}

export function toolkitLines(reqs: readonly PluginToolkitRequirement[]): string[] {
  return reqs.map((r) => `• one of ${r.any.map((a) => clean(a)).join(' | ')}: ${clean(r.reason)}`);
}

function fieldSummary(f: PluginConfigField): string {
  const parts = [f.type, f.required ? 'required' : 'optional'];
  if (f.default !== null) parts.push(`default ${clean(String(f.default))}`);
  if (f.options) parts.push(`one of ${f.options.map((o) => clean(o.value)).join('|')}`);
  return `• ${clean(f.label)} (${clean(f.key)}; ${parts.join(', ')})${f.description ? `: ${clean(f.description)}` : ''}`;
}

/** What an installer reviews before installing one version. */
export function directoryDetail(d: DirectoryPluginDetail): string[] {
  const v = d.version;
  const lines = [
    `${clean(d.name)} (${clean(d.slug)}) ${clean(v.version)} — ${v.status}${d.ownPlugin ? ', your own plugin' : ''}`,
    clean(d.description, ''),
    `Installs as ${v.mode}${v.installable ? '' : ' (this version cannot be installed)'}; calls go to ${clean(v.baseUrl)}`,
    `Contact    ${clean(d.contact.name, '')}${d.contact.name ? ' ' : ''}<${clean(d.contact.email)}>${d.contact.url ? ` ${clean(d.contact.url)}` : ''}`,
  ];
  if (d.installation) lines.push(`Installed  ${clean(d.installation.version)} (${d.installation.state}) ${d.installation.id}`);
  lines.push(`Versions   ${d.versions.map((x) => `${clean(x.version)} ${x.status}`).join(', ') || '-'}`);
  lines.push('', 'Permissions:', ...permissionLines(v.permissions));
  lines.push('', `Tools (${v.tools.length}):`, ...v.tools.map((t) => `• ${toolLine(t)}`));
  if (v.config.length) lines.push('', 'Configuration:', ...v.config.map(fieldSummary));
  if (v.requires.toolkits.length) lines.push('', 'Needs these toolkits granted on the same WhatsApp number:', ...toolkitLines(v.requires.toolkits));
  return lines;
}

// The configuration form ------------------------------------------------------------------------

/** One field of the generated form: what the dialog shows and the text it starts with. */
export interface ConfigFormField {
  name: string;
  label: string;
  value: string;
  secret: boolean;
}

/** A label with the field's type hint: `*` required, the choices of a select, yes/no of a boolean. */
export function configFieldLabel(f: PluginConfigField): string {
  const hint = f.type === 'select' && f.options ? ` [${f.options.map((o) => o.value).join('|')}]` : f.type === 'boolean' ? ' [yes|no]' : f.type === 'number' || f.type === 'integer' ? ` [${f.type}]` : '';
  return `${clean(f.label)}${f.required ? '*' : ''}${clean(hint, '')}`;
}

function shownValue(f: PluginConfigField, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (f.type === 'boolean') return v === true ? 'yes' : v === false ? 'no' : '';
  return String(v);
}

/**
 * The form fields of `fields`, starting from `current` (an installation's values; secrets are
 * masked there and start empty: empty keeps the stored one) or else each field's default.
 */
export function configFormFields(fields: readonly PluginConfigField[], current?: Record<string, unknown>): ConfigFormField[] {
  return fields.map((f) => ({
    name: f.key,
    label: configFieldLabel(f),
    value: f.type === 'secret' ? '' : shownValue(f, current && f.key in current ? current[f.key] : f.default),
    secret: f.type === 'secret',
  }));
}

export type ConfigParse = { ok: true; config: Record<string, unknown> } | { ok: false; problems: string[] };

const YES = new Set(['yes', 'y', 'true', 'on', '1']);
const NO = new Set(['no', 'n', 'false', 'off', '0']);

/**
 * The typed text → the request's `config`. Empty optional fields are left out; on an update
 * (`keepSecrets`) an empty secret keeps the stored one and `-` clears an optional value. Every
 * problem is reported at once, by label.
 */
export function parseConfigForm(fields: readonly PluginConfigField[], values: Record<string, string>, opts: { keepSecrets?: boolean; current?: Record<string, unknown> } = {}): ConfigParse {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const f of fields) {
    const raw = (values[f.key] ?? '').trim();
    const name = clean(f.label);
    if (opts.keepSecrets && raw === '-' && !f.required) {
      config[f.key] = null;
      continue;
    }
    if (raw === '') {
      if (f.type === 'secret' && opts.keepSecrets && opts.current?.[f.key]) continue;
      if (f.required && f.default === null) problems.push(`${name} is required.`);
      continue;
    }
    switch (f.type) {
      case 'boolean':
        if (YES.has(raw.toLowerCase())) config[f.key] = true;
        else if (NO.has(raw.toLowerCase())) config[f.key] = false;
        else problems.push(`${name} must be yes or no.`);
        continue;
      case 'number':
      case 'integer': {
        const n = Number(raw);
        if (!Number.isFinite(n)) problems.push(`${name} must be a number.`);
        else if (f.type === 'integer' && !Number.isInteger(n)) problems.push(`${name} must be a whole number.`);
        else if (f.minimum !== null && n < f.minimum) problems.push(`${name} must be at least ${f.minimum}.`);
        else if (f.maximum !== null && n > f.maximum) problems.push(`${name} must be at most ${f.maximum}.`);
        else config[f.key] = n;
        continue;
      }
      case 'select':
        if (f.options && !f.options.some((o) => o.value === raw)) problems.push(`${name} must be one of ${f.options.map((o) => o.value).join(', ')}.`);
        else config[f.key] = raw;
        continue;
      default: {
        if (f.maxLength !== null && raw.length > f.maxLength) {
          problems.push(`${name} must be at most ${f.maxLength} characters.`);
          continue;
        }
        if (f.pattern !== null) {
          let re: RegExp | null = null;
          try {
            re = new RegExp(f.pattern, 'u');
          } catch {
            re = null; // a pattern JavaScript cannot read is left to the server
          }
          if (re && !re.test(raw)) {
            problems.push(`${name} does not match ${clean(f.pattern)}.`);
            continue;
          }
        }
        config[f.key] = raw;
      }
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, config };
}

// Consent ---------------------------------------------------------------------------------------

/** Ticks the consent screen starts with: the permissions the author marked `default`. */
export function initialConsent(perms: readonly PluginPermission[]): Set<string> {
  return new Set(perms.filter((p) => p.default).map((p) => p.key));
}

/** One line per permission with its box; the label and the description are what the installer agrees to. */
export function consentLine(p: PluginPermission, ticked: boolean): string {
  return `[${ticked ? 'x' : ' '}] ${clean(p.label)} — ${clean(p.description)}  (${clean(p.key)})`;
}

/** Null when every permission is ticked (the server wants all of them), else why the install cannot go on. */
export function consentProblem(perms: readonly PluginPermission[], ticked: ReadonlySet<string>): string | null {
  const missing = perms.filter((p) => !ticked.has(p.key));
  if (!missing.length) return null;
  return `Tick every permission to install (missing: ${missing.map((p) => clean(p.label)).join(', ')}), or Esc to cancel.`;
}

/** The longest start of `s` that fits in `width` columns (at least one character, so callers always progress). */
function takeColumns(s: string, width: number): string {
  let out = '';
  for (const ch of s) {
    if (out && displayWidth(out + ch) > width) break;
    out += ch;
  }
  return out;
}

/** Word-wraps `text` to `width` columns (a word longer than a line is cut); continuation lines start with `indent`. */
export function wrapLine(text: string, width: number, indent = ''): string[] {
  const w = Math.max(8, width);
  const pad = displayWidth(indent) < w / 2 ? indent : '';
  const out: string[] = [];
  let line = '';
  const push = (): void => {
    out.push(line.trimEnd());
    line = pad;
  };
  for (const word of text.split(' ')) {
    if (!word) continue;
    const sep = line.trim() ? ' ' : '';
    if (displayWidth(line + sep + word) <= w) {
      line += sep + word;
      continue;
    }
    if (line.trim()) push();
    let rest = word;
    // Bounded: every pass moves at least one character out of `rest`.
    while (displayWidth(line + rest) > w) {
      const piece = takeColumns(rest, w - displayWidth(line));
      line += piece;
      rest = rest.slice(piece.length);
      push();
    }
    line += rest;
  }
  if (line.trim() || !out.length) out.push(line.trimEnd());
  return out;
}
