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
import path from 'node:path';
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

test('usage and configuration errors: exit 2 with a message for bad usage, non-zero naming the variable for bad env', async () => {
  const dataDir = tempDir();
  const env = { PLUGBOARD_DATA_DIR: dataDir };
  const usage: Array<[args: string[], message: RegExp]> = [
    [[], /Usage: plugboard/],
    [['org', 'create'], /--name is required/],
    [['key', 'create', '--org', 'x', '--bogus'], /--bogus/],
    [['member', 'add', '--org', 'x', '--name', 'n', '--role', 'king'], /--role must be one of owner, admin, member/],
    [['key', 'create', '--org', '00000000-0000-4000-8000-000000000000'], /No organization 00000000-0000-4000-8000-000000000000/],
  ];
  const [results, badEnv] = await Promise.all([
    Promise.all(usage.map(([args]) => runCli(args, env))),
    runCli(['migrate'], { ...env, PLUGBOARD_PORT: 'abc', PLUGBOARD_LOG_LEVEL: 'loud', PLUGBOARD_TYPO: '1' }),
  ]);
  results.forEach((r, i) => {
    const [args, message] = usage[i];
    assert.equal(r.code, 2, `${args.join(' ') || '(no command)'}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr + r.stdout, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for a usage error');
  });
  assert.notEqual(badEnv.code, 0);
  assert.match(badEnv.stderr, /PLUGBOARD_PORT="abc" must be a whole number/);
  assert.match(badEnv.stderr, /PLUGBOARD_LOG_LEVEL/);
  assert.match(badEnv.stderr, /PLUGBOARD_TYPO is not a Plugboard setting/);
  assert.doesNotMatch(badEnv.stderr, /\n\s+at /, 'no stack trace for a configuration error');
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
