/**
 * Day-2 commands through the real CLI (`node src/main.ts …`) on a real data directory:
 * - restore round trip: backup while serving, change things, restore refused while the server
 *   runs, then restored once it stopped — the data is the backup's, its secrets open, the replaced
 *   database is kept; damaged, foreign and wrongly keyed files change nothing;
 * - master-key rotation round trip: every sealed secret of every kind (Twilio token, customer
 *   phone, MCP credential, custom plugin signing secret, config secret and customer key, Stripe
 *   keys) opens under the new key with the same plaintext and no longer under the old one, the old
 *   key is refused at start, customer ids stay the same, and an interrupted rotation is finished;
 * - the backup taken before a migration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startApp, tempDir, testConfig } from '../helpers/app.ts';
import { setupWhatsApp } from '../channels/whatsapp-setup.ts';
import { testManifest } from '../plugins/custom/helpers.ts';
import { openDb, type Db } from '../../src/storage/db.ts';
import { createSecretBox, MasterKeyError, parseMasterKey } from '../../src/storage/secret-box.ts';
import { SEALED, unknownSealedColumns } from '../../src/storage/rekey.ts';
import { restoreDatabase, rotateMasterKey } from '../../src/cli/ops.ts';
import { loadMigrations, migrate } from '../../src/storage/migrate.ts';
import { migrateWithBackup } from '../../src/storage/migration-backup.ts';
import { validateManifest } from '../../src/plugins/kinds/custom/manifest.ts';
import { createApp } from '../../src/app.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMPILE_CACHE = tempDir('plugboard-ops-cache-');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_COMPILE_CACHE: COMPILE_CACHE, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every sealed value of the database, opened with `key`: `table.column#row[/entry]` → plaintext (throws when one does not open). */
function openAll(db: Db, key: Buffer): Map<string, string> {
  const box = createSecretBox(key);
  const out = new Map<string, string>();
  for (const col of SEALED) {
    const has = (db.prepare('SELECT name FROM pragma_table_info(?)').all(col.table) as Array<{ name: string }>).some((c) => c.name === col.column);
    if (!has) continue;
    for (const row of db.prepare(`SELECT * FROM ${col.table} WHERE ${col.column} IS NOT NULL`).all() as Array<Record<string, string>>) {
      const opts = col.personal ? { credential: false } : undefined;
      if (col.jsonMap) {
        for (const [k, v] of Object.entries(JSON.parse(row[col.column]) as Record<string, string>)) out.set(`${col.table}.${col.column}#${row[col.id]}/${k}`, box.open(v, col.aad(row, k), opts));
      } else out.set(`${col.table}.${col.column}#${row[col.id]}`, box.open(row[col.column], col.aad(row), opts));
    }
  }
  return out;
}

/** A WhatsApp set-up with one customer, plus an MCP credential, a custom plugin with an installation holding a config secret, and a Stripe binding. */
async function seededApp() {
  const s = await setupWhatsApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  assert.equal((await s.send('hello')).status, 200);
  const { app } = s.t;
  const orgId = s.tenant.orgId;
  app.mcp.installations.create(orgId, {
    slug: 'crm', displayName: 'CRM', description: '', url: 'http://127.0.0.1:9/mcp', transport: 'streamable_http',
    credential: { type: 'header', name: 'X-Api-Key', value: 'mcp-header-secret-123456' }, timeoutMs: null, toolAllowlist: null, toolRateLimits: {},
  });
  const v = validateManifest(testManifest('https://orders.example.com'));
  assert.ok(v.ok);
  const { plugin, version } = app.custom.store.create(orgId, v.manifest, null);
  app.custom.store.rotateSecret(plugin, 60_000); // a previous secret too
  app.custom.installs.create(orgId, {
    pluginId: plugin.id, versionId: version.id, slug: 'orders', displayName: 'Orders', description: '', mode: 'sandbox',
    config: { values: { region: 'eu' }, setSecrets: { api_key: 'orders-api-key-secret-987654' }, dropSecrets: [] },
    acceptedPermissions: ['orders:orders:read'], toolAllowlist: null, toolRateLimits: {}, catalog: [],
  });
  app.payments.bindings.bind(orgId, 'stripe', {} as never, { secretKey: 'sk_test_rotate0123456789abcd', webhookSecret: 'whsec_rotate0123456789abcdef' }, null);
  return s;
}

test('master-key rotate: every sealed secret re-sealed under a new key in one go; the old key is refused; customer ids survive; refused while serving', { timeout: 120_000 }, async () => {
  const s = await seededApp();
  const dataDir = s.t.config.dataDir;
  const env = { PLUGBOARD_DATA_DIR: dataDir };
  const oldKey = parseMasterKey(fs.readFileSync(s.t.config.masterKeyFile, 'utf8'));
  const convsBefore = (await s.t.api('GET', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}/conversations`, { token: s.tenant.ownerToken })).json.data;
  let before: Map<string, string>;
  try {
    before = openAll(s.t.app.db, oldKey);
    const kinds = new Set([...before.keys()].map((k) => k.split('#')[0]));
    for (const want of ['whatsapp_instances.twilio_auth_token_sealed', 'whatsapp_customers.phone_sealed', 'mcp_endpoints.credential_sealed', 'custom_plugins.signing_secret_sealed',
      'custom_plugins.previous_secret_sealed', 'custom_installations.customer_key_sealed', 'custom_installations.config_secrets', 'payment_bindings.secret_key_sealed', 'payment_bindings.webhook_secret_sealed']) {
      assert.ok(kinds.has(want), `seeded: ${want}`);
    }
    assert.deepEqual(unknownSealedColumns(s.t.app.db), [], 'every sealed-looking column of the schema is known to the rotation');

    const refused = await cli(['master-key', 'rotate'], env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /A Plugboard server \(pid \d+\) is running/);
  } finally {
    await s[Symbol.asyncDispose]();
  }

  const r = await cli(['master-key', 'rotate', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.total, before.size);
  assert.equal(out.resumed, false);
  assert.ok(!r.stdout.includes(oldKey.toString('base64')) && !r.stdout.includes(oldKey.toString('hex')), 'no key printed');
  const newKey = parseMasterKey(fs.readFileSync(path.join(dataDir, 'master.key'), 'utf8'));
  assert.notDeepEqual(newKey, oldKey);
  assert.equal(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777, 0o600);
  assert.deepEqual(parseMasterKey(fs.readFileSync(out.retiredKeyFile, 'utf8')), oldKey, 'the old key is kept aside for old backups');

  const db = openDb({ file: path.join(dataDir, 'plugboard.db') });
  try {
    assert.deepEqual(openAll(db, newKey), before, 'every secret opens under the new key with the same plaintext');
    const oldBox = createSecretBox(oldKey);
    for (const col of SEALED.filter((c) => !c.jsonMap)) {
      const has = (db.prepare('SELECT name FROM pragma_table_info(?)').all(col.table) as Array<{ name: string }>).some((c) => c.name === col.column);
      if (!has) continue;
      for (const row of db.prepare(`SELECT * FROM ${col.table} WHERE ${col.column} IS NOT NULL`).all() as Array<Record<string, string>>) {
        assert.throws(() => oldBox.open(row[col.column], col.aad(row)), MasterKeyError, `${col.table}.${col.column} no longer opens with the old key`);
      }
    }
  } finally {
    db.close();
  }

  // The old key is refused at start; the new one serves, and Alice is the same customer as before.
  assert.throws(() => createApp(testConfig({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: oldKey.toString('hex') })), /does not match/);
  const again = await setupWhatsAppOn(dataDir);
  try {
    assert.equal((await again.send('still there?')).status, 200);
    const convs = (await again.t.api('GET', `/organizations/${again.orgId}/whatsapp-instances/${again.instanceId}/conversations`, { token: again.token })).json.data;
    assert.equal(convs.length, 1, 'the same conversation: the customer id did not change with the key');
    assert.equal(convs[0].customerRef, convsBefore[0].customerRef);
  } finally {
    await again.close();
  }

  // Interrupted after the commit, before the key files were swapped: the next run finishes it.
  const third = Buffer.alloc(32, 7);
  const db2 = openDb({ file: path.join(dataDir, 'plugboard.db') });
  try {
    const { rekeyDatabase, storedCustomerRefKey } = await import('../../src/storage/rekey.ts');
    rekeyDatabase(db2, newKey, third, storedCustomerRefKey(db2, createSecretBox(newKey))!);
  } finally {
    db2.close();
  }
  fs.writeFileSync(path.join(dataDir, 'master.key.new'), third.toString('base64') + '\n', { mode: 0o600 });
  const resumed = rotateMasterKey(testConfig({ PLUGBOARD_DATA_DIR: dataDir }), { force: false });
  assert.equal(resumed.resumed, true);
  assert.deepEqual(parseMasterKey(fs.readFileSync(path.join(dataDir, 'master.key'), 'utf8')), third);
  const db3 = openDb({ file: path.join(dataDir, 'plugboard.db') });
  try {
    assert.deepEqual(openAll(db3, third), before);
  } finally {
    db3.close();
  }
});

/** Starts an app on an existing data dir with a fake Twilio and upstream, for the instance the seeded app made. */
async function setupWhatsAppOn(dataDir: string) {
  const { deliverTwilioWebhook, inboundParams } = await import('../fakes/twilio-webhooks.ts');
  const db = openDb({ file: path.join(dataDir, 'plugboard.db'), readonly: true });
  const inst = db.prepare('SELECT id, org_id, sender, twilio_account_sid FROM whatsapp_instances').get() as { id: string; org_id: string; sender: string; twilio_account_sid: string };
  db.close();
  const t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_WORKER_ENABLED: 'false', PLUGBOARD_PUBLIC_BASE_URL: 'https://pb.example.com' });
  const owner = t.member(inst.org_id, 'owner');
  const creds = t.app.whatsapp.repos.instances.credentials(inst.org_id, inst.id)!;
  return {
    t, orgId: inst.org_id, instanceId: inst.id, token: owner.token,
    send(text: string) {
      const p = `/webhooks/twilio/whatsapp/${inst.id}`;
      return deliverTwilioWebhook({
        url: t.url + p, signedUrl: 'https://pb.example.com' + p, authToken: creds.authToken,
        params: inboundParams({ accountSid: creds.accountSid, from: 'whatsapp:+14155550123', to: inst.sender, body: text }),
      });
    },
    close: () => t.close(),
  };
}

test('restore round trip: backup while serving, restore refused while the server runs, then the backup\'s data and secrets are back and the replaced database is kept', { timeout: 120_000 }, async () => {
  const s = await seededApp();
  const dataDir = s.t.config.dataDir;
  const env = { PLUGBOARD_DATA_DIR: dataDir };
  const backupFile = path.join(tempDir('plugboard-restore-'), 'before.db');
  const key = parseMasterKey(fs.readFileSync(s.t.config.masterKeyFile, 'utf8'));
  let before: Map<string, string>;
  let gatewayKey: string;
  try {
    gatewayKey = s.t.key(s.tenant.orgId, { name: 'kept' }).secret;
    before = openAll(s.t.app.db, key);
    const b = await cli(['backup', '--to', backupFile], env);
    assert.equal(b.code, 0, b.stderr);
    // After the backup: another organisation, and the instance deleted.
    s.t.tenant('Made after the backup');
    assert.equal((await s.t.api('DELETE', `/organizations/${s.tenant.orgId}/whatsapp-instances/${s.instance.id}`, { token: s.tenant.ownerToken })).status, 200);
    const refused = await cli(['restore', '--from', backupFile], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is running on .*stop it first/);
  } finally {
    await s[Symbol.asyncDispose]();
  }
  const r = await cli(['restore', '--from', backupFile, '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.schemaVersion, loadMigrations().length);
  assert.ok(fs.existsSync(out.previous), 'the replaced database is kept');
  assert.equal(fs.statSync(path.join(dataDir, 'plugboard.db')).mode & 0o777, 0o600);

  await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_WORKER_ENABLED: 'false' });
  const orgs = t.app.repos.orgs.listAll().map((o) => o.name);
  assert.deepEqual(orgs, ['Acme'], 'the organisation made after the backup is gone');
  assert.equal((t.app.db.prepare('SELECT COUNT(*) AS n FROM whatsapp_instances').get() as { n: number }).n, 1, 'the deleted instance is back');
  assert.deepEqual(openAll(t.app.db, key), before, 'every secret of the backup opens');
  const upstreamAnswer = await t.openai(gatewayKey).models.list().catch((err: { status?: number }) => err.status);
  assert.notEqual(upstreamAnswer, 401, 'the gateway key made before the backup still authenticates');
  const prev = openDb({ file: out.previous, readonly: true });
  try {
    assert.equal((prev.prepare('SELECT COUNT(*) AS n FROM organizations').get() as { n: number }).n, 2, 'the kept copy is the database as it was before the restore');
  } finally {
    prev.close();
  }
});

test('restore refuses, changing nothing: a missing file, a file that is not a database, a foreign SQLite file, a newer schema, a backup sealed under another key', async () => {
  await using t = await startApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  t.tenant('Keep me');
  const config = t.config;
  await t.close();
  const dir = tempDir('plugboard-restore-bad-');
  const sizeBefore = fs.readFileSync(config.dbFile);
  const attempt = (file: string): Error => {
    try {
      restoreDatabase(config, file, { force: false });
    } catch (err) {
      return err as Error;
    }
    assert.fail(`${file} was restored`);
  };
  assert.match(attempt(path.join(dir, 'missing.db')).message, /No backup file/);
  fs.writeFileSync(path.join(dir, 'text.db'), 'hello, not a database');
  assert.match(attempt(path.join(dir, 'text.db')).message, /not a SQLite database|cannot be opened/);
  const foreign = openDb({ file: path.join(dir, 'foreign.db') });
  foreign.exec('CREATE TABLE t (x)');
  foreign.close();
  assert.match(attempt(path.join(dir, 'foreign.db')).message, /not a Plugboard database/);
  const newer = path.join(dir, 'newer.db');
  fs.copyFileSync(config.dbFile, newer);
  const n = openDb({ file: newer });
  n.pragma('user_version = 999');
  n.close();
  assert.match(attempt(newer).message, /newer than this Plugboard/);
  // A database of another appliance (another master key).
  await using other = await startApp({ PLUGBOARD_WORKER_ENABLED: 'false' });
  await other.close();
  assert.match(attempt(other.config.dbFile).message, /does not open .* made under another key/);
  assert.deepEqual(fs.readFileSync(config.dbFile), sizeBefore, 'the live database is untouched');
  assert.equal(fs.existsSync(path.join(config.dataDir, 'backups')), false, 'nothing was even copied');
});

test('a database with data is copied to backups/ before pending migrations run (not a fresh one); the copy is the old schema and data', () => {
  const dir = tempDir('plugboard-premigrate-');
  const file = path.join(dir, 'plugboard.db');
  const all = loadMigrations();
  const db = openDb({ file });
  try {
    assert.equal(migrateWithBackup(db, file, all.slice(0, 5)).backup, null, 'a fresh database is not copied');
    db.prepare("INSERT INTO meta (key, value) VALUES ('marker', 'v5 data')").run();
    const r = migrateWithBackup(db, file, all);
    assert.ok(r.backup && fs.existsSync(r.backup), 'a backup was taken');
    assert.equal(path.dirname(r.backup), path.join(dir, 'backups'));
    assert.match(path.basename(r.backup), /^pre-migration-v5-\d{8}T\d{6}Z\.db$/);
    assert.equal(fs.statSync(r.backup).mode & 0o777, 0o600);
    assert.equal(r.from, 5);
    const copy = openDb({ file: r.backup, readonly: true });
    try {
      assert.equal(copy.pragma('user_version', { simple: true }), 5, 'the copy is the schema before the migration');
      assert.equal((copy.prepare("SELECT value FROM meta WHERE key = 'marker'").get() as { value: string }).value, 'v5 data');
    } finally {
      copy.close();
    }
    assert.equal(migrateWithBackup(db, file, all).backup, null, 'up to date: no copy');
    assert.equal(migrate(db, all).applied.length, 0);
  } finally {
    db.close();
  }
});

test('master-key rotate with PLUGBOARD_MASTER_KEY: the new key goes to --new-key-file; an unknown sealed-looking column or a wrong key refuses with nothing changed', async () => {
  const key = Buffer.alloc(32, 3);
  const env = { PLUGBOARD_MASTER_KEY: key.toString('hex'), PLUGBOARD_WORKER_ENABLED: 'false' };
  const s = await setupWhatsApp(env);
  assert.equal((await s.send('hello')).status, 200);
  const dataDir = s.t.config.dataDir;
  await s[Symbol.asyncDispose]();
  const config = testConfig({ ...env, PLUGBOARD_DATA_DIR: dataDir });
  const dbFile = path.join(dataDir, 'plugboard.db');
  const snapshot = (): Map<string, string> => {
    const db = openDb({ file: dbFile, readonly: true });
    try {
      return openAll(db, key);
    } finally {
      db.close();
    }
  };
  const before = snapshot();
  assert.ok(before.size >= 2);

  assert.throws(() => rotateMasterKey(config, { force: false }), /pass --new-key-file FILE/);
  // A column this code does not know how to re-seal: refused before anything changes.
  const db = openDb({ file: dbFile });
  db.exec('ALTER TABLE whatsapp_instances ADD COLUMN webhook_secret_sealed TEXT');
  db.close();
  const newKeyFile = path.join(tempDir('plugboard-newkey-'), 'new.key');
  assert.throws(() => rotateMasterKey(config, { newKeyFile, force: false }), /whatsapp_instances\.webhook_secret_sealed look like sealed columns .* Nothing was changed/);
  assert.equal(fs.existsSync(newKeyFile), false, 'no key file left behind');
  assert.deepEqual(snapshot(), before);
  const db2 = openDb({ file: dbFile });
  db2.exec('ALTER TABLE whatsapp_instances DROP COLUMN webhook_secret_sealed');
  db2.close();
  // A wrong current key.
  assert.throws(() => rotateMasterKey(testConfig({ ...env, PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: Buffer.alloc(32, 4).toString('hex') }), { newKeyFile, force: false }), /does not match this database.*Nothing was changed/s);
  assert.equal(fs.existsSync(newKeyFile), false);

  const r = rotateMasterKey(config, { newKeyFile, force: false });
  assert.equal(r.keyFile, newKeyFile);
  assert.equal(r.retiredKeyFile, null);
  assert.equal(fs.statSync(newKeyFile).mode & 0o777, 0o600);
  const newKey = parseMasterKey(fs.readFileSync(newKeyFile, 'utf8'));
  const db3 = openDb({ file: dbFile, readonly: true });
  try {
    assert.deepEqual(openAll(db3, newKey), before);
  } finally {
    db3.close();
  }
  assert.throws(() => createApp(config), /does not match/, 'the old PLUGBOARD_MASTER_KEY is refused');
  await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: newKey.toString('hex'), PLUGBOARD_WORKER_ENABLED: 'false' });
  assert.equal((await t.api('GET', '/readyz')).status, 200);
});
