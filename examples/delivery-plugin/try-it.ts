/**
 * One command from this example to a plugin your local Plugboard appliance calls: registers the
 * manifest (its baseUrl pointed at this machine), starts the plugin with the signing secret the
 * appliance shows, installs it in sandbox mode with a test config, asks the model where an order
 * is through the gateway, and prints the answer and the plugin log. Dependency-free (Node >= 22.18).
 *
 *   PLUGBOARD_TOKEN=pbc_… node examples/delivery-plugin/try-it.ts
 *
 * Env: PLUGBOARD_URL (default http://127.0.0.1:8080), PLUGBOARD_TOKEN (an owner's control-panel
 * token, required), PLUGBOARD_ORG (default: the token's first organisation), PLUGBOARD_KEY (a
 * gateway key; default: one is created and printed), PLUGBOARD_MODEL (default gpt-4o-mini),
 * DELIVERY_PLUGIN_PORT (default 8787).
 * `--once` exits after the answer; otherwise the plugin keeps serving (for WhatsApp tests) until Ctrl-C.
 * The appliance must allow loopback plugins: PLUGBOARD_MCP_ALLOWED_NETWORKS=127.0.0.0/8.
 * Re-running is fine: the signing secret is rotated (shown once, so a new run needs a new one) and a
 * new version is registered only when the base URL changed. Never prints a config secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeliveryPluginServer } from './server.ts';

const DIR = path.dirname(fileURLToPath(import.meta.url));
const url = (process.env.PLUGBOARD_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = process.env.PLUGBOARD_TOKEN;
const port = Number(process.env.DELIVERY_PLUGIN_PORT ?? 8787);
const once = process.argv.includes('--once');
if (!token) {
  console.error('Set PLUGBOARD_TOKEN to an owner\'s control-panel token (pbc_…): the first start of the appliance printed one.');
  process.exit(1);
}

async function api(method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(url + p, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json: any = await res.json().catch(() => null);
  if (!res.ok) {
    const problems = (json?.error?.problems ?? []).map((x: { path: string; message: string }) => `\n  ${x.path}: ${x.message}`).join('');
    throw new Error(`${method} ${p} → ${res.status} ${json?.error?.message ?? ''}${problems}`);
  }
  return json;
}

const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'plugboard-plugin.json'), 'utf8'));
delete manifest.$schema;
manifest.baseUrl = `http://127.0.0.1:${port}`;
const org = process.env.PLUGBOARD_ORG ?? (await api('GET', '/me')).organizations[0]?.id;
if (!org) throw new Error('The token has no organisation.');
const o = `/organizations/${org}`;

// 1. Register (or find) the plugin; the signing secret is shown once, so an existing plugin's is rotated.
const mine = (await api('GET', `${o}/developer/plugins`)).data.find((p: any) => p.slug === manifest.slug);
let pluginId: string;
let secret: string;
let version = manifest.version as string;
if (!mine) {
  const reg = await api('POST', `${o}/developer/plugins`, { manifest });
  [pluginId, secret] = [reg.id, reg.signingSecret];
  console.log(`Registered ${reg.slug} ${reg.version} (plugin ${reg.id}).`);
} else {
  pluginId = mine.id;
  secret = (await api('POST', `${o}/developer/plugins/${pluginId}/rotate-secret`, { overlapSeconds: 0 })).signingSecret;
  const same = mine.versions.find((v: any) => v.baseUrl === manifest.baseUrl && v.status !== 'withdrawn');
  if (same) version = same.version;
  else {
    version = `${manifest.version}-local.${Math.floor(Date.now() / 1000)}`;
    await api('POST', `${o}/developer/plugins/${pluginId}/versions`, { manifest: { ...manifest, version } });
  }
  console.log(`Using ${mine.slug} ${version} (plugin ${pluginId}); its signing secret was rotated for this run.`);
}

// 2. Start the plugin with that secret.
const server = createDeliveryPluginServer({ secret });
await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
console.log(`Plugin listening on ${manifest.baseUrl}.`);

// 3. Install it in sandbox mode (or move the installation to this version).
const permissions = manifest.permissions.map((p: { key: string }) => p.key);
const existing = (await api('GET', `${o}/plugin-installations`)).data.find((i: any) => i.pluginId === pluginId);
let installationId: string;
if (!existing) {
  const inst = await api('POST', `${o}/plugin-installations`, {
    pluginId, version, config: { api_key: 'ak_tryitout0000000000', account_id: 'TRY-1' }, acceptedPermissions: permissions,
  });
  installationId = inst.id;
  console.log(`Installed in ${inst.mode} mode (installation ${inst.id}).`);
} else {
  installationId = existing.id;
  if (existing.version !== version) {
    const up = await api('POST', `${o}/plugin-installations/${installationId}/upgrade`, { version });
    if (up.state === 'needs_consent') await api('POST', `${o}/plugin-installations/${installationId}/accept-upgrade`, { version, acceptedPermissions: permissions });
  }
  console.log(`Installation ${installationId} runs ${version}.`);
}

// 4. Ask the model through the gateway, narrowed to this plugin.
const key = process.env.PLUGBOARD_KEY ?? (await api('POST', `${o}/keys`, { name: 'delivery plugin try-it' })).key;
if (!process.env.PLUGBOARD_KEY) console.log(`Created a gateway key for this run: ${key}`);
const model = process.env.PLUGBOARD_MODEL ?? 'gpt-4o-mini';
const question = 'Where is my order MAT-2026-0510-0041?';
const chat = await fetch(`${url}/v1/chat/completions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-plugboard-plugins': installationId },
  body: JSON.stringify({ model, messages: [{ role: 'user', content: question }] }),
});
const answer: any = await chat.json().catch(() => null);
console.log(`\nYou: ${question}\nModel (${chat.status}): ${answer?.choices?.[0]?.message?.content ?? JSON.stringify(answer)}\n`);

// 5. What the plugin log saw.
const logs = await api('GET', `${o}/plugin-installations/${installationId}/logs?limit=5`);
console.log('Plugin log (newest first):');
for (const e of logs.data) console.log(`  ${e.createdAt}  ${e.tool}  ${e.status}${e.httpStatus ? ` HTTP ${e.httpStatus}` : ''}  ${e.latencyMs} ms${e.error ? `  ${e.error}` : ''}`);
if (logs.data.length === 0) console.log('  (no calls: the model answered without the tool; try another model or question)');

if (once) {
  server.closeAllConnections();
  server.close();
} else {
  console.log(`\nThe plugin keeps running. Grant installation ${installationId} to a WhatsApp number instance to use it there (see README). Ctrl-C stops it.`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
}
