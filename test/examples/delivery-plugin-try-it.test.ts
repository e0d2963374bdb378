/**
 * The README's one command (`node examples/delivery-plugin/try-it.ts`) run as a process against a
 * running appliance (with the scripted fake model): it registers the example manifest, starts the
 * plugin with the secret the appliance showed, installs it in sandbox mode, and the model's tool call
 * reaches the plugin, whose answer comes back; run a second time, it rotates the secret and reuses
 * the registration and installation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startApp } from '../helpers/app.ts';
import { freePort } from '../helpers/factories.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['examples/delivery-plugin/try-it.ts', '--once'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('try-it.ts: from the example manifest to a tool call the model makes, in one command (twice)', { timeout: 90_000 }, async () => {
  await using upstream = await startFakeUpstream();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  const port = String(await freePort());
  const env = { PLUGBOARD_URL: t.url, PLUGBOARD_TOKEN: a.ownerToken, DELIVERY_PLUGIN_PORT: port };
  const script = () =>
    upstream.script(
      {
        expect: (req) => assert.deepEqual(((req.body!.tools as any[]) ?? []).map((x) => x.function.name).sort(), ['acme-delivery__create_delivery_job', 'acme-delivery__lookup_delivery']),
        json: chatCompletion({ toolCalls: [{ name: 'acme-delivery__lookup_delivery', arguments: { orderNumber: 'MAT-2026-0510-0041' } }] }),
      },
      {
        expect: (req) => assert.match((req.body!.messages as any[]).find((x) => x.role === 'tool').content, /out_for_delivery/),
        json: chatCompletion({ content: 'It is out for delivery, arriving today between 3 and 5 PM.' }),
      },
    );
  script();
  const first = await run(env);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  assert.match(first.stdout, /Registered acme-delivery 1\.0\.0/);
  assert.match(first.stdout, /Installed in sandbox mode/);
  assert.match(first.stdout, /Model \(200\): It is out for delivery/);
  assert.match(first.stdout, /lookup_delivery {2}ok HTTP 200/);
  assert.ok(!first.stdout.includes('ak_tryitout'), 'no config secret printed');
  script();
  const second = await run({ ...env, PLUGBOARD_KEY: t.key(a.orgId).secret });
  assert.equal(second.code, 0, second.stderr + second.stdout);
  assert.match(second.stdout, /Using acme-delivery 1\.0\.0 .*rotated/);
  assert.match(second.stdout, /Model \(200\): It is out for delivery/);
  assert.equal(upstream.remaining, 0);
});
