/**
 * SemVer 2.0 precedence (semver.org §11) for manifest versions, which the manifest validator has
 * already checked against the SemVer grammar: "latest" and upgrade order come from here.
 * Must never accept ranges or guess at malformed input (it sorts such strings last, by text).
 */

interface Parsed {
  core: [number, number, number];
  pre: string[];
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function parse(v: string): Parsed | null {
  const m = SEMVER.exec(v);
  if (!m) return null;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when `a` precedes `b`, positive when it follows, 0 when they have the same precedence. */
export function compareSemver(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return Math.sign(pa.core[i] - pb.core[i]);
  // A pre-release precedes its release.
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length === 0 ? 0 : pa.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const c = compareIdentifiers(pa.pre[i], pb.pre[i]);
    if (c !== 0) return c;
  }
  return Math.sign(pa.pre.length - pb.pre.length);
}

/** The highest of `versions` by SemVer precedence, or null for none. */
export function highestVersion<T>(items: readonly T[], versionOf: (item: T) => string): T | null {
  let best: T | null = null;
  for (const item of items) if (best === null || compareSemver(versionOf(item), versionOf(best)) > 0) best = item;
  return best;
}
