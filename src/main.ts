/**
 * The `plugboard` command: `serve` (what `npm start` and the container run) and the operator's
 * commands for bootstrapping and recovering access. Creating commands print their secrets once;
 * with `--json` they print the ids and secrets as one JSON object for scripts.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createApp, openStorage } from './app.ts';
import { MasterKeyError } from './storage/secret-box.ts';
import { createOrganizationsRepo, Roles, type Role } from './storage/repos/organizations.ts';
import { createControlTokensRepo } from './storage/repos/control-tokens.ts';
import { createGatewayKeysRepo } from './storage/repos/gateway-keys.ts';
import { addMemberWithToken, createOrganizationWithOwner, type TenancyRepos } from './control/organizations.ts';
import { runDoctor } from './doctor.ts';
import { migrate } from './storage/migrate.ts';
import { openDb } from './storage/db.ts';

const USAGE = `Usage: plugboard <command> [options]

  serve                                   run the gateway, control-panel API and workers
  migrate                                 apply pending database migrations and exit
  doctor                                  check data dir, database, master key and upstream
  tui --token T [--url URL] [--org ID]    operator terminal UI attached to a running server
  org create --name NAME [--owner-name N] create an organisation and its owner (prints the owner token)
  org list                                list organisations
  member add --org ID --name N --role R   add a user (owner|admin|member) and print their token
  token create --user USER_ID             issue a new control-panel token for a user (access recovery)
  key create --org ID [--name N] [--rpm N]   create a gateway key (printed once)
  key list --org ID                       list gateway keys
  key revoke --org ID --id KEY_ID         revoke a gateway key
  backup --to FILE                        online backup of the database

Every creating command accepts --json. Configuration: PLUGBOARD_* environment variables (see README).`;

class UsageError extends Error {}

function out(json: boolean, data: Record<string, unknown>, human: string): void {
  process.stdout.write(json ? JSON.stringify(data) + '\n' : human + '\n');
}

function withRepos<T>(config: Config, fn: (r: TenancyRepos) => T): T {
  const { db } = openStorage(config, { createKey: true });
  try {
    return fn({ db, orgs: createOrganizationsRepo(db), tokens: createControlTokensRepo(db), keys: createGatewayKeysRepo(db) });
  } finally {
    db.close();
  }
}

function need(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required.`);
  return v.trim();
}

async function serve(config: Config): Promise<void> {
  const app = createApp(config, {
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
  app.log.info({ url, upstream: new URL(config.upstreamBaseUrl).origin, dataDir: config.dataDir }, 'plugboard listening');
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
}

export async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  const args = ['org', 'key', 'member', 'token'].includes(command) ? rest : [sub, ...rest].filter((a) => a !== undefined);
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      name: { type: 'string' }, 'owner-name': { type: 'string' }, org: { type: 'string' }, role: { type: 'string' },
      user: { type: 'string' }, id: { type: 'string' }, rpm: { type: 'string' }, to: { type: 'string' },
      url: { type: 'string' }, token: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const json = values.json === true;
  const config = loadConfig(process.env);

  switch (`${command}${['org', 'key', 'member', 'token'].includes(command) ? ' ' + (sub ?? '') : ''}`) {
    case 'serve':
      await serve(config);
      return -1; // keep running
    case 'migrate': {
      const db = openDb({ file: config.dbFile });
      try {
        const r = migrate(db);
        out(json, { ...r }, r.applied.length ? `Migrated from ${r.from} to ${r.to}: ${r.applied.join(', ')}` : `Database is up to date (version ${r.to}).`);
      } finally {
        db.close();
      }
      return 0;
    }
    case 'doctor':
      return runDoctor(config, json);
    case 'tui': {
      const token = (values.token as string | undefined) ?? process.env.PLUGBOARD_TUI_TOKEN;
      if (!token) throw new UsageError('--token (or PLUGBOARD_TUI_TOKEN) is required: a control-panel token.');
      const url = (values.url as string | undefined) ?? process.env.PLUGBOARD_TUI_URL ?? `http://127.0.0.1:${config.port}`;
      // Loaded only here, so `serve` never loads blessed.
      const { runTui } = await import('../tui/main.ts');
      return runTui({ url, token, org: values.org as string | undefined });
    }
    case 'org create': {
      const name = need(values, 'name');
      const created = withRepos(config, (r) => createOrganizationWithOwner(r, { name, ownerName: (values['owner-name'] as string | undefined) ?? 'Owner' }));
      out(json, { organizationId: created.organization.id, name, ownerUserId: created.ownerUserId, ownerToken: created.ownerToken },
        `Organization ${created.organization.id} (${name})\nOwner user: ${created.ownerUserId}\nOwner token (shown once): ${created.ownerToken}`);
      return 0;
    }
    case 'org list': {
      const orgs = withRepos(config, (r) => r.orgs.listAll());
      out(json, { data: orgs.map((o) => ({ id: o.id, name: o.name, createdAt: new Date(o.createdAt).toISOString() })) },
        orgs.map((o) => `${o.id}  ${o.name}`).join('\n') || '(no organizations)');
      return 0;
    }
    case 'member add': {
      const orgId = need(values, 'org');
      const role = need(values, 'role') as Role;
      if (!Roles.includes(role)) throw new UsageError(`--role must be one of ${Roles.join(', ')}.`);
      const name = need(values, 'name');
      const created = withRepos(config, (r) => {
        if (!r.orgs.get(orgId)) throw new UsageError(`No organization ${orgId}.`);
        return addMemberWithToken(r, orgId, { name, role });
      });
      out(json, { organizationId: orgId, userId: created.userId, role, token: created.token }, `User ${created.userId} (${role})\nToken (shown once): ${created.token}`);
      return 0;
    }
    case 'token create': {
      const userId = need(values, 'user');
      const created = withRepos(config, (r) => {
        if (!r.orgs.getUser(userId)) throw new UsageError(`No user ${userId}.`);
        return r.tokens.create(userId, 'cli');
      });
      out(json, { userId, tokenId: created.token.id, token: created.secret }, `Token (shown once): ${created.secret}`);
      return 0;
    }
    case 'key create': {
      const orgId = need(values, 'org');
      const rpm = values.rpm === undefined ? null : Number(values.rpm);
      if (rpm !== null && (!Number.isInteger(rpm) || rpm < 0)) throw new UsageError('--rpm must be a whole number ≥ 0.');
      const created = withRepos(config, (r) => {
        if (!r.orgs.get(orgId)) throw new UsageError(`No organization ${orgId}.`);
        return r.keys.create(orgId, { name: (values.name as string | undefined) ?? '', rateLimitRpm: rpm, createdBy: 'cli' });
      });
      out(json, { id: created.key.id, organizationId: orgId, key: created.secret, prefix: created.key.prefix }, `Gateway key ${created.key.id}\nKey (shown once): ${created.secret}`);
      return 0;
    }
    case 'key list': {
      const orgId = need(values, 'org');
      const keys = withRepos(config, (r) => r.keys.list(orgId));
      const data = keys.map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, last4: k.last4, status: k.revokedAt ? 'revoked' : 'active', lastUsedAt: k.lastUsedAt ? new Date(k.lastUsedAt).toISOString() : null }));
      out(json, { data }, data.map((k) => `${k.id}  ${k.prefix}…${k.last4}  ${k.status}  ${k.name}  last used ${k.lastUsedAt ?? 'never'}`).join('\n') || '(no keys)');
      return 0;
    }
    case 'key revoke': {
      const orgId = need(values, 'org');
      const id = need(values, 'id');
      const ok = withRepos(config, (r) => {
        if (!r.keys.get(orgId, id)) throw new UsageError(`No key ${id} in organization ${orgId}.`);
        r.keys.revoke(orgId, id);
        return true;
      });
      out(json, { id, revoked: ok }, `Key ${id} revoked.`);
      return 0;
    }
    case 'backup': {
      const to = need(values, 'to');
      const db = openDb({ file: config.dbFile });
      try {
        await db.backup(to);
      } finally {
        db.close();
      }
      out(json, { backup: to }, `Database backed up to ${to}. Keep the master key (${config.masterKey ? 'PLUGBOARD_MASTER_KEY' : config.masterKeyFile}) with it, stored separately.`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown command: ${argv.slice(0, 2).join(' ')}`);
  }
}

const isEntry = process.argv[1] && /(?:src[\\/]main\.ts|plugboard(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError || (err as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS')) {
        process.stderr.write(`plugboard: ${(err as Error).message}\n\n${USAGE}\n`);
        process.exitCode = 2;
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
