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
import { createKnownSecrets, type KnownSecrets } from './storage/known-secrets.ts';
import { createOrganizationsRepo } from './storage/repos/organizations.ts';
import { createControlTokensRepo } from './storage/repos/control-tokens.ts';
import { createGatewayKeysRepo } from './storage/repos/gateway-keys.ts';
import { createUsageEventsRepo } from './storage/repos/usage-events.ts';
import { createStorageHealth } from './storage/health.ts';
import { bootstrapIfEmpty, type BootstrapResult, type TenancyRepos } from './control/organizations.ts';
import { createUsageRecorder, type UsageRecorder } from './usage/recorder.ts';
import { journalFileFor, openUsageJournal } from './usage/journal.ts';
import { createEventBus, type EventBus } from './usage/bus.ts';
import { createUpstreamPool } from './gateway/upstream-pool.ts';
import { createKeyAuthenticator } from './gateway/key-auth.ts';
import { createKeyLimiter } from './gateway/key-limits.ts';
import { createKoaApp, dispatch } from './http/server.ts';
import { createErrorWriter } from './http/error-writer.ts';
import { defaultRequestId } from './http/request-context.ts';
import { createClientErrorHandler } from './http/client-error.ts';
import { createAuthThrottle } from './http/auth-throttle.ts';
import { fastChatCompletions, gatewayRoutes } from './http/routes/gateway.ts';
import { createConfigVersion } from './storage/config-version.ts';
import { healthRoutes } from './http/routes/health.ts';
import { organizationRoutes } from './http/routes/control/organizations.ts';
import { memberRoutes } from './http/routes/control/members.ts';
import { pluginRoutes } from './http/routes/control/plugins.ts';
import { keyRoutes } from './http/routes/control/keys.ts';
import { usageRoutes } from './http/routes/control/usage.ts';
import { mcpIntegrationRoutes } from './http/routes/control/mcp-integrations.ts';
import { eventRoutes } from './http/routes/control/events.ts';
import { createInstallationsRepo, type InstallationsRepo } from './storage/repos/plugin-installations.ts';
import { createGrantsRepo, type GrantsRepo } from './storage/repos/grants.ts';
import { createMcpKind, type McpKind } from './plugins/kinds/mcp/kind.ts';
import { createCustomKind, type CustomKind } from './plugins/kinds/custom/kind.ts';
import { createManifestFetcher, httpAllowedBy } from './plugins/kinds/custom/manifest-source.ts';
import { createOperatorTokensRepo, type OperatorTokensRepo } from './storage/repos/operator-tokens.ts';
import { createInstallationPausesRepo } from './storage/repos/installation-pauses.ts';
import { developerPluginRoutes } from './http/routes/control/developer-plugins.ts';
import { pluginInstallationRoutes } from './http/routes/control/plugin-installations.ts';
import { operatorPluginRoutes } from './http/routes/operator/plugins.ts';
import { createPluginRuntime, pluginKinds, type PluginRuntime } from './plugins/runtime.ts';
import { createArgumentValidator } from './plugins/schema.ts';
import { createToolLimiter } from './plugins/limits.ts';
import { createWhatsAppToolkit } from './toolkits/whatsapp/index.ts';
import { createLoopEngine } from './gateway/loop/engine.ts';
import { createPluginChoice, type ChatDeps } from './gateway/chat.ts';
import { createInProcessCompletion, type InProcessCompletion } from './gateway/in-process.ts';
import { createJobQueue, type JobQueue } from './jobs/queue.ts';
import { applianceWorkerPrefix, createWhatsAppChannel, type WhatsAppChannel } from './channels/whatsapp/index.ts';
import { whatsappInstanceRoutes } from './http/routes/control/whatsapp-instances.ts';
import { jobRoutes } from './http/routes/control/jobs.ts';
import { twilioWebhookRoutes } from './http/routes/twilio-webhook.ts';
import { createEcommerceToolkit, type EcommerceToolkit } from './toolkits/ecommerce/index.ts';
import { createPaymentsToolkit, type PaymentsToolkit } from './toolkits/payments/index.ts';
import { commerceRoutes } from './http/routes/control/commerce.ts';
import { paymentRoutes } from './http/routes/control/payments.ts';
import { paymentPublicRoutes } from './http/routes/payments-public.ts';
// Usage and audit (issue 13): rollups + summary, retention, the audit log of control-panel writes.
import { createUsageRollupsRepo } from './storage/repos/usage-rollups.ts';
import { createAuditLogRepo } from './storage/repos/audit-log.ts';
import { createUsagePruner } from './usage/retention.ts';
import { auditWrites } from './http/audit.ts';
import { usageSummaryRoutes } from './http/routes/control/usage-summary.ts';

export interface AppOptions {
  /** Log destination (tests capture it); stdout by default. */
  logDestination?: NodeJS.WritableStream;
  /** Called once when first start created the bootstrap organisation (the CLI prints it). */
  onBootstrap?: (result: BootstrapResult) => void;
  /** Request-id generator of every door (Koa routes, the chat fast path, parser errors); time-ordered ids by default. */
  generateRequestId?: () => string;
}

export interface App {
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  readonly box: SecretBox;
  /** Every secret this process holds in plain text; the redactor at every exit. */
  readonly secrets: KnownSecrets;
  readonly repos: TenancyRepos;
  readonly recorder: UsageRecorder;
  readonly bus: EventBus;
  readonly server: http.Server;
  /** Plugin installations of every kind (the shared columns). */
  readonly installations: InstallationsRepo;
  /** The MCP plugin kind; `mcp.installations` reads MCP installations with their endpoints. */
  readonly mcp: McpKind;
  /** The custom plugin kind: authored plugins, installations' settings, the plugin log. */
  readonly custom: CustomKind;
  /** The appliance operator's tokens (`/operator/…`). */
  readonly operatorTokens: OperatorTokensRepo;
  /** Grants (subject → plugin), e.g. a WhatsApp instance's plugins. */
  readonly grants: GrantsRepo;
  readonly runtime: PluginRuntime;
  /** Completions for in-process callers (the WhatsApp reply worker). */
  readonly complete: InProcessCompletion;
  /** The durable job table (WhatsApp replies). */
  readonly queue: JobQueue;
  /** The WhatsApp channel (inbound and status use cases, reply worker) over its toolkit (`whatsapp.toolkit`: plugin, repos, sending). */
  readonly whatsapp: WhatsAppChannel;
  /** The E-Commerce toolkit (catalogue, orders, after-sale requests) and the Payments toolkit (bindings, payments, refunds, its worker). */
  readonly ecommerce: EcommerceToolkit;
  readonly payments: PaymentsToolkit;
  /** Starts listening, then the reply worker; resolves with the bound URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: stop accepting, let in-flight requests finish (bounded), close everything. */
  close(): Promise<void>;
}

/** Opens the database, applies migrations and checks the master key: shared by `serve` and the CLI. */
export function openStorage(config: Config, opts: { createKey: boolean; secrets?: KnownSecrets }): { db: Db; box: SecretBox; masterKey: Buffer; keyCreated: boolean } {
  const db = openDb({ file: config.dbFile });
  try {
    migrate(db);
    // A key file is only ever created for a database that has no key yet: never a stray one that matches nothing.
    const fresh = !db.prepare("SELECT 1 FROM meta WHERE key = 'master_key_check'").get();
    const mk = loadMasterKey({ envValue: config.masterKey, keyFile: config.masterKeyFile, createIfMissing: opts.createKey && fresh });
    const box = createSecretBox(mk.key, { secrets: opts.secrets });
    registerMasterKey(opts.secrets, mk.key);
    verifyMasterKey(db, box);
    return { db, box, masterKey: mk.key, keyCreated: mk.created };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The master key in every form it is written in (key file, environment variable). */
function registerMasterKey(secrets: KnownSecrets | undefined, key: Buffer): void {
  if (!secrets) return;
  for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) secrets.add(form);
}

export function createApp(config: Config, opts: AppOptions = {}): App {
  // First, so the log, the secret box and every exit know the secrets from the start.
  const secrets = createKnownSecrets();
  secrets.add(config.upstreamApiKey);
  secrets.add(config.masterKey);
  const log = createLogger({ level: config.logLevel, destination: opts.logDestination, secrets });
  const { db, box, masterKey } = openStorage(config, { createKey: true, secrets });
  const orgs = createOrganizationsRepo(db);
  const storage = createStorageHealth({ db, dataDir: config.dataDir });
  const tokens = createControlTokensRepo(db, {
    onTouchFailure(err) {
      storage.noteFailure(err);
      log.debug({ err: { code: (err as { code?: string }).code } }, 'control token last-used time not written');
    },
  });
  const keys = createGatewayKeysRepo(db);
  // Usage and audit (issue 13): the rollups are maintained in the usage-events insert transaction.
  const rollups = createUsageRollupsRepo(db);
  const usage = createUsageEventsRepo(db, { secrets, rollups });
  const audit = createAuditLogRepo(db, { secrets });
  const repos: TenancyRepos = { db, orgs, tokens, keys };

  if (config.bootstrap) {
    const boot = bootstrapIfEmpty(repos);
    if (boot) {
      log.info({ organizationId: boot.organization.id }, 'bootstrap organization created');
      opts.onBootstrap?.(boot);
    }
  }

  const recorder = createUsageRecorder({ usage, keys, log, health: storage, secrets, journal: openUsageJournal(journalFileFor(config.dbFile)) });
  recorder.recover();
  const pruner = createUsagePruner({ usage, rollups, log, retentionDays: config.usageRetentionDays });
  const bus = createEventBus();
  const pool = createUpstreamPool({
    baseUrl: config.upstreamBaseUrl, apiKey: config.upstreamApiKey, timeoutMs: config.upstreamTimeoutMs, connections: config.upstreamConnections, secrets,
  });
  const keyAuth = createKeyAuthenticator(db, keys);
  const configVersion = createConfigVersion(db);
  const installations = createInstallationsRepo(db);
  const grants = createGrantsRepo(db);
  // The bound port joins selfPorts at listen (config.port may be 0): MCP endpoints never point at Plugboard itself.
  const selfPorts: number[] = config.port ? [config.port] : [];
  const policy = { allowedNetworks: config.mcpAllowedNetworks, selfPorts };
  const mcp = createMcpKind({
    db, box, installations, policy, log, defaultTimeoutMs: config.toolTimeoutMs, maxResultBytes: config.toolResultMaxBytes, secrets,
  });
  const custom = createCustomKind({ db, box, installations, policy, log, maxResultBytes: config.toolResultMaxBytes, secrets });
  const pauses = createInstallationPausesRepo(db, installations);
  const operatorTokens = createOperatorTokensRepo(db);
  const queue = createJobQueue(db, {
    backoff: { baseMs: config.workerRetryBaseMs, capMs: config.workerRetryCapMs }, defaultMaxAttempts: config.workerMaxAttempts, secrets,
  });
  // Toolkits first: the runtime offers their plugins, and they need nothing built after it.
  const whatsappToolkit = createWhatsAppToolkit({
    db, box, masterKey, grants, log,
    publicBaseUrl: config.publicBaseUrl, twilioApiBaseUrl: config.twilioApiBaseUrl, twilioTimeoutMs: config.twilioTimeoutMs,
  });
  const ecommerce = createEcommerceToolkit({ db, grants, log, bus });
  const payments = createPaymentsToolkit({
    db, box, grants, queue, log, bus, ecommerce, sendToCustomer: whatsappToolkit.sendToCustomer,
    publicBaseUrl: config.publicBaseUrl, stripeApiBaseUrl: config.stripeApiBaseUrl, pollIntervalMs: config.paymentsPollMs,
    rateLimitDelayMs: Math.min(config.workerRetryBaseMs * 5, config.workerRetryCapMs),
    worker: { enabled: config.workerEnabled, concurrency: config.workerConcurrency, pollMs: config.workerPollMs, leaseMs: config.workerLeaseMs, idPrefix: applianceWorkerPrefix(config.dbFile) },
  });
  const runtime = createPluginRuntime({
    installations, kinds: pluginKinds(mcp, custom), firstParty: [whatsappToolkit.plugin, ecommerce.plugin, payments.plugin], validator: createArgumentValidator(), limiter: createToolLimiter(),
    toolTimeoutMs: config.toolTimeoutMs, maxResultBytes: config.toolResultMaxBytes, configVersion, secrets, log,
  });
  const loop = createLoopEngine({
    pool, runtime, recorder, bus, toolConcurrency: config.toolConcurrency, toolTimeoutMs: config.toolTimeoutMs, keepAliveMs: config.sseKeepAliveMs,
  });
  const chat: ChatDeps = {
    pool, aliases: config.modelAliases, recorder, loop, loopCap: config.toolLoopCap,
    plugins: createPluginChoice({ enabled: config.pluginsEnabled, runtime, orgs, configVersion }),
  };
  const complete = createInProcessCompletion({ ...chat, configVersion });
  // Channels last: they answer with the completion, which exists now.
  const whatsapp = createWhatsAppChannel({
    toolkit: whatsappToolkit, db, queue, log, complete,
    publicBaseUrl: config.publicBaseUrl, historyMessages: config.whatsappHistoryMessages,
    worker: {
      enabled: config.workerEnabled, concurrency: config.workerConcurrency, pollMs: config.workerPollMs, leaseMs: config.workerLeaseMs,
      // Twilio's 429 carries no Retry-After: wait a few backoff steps.
      rateLimitDelayMs: Math.min(config.workerRetryBaseMs * 5, config.workerRetryCapMs),
      idPrefix: applianceWorkerPrefix(config.dbFile),
    },
  });
  const onChange = (): void => keyAuth.invalidate();
  let shuttingDown = false;
  const shutdown = new AbortController();

  const authThrottle = createAuthThrottle({ failuresPerMinute: config.authFailuresPerMinute });
  const gatewayDeps = {
    authThrottle, trustProxy: config.trustProxy,
    keyAuth, limiter: createKeyLimiter(), defaultRpm: config.rateLimitRpm, maxBodyBytes: config.maxBodyBytes, chat,
  };
  // One error writer and one request-id generator for every door.
  const errors = createErrorWriter({ log, secrets });
  const generateId = opts.generateRequestId ?? defaultRequestId;
  const rawRoutes = { 'POST /v1/chat/completions': fastChatCompletions(gatewayDeps, { log, errors, generateId }) };
  const koa = createKoaApp({
    log,
    errors,
    generateId,
    rawRoutes: Object.keys(rawRoutes),
    trustProxy: config.trustProxy,
    authThrottle,
    audit: auditWrites({ audit, log, trustProxy: config.trustProxy }),
    routers: [
      healthRoutes({ db, isShuttingDown: () => shuttingDown, storage, usage: recorder.stats }),
      gatewayRoutes(gatewayDeps),
      organizationRoutes(repos, onChange),
      memberRoutes(repos),
      keyRoutes(repos, onChange, runtime.pluginIdsOf),
      usageRoutes({ orgs, tokens, usage, recorder }),
      mcpIntegrationRoutes({ orgs, tokens, installations: mcp.installations, mcp, policy, onChange, pausedByOperator: (id) => pauses.get(id) !== null }),
      pluginRoutes({ orgs, tokens, runtime }),
      eventRoutes({ orgs, tokens, bus, keepAliveMs: config.sseKeepAliveMs, shutdownSignal: shutdown.signal, secrets }),
      whatsappInstanceRoutes({ orgs, tokens, channel: whatsapp, pluginIds: runtime.pluginIdsOf, missingToolkits: custom.missingToolkits }),
      jobRoutes({ orgs, tokens, queue, wake: () => { whatsapp.wake(); payments.jobs.wake(); } }),
      // Custom plugins (issue 11): developer area, directory and installations, the operator's routes.
      developerPluginRoutes({ orgs, tokens, custom, fetchManifest: createManifestFetcher(policy), httpAllowed: httpAllowedBy(policy) }),
      pluginInstallationRoutes({ orgs, tokens, custom, onChange, grantsOf: (orgId) => grants.listForOrg(orgId) }),
      operatorPluginRoutes({
        operatorTokens, custom, installations, pauses, onChange, orgName: (id) => orgs.get(id)?.name ?? null, orgIds: () => orgs.listAll().map((o) => o.id),
        drop: (kind, id) => runtime.kind(kind)?.drop(id) ?? Promise.resolve(),
      }),
      twilioWebhookRoutes({
        findInstance: (id) => whatsapp.repos.instances.findForWebhook(id), inbound: whatsapp.inbound, status: whatsapp.status, publicBaseUrl: config.publicBaseUrl,
      }),
      commerceRoutes({ orgs, tokens, ecommerce, payments, log }),
      paymentRoutes({ orgs, tokens, payments }),
      paymentPublicRoutes({ webhook: payments.webhook, sandboxPayment: (ref) => payments.store.sandboxByRef(ref) }),
      // Usage and audit (issue 13)
      usageSummaryRoutes({ orgs, tokens, operatorTokens, rollups, recorder, audit }),
    ],
  });
  const server = http.createServer({ keepAliveTimeout: 65_000 }, dispatch(koa, rawRoutes));
  // What Node's parser refuses (oversized headers, bad framing) is answered in the error shape too.
  server.on('clientError', createClientErrorHandler({ log, errors, generateId }));

  let closing: Promise<void> | null = null;
  return {
    config, db, log, box, secrets, repos, recorder, bus, server, installations, mcp, custom, operatorTokens, grants, runtime, complete, queue, whatsapp, ecommerce, payments,
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          const addr = server.address() as AddressInfo;
          if (!selfPorts.includes(addr.port)) selfPorts.push(addr.port);
          const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          if (!shuttingDown) {
            whatsapp.start();
            // After the channel: its start hands back the jobs a killed process left running (payments' too).
            payments.start();
            pruner.start();
          }
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
        // The reply worker drains alongside the HTTP server: stop claiming, finish or release within the grace period.
        await Promise.all([wasListening ? closed : undefined, whatsapp.stop(config.shutdownTimeoutMs), payments.stop(config.shutdownTimeoutMs)]);
        clearInterval(sweep);
        clearTimeout(timer);
        await runtime.closeAll();
        await pool.close().catch(() => undefined);
        await pruner.stop();
        recorder.close();
        db.close();
        log.flush?.();
      })();
      return closing;
    },
  };
}
