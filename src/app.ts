/**
 * Composition root: builds every object from the configuration and wires them together.
 * `createApp(config)` → `{ listen(), close() }`. No module-level state anywhere else.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { openDb, type Db } from './storage/db.ts';
import { migrate } from './storage/migrate.ts';
import { createSecretBox, loadMasterKey, verifyMasterKey, type SecretBox } from './storage/secret-box.ts';
import { createOrganizationsRepo } from './storage/repos/organizations.ts';
import { createControlTokensRepo } from './storage/repos/control-tokens.ts';
import { createGatewayKeysRepo } from './storage/repos/gateway-keys.ts';
import { createUsageEventsRepo } from './storage/repos/usage-events.ts';
import { bootstrapIfEmpty, type BootstrapResult, type TenancyRepos } from './control/organizations.ts';
import { createUsageRecorder, type UsageRecorder } from './usage/recorder.ts';
import { createEventBus, type EventBus } from './usage/bus.ts';
import { createUpstreamPool } from './gateway/upstream-pool.ts';
import { createKeyAuthenticator } from './gateway/key-auth.ts';
import { createKeyLimiter } from './gateway/key-limits.ts';
import { createKoaApp } from './http/server.ts';
import { gatewayRoutes } from './http/routes/gateway.ts';
import { healthRoutes } from './http/routes/health.ts';
import { organizationRoutes } from './http/routes/control/organizations.ts';
import { keyRoutes } from './http/routes/control/keys.ts';
import { usageRoutes } from './http/routes/control/usage.ts';
import { mcpIntegrationRoutes } from './http/routes/control/mcp-integrations.ts';
import { eventRoutes } from './http/routes/control/events.ts';
import { createInstallationsRepo, type InstallationsRepo } from './storage/repos/plugin-installations.ts';
import { createMcpManager } from './plugins/kinds/mcp/manager.ts';
import { createPluginRuntime, type PluginRuntime } from './plugins/runtime.ts';
import { createArgumentValidator } from './plugins/schema.ts';
import { createToolLimiter } from './plugins/limits.ts';
import type { FirstPartyPlugin } from './plugins/types.ts';
import { createUpstreamClient } from './gateway/upstream.ts';
import { createToolLoop } from './gateway/tool-loop.ts';
import { createHttpOrchestrator, createInProcessCompletion, type InProcessCompletion } from './gateway/orchestrate.ts';

export interface AppOptions {
  /** Log destination (tests capture it); stdout by default. */
  logDestination?: NodeJS.WritableStream;
  /** Called once when first start created the bootstrap organisation (the CLI prints it). */
  onBootstrap?: (result: BootstrapResult) => void;
}

export interface App {
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  readonly box: SecretBox;
  readonly repos: TenancyRepos;
  readonly recorder: UsageRecorder;
  readonly bus: EventBus;
  readonly server: http.Server;
  readonly installations: InstallationsRepo;
  readonly runtime: PluginRuntime;
  /** Completions for in-process callers (the WhatsApp reply worker). */
  readonly complete: InProcessCompletion;
  /** Starts listening; resolves with the bound URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: stop accepting, let in-flight requests finish (bounded), close everything. */
  close(): Promise<void>;
}

/** Opens the database, applies migrations and checks the master key: shared by `serve` and the CLI. */
export function openStorage(config: Config, opts: { createKey: boolean }): { db: Db; box: SecretBox; keyCreated: boolean } {
  const db = openDb({ file: config.dbFile });
  try {
    migrate(db);
    // A key file is only ever created for a database that has no key yet: never a stray one that matches nothing.
    const fresh = !db.prepare("SELECT 1 FROM meta WHERE key = 'master_key_check'").get();
    const mk = loadMasterKey({ envValue: config.masterKey, keyFile: config.masterKeyFile, createIfMissing: opts.createKey && fresh });
    const box = createSecretBox(mk.key);
    verifyMasterKey(db, box);
    return { db, box, keyCreated: mk.created };
  } catch (err) {
    db.close();
    throw err;
  }
}

export function createApp(config: Config, opts: AppOptions = {}): App {
  const log = createLogger({ level: config.logLevel, destination: opts.logDestination });
  const { db, box } = openStorage(config, { createKey: true });
  const orgs = createOrganizationsRepo(db);
  const tokens = createControlTokensRepo(db);
  const keys = createGatewayKeysRepo(db);
  const usage = createUsageEventsRepo(db);
  const repos: TenancyRepos = { db, orgs, tokens, keys };

  if (config.bootstrap) {
    const boot = bootstrapIfEmpty(repos);
    if (boot) {
      log.info({ organizationId: boot.organization.id }, 'bootstrap organization created');
      opts.onBootstrap?.(boot);
    }
  }

  const recorder = createUsageRecorder({ usage, keys, log });
  const bus = createEventBus();
  const pool = createUpstreamPool({
    baseUrl: config.upstreamBaseUrl, apiKey: config.upstreamApiKey, timeoutMs: config.upstreamTimeoutMs, connections: config.upstreamConnections,
  });
  const keyAuth = createKeyAuthenticator(db, keys);
  const installations = createInstallationsRepo(db, box);
  const policy = { allowedNetworks: config.mcpAllowedNetworks };
  const mcp = createMcpManager({ installations, policy, log, defaultTimeoutMs: config.toolTimeoutMs, maxResultBytes: config.toolResultMaxBytes });
  const firstParty: FirstPartyPlugin[] = [];
  const runtime = createPluginRuntime({
    installations, mcp, firstParty, validator: createArgumentValidator(), limiter: createToolLimiter(),
    toolTimeoutMs: config.toolTimeoutMs, maxResultBytes: config.toolResultMaxBytes,
  });
  const client = createUpstreamClient({ baseUrl: config.upstreamBaseUrl, apiKey: config.upstreamApiKey, timeoutMs: config.upstreamTimeoutMs });
  const loop = createToolLoop({
    client, runtime, recorder, bus, toolConcurrency: config.toolConcurrency, toolTimeoutMs: config.toolTimeoutMs, keepAliveMs: config.sseKeepAliveMs,
  });
  const orchestration = { pluginsEnabled: config.pluginsEnabled, loopCap: config.toolLoopCap, aliases: config.modelAliases, orgs, runtime, loop, client, recorder };
  const complete = createInProcessCompletion(orchestration);
  const onChange = (): void => keyAuth.invalidate();
  let shuttingDown = false;
  const shutdown = new AbortController();

  const koa = createKoaApp({
    log,
    trustProxy: config.trustProxy,
    routers: [
      healthRoutes({ db, isShuttingDown: () => shuttingDown }),
      gatewayRoutes({
        keyAuth, limiter: createKeyLimiter(), defaultRpm: config.rateLimitRpm, maxBodyBytes: config.maxBodyBytes, pool,
        aliases: config.modelAliases, chat: { pool, aliases: config.modelAliases, recorder, orchestrate: createHttpOrchestrator(orchestration) },
      }),
      organizationRoutes(repos, onChange),
      keyRoutes(repos, onChange),
      usageRoutes({ orgs, tokens, usage, recorder }),
      mcpIntegrationRoutes({ orgs, tokens, installations, mcp, runtime, policy, onChange }),
      eventRoutes({ orgs, tokens, bus, keepAliveMs: config.sseKeepAliveMs, shutdownSignal: shutdown.signal }),
    ],
  });
  const server = http.createServer({ keepAliveTimeout: 65_000 }, koa.callback());

  let closing: Promise<void> | null = null;
  return {
    config, db, log, box, repos, recorder, bus, server, installations, runtime, complete,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const addr = server.address() as AddressInfo;
          const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolve(`http://${host}:${addr.port}`);
        });
      });
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        shutdown.abort();
        const wasListening = server.listening;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive connections become idle as their last response ends; close them as they do.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        if (wasListening) await closed;
        clearInterval(sweep);
        clearTimeout(timer);
        await mcp.closeAll();
        await pool.close().catch(() => undefined);
        recorder.close();
        db.close();
        log.flush?.();
      })();
      return closing;
    },
  };
}
