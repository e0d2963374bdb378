/**
 * Rules about custom plugin versions shared by the developer area, the directory, installations
 * and the operator: reading a manifest from an upload or a URL (every problem at once), who may see
 * and install which version, which version is "latest", and what moving an installation between two
 * versions asks of its owner. Must never know about HTTP, and never show an organisation another
 * organisation's unpublished version.
 */
import { AppError, ErrorType, invalidRequest } from '../errors.ts';
import { diffManifests, validateManifest, validateManifestText, type ManifestProblem, type PluginManifest, type UpgradeDiff } from '../plugins/kinds/custom/manifest.ts';
import type { ManifestFetcher } from '../plugins/kinds/custom/manifest-source.ts';
import type { PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import { compareSemver, highestVersion } from '../plugins/kinds/custom/semver.ts';

/** Problems listed in an error's message (all of them are in `error.problems`). */
const PROBLEMS_IN_MESSAGE = 5;

/** 400 `code` with every problem in `error.problems` and the first few in the message. */
export function problemsError(code: string, what: string, problems: ManifestProblem[], param: string | null): AppError {
  const shown = problems.slice(0, PROBLEMS_IN_MESSAGE).map((p) => `${p.path || '(whole)'} ${p.message}`).join('; ');
  const more = problems.length > PROBLEMS_IN_MESSAGE ? `; and ${problems.length - PROBLEMS_IN_MESSAGE} more (see error.problems)` : '';
  return new AppError({
    code, status: 400, type: ErrorType.invalidRequest, param,
    message: `${what} has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${shown}${more}.`, problems,
  });
}

export interface ManifestSourceDeps {
  fetchManifest: ManifestFetcher;
  /** Whether an `http:` base URL is acceptable (the allowed-networks policy). */
  httpAllowed: (url: URL) => boolean;
}

/** The validated manifest of a request carrying exactly one of `manifest` and `manifestUrl`. */
export async function manifestFromRequest(d: ManifestSourceDeps, input: { manifest?: unknown; manifestUrl?: string }): Promise<{ manifest: PluginManifest; manifestUrl: string | null }> {
  const hasManifest = input.manifest !== undefined;
  const hasUrl = input.manifestUrl !== undefined;
  if (hasManifest === hasUrl) throw invalidRequest('Send exactly one of "manifest" (the manifest itself) and "manifestUrl" (where to fetch it).', hasManifest ? 'manifestUrl' : 'manifest', 'invalid_request');
  const opts = { allowHttpUrl: d.httpAllowed };
  if (hasUrl) {
    const fetched = await d.fetchManifest(input.manifestUrl!);
    if (!fetched.ok) {
      throw new AppError({ code: 'manifest_fetch_failed', status: 422, type: ErrorType.invalidRequest, param: 'manifestUrl', message: `The manifest could not be fetched: ${fetched.message}.` });
    }
    const r = validateManifestText(fetched.bytes, opts);
    if (!r.ok) throw problemsError('invalid_manifest', 'The manifest', r.problems, 'manifestUrl');
    return { manifest: r.manifest, manifestUrl: input.manifestUrl! };
  }
  const r = validateManifest(input.manifest, opts);
  if (!r.ok) throw problemsError('invalid_manifest', 'The manifest', r.problems, 'manifest');
  return { manifest: r.manifest, manifestUrl: null };
}

const LISTED: readonly string[] = ['published', 'deprecated'];

/** Versions an organisation may see: all of its own plugin's, only listed ones of another's. */
export function visibleVersions(versions: readonly PluginVersion[], orgId: string): PluginVersion[] {
  return versions.filter((v) => v.orgId === orgId || LISTED.includes(v.status));
}

/** Whether `orgId` may install `v` now: another organisation only a published version; the author any but deprecated or withdrawn ones. */
export function installableBy(v: PluginVersion, orgId: string): boolean {
  if (v.orgId === orgId) return v.status !== 'withdrawn' && v.status !== 'deprecated';
  return v.status === 'published';
}

/** The mode an installation of `v` has: live for a published (or deprecated) version, sandbox for its author's unpublished ones. */
export function modeOf(v: PluginVersion): 'sandbox' | 'live' {
  return LISTED.includes(v.status) ? 'live' : 'sandbox';
}

/** What an install without a version gets: the highest published version, else (for the author) the highest installable one. */
export function latestInstallable(versions: readonly PluginVersion[], orgId: string): PluginVersion | null {
  const installable = versions.filter((v) => installableBy(v, orgId));
  return highestVersion(installable.filter((v) => v.status === 'published'), (v) => v.version) ?? highestVersion(installable, (v) => v.version);
}

export function latestPublished(versions: readonly PluginVersion[]): PluginVersion | null {
  return highestVersion(versions.filter((v) => v.status === 'published'), (v) => v.version);
}

/** What moving from `from` to `to` asks of the owner. */
export function changesBetween(from: PluginVersion | PluginManifest, to: PluginVersion | PluginManifest): UpgradeDiff {
  const a = 'manifest' in from ? from.manifest : from;
  const b = 'manifest' in to ? to.manifest : to;
  return diffManifests(a, b);
}

export const newerThan = (a: PluginVersion, b: PluginVersion): boolean => compareSemver(a.version, b.version) > 0;

/** 409 for a status move that the version's current status does not allow. */
export function wrongStatus(v: PluginVersion, what: string, allowed: string): AppError {
  return new AppError({
    code: 'invalid_version_status', status: 409, type: ErrorType.conflict, param: 'version',
    message: `Version ${v.version} is ${v.status}; ${what} needs a version that is ${allowed}.`,
  });
}
