/**
 * The real `plugboard` CLI, spawned as `node src/main.ts …` on a temp data dir: the operator
 * commands and their --json output, usage and configuration errors, migrate and doctor, and a live
 * `serve` — first-start bootstrap printed once, keys created and revoked by another process taking
 * effect at once, and SIGTERM draining an in-flight stream before exiting 0.
 * Every child is killed by its PID in a `finally`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { tempDir, testConfig } from '../helpers/app.ts';
import { contentChunks, chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { freePort, sleep, tryConnect, waitFor } from '../helpers/factories.ts';
import { openStorage } from '../../src/app.ts';
import { loadMigrations } from '../../src/storage/migrate.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** A CLI command that takes longer than this is hung; it is killed and the test fails. */
const CLI_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 4000;
const MESSAGES = [{ role: 'user' as const, content: 'hi' }];

interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Node's on-disk bytecode cache, shared by this file's children: each spawn compiles the whole app otherwise. */
const COMPILE_CACHE = tempDir('plugboard-cli-cache-');

/** Only PATH and the given PLUGBOARD_* values: nothing leaks in from the developer's environment. */
function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_COMPILE_CACHE: COMPILE_CACHE, PLUGBOARD_LOG_LEVEL: 'info', ...env };
}

function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs CLI invocations a few at a time: the machine has two cores, shared with other test files. */
async function runMany(calls: Array<[args: string[], env: Record<string, string>]>, width = 4): Promise<CliResult[]> {
  const out: CliResult[] = [];
  for (let i = 0; i < calls.length; i += width) out.push(...(await Promise.all(calls.slice(i, i + width).map(([a, e]) => runCli(a, e)))));
  return out;
}

function json(r: CliResult, label: string): any {
  assert.equal(r.code, 0, `${label}: exit ${r.code}\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `${label}: --json prints one line: ${r.stdout}`);
  return JSON.parse(lines[0]);
}

interface Server {
  child: ChildProcessWithoutNullStreams;
  url: string;
  port: number;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(): void;
}

async function serve(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts', 'serve'], { cwd: ROOT, env: childEnv({ ...env, PLUGBOARD_PORT: String(port) }) });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  };
  try {
    await waitFor('the server to log "plugboard listening"', () => {
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${err}`);
      return out.includes('"msg":"plugboard listening"');
    }, 20_000, 25);
  } catch (e) {
    kill();
    throw e;
  }
  return { child, port, url: `http://127.0.0.1:${port}`, out: () => out, err: () => err, exited, kill };
}

function jsonLogLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('{'));
}

test('operator commands: org, key, member and token --json print ids and secrets once, and act on the database', async () => {
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir };
  json(await runCli(['migrate', '--json'], env), 'migrate (only serve and migrate create a database)');
  const org = json(await runCli(['org', 'create', '--name', 'CLI Org', '--owner-name', 'Olga', '--json'], env), 'org create');
  assert.deepEqual(Object.keys(org).sort(), ['name', 'organizationId', 'ownerToken', 'ownerUserId']);
  assert.equal(org.name, 'CLI Org');
  assert.match(org.organizationId, /^[0-9a-f-]{36}$/);
  assert.match(org.ownerToken, /^pbc_/);

  const [keyRes, memberRes] = await Promise.all([
    runCli(['key', 'create', '--org', org.organizationId, '--name', 'ci', '--rpm', '5', '--json'], env),
    runCli(['member', 'add', '--org', org.organizationId, '--name', 'Bob', '--role', 'admin', '--json'], env),
  ]);
  const key = json(keyRes, 'key create');
  assert.match(key.id, /^[0-9a-f-]{36}$/);
  assert.match(key.key, /^pb_live_/);
  assert.equal(key.organizationId, org.organizationId);
  const bob = json(memberRes, 'member add');
  assert.equal(bob.role, 'admin');
  assert.match(bob.token, /^pbc_/);

  const [tokenRes, revokeRes] = await Promise.all([
    runCli(['token', 'create', '--user', bob.userId, '--json'], env),
    runCli(['key', 'revoke', '--org', org.organizationId, '--id', key.id, '--json'], env),
  ]);
  const token = json(tokenRes, 'token create');
  assert.equal(token.userId, bob.userId);
  assert.match(token.token, /^pbc_/);
  assert.notEqual(token.token, bob.token);
  assert.deepEqual(json(revokeRes, 'key revoke'), { id: key.id, revoked: true });

  const listed = json(await runCli(['key', 'list', '--org', org.organizationId, '--json'], env), 'key list');
  assert.equal(listed.data.length, 1);
  assert.equal(listed.data[0].id, key.id);
  assert.equal(listed.data[0].name, 'ci');
  assert.equal(listed.data[0].status, 'revoked');
  assert.ok(!JSON.stringify(listed).includes(key.key), 'a listing never shows the secret');

  // What the CLI wrote is what the server reads.
  const { db } = openStorage(testConfig({ PLUGBOARD_DATA_DIR: dataDir }), { createKey: false });
  try {
    const members = db.prepare('SELECT u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY u.name').all(org.organizationId);
    assert.deepEqual(members, [{ name: 'Bob', role: 'admin' }, { name: 'Olga', role: 'owner' }]);
    const k = db.prepare('SELECT rate_limit_rpm, revoked_at FROM gateway_keys WHERE id = ?').get(key.id) as { rate_limit_rpm: number; revoked_at: number | null };
    assert.equal(k.rate_limit_rpm, 5);
    assert.ok(k.revoked_at);
    const tokens = db.prepare('SELECT COUNT(*) FROM control_tokens WHERE user_id = ? AND revoked_at IS NULL').pluck().get(bob.userId);
    assert.equal(tokens, 2);
    const secrets = db.prepare("SELECT group_concat(key_hash) || group_concat(prefix) FROM gateway_keys").pluck().get() as string;
    assert.ok(!secrets.includes(key.key), 'only hashes are stored');
  } finally {
    db.close();
  }
});

test('usage and configuration errors: exit 2 with a short message and a hint for bad usage, non-zero naming the variable for bad env', async () => {
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir };
  const usage: Array<[args: string[], message: RegExp, hint: RegExp]> = [
    [['org', 'create'], /org create: --name is required/, /Run 'plugboard help org create'/],
    [['key', 'create', '--org', 'x', '--bogus'], /key create: unknown option '--bogus'/, /Run 'plugboard help key create'/],
    [['member', 'add', '--org', 'x', '--name', 'n', '--role', 'king'], /--role must be one of owner, admin, member/, /Run 'plugboard help member'/],
    [['key', 'create', '--org', 'x', '--rpm', '-3'], /--rpm must be a whole number from 0 to 10000000 .*not "-3"/, /help key/],
    [['key', 'create', '--org', 'x', '--rpm', 'lots'], /--rpm must be a whole number/, /help key/],
    [['key', 'create', '--org', 'x', '--rpm'], /--rpm needs a value/, /help key create/],
    [['org', 'create', '--name', 'x', 'stray'], /unexpected argument 'stray'/, /help org create/],
    [['key', 'frobnicate'], /unknown command 'key frobnicate'/, /Run 'plugboard help key'/],
    [['launch'], /unknown command 'launch'/, /Run 'plugboard help' for the list of commands/],
    [['help', 'launch'], /no help on 'launch'/, /plugboard help/],
  ];
  const all = await runMany([
    ...usage.map(([args]): [string[], Record<string, string>] => [args, env]),
    [['migrate'], { ...env, PLUGBOARD_PORT: 'abc', PLUGBOARD_LOG_LEVEL: 'loud', PLUGBOARD_TYPO: '1' }],
    [['serve'], { ...env, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8,10.0.0.0/99', PLUGBOARD_PORT: '0' }],
  ]);
  const results = all.slice(0, usage.length);
  const [badEnv, badCidr] = all.slice(usage.length);
  results.forEach((r, i) => {
    const [args, message, hint] = usage[i];
    const label = args.join(' ');
    assert.equal(r.code, 2, `${label}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, label);
    assert.match(r.stderr, hint, `${label}: a hint line`);
    assert.ok(r.stderr.trim().split('\n').length <= 3, `${label}: a short error, not the whole usage:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /Usage: plugboard <command>/, `${label}: the whole usage is not reprinted`);
    assert.doesNotMatch(r.stderr, /\n\s+at |ERR_PARSE_ARGS|ambiguous/, `${label}: no stack trace or Node parser text`);
  });
  assert.notEqual(badEnv.code, 0);
  assert.match(badEnv.stderr, /PLUGBOARD_PORT="abc" must be a whole number/);
  assert.match(badEnv.stderr, /PLUGBOARD_LOG_LEVEL/);
  assert.match(badEnv.stderr, /PLUGBOARD_TYPO is not a Plugboard setting/);
  assert.doesNotMatch(badEnv.stderr, /\n\s+at /, 'no stack trace for a configuration error');
  // The allowlist is validated like the SSRF guard parses it: a bad prefix length stops start-up with the variable's name.
  assert.equal(badCidr.code, 78, badCidr.stderr);
  assert.match(badCidr.stderr, /PLUGBOARD_MCP_ALLOWED_NETWORKS: "10\.0\.0\.0\/99" is not a CIDR.*prefix length must be a whole number from 0 to 32/);
  assert.doesNotMatch(badCidr.stderr, /\n\s+at /, 'no stack trace for a bad allowlist');
});

test('help as git and docker users expect it: plugboard help, help <group>, <group> --help, a bare group, --version', async () => {
  const env = { PLUGBOARD_DATA_DIR: tempDir() };
  const cases: Array<[args: string[], code: number, stream: 'stdout' | 'stderr', expect: RegExp[]]> = [
    [[], 2, 'stderr', [/Usage: plugboard <command>/, /org create/, /backup --to FILE/]],
    [['help'], 0, 'stdout', [/Usage: plugboard <command>/, /key revoke/]],
    [['--help'], 0, 'stdout', [/Usage: plugboard <command>/]],
    [['org'], 2, 'stderr', [/plugboard org: a subcommand is required/, /plugboard org create --name NAME/, /plugboard org list/]],
    [['org', '--help'], 0, 'stdout', [/plugboard org create --name NAME/, /plugboard org list/]],
    [['key'], 2, 'stderr', [/a subcommand is required/, /plugboard key create/, /plugboard key list/, /plugboard key revoke/]],
    [['help', 'key'], 0, 'stdout', [/plugboard key create --org ID/, /plugboard key revoke --org ID --id KEY_ID/]],
    [['key', '--help'], 0, 'stdout', [/plugboard key create --org ID/]],
    [['key', 'create', '--help'], 0, 'stdout', [/plugboard key create --org ID \[--name N\] \[--rpm N\]/]],
    [['help', 'backup'], 0, 'stdout', [/plugboard backup --to FILE \[--force\]/]],
    [['member', '-h'], 0, 'stdout', [/plugboard member add/]],
    [['--version'], 0, 'stdout', [/^plugboard \d+\.\d+\.\d+\n$/]],
  ];
  const results = await runMany(cases.map(([args]) => [args, env]));
  results.forEach((r, i) => {
    const [args, code, stream, expect] = cases[i];
    const label = args.join(' ') || '(no command)';
    assert.equal(r.code, code, `${label}: exit ${r.code}\n${r.stderr}`);
    for (const re of expect) assert.match(r[stream], re, label);
    assert.doesNotMatch(r.stdout + r.stderr, /Unknown command/, label);
  });
  assert.ok(!fs.existsSync(path.join(env.PLUGBOARD_DATA_DIR, 'plugboard.db')), 'help creates nothing');
});

test('commands other than serve and migrate never create a data directory or a database: they say where they looked', async () => {
  const missing = path.join(tempDir(), 'not-here');
  const empty = tempDir();
  const commands: string[][] = [
    ['org', 'list'], ['org', 'create', '--name', 'X'], ['key', 'create', '--org', 'x'], ['key', 'list', '--org', 'x'],
    ['key', 'revoke', '--org', 'x', '--id', 'y'], ['member', 'add', '--org', 'x', '--name', 'n', '--role', 'admin'],
    ['token', 'create', '--user', 'u'], ['backup', '--to', path.join(empty, 'b.db')],
  ];
  const runs = await runMany([
    ...commands.map((args): [string[], Record<string, string>] => [args, { PLUGBOARD_DATA_DIR: missing }]),
    ...commands.map((args): [string[], Record<string, string>] => [args, { PLUGBOARD_DATA_DIR: empty }]),
  ]);
  runs.forEach((r, i) => {
    const dir = i < commands.length ? missing : empty;
    const label = `${commands[i % commands.length].join(' ')} in ${dir}`;
    assert.equal(r.code, 1, `${label}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /No Plugboard data here/, label);
    assert.ok(r.stderr.includes(dir), `${label}: names the directory`);
    assert.match(r.stderr, /PLUGBOARD_DATA_DIR/, `${label}: says how to point at the data`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, label);
  });
  assert.ok(!fs.existsSync(missing), 'the missing directory was not created');
  assert.deepEqual(fs.readdirSync(empty), [], 'no database, key or backup appeared in the empty directory');

  // doctor looks without creating, and sends nothing to an upstream nobody configured.
  const started = Date.now();
  const doctor = await runCli(['doctor', '--json'], { PLUGBOARD_DATA_DIR: missing });
  assert.equal(doctor.code, 1, doctor.stderr);
  const report = JSON.parse(doctor.stdout.trim());
  const byName = Object.fromEntries(report.checks.map((c: { name: string }) => [c.name, c]));
  assert.match(byName.data_dir.detail, /does not exist: no Plugboard data here/);
  assert.match(byName.database.detail, /does not exist/);
  assert.equal(byName.upstream.ok, false);
  assert.match(byName.upstream.detail, /no upstream configured: set PLUGBOARD_UPSTREAM_BASE_URL.*Nothing was sent/);
  assert.ok(Date.now() - started < CLI_TIMEOUT_MS);
  assert.ok(!fs.existsSync(missing), 'doctor created nothing');

  // With data there, a missing organisation is an error of its own (exit 1), not a usage error.
  const withData = tempDir();
  json(await runCli(['migrate', '--json'], { PLUGBOARD_DATA_DIR: withData }), 'migrate creates');
  const noOrg = await runCli(['key', 'create', '--org', '00000000-0000-4000-8000-000000000000'], { PLUGBOARD_DATA_DIR: withData });
  assert.equal(noOrg.code, 1, noOrg.stderr);
  assert.match(noOrg.stderr, /No organization 00000000-0000-4000-8000-000000000000/);
});

test('backup: refuses a missing directory and an existing file (unless --force), never the live database, and writes 0600', async () => {
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir };
  json(await runCli(['migrate', '--json'], env), 'migrate');
  const org = json(await runCli(['org', 'create', '--name', 'Backed up', '--json'], env), 'org create');
  const target = path.join(tempDir(), 'plugboard-backup.db');
  const [missingDir, first] = await Promise.all([
    runCli(['backup', '--to', '/nonexistent/dir/x.db'], env),
    runCli(['backup', '--to', target, '--json'], env),
  ]);
  assert.equal(missingDir.code, 1);
  assert.match(missingDir.stderr, /the directory \/nonexistent\/dir does not exist/);
  assert.doesNotMatch(missingDir.stderr, /TypeError|\n\s+at /);
  assert.deepEqual(json(first, 'backup'), { backup: target });
  assert.equal(fs.statSync(target).mode & 0o777, 0o600, 'the backup is readable by its owner only');

  fs.writeFileSync(target, 'precious');
  fs.chmodSync(target, 0o644);
  const [again, live, dir] = await Promise.all([
    runCli(['backup', '--to', target], env),
    runCli(['backup', '--to', path.join(dataDir, 'plugboard.db'), '--force'], env),
    runCli(['backup', '--to', dataDir], env),
  ]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists; pass --force to overwrite it/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'precious', 'an existing file is left alone');
  assert.equal(live.code, 1);
  assert.match(live.stderr, /is the live database itself/);
  assert.equal(dir.code, 1);
  assert.match(dir.stderr, /is a directory/);

  json(await runCli(['backup', '--to', target, '--force', '--json'], env), 'backup --force');
  assert.equal(fs.statSync(target).mode & 0o777, 0o600);
  const copy = new Database(target, { readonly: true });
  try {
    assert.equal(copy.prepare('SELECT name FROM organizations WHERE id = ?').pluck().get(org.organizationId), 'Backed up', 'the backup holds the data');
  } finally {
    copy.close();
  }
});

test('migrate twice is a no-op the second time; doctor passes against a live upstream and fails (exit 1) against a closed port', async () => {
  await using upstream = await startFakeUpstream();
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_UPSTREAM_BASE_URL: upstream.url };
  const all = loadMigrations();
  const first = json(await runCli(['migrate', '--json'], env), 'migrate');
  assert.deepEqual(first, { from: 0, to: all.length, applied: all.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`) });
  const second = json(await runCli(['migrate', '--json'], env), 'migrate again');
  assert.deepEqual(second, { from: all.length, to: all.length, applied: [] });

  // The master key file is made by the first real start (here in-process, to save a spawn).
  openStorage(testConfig({ PLUGBOARD_DATA_DIR: dataDir }), { createKey: true }).db.close();
  const closed = await freePort();
  const [good, bad] = await Promise.all([
    runCli(['doctor', '--json'], env),
    runCli(['doctor', '--json'], { ...env, PLUGBOARD_UPSTREAM_BASE_URL: `http://127.0.0.1:${closed}/v1` }),
  ]);
  const ok = json(good, 'doctor');
  assert.equal(ok.ok, true, JSON.stringify(ok));
  assert.deepEqual(ok.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]), [['data_dir', true], ['database', true], ['master_key', true], ['upstream', true]]);
  assert.ok(upstream.requests.some((r) => r.method === 'GET' && r.path === '/v1/models'), 'doctor asked the upstream for its models');

  assert.equal(bad.code, 1, bad.stderr);
  const report = JSON.parse(bad.stdout.trim());
  assert.equal(report.ok, false);
  const up = report.checks.find((c: { name: string }) => c.name === 'upstream');
  assert.equal(up.ok, false);
  assert.match(up.detail, new RegExp(`127\\.0\\.0\\.1:${closed}`));
  assert.ok(report.checks.filter((c: { name: string }) => c.name !== 'upstream').every((c: { ok: boolean }) => c.ok));
});

test('live serve: bootstrap printed once, CLI key changes seen at once, SIGTERM drains a stream and exits 0', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
  const secrets: string[] = [];
  let server: Server | null = null;
  let again: Server | null = null;
  try {
    server = await serve(env);
    const banner = server.out();
    const orgId = /organization id:\s+(\S+)/.exec(banner)?.[1];
    const ownerToken = /owner token:\s+(pbc_\S+)/.exec(banner)?.[1];
    const bootKey = /gateway key:\s+(pb_live_\S+)/.exec(banner)?.[1];
    assert.ok(orgId && ownerToken && bootKey, `bootstrap banner expected on stdout:\n${banner}`);
    secrets.push(ownerToken, bootKey);
    assert.equal(banner.split(ownerToken).length - 1, 1, 'the owner token is printed exactly once');
    assert.equal(banner.split(bootKey).length - 1, 1, 'the gateway key is printed exactly once');

    const sdk = (k: string, base = server!.url) => new OpenAI({ apiKey: k, baseURL: `${base}/v1`, maxRetries: 0, timeout: 10_000, organization: null, project: null });
    const r = await sdk(bootKey).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
    assert.equal(r.choices[0].message.content, 'ok');
    const org = await fetch(`${server.url}/organizations/${orgId}`, { headers: { authorization: `Bearer ${ownerToken}` } });
    assert.equal(org.status, 200);

    // Another process creates a key while the server runs; then revokes it.
    const created = json(await runCli(['key', 'create', '--org', orgId, '--json'], env), 'key create (live)');
    secrets.push(created.key);
    const client = sdk(created.key);
    await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
    await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
    json(await runCli(['key', 'revoke', '--org', orgId, '--id', created.id, '--json'], env), 'key revoke (live)');
    const err = await client.chat.completions.create({ model: 'gpt-test', messages: MESSAGES }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof OpenAI.AuthenticationError, `the very next request is refused, got ${String(err)}`);
    assert.equal(err.code, 'revoked_api_key');

    // SIGTERM while a slow stream is in flight.
    upstream.setFallback(null);
    upstream.script({ sse: contentChunks(Array.from({ length: 8 }, (_, i) => `p${i} `)), chunkDelayMs: 120 });
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bootKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: MESSAGES, stream: true }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = decoder.decode((await reader.read()).value, { stream: true });
    const signalledAt = Date.now();
    process.kill(server.child.pid!, 'SIGTERM');
    await waitFor('new connections to be refused after SIGTERM', async () => (await tryConnect(server!.port)) === 'ECONNREFUSED', 3000, 25);
    // Bounded by the stream's own end (and the test timeout): the stream has a fixed number of events.
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      body += decoder.decode(chunk.value, { stream: true });
    }
    assert.ok(body.endsWith('data: [DONE]\n\n'), `the in-flight stream completed: …${body.slice(-80)}`);
    assert.match(body, /p7 /);
    const exit = await server.exited;
    assert.equal(exit.code, 0, `exit code after SIGTERM; stderr: ${server.err()}`);
    assert.ok(exit.at - signalledAt < SHUTDOWN_TIMEOUT_MS + 1000, `exited ${exit.at - signalledAt} ms after SIGTERM`);
    const firstOut = server.out();

    // Second start on the same data dir: no bootstrap banner, and a prompt SIGTERM exit.
    again = await serve(env);
    await sleep(100);
    const out2 = again.out();
    assert.doesNotMatch(out2, /first start|owner token|gateway key:|pbc_|pb_live_/);
    upstream.setFallback(() => ({ json: chatCompletion({ content: 'still here' }) }));
    const second = await sdk(bootKey, again.url).chat.completions.create({ model: 'gpt-test', messages: MESSAGES });
    assert.equal(second.choices[0].message.content, 'still here', 'the bootstrap key survives the restart');
    const stopAt = Date.now();
    process.kill(again.child.pid!, 'SIGTERM');
    const exit2 = await again.exited;
    assert.equal(exit2.code, 0);
    assert.ok(exit2.at - stopAt < SHUTDOWN_TIMEOUT_MS - 1000, `an idle server stops without waiting out the shutdown timeout (${exit2.at - stopAt} ms)`);

    for (const text of [firstOut, server.err(), out2, again.out(), again.err()]) {
      for (const line of jsonLogLines(text)) {
        JSON.parse(line);
        for (const s of secrets) assert.ok(!line.includes(s), `a secret in a log line: ${line}`);
      }
    }
    assert.ok(jsonLogLines(firstOut).some((l) => l.includes('"msg":"request"') && l.includes('"path":"/v1/chat/completions"')), 'requests are logged');
  } finally {
    server?.kill();
    again?.kill();
  }
});
