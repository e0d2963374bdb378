/**
 * Storage guarantees: a restart keeps everything, migrations are idempotent and atomic and refuse
 * a newer database, the master key lives in a 0600 file and a wrong one is refused clearly, the
 * secret box binds ciphertexts to their rows, and the hot queries use indexes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startApp, tempDir, testConfig } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { queryPlan, recordingDb } from '../helpers/factories.ts';
import { createApp, openStorage } from '../../src/app.ts';
import { openDb } from '../../src/storage/db.ts';
import { loadMigrations, migrate } from '../../src/storage/migrate.ts';
import { createSecretBox, loadMasterKey, MasterKeyError, parseMasterKey } from '../../src/storage/secret-box.ts';
import { createGatewayKeysRepo } from '../../src/storage/repos/gateway-keys.ts';
import { createControlTokensRepo } from '../../src/storage/repos/control-tokens.ts';
import { createUsageEventsRepo } from '../../src/storage/repos/usage-events.ts';
import { createOrganizationsRepo } from '../../src/storage/repos/organizations.ts';
import { createKeyAuthenticator } from '../../src/gateway/key-auth.ts';
import { hashSecret } from '../../src/storage/tokens.ts';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];
const quietLog = { logDestination: fs.createWriteStream('/dev/null') };

test('a restart on the same data dir keeps organisations, keys, members, tokens and usage events', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok', usage: { prompt_tokens: 3, completion_tokens: 2 } }) }));
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_UPSTREAM_BASE_URL: upstream.url };

  let tenant, key, admin, requestId: string | null, revoked;
  {
    await using first = await startApp(env);
    tenant = first.tenant('Persisted Org');
    key = first.key(tenant.orgId, { name: 'survivor', rateLimitRpm: 42 });
    revoked = first.key(tenant.orgId, { name: 'gone' });
    admin = first.member(tenant.orgId, 'admin', 'Ada');
    const res = await first.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).withResponse();
    requestId = res.response.headers.get('x-request-id');
    assert.equal((await first.api('DELETE', `/organizations/${tenant.orgId}/keys/${revoked.id}`, { token: tenant.ownerToken })).status, 200);
    const patched = await first.api('PATCH', `/organizations/${tenant.orgId}`, { token: tenant.ownerToken, body: { settings: { pluginInjection: false } } });
    assert.equal(patched.status, 200);
  } // closed here: the recorder flushes on close

  await using second = await startApp(env);
  const r = await second.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
  assert.equal(r.choices[0].message.content, 'ok');
  const err = await second.openai(revoked.secret).chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof OpenAI.AuthenticationError, 'a revoked key stays revoked');

  const org = await second.api('GET', `/organizations/${tenant.orgId}`, { token: tenant.ownerToken });
  assert.equal(org.status, 200, org.text);
  assert.equal(org.json.name, 'Persisted Org');
  assert.equal(org.json.settings.pluginInjection, false);
  const members = await second.api('GET', `/organizations/${tenant.orgId}/members`, { token: admin.token });
  assert.equal(members.status, 200, 'the admin token still works');
  assert.deepEqual(members.json.data.map((m: { name: string; role: string }) => [m.name, m.role]).sort(), [['Ada', 'admin'], ['Owner', 'owner']]);
  const keys = await second.api('GET', `/organizations/${tenant.orgId}/keys`, { token: tenant.ownerToken });
  assert.deepEqual(keys.json.data.map((k: { name: string; status: string; rateLimitRpm: number | null }) => [k.name, k.status, k.rateLimitRpm]).sort(), [['gone', 'revoked', null], ['survivor', 'active', 42]]);
  const usage = await second.api('GET', `/organizations/${tenant.orgId}/usage-events`, { token: tenant.ownerToken });
  assert.equal(usage.json.data.length, 2, 'the event from before the restart and the new one');
  assert.equal(usage.json.data[1].requestId, requestId);
  assert.equal(usage.json.data[1].promptTokens, 3);
});

test('migrations: a fresh database gets every migration; running them again is a no-op', () => {
  const db = openDb({ file: path.join(tempDir(), 'm.db') });
  try {
    const all = loadMigrations();
    assert.ok(all.length >= 1);
    const first = migrate(db);
    assert.equal(first.from, 0);
    assert.equal(first.to, all.length);
    assert.deepEqual(first.applied, all.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`));
    const version = db.pragma('user_version', { simple: true });
    assert.equal(version, all.length);
    const schema = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
    for (let i = 0; i < 2; i++) {
      const again = migrate(db);
      assert.deepEqual(again, { from: all.length, to: all.length, applied: [] });
      assert.equal(db.pragma('user_version', { simple: true }), version);
      assert.deepEqual(db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(), schema);
    }
  } finally {
    db.close();
  }
});

test('migrations: a database newer than the code is refused with a clear message, by migrate and at start-up', () => {
  const dataDir = tempDir();
  const config = testConfig({ PLUGBOARD_DATA_DIR: dataDir });
  const db = openDb({ file: config.dbFile });
  const latest = loadMigrations().length;
  migrate(db);
  db.pragma(`user_version = ${latest + 1}`);
  assert.throws(() => migrate(db), (err: Error) => {
    assert.match(err.message, new RegExp(`schema version ${latest + 1}, newer than this Plugboard \\(${latest}\\)`));
    return true;
  });
  assert.equal(db.pragma('user_version', { simple: true }), latest + 1, 'nothing was touched');
  db.close();
  assert.throws(() => createApp(config, quietLog), /newer than this Plugboard/);
});

test('migrations: a failing migration rolls back every pending one (atomic), leaving the version as it was', () => {
  const dir = tempDir('plugboard-migrations-');
  fs.writeFileSync(path.join(dir, '0001_first.sql'), 'CREATE TABLE first_table (id INTEGER PRIMARY KEY);\nINSERT INTO first_table (id) VALUES (1);\n');
  const db = openDb({ file: path.join(tempDir(), 'atomic.db') });
  try {
    // From scratch: 0001 and a bad 0002 together → nothing at all.
    fs.writeFileSync(path.join(dir, '0002_broken.sql'), 'CREATE TABLE second_table (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n');
    assert.throws(() => migrate(db, loadMigrations(dir)), /no such table: no_such_table/);
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    const tables = () => (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]);
    assert.deepEqual(tables(), []);

    // Apply 0001 alone, then the bad 0002: version stays 1 and 0002's first statement is undone.
    fs.renameSync(path.join(dir, '0002_broken.sql'), path.join(dir, 'later.txt'));
    assert.deepEqual(migrate(db, loadMigrations(dir)).applied, ['0001_first']);
    fs.renameSync(path.join(dir, 'later.txt'), path.join(dir, '0002_broken.sql'));
    assert.throws(() => migrate(db, loadMigrations(dir)));
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    assert.deepEqual(tables(), ['first_table']);
    assert.deepEqual(db.prepare('SELECT id FROM first_table').pluck().all(), [1]);
  } finally {
    db.close();
  }
  // Numbering gaps are refused before anything runs.
  const gap = tempDir('plugboard-migrations-');
  fs.writeFileSync(path.join(gap, '0001_a.sql'), 'SELECT 1;');
  fs.writeFileSync(path.join(gap, '0003_c.sql'), 'SELECT 1;');
  assert.throws(() => loadMigrations(gap), /out of sequence/);
});

test('master key: created on first start as a 0600 file under the data dir, and reused afterwards', async () => {
  const dataDir = tempDir();
  {
    await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
    t.tenant();
  }
  const keyFile = path.join(dataDir, 'master.key');
  const stat = fs.statSync(keyFile);
  assert.equal(stat.mode & 0o777, 0o600, `mode ${(stat.mode & 0o777).toString(8)}`);
  const first = fs.readFileSync(keyFile, 'utf8');
  assert.equal(parseMasterKey(first).length, 32);
  {
    await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir });
    assert.equal(t.app.repos.orgs.count(), 1);
  }
  assert.equal(fs.readFileSync(keyFile, 'utf8'), first, 'the key file is never rewritten');
  assert.throws(() => loadMasterKey({ keyFile: path.join(tempDir(), 'absent.key'), createIfMissing: false }), (err: Error) => {
    assert.ok(err instanceof MasterKeyError);
    assert.match(err.message, /PLUGBOARD_MASTER_KEY/);
    return true;
  });
});

test('master key: starting an existing database with another key fails with a clear MasterKeyError', async () => {
  const dataDir = tempDir();
  const original = crypto.randomBytes(32).toString('hex');
  {
    await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: original });
    t.tenant();
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'master.key')), false, 'no key file when the key comes from the environment');
  const wrong = crypto.randomBytes(32).toString('base64');
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof MasterKeyError, `a MasterKeyError, got ${String(err)}`);
    assert.match(err.message, /master key does not match this database|No master key: set PLUGBOARD_MASTER_KEY/i);
    assert.ok(!err.message.includes(wrong) && !err.message.includes(original), 'the message never shows a key');
    return true;
  };
  assert.throws(() => createApp(testConfig({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: wrong }), quietLog), check);
  assert.throws(() => openStorage(testConfig({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: wrong }), { createKey: true }), check);
  // Unset: the key file is looked for instead; whether it is missing or minted fresh, it does not open this database.
  assert.throws(() => createApp(testConfig({ PLUGBOARD_DATA_DIR: dataDir }), quietLog), check);
  // The right key still opens it, in another spelling (base64 instead of hex).
  await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: Buffer.from(original, 'hex').toString('base64') });
  assert.equal(t.app.repos.orgs.count(), 1);
  assert.throws(() => parseMasterKey('too-short'), MasterKeyError);
});

test('master key: a refused start on an existing database leaves no new key file behind', async () => {
  const dataDir = tempDir();
  {
    await using t = await startApp({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_MASTER_KEY: crypto.randomBytes(32).toString('hex') });
    t.tenant();
  }
  // The operator forgets PLUGBOARD_MASTER_KEY: start-up must fail without minting a key file that
  // matches nothing (it would later be backed up as "the" master key).
  assert.throws(() => createApp(testConfig({ PLUGBOARD_DATA_DIR: dataDir }), quietLog), MasterKeyError);
  assert.equal(fs.existsSync(path.join(dataDir, 'master.key')), false, 'no stray master.key was created');
});

test('secret box: round trip, AAD binding, tampering and a wrong key all behave, with clear errors', () => {
  const key = crypto.randomBytes(32);
  const box = createSecretBox(key);
  const aad = 'plugin_installations|credential_sealed|org-a|row-1';
  const secret = 'sk-live-üñíçødé-' + 'x'.repeat(1000);
  const sealed = box.seal(secret, aad);
  assert.ok(!sealed.includes('sk-live'), 'no plaintext in the sealed form');
  assert.match(sealed, /^v1\|[0-9a-f]{8}\|/);
  assert.equal(box.open(sealed, aad), secret);
  assert.notEqual(box.seal(secret, aad), sealed, 'a fresh IV every time');
  assert.equal(box.open(box.seal('', aad), aad), '');

  const fails = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof MasterKeyError, String(err));
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('sk-live'), 'no plaintext in errors');
    return true;
  });
  fails(() => box.open(sealed, 'plugin_installations|credential_sealed|org-a|row-2'), /failed authentication/);
  fails(() => box.open(sealed, 'plugin_installations|credential_sealed|org-b|row-1'), /failed authentication/);

  const parts = sealed.split('|');
  const ct = Buffer.from(parts[4], 'base64url');
  ct[0] ^= 0x01;
  fails(() => box.open([...parts.slice(0, 4), ct.toString('base64url')].join('|'), aad), /failed authentication/);
  const tag = Buffer.from(parts[3], 'base64url');
  tag[5] ^= 0x80;
  fails(() => box.open([parts[0], parts[1], parts[2], tag.toString('base64url'), parts[4]].join('|'), aad), /failed authentication/);
  fails(() => box.open('garbage', aad), /not in a format/);
  fails(() => box.open(sealed.replace(/^v1/, 'v9'), aad), /not in a format/);

  const other = createSecretBox(crypto.randomBytes(32));
  fails(() => other.open(sealed, aad), new RegExp(`sealed with master key ${box.kid}.*configured master key is ${other.kid}`));
  // Same key id claimed, different key: authentication fails, never garbage.
  const forged = [parts[0], other.kid, ...parts.slice(2)].join('|');
  fails(() => other.open(forged, aad), /failed authentication/);
  assert.throws(() => createSecretBox(crypto.randomBytes(16)), MasterKeyError);
});

test('EXPLAIN QUERY PLAN: key and token lookups by hash and the usage-events page queries use indexes', () => {
  const db = openDb({ file: path.join(tempDir(), 'plan.db') });
  try {
    migrate(db);
    const rec = recordingDb(db);
    const keys = createGatewayKeysRepo(rec.db);
    createKeyAuthenticator(rec.db, keys);
    createControlTokensRepo(rec.db);
    createOrganizationsRepo(rec.db);
    const usage = createUsageEventsRepo(rec.db);
    // Build the page queries the route issues: no filter, each filter, a cursor, and a combination.
    const orgId = 'org';
    const variants = [
      {}, { model: 'm' }, { keyId: 'k' }, { requestId: 'r' }, { status: 'ok' as const }, { kind: 'completion' as const },
      { from: 1, to: 2 }, { beforeId: 10 }, { model: 'm', status: 'error' as const, from: 1, beforeId: 10 },
    ];
    for (const v of variants) usage.query({ orgId, limit: 51, ...v });

    const hashLookups = rec.statements.filter((s) => /WHERE\s+(key_hash|token_hash)\s*=\s*\?/i.test(s));
    assert.ok(hashLookups.some((s) => /gateway_keys/.test(s)), 'the gateway key lookup was captured');
    assert.ok(hashLookups.some((s) => /control_tokens/.test(s)), 'the control token lookup was captured');
    for (const sql of hashLookups) {
      const plan = queryPlan(db, sql).join(' | ');
      assert.match(plan, /SEARCH .* USING (COVERING )?INDEX/, `${sql} → ${plan}`);
      assert.doesNotMatch(plan, /\bSCAN\b/, `${sql} → ${plan}`);
    }
    const pages = rec.statements.filter((s) => /FROM usage_events/.test(s) && /ORDER BY id DESC/.test(s));
    assert.equal(pages.length, variants.length);
    for (const sql of pages) {
      const plan = queryPlan(db, sql).join(' | ');
      assert.match(plan, /SEARCH usage_events USING (COVERING )?INDEX/, `${sql} → ${plan}`);
      assert.doesNotMatch(plan, /SCAN usage_events/, `${sql} → ${plan}`);
      assert.doesNotMatch(plan, /TEMP B-TREE/, `no sort step: ${sql} → ${plan}`);
    }
    const member = rec.statements.find((s) => /FROM memberships m JOIN users u/.test(s) && /m.user_id = \?/.test(s))!;
    assert.doesNotMatch(queryPlan(db, member).join(' | '), /SCAN (m|memberships)\b/);
    assert.equal(hashSecret('x').length, 64);
  } finally {
    db.close();
  }
});
