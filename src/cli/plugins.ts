/**
 * The `plugboard` commands of custom plugins: `plugin validate <file|url>` (the manifest validator
 * of the appliance, offline, for authors' CI: every problem with its JSON Pointer path, exit 1 when
 * there is any), the operator's review queue (`plugin review list|approve|reject`, on the data
 * directory like every other operator command) and operator tokens (`operator token
 * create|list|revoke`; a token is printed once). Must never print a token after it was created.
 */
import fs from 'node:fs';
import type { Config } from '../config.ts';
import type { Db } from '../storage/db.ts';
import type { SecretBox } from '../storage/secret-box.ts';
import { validateManifestText } from '../plugins/kinds/custom/manifest.ts';
import { createManifestFetcher, httpAllowedBy } from '../plugins/kinds/custom/manifest-source.ts';
import { createPluginStore } from '../plugins/kinds/custom/plugin-store.ts';
import { createCustomInstallationsRepo } from '../plugins/kinds/custom/installation-store.ts';
import { createInstallationsRepo } from '../storage/repos/plugin-installations.ts';
import { createOrganizationsRepo } from '../storage/repos/organizations.ts';
import { createOperatorTokensRepo } from '../storage/repos/operator-tokens.ts';
import { approveVersion, listReviews, rejectVersion, type ReviewDeps } from '../control/plugin-reviews.ts';
import { createOperatorToken } from '../control/operator.ts';
import { isAppError } from '../errors.ts';
import { need } from './commands.ts';

export interface PluginCliContext {
  config: Config;
  command: string;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Prints `data` as JSON (--json) or `human`. */
  out(data: Record<string, unknown>, human: string): void;
  /** Runs `fn` on the existing database of the data directory (never creates one). */
  withStorage<T>(fn: (db: Db, box: SecretBox) => T): Promise<T>;
  /** Ends the command with a message the operator can act on (exit 1). */
  fail(message: string): never;
}

function reviewDeps(db: Db, box: SecretBox): ReviewDeps {
  const orgs = createOrganizationsRepo(db);
  return {
    custom: { store: createPluginStore(db, box), installs: createCustomInstallationsRepo(db, box, createInstallationsRepo(db)) },
    orgName: (id) => orgs.get(id)?.name ?? null,
    onChange: () => undefined,
  };
}

async function validate(c: PluginCliContext): Promise<number> {
  const target = c.positionals[0];
  const policy = { allowedNetworks: c.config.mcpAllowedNetworks };
  let bytes: Buffer;
  if (/^https?:\/\//i.test(target)) {
    const fetched = await createManifestFetcher(policy)(target);
    if (!fetched.ok) c.fail(`${target}: ${fetched.message}.`);
    bytes = fetched.bytes;
  } else {
    try {
      bytes = fs.readFileSync(target);
    } catch (err) {
      c.fail(`Cannot read ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
    }
  }
  const r = validateManifestText(bytes, { allowHttpUrl: httpAllowedBy(policy) });
  if (r.ok) {
    c.out({ ok: true, slug: r.manifest.slug, version: r.manifest.version, tools: r.manifest.tools.length, problems: [] },
      `${target}: valid (${r.manifest.slug} ${r.manifest.version}, ${r.manifest.tools.length} tool${r.manifest.tools.length === 1 ? '' : 's'}).`);
    return 0;
  }
  c.out({ ok: false, problems: r.problems },
    [`${target}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`, ...r.problems.map((p) => `  ${p.path || '(whole manifest)'}: ${p.message}`)].join('\n'));
  return 1;
}

/** Runs one plugin or operator command; returns the exit code. */
export async function runPluginCli(c: PluginCliContext): Promise<number> {
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (isAppError(err)) c.fail(err.message);
      throw err;
    }
  };
  switch (c.command) {
    case 'plugin validate':
      return validate(c);
    case 'plugin review list': {
      const reviews = await c.withStorage((db, box) => listReviews(reviewDeps(db, box)));
      const data = reviews.map((r) => ({
        versionId: r.version.id, pluginId: r.plugin.id, slug: r.plugin.slug, version: r.version.version, organizationId: r.version.orgId,
        organizationName: r.organizationName, submittedAt: r.version.submittedAt ? new Date(r.version.submittedAt).toISOString() : null,
        previousPublishedVersion: r.previous?.version ?? null, needsConsent: r.changes?.needsConsent ?? null,
        permissions: r.version.manifest.permissions.map((p) => p.key), baseUrl: r.version.manifest.baseUrl,
      }));
      c.out({ data }, data.map((r) => `${r.versionId}  ${r.slug} ${r.version}  by ${r.organizationName ?? r.organizationId}  ${r.baseUrl}  permissions: ${r.permissions.join(', ') || 'none'}`).join('\n') || '(no plugin versions waiting for review)');
      return 0;
    }
    case 'plugin review approve': {
      const id = need(c.command, c.values, 'id');
      const note = typeof c.values.note === 'string' ? c.values.note : undefined;
      const v = await c.withStorage((db, box) => guard(() => approveVersion(reviewDeps(db, box), id, 'cli', note)));
      c.out({ versionId: v.id, slug: v.manifest.slug, version: v.version, status: v.status }, `${v.manifest.slug} ${v.version} is published in the plugin directory.`);
      return 0;
    }
    case 'plugin review reject': {
      const id = need(c.command, c.values, 'id');
      const reason = need(c.command, c.values, 'reason');
      const v = await c.withStorage((db, box) => guard(() => rejectVersion(reviewDeps(db, box), id, 'cli', reason)));
      c.out({ versionId: v.id, slug: v.manifest.slug, version: v.version, status: v.status }, `${v.manifest.slug} ${v.version} is rejected.`);
      return 0;
    }
    case 'operator token create': {
      const name = need(c.command, c.values, 'name');
      const created = await c.withStorage((db) => guard(() => createOperatorToken(createOperatorTokensRepo(db), name)));
      c.out({ id: created.token.id, name: created.token.name, token: created.secret }, `Operator token ${created.token.id} (${created.token.name})\nToken (shown once): ${created.secret}`);
      return 0;
    }
    case 'operator token list': {
      const list = await c.withStorage((db) => createOperatorTokensRepo(db).list());
      const data = list.map((t) => ({ id: t.id, name: t.name, prefix: t.prefix, status: t.revokedAt ? 'revoked' : 'active', lastUsedAt: t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : null }));
      c.out({ data }, data.map((t) => `${t.id}  ${t.prefix}…  ${t.status}  ${t.name}  last used ${t.lastUsedAt ?? 'never'}`).join('\n') || '(no operator tokens)');
      return 0;
    }
    case 'operator token revoke': {
      const id = need(c.command, c.values, 'id');
      await c.withStorage((db) => {
        const repo = createOperatorTokensRepo(db);
        if (!repo.get(id)) c.fail(`No operator token ${id}. List them with: plugboard operator token list`);
        repo.revoke(id);
      });
      c.out({ id, revoked: true }, `Operator token ${id} revoked.`);
      return 0;
    }
    default:
      return c.fail(`unknown command '${c.command}'.`);
  }
}
