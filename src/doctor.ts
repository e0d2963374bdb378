/**
 * `plugboard doctor`: checks what an operator needs before starting — data dir, database and
 * migrations, master key, and the upstream model provider (through the `openai` SDK).
 * It only looks: it never creates the data directory or a database, and never sends a request to
 * an upstream nobody configured (the default base URL is for `serve`, not a destination to probe).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { openDb } from './storage/db.ts';
import { loadMigrations } from './storage/migrate.ts';
import { createSecretBox, loadMasterKey, verifyMasterKey } from './storage/secret-box.ts';
import { createUpstreamClient } from './gateway/upstream.ts';

interface Check { name: string; ok: boolean; detail: string }

export async function runDoctor(config: Config, json: boolean): Promise<number> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string): void => void checks.push({ name, ok, detail });

  const hasDir = fs.existsSync(config.dataDir);
  if (!hasDir) {
    add('data_dir', false, `${config.dataDir} does not exist: no Plugboard data here. Point PLUGBOARD_DATA_DIR at your data directory, or run \`plugboard serve\` once to create one.`);
  } else {
    try {
      const probe = path.join(config.dataDir, `.doctor-${process.pid}`);
      fs.writeFileSync(probe, 'ok');
      fs.rmSync(probe);
      add('data_dir', true, `${config.dataDir} is writable`);
    } catch (err) {
      add('data_dir', false, `${config.dataDir}: ${(err as Error).message}`);
    }
  }

  checkDatabase(config, add);
  await checkUpstream(config, add);

  const ok = checks.every((c) => c.ok);
  if (json) process.stdout.write(JSON.stringify({ ok, checks }) + '\n');
  else for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(11)} ${c.detail}\n`);
  return ok ? 0 : 1;
}

type Add = (name: string, ok: boolean, detail: string) => void;

/** Schema version, integrity and the master key — of an existing database only: doctor never creates one. */
function checkDatabase(config: Config, add: Add): void {
  if (!fs.existsSync(config.dbFile)) {
    add('database', false, `${config.dbFile} does not exist: no Plugboard database here (run \`plugboard serve\` or \`plugboard migrate\` to create it).`);
    return;
  }
  let dbOk = false;
  try {
    const db = openDb({ file: config.dbFile });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      const latest = loadMigrations().length;
      const integrity = db.pragma('quick_check', { simple: true });
      add('database', integrity === 'ok' && version <= latest, `${config.dbFile}: schema ${version}/${latest}${version < latest ? ' (run `plugboard migrate` or start the server)' : ''}, quick_check ${String(integrity)}`);
      dbOk = true;
      try {
        const mk = loadMasterKey({ envValue: config.masterKey, keyFile: config.masterKeyFile, createIfMissing: false });
        const hasCheck = version >= 1 && db.prepare("SELECT 1 FROM meta WHERE key = 'master_key_check'").get();
        if (hasCheck) verifyMasterKey(db, createSecretBox(mk.key));
        add('master_key', true, `from ${mk.source}${hasCheck ? ', matches the database' : ''}`);
      } catch (err) {
        add('master_key', false, (err as Error).message);
      }
    } finally {
      db.close();
    }
  } catch (err) {
    if (!dbOk) add('database', false, (err as Error).message);
  }
}

/** Lists the upstream's models — only when the operator configured an upstream. */
async function checkUpstream(config: Config, add: Add): Promise<void> {
  if (!config.upstreamConfigured) {
    add('upstream', false, `no upstream configured: set PLUGBOARD_UPSTREAM_BASE_URL (and PLUGBOARD_UPSTREAM_API_KEY); without them \`serve\` would call ${new URL(config.upstreamBaseUrl).origin}. Nothing was sent.`);
    return;
  }
  try {
    const client = createUpstreamClient({ baseUrl: config.upstreamBaseUrl, apiKey: config.upstreamApiKey, timeoutMs: 10_000 });
    const started = Date.now();
    const page = await client.models.list();
    add('upstream', true, `${new URL(config.upstreamBaseUrl).origin} answered in ${Date.now() - started} ms with ${page.data.length} models`);
  } catch (err) {
    const e = err as { status?: number; message?: string };
    add('upstream', false, `${new URL(config.upstreamBaseUrl).origin}: ${e.status ? `HTTP ${e.status}` : (e.message ?? 'unreachable').slice(0, 200)}`);
  }
}
