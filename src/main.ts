/**
 * The `plugboard` command: `serve` (what `npm start` and the container run) and the operator's
 * commands for bootstrapping and recovering access. Creating commands print their secrets once;
 * with `--json` they print the ids and secrets as one JSON object for scripts. The command table
 * and help texts are in cli/commands.ts. Only `serve` and `migrate` ever create a database; no
 * command prints a stack trace for a mistake the operator can fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.ts';
import type { App } from './app.ts';
import { MasterKeyError, type SecretBox } from './storage/secret-box.ts';
import { createOrganizationsRepo, Roles, type Role } from './storage/repos/organizations.ts';
import { createControlTokensRepo } from './storage/repos/control-tokens.ts';
import { createGatewayKeysRepo } from './storage/repos/gateway-keys.ts';
import { addMemberWithToken, createOrganizationWithOwner, type TenancyRepos } from './control/organizations.ts';
import { migrateWithBackup } from './storage/migration-backup.ts';
import { openDb, type Db } from './storage/db.ts';
import { need, parseCommandLine, UsageError } from './cli/commands.ts';

/** A command that cannot do what was asked, for a reason the operator can fix (exit 1, no stack). */
class CliError extends Error {
  override name = 'CliError';
}

function out(json: boolean, data: Record<string, unknown>, human: string): void {
  process.stdout.write(json ? JSON.stringify(data) + '\n' : human + '\n');
}

/**
 * Only `serve` and `migrate` create a database: every other command needs an existing one, so a
 * mistyped or missing PLUGBOARD_DATA_DIR is an error instead of a fresh database and master key.
 */
function requireData(config: Config): void {
  if (fs.existsSync(config.dbFile)) return;
  const where = fs.existsSync(config.dataDir) ? `${config.dataDir} has no ${path.basename(config.dbFile)}` : `${config.dataDir} does not exist`;
  throw new CliError(
    `No Plugboard data here: ${where}.\n` +
    'Point PLUGBOARD_DATA_DIR at the data directory of your installation (default ./data, /app/data in the container), ' +
    'or create one: `plugboard serve` (first start: an organisation, owner token and gateway key) or `plugboard migrate` (an empty database).',
  );
}

/** The whole application graph is loaded only by the commands that need it: help and usage errors stay instant. */
async function withStorage<T>(config: Config, fn: (db: Db, box: SecretBox) => T): Promise<T> {
  requireData(config);
  const { openStorage } = await import('./app.ts');
  const { db, box } = openStorage(config, { createKey: true });
  try {
    return fn(db, box);
  } finally {
    db.close();
  }
}

async function withRepos<T>(config: Config, fn: (r: TenancyRepos) => T): Promise<T> {
  return withStorage(config, (db) => fn({ db, orgs: createOrganizationsRepo(db), tokens: createControlTokensRepo(db), keys: createGatewayKeysRepo(db) }));
}

/**
 * `backup --to FILE`: a new file (or --force), in a directory that exists, never the live database.
 * The copy is written to a temporary file created 0600 before a byte of the database goes in (it
 * holds hashes, sealed secrets and customers' messages), then renamed over the target: a failed
 * backup never leaves half a file, and --force replaces whatever was there.
 */
async function backup(config: Config, to: string, force: boolean): Promise<string> {
  requireData(config);
  const target = path.resolve(to);
  if (target === path.resolve(config.dbFile)) throw new CliError(`${target} is the live database itself; choose another file.`);
  const dir = path.dirname(target);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CliError(`Cannot write the backup: the directory ${dir} does not exist.`);
  if (fs.existsSync(target)) {
    if (fs.statSync(target).isDirectory()) throw new CliError(`${target} is a directory; name a file in it, e.g. ${path.join(target, 'plugboard-backup.db')}.`);
    if (!force) throw new CliError(`${target} already exists; pass --force to overwrite it.`);
  }
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    fs.closeSync(fs.openSync(temp, 'wx', 0o600));
  } catch (err) {
    throw new CliError(`Cannot write the backup in ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
  const db = openDb({ file: config.dbFile });
  try {
    await db.backup(temp);
    fs.chmodSync(temp, 0o600);
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new CliError(`The backup to ${target} failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  return target;
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

async function serve(config: Config): Promise<void> {
  const { createApp } = await import('./app.ts');
  const app: App = createApp(config, {
    onBootstrap(boot) {
      // Printed once, on the very first start; never logged.
      process.stdout.write(
        [
          '',
          '  Plugboard first start: created an organization with an owner and a gateway key.',
          `  organization id:     ${boot.organization.id}`,
          `  owner token:         ${boot.ownerToken}     (control-panel API / TUI)`,
          `  gateway key:         ${boot.gatewayKeySecret}     (Authorization: Bearer … on /v1)`,
          '  They are shown only now. Lost them? `plugboard token create` / `plugboard key create`.',
          '',
        ].join('\n') + '\n',
      );
    },
  });
  const url = await app.listen();
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Announced once a signal stops it cleanly: a supervisor (or a test) that sends SIGTERM as soon as it
  // reads this line must not meet Node's default action (killed, no exit code, nothing flushed).
  app.log.info({ url, upstream: new URL(config.upstreamBaseUrl).origin, dataDir: config.dataDir }, 'plugboard listening');
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'help') {
    (parsed.toStderr ? process.stderr : process.stdout).write(parsed.text + '\n');
    return parsed.exitCode;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`plugboard ${version()}\n`);
    return 0;
  }
  const { command, values } = parsed;
  const json = values.json === true;
  const config = loadConfig(process.env);

  switch (command) {
    case 'serve':
      await serve(values.pretty === true ? Object.freeze({ ...config, logFormat: 'pretty' as const }) : config);
      return -1; // keep running
    case 'migrate': {
      const db = openDb({ file: config.dbFile });
      try {
        const r = migrateWithBackup(db, config.dbFile);
        const { backup: copy, ...result } = r;
        out(json, copy ? { ...result, backup: copy } : result, r.applied.length ? `Migrated from ${r.from} to ${r.to}: ${r.applied.join(', ')}${r.backup ? `\nThe database before: ${r.backup}` : ''}` : `Database is up to date (version ${r.to}).`);
      } finally {
        db.close();
      }
      return 0;
    }
    case 'doctor':
      return (await import('./doctor.ts')).runDoctor(config, json);
    case 'tui': {
      // tui (issue 13): the token may come from a file, so that it is not on the command line.
      const { resolveToken } = await import('../tui/token.ts');
      const found = resolveToken({ token: values.token as string | undefined, tokenFile: values['token-file'] as string | undefined, env: process.env });
      if (!found.ok) throw new UsageError(`tui: ${found.error}`, "Run 'plugboard help tui' for its usage.");
      const token = found.token;
      const url = (values.url as string | undefined) ?? process.env.PLUGBOARD_TUI_URL ?? `http://127.0.0.1:${config.port}`;
      // Loaded only here, so `serve` never loads blessed.
      const { runTui } = await import('../tui/main.ts');
      return runTui({ url, token, org: values.org as string | undefined });
    }
    case 'org create': {
      const name = need(command, values, 'name');
      const created = await withRepos(config, (r) => createOrganizationWithOwner(r, { name, ownerName: (values['owner-name'] as string | undefined) ?? 'Owner' }));
      out(json, { organizationId: created.organization.id, name, ownerUserId: created.ownerUserId, ownerToken: created.ownerToken },
        `Organization ${created.organization.id} (${name})\nOwner user: ${created.ownerUserId}\nOwner token (shown once): ${created.ownerToken}`);
      return 0;
    }
    case 'org list': {
      const orgs = await withRepos(config, (r) => r.orgs.listAll());
      out(json, { data: orgs.map((o) => ({ id: o.id, name: o.name, createdAt: new Date(o.createdAt).toISOString() })) },
        orgs.map((o) => `${o.id}  ${o.name}`).join('\n') || '(no organizations)');
      return 0;
    }
    case 'member add': {
      const orgId = need(command, values, 'org');
      const role = need(command, values, 'role') as Role;
      if (!Roles.includes(role)) throw new UsageError(`member add: --role must be one of ${Roles.join(', ')}.`, "Run 'plugboard help member' for its usage.");
      const name = need(command, values, 'name');
      const created = await withRepos(config, (r) => {
        if (!r.orgs.get(orgId)) throw new CliError(`No organization ${orgId}. List them with: plugboard org list`);
        return addMemberWithToken(r, orgId, { name, role });
      });
      out(json, { organizationId: orgId, userId: created.userId, role, token: created.token }, `User ${created.userId} (${role})\nToken (shown once): ${created.token}`);
      return 0;
    }
    case 'token create': {
      const userId = need(command, values, 'user');
      const created = await withRepos(config, (r) => {
        if (!r.orgs.getUser(userId)) throw new CliError(`No user ${userId}.`);
        return r.tokens.create(userId, 'cli');
      });
      out(json, { userId, tokenId: created.token.id, token: created.secret }, `Token (shown once): ${created.secret}`);
      return 0;
    }
    case 'key create': {
      const orgId = need(command, values, 'org');
      const rpmText = typeof values.rpm === 'string' ? values.rpm.trim() : undefined;
      if (rpmText !== undefined && (!/^\d{1,8}$/.test(rpmText) || Number(rpmText) > 10_000_000)) {
        throw new UsageError(`key create: --rpm must be a whole number from 0 to 10000000 (requests per minute; 0 = unlimited), not ${JSON.stringify(rpmText)}.`, "Run 'plugboard help key' for its usage.");
      }
      const rpm = rpmText === undefined ? null : Number(rpmText);
      const created = await withRepos(config, (r) => {
        if (!r.orgs.get(orgId)) throw new CliError(`No organization ${orgId}. List them with: plugboard org list`);
        return r.keys.create(orgId, { name: (values.name as string | undefined) ?? '', rateLimitRpm: rpm, createdBy: 'cli' });
      });
      out(json, { id: created.key.id, organizationId: orgId, key: created.secret, prefix: created.key.prefix }, `Gateway key ${created.key.id}\nKey (shown once): ${created.secret}`);
      return 0;
    }
    case 'key list': {
      const orgId = need(command, values, 'org');
      const keys = await withRepos(config, (r) => r.keys.list(orgId));
      const data = keys.map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, last4: k.last4, status: k.revokedAt ? 'revoked' : 'active', lastUsedAt: k.lastUsedAt ? new Date(k.lastUsedAt).toISOString() : null }));
      out(json, { data }, data.map((k) => `${k.id}  ${k.prefix}…${k.last4}  ${k.status}  ${k.name}  last used ${k.lastUsedAt ?? 'never'}`).join('\n') || '(no keys)');
      return 0;
    }
    case 'key revoke': {
      const orgId = need(command, values, 'org');
      const id = need(command, values, 'id');
      const ok = await withRepos(config, (r) => {
        if (!r.keys.get(orgId, id)) throw new CliError(`No key ${id} in organization ${orgId}.`);
        r.keys.revoke(orgId, id);
        return true;
      });
      out(json, { id, revoked: ok }, `Key ${id} revoked.`);
      return 0;
    }
    case 'backup': {
      const to = await backup(config, need(command, values, 'to'), values.force === true);
      out(json, { backup: to }, `Database backed up to ${to} (mode 0600). Keep the master key (${config.masterKey ? 'PLUGBOARD_MASTER_KEY' : config.masterKeyFile}) with it, stored separately.`);
      return 0;
    }
    // Operations (issue 13, ops): cli/ops.ts.
    case 'restore':
    case 'master-key rotate': {
      const ops = await import('./cli/ops.ts');
      try {
        if (command === 'restore') {
          const r = ops.restoreDatabase(config, need(command, values, 'from'), { force: values.force === true });
          out(json, { ...r }, [
            `Restored ${r.from} (schema ${r.schemaVersion}) to ${r.restored}.`,
            r.previous ? `The database it replaced is kept at ${r.previous}.` : 'There was no database before.',
            'Start the server: pending migrations run (after a backup) on start.',
          ].join('\n'));
        } else {
          const r = ops.rotateMasterKey(config, { newKeyFile: values['new-key-file'] as string | undefined, force: values.force === true });
          out(json, { ...r }, [
            r.resumed ? `Finished an interrupted rotation: the master key is now ${r.newKid}.` : `Re-sealed ${r.total} secrets under the new master key ${r.newKid} (was ${r.oldKid}) in one transaction.`,
            config.masterKey ? `The new key is in ${r.keyFile}: set PLUGBOARD_MASTER_KEY to its content before the next start (the old key no longer opens this database).` : `The new key is in ${r.keyFile}.`,
            r.retiredKeyFile ? `The old key is at ${r.retiredKeyFile}: backups made before now need it. Store it offline with them and delete it here.` : 'Backups made before now need the old key: keep it with them.',
          ].join('\n'));
        }
      } catch (err) {
        if (err instanceof ops.OpsError) throw new CliError(err.message);
        throw err;
      }
      return 0;
    }
    default:
      // Custom plugins (issue 11): cli/plugins.ts.
      if (command.startsWith('plugin ') || command.startsWith('operator ')) {
        const { runPluginCli } = await import('./cli/plugins.ts');
        return runPluginCli({
          config, command, values, positionals: parsed.positionals, out: (data, human) => out(json, data, human), withStorage: (fn) => withStorage(config, fn),
          fail: (message) => {
            throw new CliError(message);
          },
        });
      }
      throw new UsageError(`unknown command '${command}'.`, "Run 'plugboard help' for the list of commands.");
  }
}

const isEntry = process.argv[1] && /(?:src[\\/]main\.ts|plugboard(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        process.stderr.write(`plugboard: ${err.message}\n${err.hint}\n`);
        process.exitCode = 2;
      } else if (err instanceof CliError) {
        process.stderr.write(`plugboard: ${err.message}\n`);
        process.exitCode = 1;
      } else if (err instanceof ConfigError || err instanceof MasterKeyError) {
        process.stderr.write(`plugboard: ${(err as Error).message}\n`);
        process.exitCode = 78;
      } else {
        process.stderr.write(`plugboard: ${(err as Error)?.stack ?? String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
