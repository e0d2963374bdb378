/**
 * Pure views of the developer area: the authored plugins and their versions as table rows, the
 * detail of a plugin and a version, the one-time signing secret message, what the register input
 * names (a URL or a file), the problems of a refused manifest, and which version actions apply to
 * a version's status. Never import blessed, read files or call the API.
 */
import type { CustomPlugin, CustomPluginVersion, ManifestProblem, PluginVersionStatus } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const DEV_PLUGIN_COLUMNS: Column[] = [
  { title: 'SLUG', width: 18 },
  { title: 'NAME', min: 10 },
  { title: 'LATEST', width: 12 },
  { title: 'PUBLISHED', width: 10, drop: 1 },
  { title: 'VERSIONS', width: 8, align: 'right', drop: 2 },
];

export function devPluginRow(p: CustomPlugin): string[] {
  return [clean(p.slug), clean(p.name), clean(p.latestVersion), clean(p.latestPublishedVersion), String(p.versions.length)];
}

export const VERSION_COLUMNS: Column[] = [
  { title: 'VERSION', width: 14 },
  { title: 'STATUS', width: 10 },
  { title: 'TOOLS', width: 5, align: 'right' },
  { title: 'SUBMITTED', width: 14, drop: 2 },
  { title: 'NOTE', min: 8, drop: 1 },
];

export function versionRow(v: CustomPluginVersion): string[] {
  return [clean(v.version), v.status, String(v.toolCount), shortTime(v.submittedAt), clean(v.reviewNote, '')];
}

/** Newest first (the server lists them in creation order). */
export function versionsNewestFirst(p: CustomPlugin): CustomPluginVersion[] {
  return [...p.versions].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || b.version.localeCompare(a.version));
}

export type VersionAction = 'submit' | 'deprecate' | 'withdraw';

/** Which developer actions the server accepts for a version in `status` (the server checks again). */
export function versionActions(status: PluginVersionStatus): VersionAction[] {
  switch (status) {
    case 'private':
      return ['submit', 'withdraw'];
    case 'published':
      return ['deprecate', 'withdraw'];
    case 'withdrawn':
      return [];
    default:
      return ['withdraw'];
  }
}

/** The detail panel: the plugin, its signing secret's rotation and the selected version. */
export function devPluginDetail(p: CustomPlugin, v: CustomPluginVersion | undefined): string[] {
  const lines = [
    `${clean(p.name)} (${clean(p.slug)})  ${p.id}`,
    clean(p.description, ''),
    `Latest ${clean(p.latestVersion)}, published ${clean(p.latestPublishedVersion, 'none')}`,
    `Signing secret rotated ${shortTime(p.secretRotation.rotatedAt)}${p.secretRotation.previousSecretExpiresAt ? `; the previous one signs until ${shortTime(p.secretRotation.previousSecretExpiresAt)}` : ''}`,
  ];
  if (v) {
    lines.push('', `Version ${clean(v.version)} — ${v.status}`, `Base URL   ${clean(v.baseUrl)}`);
    if (v.manifestUrl) lines.push(`Manifest   ${clean(v.manifestUrl)}`);
    lines.push(`SHA-256    ${v.manifestSha256.slice(0, 16)}…`, `Tools      ${v.toolCount}`);
    lines.push(`Created ${shortTime(v.createdAt)}  submitted ${shortTime(v.submittedAt)}  reviewed ${shortTime(v.reviewedAt)}  published ${shortTime(v.publishedAt)}`);
    if (v.reviewNote) lines.push(`${v.status === 'rejected' ? 'Rejected' : 'Review note'}: ${clean(v.reviewNote)}`);
    if (v.status === 'private') lines.push('', 'Private: installs only in this organisation (sandbox). s submits it for review.');
  }
  return lines;
}

/** The one-time message of a new signing secret (register or rotate). */
export function signingSecretMessage(slug: string, secret: string, previousExpiresAt?: string | null): string {
  const lines = [
    `Signing secret of ${clean(slug)}:`,
    '',
    clean(secret),
    '',
    'It is shown only this once. Put it in your plugin server (verifyPlugboardRequest).',
  ];
  if (previousExpiresAt !== undefined) lines.push(previousExpiresAt ? `The previous secret keeps signing until ${shortTime(previousExpiresAt)}.` : 'The previous secret stopped signing.');
  return lines.join('\n');
}

export type ManifestSource = { kind: 'url'; url: string } | { kind: 'file'; path: string } | { kind: 'error'; message: string };

/** The register field holds a manifest URL (http/https) or a path to a manifest file on this machine. */
export function parseManifestSource(input: string): ManifestSource {
  const s = input.trim();
  if (!s) return { kind: 'error', message: 'Give a manifest URL (https://…) or the path of a plugboard-plugin.json file.' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      return { kind: 'error', message: 'The manifest URL is not a valid URL.' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { kind: 'error', message: 'The manifest URL must start with https:// (or http:// on an allowed network).' };
    return { kind: 'url', url: s };
  }
  return { kind: 'file', path: s };
}

/** Parses a manifest file's text; the server validates the manifest itself. */
export function parseManifestText(text: string, name: string): { ok: true; manifest: Record<string, unknown> } | { ok: false; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `${clean(name)} is not JSON: ${clean((err as Error).message)}` };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { ok: false, message: `${clean(name)} does not hold a JSON object.` };
  return { ok: true, manifest: json as Record<string, unknown> };
}

/** The problem list of a refused manifest or config (`error.problems`), when the error carries one. */
export function problemsOf(err: unknown): ManifestProblem[] {
  const e = err as { problems?: unknown; body?: { problems?: unknown } } | null;
  const list = e?.problems ?? e?.body?.problems;
  if (!Array.isArray(list)) return [];
  return list.filter((p): p is ManifestProblem => !!p && typeof p === 'object' && typeof (p as ManifestProblem).path === 'string' && typeof (p as ManifestProblem).message === 'string');
}

/**
 * The problems named in a refusal's message (`The manifest has 3 problems: /a …; /b …; and 2 more
 * (see error.problems).`), for errors that do not carry the list itself. `more` counts those the
 * message leaves out.
 */
export function problemsFromMessage(message: string): { problems: ManifestProblem[]; more: number } | null {
  const m = /has (\d+) problems?: ([\s\S]*?)\.?$/.exec(message);
  if (!m) return null;
  let body = m[2];
  let more = 0;
  const tail = /; and (\d+) more \(see error\.problems\)$/.exec(body);
  if (tail) {
    more = Number(tail[1]);
    body = body.slice(0, tail.index);
  }
  // Each item starts with its JSON Pointer (or "(whole)"); a "; " inside a message is not followed by one.
  const items = body.split(/; (?=\/|\(whole\))/);
  const problems = items.map((item) => {
    const sp = item.indexOf(' ');
    return sp < 0 ? { path: item, message: '' } : { path: item.slice(0, sp) === '(whole)' ? '' : item.slice(0, sp), message: item.slice(sp + 1) };
  });
  return { problems, more };
}

/** Every problem on its own line, `path  message`: from `error.problems`, else from the message (which names the first five). */
export function problemLines(err: unknown, fallback: string): string[] {
  let problems = problemsOf(err);
  let more = 0;
  if (!problems.length) {
    const parsed = problemsFromMessage(String((err as { message?: unknown } | null)?.message ?? ''));
    if (parsed) ({ problems, more } = parsed);
  }
  if (!problems.length) return [clean(fallback)];
  const total = problems.length + more;
  const lines = [`${total} problem${total === 1 ? '' : 's'}:`, ...problems.map((p) => `${clean(p.path || '(whole)')}  ${clean(p.message)}`)];
  if (more) lines.push(`… and ${more} more (plugboard plugin validate <file> lists every one).`);
  return lines;
}

/** True when the failure is a refusal with a problem list (a manifest or a config). */
export function hasProblems(err: unknown): boolean {
  return problemsOf(err).length > 0 || problemsFromMessage(String((err as { message?: unknown } | null)?.message ?? '')) !== null;
}

/** The problems of a refusal, from `error.problems` or else from its message (possibly only the first five). */
export function refusalProblems(err: unknown): ManifestProblem[] {
  const list = problemsOf(err);
  return list.length ? list : (problemsFromMessage(String((err as { message?: unknown } | null)?.message ?? ''))?.problems ?? []);
}
