/**
 * Configuration: the only module that reads `PLUGBOARD_*` settings.
 *
 * `loadConfig(env)` is pure apart from reading the optional `<dataDir>/config.json`; it validates
 * every value and returns a frozen object. Precedence: defaults < config file < environment.
 * An invalid value stops start-up with a message naming the variable. There are no
 * test-only branches: tests pass their own values.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCidr } from './net/cidr.ts';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly dbFile: string;
  /** Master key text (hex or base64), when given by environment instead of the key file. */
  readonly masterKey: string | undefined;
  readonly masterKeyFile: string;
  readonly upstreamBaseUrl: string;
  /** Whether the operator set the upstream (base URL or API key); false = `upstreamBaseUrl` is only the default. */
  readonly upstreamConfigured: boolean;
  readonly upstreamApiKey: string;
  readonly upstreamTimeoutMs: number;
  readonly upstreamConnections: number;
  /** Client-facing model name → upstream model name. */
  readonly modelAliases: Readonly<Record<string, string>>;
  /** Requests per minute per gateway key; 0 turns the limiter off. */
  readonly rateLimitRpm: number;
  readonly maxBodyBytes: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Create an organisation, owner and gateway key on first start with an empty database. */
  readonly bootstrap: boolean;
  readonly trustProxy: boolean;
  /** Failed authentications per minute per client address before it is refused for a while; 0 = off. */
  readonly authFailuresPerMinute: number;
  readonly shutdownTimeoutMs: number;
  /** Plugin orchestration on the gateway path; off means pure passthrough. */
  readonly pluginsEnabled: boolean;
  readonly toolLoopCap: number;
  readonly toolTimeoutMs: number;
  readonly toolResultMaxBytes: number;
  readonly toolConcurrency: number;
  /** CIDRs where MCP servers may live besides public addresses (e.g. `127.0.0.0/8,10.0.0.0/8`). */
  readonly mcpAllowedNetworks: readonly string[];
  readonly sseKeepAliveMs: number;
  /** Public origin Twilio calls (webhook URLs and signature checks). */
  readonly publicBaseUrl: string;
  readonly twilioApiBaseUrl: string;
  readonly workerEnabled: boolean;
  readonly workerConcurrency: number;
  readonly workerPollMs: number;
  /** Lease of a claimed reply job; renewed while the job runs, reclaimed when it expires. */
  readonly workerLeaseMs: number;
  /** Claims of one reply job before it is dead-lettered. */
  readonly workerMaxAttempts: number;
  /** First retry delay of a failed reply job (doubles per attempt, capped at workerRetryCapMs). */
  readonly workerRetryBaseMs: number;
  readonly workerRetryCapMs: number;
  /** Timeout of one Twilio REST call. */
  readonly twilioTimeoutMs: number;
  /** Messages of a customer's history the reply worker sends to the model. */
  readonly whatsappHistoryMessages: number;
  // E-Commerce and Payments toolkits
  /** Origin of Stripe's REST API (a proxy, or a fake in tests). */
  readonly stripeApiBaseUrl: string;
  /** Interval at which a pending payment is looked up again at its provider (the safety net for lost webhooks). */
  readonly paymentsPollMs: number;
  // Usage and audit (issue 13)
  /** Days raw usage events are kept (0: forever); rollups, and so the usage summary, stay. */
  readonly usageRetentionDays: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Source = Record<string, string | undefined>;

/** Every variable, its default and what it does: the README's configuration table is generated from this. */
export const CONFIG_VARIABLES = [
  ['PLUGBOARD_HOST', '127.0.0.1 (0.0.0.0 in Docker)', 'Interface the HTTP server binds.'],
  ['PLUGBOARD_PORT', '8080', 'TCP port of the HTTP server.'],
  ['PLUGBOARD_DATA_DIR', './data', 'Folder for the SQLite database, the master key file and config.json.'],
  ['PLUGBOARD_MASTER_KEY', '(unset)', 'Master key (64 hex digits or base64 of 32 bytes). Unset: the key file is used.'],
  ['PLUGBOARD_MASTER_KEY_FILE', '<data dir>/master.key', 'Key file, created with mode 0600 on first start if missing.'],
  ['PLUGBOARD_UPSTREAM_BASE_URL', 'https://api.openai.com/v1', 'OpenAI-compatible upstream base URL (…/v1).'],
  ['PLUGBOARD_UPSTREAM_API_KEY', '(empty)', 'Bearer key sent to the upstream. Never the caller\'s gateway key.'],
  ['PLUGBOARD_UPSTREAM_TIMEOUT_MS', '600000', 'Upstream timeout (headers and idle body); on expiry the caller gets 504.'],
  ['PLUGBOARD_UPSTREAM_CONNECTIONS', '128', 'Keep-alive connections pooled to the upstream.'],
  ['PLUGBOARD_MODEL_ALIASES', '(none)', 'Model aliases, `alias=upstream-model,…`; listed by /v1/models.'],
  ['PLUGBOARD_RATE_LIMIT_RPM', '600', 'Requests per minute per gateway key (0 = unlimited); a key may override it.'],
  ['PLUGBOARD_MAX_BODY_BYTES', '8388608', 'Largest accepted request body; larger gets 413.'],
  ['PLUGBOARD_LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent.'],
  ['PLUGBOARD_BOOTSTRAP', 'true', 'On an empty database, create an organisation, owner token and gateway key and print them once.'],
  ['PLUGBOARD_TRUST_PROXY', 'false', 'Trust X-Forwarded-* headers (only behind your own reverse proxy).'],
  ['PLUGBOARD_AUTH_FAILURES_PER_MINUTE', '30', 'Wrong gateway keys or control tokens per minute per client address before it gets 429 for 5 minutes (0 = off).'],
  ['PLUGBOARD_SHUTDOWN_TIMEOUT_MS', '10000', 'Grace period for in-flight requests and jobs on SIGTERM.'],
  ['PLUGBOARD_PLUGINS_ENABLED', 'true', 'Plugin orchestration on /v1/chat/completions; false = pure passthrough.'],
  ['PLUGBOARD_TOOL_LOOP_CAP', '8', 'Most model turns with tools per request; at the cap one last turn runs without tools.'],
  ['PLUGBOARD_TOOL_TIMEOUT_MS', '30000', 'Timeout of one tool call.'],
  ['PLUGBOARD_TOOL_RESULT_MAX_BYTES', '32768', 'Tool results longer than this are truncated with a visible marker.'],
  ['PLUGBOARD_TOOL_CONCURRENCY', '4', 'Tool calls of one turn run at most this many at a time.'],
  ['PLUGBOARD_MCP_ALLOWED_NETWORKS', '(none)', 'CIDRs where MCP servers and custom plugins may live besides public addresses, e.g. 10.0.0.0/8,127.0.0.0/8 (custom plugins may use plain http only there).'],
  ['PLUGBOARD_SSE_KEEPALIVE_MS', '10000', 'Interval of SSE comment keep-alives while tools run and on live event streams.'],
  ['PLUGBOARD_PUBLIC_BASE_URL', 'http://<host>:<port>', 'Public origin Twilio calls: webhook URLs and signature checks use it.'],
  ['PLUGBOARD_TWILIO_API_BASE_URL', 'https://api.twilio.com', 'Origin of Twilio\'s REST API (a proxy, or a fake in tests).'],
  ['PLUGBOARD_WORKER_ENABLED', 'true', 'Run the WhatsApp reply worker in the server process.'],
  ['PLUGBOARD_WORKER_CONCURRENCY', '2', 'Reply jobs processed at once.'],
  ['PLUGBOARD_WORKER_POLL_MS', '500', 'Idle poll interval of the reply worker.'],
  ['PLUGBOARD_WORKER_LEASE_MS', '60000', 'Lease of a claimed reply job (renewed while it runs); a crashed worker\'s job is reclaimed after it.'],
  ['PLUGBOARD_WORKER_MAX_ATTEMPTS', '8', 'Attempts of one reply job before it is dead-lettered (requeue it through the jobs API).'],
  ['PLUGBOARD_WORKER_RETRY_BASE_MS', '2000', 'First retry delay of a failed reply job; doubles per attempt, with jitter.'],
  ['PLUGBOARD_WORKER_RETRY_CAP_MS', '300000', 'Longest retry delay of a reply job.'],
  ['PLUGBOARD_TWILIO_TIMEOUT_MS', '15000', 'Timeout of one Twilio REST call; a timed-out send is reconciled before it is retried.'],
  ['PLUGBOARD_WHATSAPP_HISTORY_MESSAGES', '20', 'Recent messages of a customer the reply worker gives the model (1–200).'],
  // E-Commerce and Payments toolkits
  ['PLUGBOARD_STRIPE_API_BASE_URL', 'https://api.stripe.com', 'Origin of Stripe\'s REST API for Stripe payment bindings (a proxy, or a fake in tests; plain http only to loopback).'],
  ['PLUGBOARD_PAYMENTS_POLL_MS', '300000', 'Interval at which a pending payment is looked up at its provider again, until it is final (the safety net for lost webhooks).'],
  // Usage and audit (issue 13)
  ['PLUGBOARD_USAGE_RETENTION_DAYS', '90', 'Days raw usage events are kept (pruned hourly in small batches; 0 keeps them forever). The usage summary is served from rollups, which stay.'],
] as const;

const KNOWN = new Set<string>(CONFIG_VARIABLES.map(([name]) => name));

/** Reads `<dataDir>/config.json` (an object of PLUGBOARD_* strings), if present. */
function readConfigFile(dataDir: string): Source {
  const file = path.join(dataDir, 'config.json');
  if (!fs.existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new ConfigError(`${file} is not valid JSON.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${file} must hold a JSON object.`);
  const out: Source = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!KNOWN.has(k)) throw new ConfigError(`${file}: unknown setting ${k}.`);
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** Builds the configuration from the environment (and `config.json`), or throws a ConfigError naming every bad value. */
export function loadConfig(env: Source = process.env): Config {
  const dataDir = path.resolve(env.PLUGBOARD_DATA_DIR?.trim() || './data');
  const src: Source = { ...readConfigFile(dataDir), ...pickPlugboard(env) };
  const problems: string[] = [];
  const p = createParsers(src, problems);

  const host = p.str('PLUGBOARD_HOST', '127.0.0.1');
  const port = p.int('PLUGBOARD_PORT', 8080, 0, 65535);
  const upstreamBaseUrl = p.url('PLUGBOARD_UPSTREAM_BASE_URL', 'https://api.openai.com/v1').replace(/\/+$/, '');
  const publicDefault = `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${port}`;
  const config: Config = {
    host,
    port,
    dataDir,
    dbFile: path.join(dataDir, 'plugboard.db'),
    masterKey: src.PLUGBOARD_MASTER_KEY?.trim() || undefined,
    masterKeyFile: path.resolve(dataDir, p.str('PLUGBOARD_MASTER_KEY_FILE', path.join(dataDir, 'master.key'))),
    upstreamBaseUrl,
    upstreamConfigured: p.str('PLUGBOARD_UPSTREAM_BASE_URL', '') !== '' || (src.PLUGBOARD_UPSTREAM_API_KEY ?? '').trim() !== '',
    upstreamApiKey: src.PLUGBOARD_UPSTREAM_API_KEY ?? '',
    upstreamTimeoutMs: p.int('PLUGBOARD_UPSTREAM_TIMEOUT_MS', 600_000, 100, 3_600_000),
    upstreamConnections: p.int('PLUGBOARD_UPSTREAM_CONNECTIONS', 128, 1, 10_000),
    modelAliases: p.aliases('PLUGBOARD_MODEL_ALIASES'),
    rateLimitRpm: p.int('PLUGBOARD_RATE_LIMIT_RPM', 600, 0, 10_000_000),
    maxBodyBytes: p.int('PLUGBOARD_MAX_BODY_BYTES', 8 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    logLevel: p.oneOf('PLUGBOARD_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    bootstrap: p.bool('PLUGBOARD_BOOTSTRAP', true),
    trustProxy: p.bool('PLUGBOARD_TRUST_PROXY', false),
    authFailuresPerMinute: p.int('PLUGBOARD_AUTH_FAILURES_PER_MINUTE', 30, 0, 1_000_000),
    shutdownTimeoutMs: p.int('PLUGBOARD_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    pluginsEnabled: p.bool('PLUGBOARD_PLUGINS_ENABLED', true),
    toolLoopCap: p.int('PLUGBOARD_TOOL_LOOP_CAP', 8, 1, 64),
    toolTimeoutMs: p.int('PLUGBOARD_TOOL_TIMEOUT_MS', 30_000, 50, 600_000),
    toolResultMaxBytes: p.int('PLUGBOARD_TOOL_RESULT_MAX_BYTES', 32 * 1024, 256, 4 * 1024 * 1024),
    toolConcurrency: p.int('PLUGBOARD_TOOL_CONCURRENCY', 4, 1, 64),
    mcpAllowedNetworks: p.cidrs('PLUGBOARD_MCP_ALLOWED_NETWORKS'),
    sseKeepAliveMs: p.int('PLUGBOARD_SSE_KEEPALIVE_MS', 10_000, 50, 600_000),
    publicBaseUrl: p.url('PLUGBOARD_PUBLIC_BASE_URL', publicDefault).replace(/\/+$/, ''),
    twilioApiBaseUrl: p.url('PLUGBOARD_TWILIO_API_BASE_URL', 'https://api.twilio.com').replace(/\/+$/, ''),
    workerEnabled: p.bool('PLUGBOARD_WORKER_ENABLED', true),
    workerConcurrency: p.int('PLUGBOARD_WORKER_CONCURRENCY', 2, 1, 64),
    workerPollMs: p.int('PLUGBOARD_WORKER_POLL_MS', 500, 10, 60_000),
    workerLeaseMs: p.int('PLUGBOARD_WORKER_LEASE_MS', 60_000, 1_000, 3_600_000),
    workerMaxAttempts: p.int('PLUGBOARD_WORKER_MAX_ATTEMPTS', 8, 1, 100),
    workerRetryBaseMs: p.int('PLUGBOARD_WORKER_RETRY_BASE_MS', 2_000, 10, 3_600_000),
    workerRetryCapMs: p.int('PLUGBOARD_WORKER_RETRY_CAP_MS', 300_000, 10, 86_400_000),
    twilioTimeoutMs: p.int('PLUGBOARD_TWILIO_TIMEOUT_MS', 15_000, 100, 600_000),
    whatsappHistoryMessages: p.int('PLUGBOARD_WHATSAPP_HISTORY_MESSAGES', 20, 1, 200),
    // E-Commerce and Payments toolkits
    stripeApiBaseUrl: p.url('PLUGBOARD_STRIPE_API_BASE_URL', 'https://api.stripe.com').replace(/\/+$/, ''),
    paymentsPollMs: p.int('PLUGBOARD_PAYMENTS_POLL_MS', 300_000, 50, 86_400_000),
    // Usage and audit (issue 13)
    usageRetentionDays: p.int('PLUGBOARD_USAGE_RETENTION_DAYS', 90, 0, 36_500),
  };
  for (const name of Object.keys(src)) {
    if (name.startsWith('PLUGBOARD_') && !KNOWN.has(name)) problems.push(`${name} is not a Plugboard setting`);
  }
  if (problems.length) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}.`);
  return Object.freeze(config);
}

function pickPlugboard(env: Source): Source {
  const out: Source = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('PLUGBOARD_') && v !== undefined) out[k] = v;
  return out;
}

function createParsers(src: Source, problems: string[]) {
  const raw = (name: string): string | undefined => {
    const v = src[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  return {
    str(name: string, dflt: string): string {
      return raw(name) ?? dflt;
    },
    int(name: string, dflt: number, min: number, max: number): number {
      const v = raw(name);
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!/^-?\d+$/.test(v) || n < min || n > max) {
        problems.push(`${name}=${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
        return dflt;
      }
      return n;
    },
    bool(name: string, dflt: boolean): boolean {
      const v = raw(name)?.toLowerCase();
      if (v === undefined) return dflt;
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      problems.push(`${name}=${JSON.stringify(v)} must be true or false`);
      return dflt;
    },
    url(name: string, dflt: string): string {
      const v = raw(name);
      if (v === undefined) return dflt;
      try {
        const u = new URL(v);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
        if (u.username || u.password) throw new Error('credentials');
        return v;
      } catch {
        problems.push(`${name}=${JSON.stringify(v)} must be an http(s) URL without credentials`);
        return dflt;
      }
    },
    oneOf<T extends string>(name: string, allowed: readonly T[], dflt: T): T {
      const v = raw(name);
      if (v === undefined) return dflt;
      if ((allowed as readonly string[]).includes(v)) return v as T;
      problems.push(`${name}=${JSON.stringify(v)} must be one of ${allowed.join(', ')}`);
      return dflt;
    },
    aliases(name: string): Record<string, string> {
      const v = raw(name);
      const out: Record<string, string> = {};
      if (v === undefined) return out;
      for (const pair of v.split(',').map((s) => s.trim()).filter(Boolean)) {
        const m = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
        if (!m) {
          problems.push(`${name}: ${JSON.stringify(pair)} must look like alias=upstream-model`);
          continue;
        }
        out[m[1]] = m[2];
      }
      return out;
    },
    cidrs(name: string): string[] {
      const v = raw(name);
      if (v === undefined) return [];
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const c of list) {
        try {
          parseCidr(c); // the SSRF guard's own parser: what passes here never fails there
        } catch (err) {
          problems.push(`${name}: ${(err as Error).message}`);
        }
      }
      return list;
    },
  };
}
