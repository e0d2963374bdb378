/**
 * The gateway as the suites start it: a fresh temporary data dir, organisations and a key made
 * with its own CLI (`org create --json`, `key create --json`), then `node src/main.ts serve` with
 * the upstream pointed at the fake, waiting for /healthz — from this checkout, or from another one
 * (the A/B baseline, `--baseline DIR`), started the same way. Also: the control API calls the suites
 * make once it runs (MCP integrations, WhatsApp instances), and a few helpers shared by suites.
 * It never writes into a checkout: only into the temporary data dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, runNode, spawnLogged, tail, waitForHttp200, type ChildHandle, type CliResult } from './proc.ts';
import type { SuiteContext } from './suite.ts';

export function splitBaseUrl(url: string): { origin: string; prefix: string } {
  const u = new URL(url);
  let p = u.pathname.replace(/\/+$/, '');
  if (!p.endsWith('/v1')) p = `${p}/v1`;
  return { origin: u.origin, prefix: p };
}

export function rotate<T>(list: readonly T[], by: number): T[] {
  const n = list.length;
  return n ? list.map((_, i) => list[(i + by) % n]) : [];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON object printed by a CLI command: the whole output, or the last line that is an object. */
export function parseJsonOutput(stdout: string): Record<string, unknown> | undefined {
  const text = stdout.trim();
  const tryParse = (s: string) => {
    try {
      const v = JSON.parse(s);
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const whole = tryParse(text);
  if (whole) return whole;
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const v = tryParse(lines[i].trim());
    if (v) return v;
  }
  const a = text.indexOf('{');
  const b = text.lastIndexOf('}');
  return a !== -1 && b > a ? tryParse(text.slice(a, b + 1)) : undefined;
}

export function describeCli(what: string, r: CliResult): string {
  const how = r.timedOut ? 'timed out' : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  const clip = (s: string) => {
    const lines = s.trim().split('\n').filter((l) => !/^\s+at /.test(l)); // stack frames say little here
    return (lines.length > 16 ? [...lines.slice(0, 8), '…', ...lines.slice(-7)] : lines).join('\n    ');
  };
  return `\`${what}\` ${how}.\n  stdout:\n    ${clip(r.stdout) || '(empty)'}\n  stderr:\n    ${clip(r.stderr) || '(empty)'}`;
}

export interface GatewayTarget {
  /** Where it is, for the report. */
  where: string;
  origin: string;
  /** Path prefix in front of /chat/completions, normally /v1. */
  prefix: string;
  headers: Record<string, string>;
  pid?: number;
}

export interface OrgCredentials {
  name: string;
  id: string;
  /** Control-panel token of its owner. */
  ownerToken: string;
}

export interface GatewayStart {
  target: GatewayTarget;
  handle?: ChildHandle;
  dataDir?: string;
  port?: number;
  /** The organisation of the measured key (spawned gateways only). */
  org?: OrgCredentials;
  /** Further organisations (no keys), by name. */
  otherOrgs: OrgCredentials[];
  settings: [string, string][];
  /** How this checkout was started where it differs from the usual (node_modules, no `migrate`). */
  notes: string[];
}

export interface GatewayOptions {
  /** Organisation of the measured key (default `bench`). */
  orgName?: string;
  /** More organisations to create with the CLI before serving. */
  otherOrgs?: string[];
  /** PLUGBOARD_* variables the suite needs; `--gateway-env` of the user still wins. */
  env?: Record<string, string>;
  /** The port to serve on, when the suite must know it before (e.g. for PLUGBOARD_PUBLIC_BASE_URL). */
  port?: number;
  /** Log file name in the data dir (default gateway.log). */
  logName?: string;
  /** May an already running gateway (--target-url) stand in? Suites that must configure it say no. */
  allowExternal?: boolean;
  /** The checkout to start (default: this one); the A/B baseline passes its own. */
  root?: string;
  /** Its name in progress lines, process names and settings (default `gateway`). */
  label?: string;
}

/** Node options that let a checkout without node_modules use this checkout's (see resolve-fallback.ts). */
export function nodeModulesFallback(root: string, current: string): { args: string[]; note?: string } {
  if (path.resolve(root) === path.resolve(current) || fs.existsSync(path.join(root, 'node_modules'))) return { args: [] };
  const hook = pathToFileURL(path.join(current, 'bench', 'lib', 'resolve-fallback.ts'));
  hook.searchParams.set('root', current);
  return {
    args: ['--import', hook.href],
    note: `${root} has no node_modules: packages it cannot resolve come from ${path.join(current, 'node_modules')} (resolve hook bench/lib/resolve-fallback.ts; nothing written into ${root})`,
  };
}

/** Creates organisations and a key with the CLI, then starts `node src/main.ts serve` and waits for /healthz. */
export async function startGateway(ctx: SuiteContext, upstreamOrigin: string, g: GatewayOptions = {}): Promise<GatewayStart> {
  const o = ctx.options;
  if (o.targetUrl && (g.allowExternal ?? true) && !g.root) {
    if (!o.targetKey) throw new Error('--target-url needs --target-key (or BENCH_TARGET_KEY): a gateway key of that gateway');
    const { origin, prefix } = splitBaseUrl(o.targetUrl);
    return {
      target: { where: `${origin}${prefix} (external)`, origin, prefix, headers: { authorization: `Bearer ${o.targetKey}` }, pid: o.targetPid },
      otherOrgs: [],
      settings: [['gateway', `${origin}${prefix} — already running (--target-url); its settings are its own`]],
      notes: [],
    };
  }
  const root = g.root ?? o.repoRoot;
  const label = g.label ?? 'gateway';
  const main = path.join(root, 'src', 'main.ts');
  if (!fs.existsSync(main)) {
    throw new Error(`${main} does not exist (yet). Run with --targets direct,bare, or point --target-url/--target-key at a running gateway.`);
  }
  const fallback = nodeModulesFallback(root, o.repoRoot);
  const notes = fallback.note ? [fallback.note] : [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-bench-'));
  const port = g.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PLUGBOARD_')) env[k] = v;
  Object.assign(env, {
    PLUGBOARD_HOST: '127.0.0.1',
    PLUGBOARD_PORT: String(port),
    PLUGBOARD_DATA_DIR: dataDir,
    PLUGBOARD_UPSTREAM_BASE_URL: `${upstreamOrigin}/v1`,
    PLUGBOARD_UPSTREAM_API_KEY: 'bench',
    PLUGBOARD_BOOTSTRAP: 'false',
    PLUGBOARD_RATE_LIMIT_RPM: String(o.rateLimitRpm),
    ...g.env,
    ...o.gatewayEnv,
  });
  ctx.log(`${label}: data dir ${dataDir}`);
  const where = root === o.repoRoot ? '' : ` (in ${root})`;
  const cli = async (args: string[], fields: string[]) => {
    const what = `node src/main.ts ${args.join(' ')}${where}`;
    const r = await runNode([...fallback.args, main, ...args], env, 60_000, root);
    if (r.code !== 0 || r.timedOut) throw new Error(`${label} set-up failed: ${describeCli(what, r)}`);
    const json = parseJsonOutput(r.stdout);
    return fields.map((field) => {
      const value = json?.[field];
      if (typeof value !== 'string' || !value) throw new Error(`${label} set-up failed: \`${what}\` printed no JSON with a "${field}" string.\n${describeCli(what, r)}`);
      return value;
    });
  };
  let key: string;
  let org: OrgCredentials;
  let otherOrgs: OrgCredentials[];
  try {
    const orgName = g.orgName ?? 'bench';
    // Only `serve` and `migrate` create a database; the set-up commands need one. An older CLI
    // (a baseline) may have no `migrate`: its set-up commands then create the database themselves.
    const migrated = await runNode([...fallback.args, main, 'migrate'], env, 60_000, root);
    if (migrated.code !== 0 || migrated.timedOut) {
      const unknown = !migrated.timedOut && /unknown command/i.test(`${migrated.stdout}\n${migrated.stderr}`);
      if (!unknown || root === o.repoRoot) throw new Error(`${label} set-up failed: ${describeCli(`node src/main.ts migrate${where}`, migrated)}`);
      notes.push('its CLI has no `migrate` command: the set-up commands created the database');
    }
    const [organizationId, ownerToken] = await cli(['org', 'create', '--name', orgName, '--json'], ['organizationId', 'ownerToken']);
    org = { name: orgName, id: organizationId, ownerToken };
    // The database exists now: the rest may run side by side.
    const [k, ...others] = await Promise.all([
      cli(['key', 'create', '--org', organizationId, '--json'], ['key']),
      ...(g.otherOrgs ?? []).map((name) => cli(['org', 'create', '--name', name, '--json'], ['organizationId', 'ownerToken'])),
    ]);
    key = k[0];
    otherOrgs = others.map(([id, token], i) => ({ name: g.otherOrgs![i], id, ownerToken: token }));
  } catch (err) {
    if (!o.keepTemp) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const logFile = path.join(dataDir, g.logName ?? `${label}.log`);
  const nodeArgs = [...o.gatewayNodeArgs];
  // Profiles go next to the log unless told otherwise.
  if (nodeArgs.includes('--cpu-prof') && !nodeArgs.some((a) => a.startsWith('--cpu-prof-dir'))) nodeArgs.push(`--cpu-prof-dir=${dataDir}`);
  if (nodeArgs.includes('--heap-prof') && !nodeArgs.some((a) => a.startsWith('--heap-prof-dir'))) nodeArgs.push(`--heap-prof-dir=${dataDir}`);
  const handle = spawnLogged(label, [...nodeArgs, ...fallback.args, main, 'serve'], env, port, logFile, root);
  try {
    await waitForHttp200(`http://127.0.0.1:${port}/healthz`, 30_000, handle);
  } catch (err) {
    await handle.stop(2000);
    throw new Error(`${label} did not become healthy: ${(err as Error).message}\n  last lines of ${logFile}:\n${tail(logFile, 20)}`);
  }
  const level = o.gatewayEnv.PLUGBOARD_LOG_LEVEL ?? g.env?.PLUGBOARD_LOG_LEVEL ?? 'info (default)';
  const limiter = o.rateLimitRpm > 0 ? `ON — PLUGBOARD_RATE_LIMIT_RPM=${o.rateLimitRpm} (limiter on the code path)` : 'off — PLUGBOARD_RATE_LIMIT_RPM=0 (unlimited, limiter not on the code path)';
  const extra = Object.entries({ ...g.env, ...o.gatewayEnv }).map(([k, v]) => `${k}=${v}`);
  return {
    target: { where: `http://127.0.0.1:${port}/v1 (pid ${handle.pid})`, origin: `http://127.0.0.1:${port}`, prefix: '/v1', headers: { authorization: `Bearer ${key}` }, pid: handle.pid },
    handle,
    dataDir,
    port,
    org,
    otherOrgs,
    settings: [
      [label, `node src/main.ts serve${where}, pid ${handle.pid}, port ${port}, logs → ${logFile}`],
      ['log level', level],
      ['rate limiter', limiter],
      ['extra env', extra.length ? extra.join(' ') : '(none; other settings at their defaults)'],
      ...(o.gatewayNodeArgs.length ? [['node options', o.gatewayNodeArgs.join(' ')] as [string, string]] : []),
    ],
    notes,
  };
}

/** One control-API call as an organisation's owner; throws with the answer unless `expect` (default 2xx) is met. */
export async function controlApi<T = Record<string, unknown>>(origin: string, org: OrgCredentials, method: string, apiPath: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  const res = await fetch(`${origin}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${org.ownerToken}`, 'x-org-id': org.id, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) throw new Error(`${method} ${apiPath} answered HTTP ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface McpIntegration {
  id: string;
  slug: string;
  toolCount: number;
  tools: { name: string; prefixedName: string }[];
}

/** Installs an MCP integration for `org` (the gateway connects and lists its tools before answering 201). */
export function installMcpIntegration(origin: string, org: OrgCredentials, input: { slug: string; displayName: string; url: string }): Promise<McpIntegration> {
  return controlApi<McpIntegration>(origin, org, 'POST', `/organizations/${encodeURIComponent(org.id)}/mcp-integrations`, input);
}

/** Gateway log volume: lines, bytes, warnings and worse (an observation: logging per request costs CPU). */
export function gatewayLogSummary(logFile: string | undefined, requests: number): { bytes: number; lines: number; warnOrWorse: number; perRequest: number; samples: string[] } | undefined {
  if (!logFile || !fs.existsSync(logFile)) return undefined;
  const text = fs.readFileSync(logFile, 'utf8');
  const lines = text.split('\n').filter(Boolean);
  const bad = lines.filter((l) => /"level":\s*(?:[456]0\b|"(?:warn|error|fatal)")/.test(l));
  return { bytes: Buffer.byteLength(text), lines: lines.length, warnOrWorse: bad.length, perRequest: requests ? lines.length / requests : 0, samples: bad.slice(0, 5) };
}
