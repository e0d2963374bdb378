/**
 * The log for people: `serve --pretty` and PLUGBOARD_LOG_FORMAT=pretty print one readable line per
 * log record (time, level, message, the request line, then key=value fields) instead of JSON, with
 * every known secret redacted first, as in the JSON log. Also the settings' validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { prettyLine } from '../../src/log-pretty.ts';
import { startApp, tempDir } from '../helpers/app.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

test('prettyLine: time, level, message, the access line as a request line, the rest as key=value; non-JSON passes through', () => {
  assert.equal(
    prettyLine('{"level":"info","time":"2026-12-06T02:14:07.123Z","service":"plugboard","requestId":"req_1","method":"POST","path":"/v1/chat/completions","status":200,"ms":12.3,"orgId":"org_1","msg":"request"}'),
    '02:14:07.123 INFO  request  POST /v1/chat/completions 200 12.3ms  requestId=req_1 orgId=org_1',
  );
  assert.equal(
    prettyLine('{"level":"warn","time":"2026-12-06T02:14:08.000Z","upstream":"http://127.0.0.1:9","detail":"ECONNREFUSED","msg":"The upstream is unreachable"}'),
    '02:14:08.000 WARN  The upstream is unreachable  upstream=http://127.0.0.1:9 detail=ECONNREFUSED',
  );
  assert.equal(prettyLine('{"level":"error","time":"2026-12-06T02:14:09.000Z","err":{"code":"E1"},"note":"two words","msg":"boom"}'), '02:14:09.000 ERROR boom  err={"code":"E1"} note="two words"');
  assert.equal(prettyLine('not json'), 'not json');
  assert.match(prettyLine('{"level":"info","time":"2026-12-06T02:14:07.123Z","msg":"x"}', true), /\u001b\[36mINFO \u001b\[0m x/);
});

test('PLUGBOARD_LOG_FORMAT=pretty: readable lines, secrets redacted before they are formatted', async () => {
  await using t = await startApp({ PLUGBOARD_LOG_FORMAT: 'pretty' });
  await t.api('GET', '/healthz');
  t.app.log.info({ note: 'sk-upstream-test-key' }, 'a line that quotes the upstream key');
  t.app.log.flush?.();
  const access = t.logs.find((l) => l.includes('request  GET /healthz 200'));
  assert.ok(access, t.logs.join('\n'));
  assert.match(access, /^\d{2}:\d{2}:\d{2}\.\d{3} INFO  request  GET \/healthz 200 [\d.]+ms  requestId=req_/);
  assert.ok(t.logs.every((l) => !l.startsWith('{')), 'no JSON lines');
  const quoted = t.logs.find((l) => l.includes('quotes the upstream key'));
  assert.ok(quoted && quoted.includes('note=[redacted]') && t.logs.every((l) => !l.includes('sk-upstream-test-key')), quoted);
});

test('serve --pretty prints readable lines on stdout; invalid log format and metrics token settings stop start-up naming the variable', async () => {
  const dataDir = tempDir();
  const child = spawn(process.execPath, ['src/main.ts', 'serve', '--pretty'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_PORT: '0', PLUGBOARD_HOST: '127.0.0.1', PLUGBOARD_BOOTSTRAP: 'false', PLUGBOARD_UPSTREAM_BASE_URL: 'http://127.0.0.1:9/v1' },
  });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/plugboard listening/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const line = stdout.split('\n').find((l) => l.includes('plugboard listening'));
  assert.ok(line, stdout);
  assert.match(line, /^\d{2}:\d{2}:\d{2}\.\d{3} INFO  plugboard listening  url=http:\/\/127\.0\.0\.1:\d+ /);
  assert.ok(!stdout.includes('{"level"'), 'no JSON lines');

  assert.throws(() => loadConfig({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_LOG_FORMAT: 'fancy' }), (e: Error) => e instanceof ConfigError && /PLUGBOARD_LOG_FORMAT="fancy" must be one of json, pretty/.test(e.message));
  assert.throws(() => loadConfig({ PLUGBOARD_DATA_DIR: dataDir, PLUGBOARD_METRICS_TOKEN: 'short-secret' }), (e: Error) => e instanceof ConfigError && /PLUGBOARD_METRICS_TOKEN must be at least 16 characters/.test(e.message) && !e.message.includes('short-secret'));
});
