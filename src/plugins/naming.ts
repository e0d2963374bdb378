/**
 * Tool names as the model sees them: `<slug>__<tool>`, within OpenAI's function-name rules
 * (`^[a-zA-Z0-9_-]{1,64}$`). Names are resolved through a stored map, never by splitting strings.
 * A tool whose prefixed name cannot fit is skipped and reported — never truncated into a collision.
 */

export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Longest slug: leaves 64 - 24 - 2 = 38 characters for the tool's own name. */
export const MAX_SLUG_LENGTH = 24;
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const SEPARATOR = '__';

/** Why a slug is unacceptable, or null when it is fine. */
export function slugProblem(slug: string): string | null {
  if (slug.length === 0 || slug.length > MAX_SLUG_LENGTH) return `slug must be 1 to ${MAX_SLUG_LENGTH} characters`;
  if (!SLUG_PATTERN.test(slug)) return 'slug may hold only lowercase letters, digits and single hyphens inside, e.g. "support-crm"';
  if (slug.includes('--')) return 'slug may not contain "--"';
  return null;
}

export interface NamedTool {
  name: string;
  prefixedName: string;
}

export interface SkippedTool {
  name: string;
  reason: string;
}

/**
 * Maps a plugin's tool names to prefixed function names. Characters OpenAI does not allow (MCP
 * allows `.`) become `_`; when that makes two names equal, or the result is longer than 64, the
 * tool is skipped with a reason.
 */
export function prefixToolNames(slug: string, toolNames: string[]): { named: NamedTool[]; skipped: SkippedTool[] } {
  const named: NamedTool[] = [];
  const skipped: SkippedTool[] = [];
  const taken = new Map<string, string>();
  for (const name of toolNames) {
    const mapped = name.replace(/[^a-zA-Z0-9_-]/g, '_');
    const prefixedName = `${slug}${SEPARATOR}${mapped}`;
    if (!name) {
      skipped.push({ name, reason: 'the tool has no name' });
    } else if (!FUNCTION_NAME.test(prefixedName)) {
      skipped.push({ name, reason: `"${prefixedName}" is longer than OpenAI's 64-character function-name limit` });
    } else if (taken.has(prefixedName)) {
      skipped.push({ name, reason: `"${prefixedName}" would collide with tool "${taken.get(prefixedName)}"` });
    } else {
      taken.set(prefixedName, name);
      named.push({ name, prefixedName });
    }
  }
  return { named, skipped };
}
