/**
 * The custom plugin kind: what the runtime and the control use cases see of custom HTTP plugins.
 * Builds the kind's stores (authored plugins and versions, installation settings, the plugin log)
 * and implements `PluginKind` over them: a handle per installation whose tools are its pinned
 * version's and whose calls are signed HTTP calls (call.ts), health from the stored fields and
 * the count of consecutive failures, and the toolkit requirements grants must meet.
 *
 * A handle opens the installation's secrets and key at its first call, never before (listing
 * plugins opens nothing), and reuses one signer per plugin until its secret rotates. Must never
 * drive an installation of another kind, nor send a config value anywhere but the plugin's own
 * tools endpoint.
 */
import type { Logger } from '../../../log.ts';
import type { Db } from '../../../storage/db.ts';
import type { SecretBox } from '../../../storage/secret-box.ts';
import type { Installation, InstallationsRepo } from '../../../storage/repos/plugin-installations.ts';
import type { KnownSecrets } from '../../../storage/known-secrets.ts';
import { createGuardedFetch, type NetworkPolicy } from '../../../net/ssrf.ts';
import { createWebhookSigner, SECRET_PREFIX, type WebhookSigner } from '../../../net/standard-webhooks.ts';
import type { InstallationHealth, PluginHandle, PluginKind, ToolCallContext, ToolOutcome } from '../../types.ts';
import { createPluginStore, type PluginStore } from './plugin-store.ts';
import { createCustomInstallationsRepo, type CustomInstallation, type CustomInstallationsRepo } from './installation-store.ts';
import { createPluginLog, type PluginLog } from './plugin-log.ts';
import { createPreparedCache, type PreparedVersion } from './prepared.ts';
import { callPlugin, type CallTarget } from './call.ts';
import { MASK } from './config-values.ts';

/** Health successes are written at most this often per installation (failures always). */
const HEALTH_WRITE_INTERVAL_MS = 5_000;

export interface CustomKindDeps {
  db: Db;
  box: SecretBox;
  installations: InstallationsRepo;
  /** Where plugin endpoints may live (the SSRF guard's policy, shared with MCP). */
  policy: NetworkPolicy;
  log: Logger;
  /** Largest plugin answer read (PLUGBOARD_TOOL_RESULT_MAX_BYTES). */
  maxResultBytes: number;
  /** The appliance's known secrets: signing secrets are added in every form a plugin could echo. */
  secrets: KnownSecrets;
}

export interface CustomInstallationHealth extends InstallationHealth {
  consecutiveFailures: number;
}

/** A toolkit requirement a grant set does not meet. */
export interface MissingToolkit {
  pluginId: string;
  slug: string;
  any: string[];
  reason: string;
}

export interface CustomKind extends PluginKind {
  readonly kind: 'custom';
  readonly store: PluginStore;
  readonly installs: CustomInstallationsRepo;
  readonly pluginLog: PluginLog;
  /** The pinned version of an installation, prepared (catalog, compiled schemas). */
  prepared(versionId: string): PreparedVersion | null;
  health(inst: Installation): CustomInstallationHealth;
  /** Requirements of the custom plugins among `pluginIds` that no `first_party:<toolkit>` in the same set meets. */
  missingToolkits(orgId: string, pluginIds: readonly string[]): MissingToolkit[];
}

const UNAVAILABLE = 'This plugin installation has no settings or version stored; install it again.';

export function createCustomKind(deps: CustomKindDeps): CustomKind {
  const store = createPluginStore(deps.db, deps.box);
  const installs = createCustomInstallationsRepo(deps.db, deps.box, deps.installations);
  const pluginLog = createPluginLog(deps.db, {
    onDropped: (count, err) => deps.log.warn({ count, err: { code: (err as { code?: string }).code } }, 'plugin log entries dropped: the database refused the write'),
  });
  const prepared = createPreparedCache((versionId) => store.version(versionId)?.manifest ?? null);
  const guarded = createGuardedFetch(deps.policy, { label: 'Plugin endpoint' });
  const health = new Map<string, { failures: number; lastSuccessWrite: number }>();
  const signers = new Map<string, { key: string; current: WebhookSigner; both: WebhookSigner | null; previousExpiresAt: number | null }>();

  const withSettings = (inst: Installation): CustomInstallation | null =>
    'versionId' in inst && inst.kind === 'custom' ? (inst as CustomInstallation) : installs.get(inst.orgId, inst.id);

  function signerFor(pluginId: string, authorOrgId: string): () => WebhookSigner {
    const plugin = store.plugin(pluginId);
    const key = `${plugin?.secretRotatedAt ?? 0}|${plugin?.previousSecretExpiresAt ?? 0}`;
    let entry = signers.get(pluginId);
    if (!entry || entry.key !== key) {
      const s = store.signingSecrets(pluginId);
      if (!s || !plugin || plugin.orgId !== authorOrgId) throw new Error('signing secret missing');
      for (const secret of [s.current, s.previous]) if (secret) deps.secrets.add(secret.slice(SECRET_PREFIX.length));
      entry = {
        key, current: createWebhookSigner(s.current), both: s.previous ? createWebhookSigner([s.current, s.previous]) : null, previousExpiresAt: s.previousExpiresAt,
      };
      signers.set(pluginId, entry);
    }
    const e = entry;
    return () => (e.both && e.previousExpiresAt !== null && Date.now() < e.previousExpiresAt ? e.both : e.current);
  }

  function targetFor(ci: CustomInstallation, version: PreparedVersion): CallTarget {
    const secrets = installs.openSecrets(ci.orgId, ci.id);
    const config: Record<string, unknown> = { ...ci.config.values, ...secrets };
    const loggedConfig: Record<string, unknown> = { ...ci.config.values };
    for (const key of Object.keys(secrets)) loggedConfig[key] = MASK;
    const authorOrgId = store.plugin(ci.pluginId)?.orgId ?? '';
    return {
      installationId: ci.id, orgId: ci.orgId, pluginId: ci.pluginId, authorOrgId, mode: ci.mode, version, config, loggedConfig,
      secretValues: Object.values(secrets), customerKey: installs.customerKey(ci.orgId, ci.id), signer: signerFor(ci.pluginId, authorOrgId),
    };
  }

  function noteHealth(target: CallTarget, failed: boolean, error: string | null): void {
    const h = health.get(target.installationId) ?? { failures: 0, lastSuccessWrite: 0 };
    health.set(target.installationId, h);
    const now = Date.now();
    try {
      if (failed) {
        h.failures++;
        installs.recordHealth(target.orgId, target.installationId, { error, errorAt: now });
        installs.recordFailures(target.orgId, target.installationId, h.failures);
      } else if (h.failures > 0 || now - h.lastSuccessWrite >= HEALTH_WRITE_INTERVAL_MS) {
        if (h.failures > 0) installs.recordFailures(target.orgId, target.installationId, 0);
        h.failures = 0;
        h.lastSuccessWrite = now;
        installs.recordHealth(target.orgId, target.installationId, { successAt: now, error: null, errorAt: null });
      }
    } catch (err) {
      deps.log.debug({ installationId: target.installationId, err: { code: (err as { code?: string }).code } }, 'plugin health not written');
    }
  }

  const callDeps = { request: guarded.request, maxResultBytes: deps.maxResultBytes, secrets: deps.secrets, log: pluginLog, health: noteHealth };

  function unavailable(inst: Installation): PluginHandle {
    return {
      id: inst.id, kind: 'custom', slug: inst.slug, displayName: inst.displayName, description: inst.description,
      tools: () => inst.catalog.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
      call: async () => ({ isError: true, text: UNAVAILABLE, errorClass: 'transport' }),
    };
  }

  function handle(inst: Installation): PluginHandle {
    const ci = withSettings(inst);
    const version = ci ? prepared.get(ci.versionId) : null;
    if (!ci || !version) return unavailable(inst);
    if (!health.has(ci.id)) health.set(ci.id, { failures: ci.consecutiveFailures, lastSuccessWrite: 0 });
    let target: CallTarget | null = null;
    const tools = inst.catalog.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations }));
    return {
      id: inst.id, kind: 'custom', slug: inst.slug, displayName: inst.displayName, description: inst.description,
      tools: () => tools,
      async call(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
        const t = version.tools.get(tool);
        if (!t) return { isError: true, text: `The plugin has no tool "${tool}" in version ${version.version}.`, errorClass: 'unknown_tool' };
        try {
          target ??= targetFor(ci, version);
        } catch {
          return { isError: true, text: 'The plugin installation could not be prepared (its stored secrets do not open); the operator should check the master key.', errorClass: 'transport' };
        }
        return callPlugin(callDeps, target, t, args, ctx);
      },
    };
  }

  return {
    kind: 'custom',
    store,
    installs,
    pluginLog,
    prepared: (versionId) => prepared.get(versionId),
    handle,
    async refresh(inst) {
      const ci = withSettings(inst);
      const version = ci ? prepared.get(ci.versionId) : null;
      if (!ci || !version) throw new Error(UNAVAILABLE);
      installs.update(ci.orgId, ci.id, { catalog: version.catalog });
      return installs.get(ci.orgId, ci.id)!;
    },
    health(inst) {
      const ci = withSettings(inst);
      const failures = health.get(inst.id)?.failures ?? ci?.consecutiveFailures ?? 0;
      const connected = inst.lastSuccessAt !== null && (inst.lastErrorAt === null || inst.lastSuccessAt >= inst.lastErrorAt) && failures === 0;
      return { connected, lastSuccessAt: inst.lastSuccessAt, lastError: inst.lastError, lastErrorAt: inst.lastErrorAt, consecutiveFailures: failures };
    },
    missingToolkits(orgId, pluginIds) {
      const granted = new Set(pluginIds);
      const missing: MissingToolkit[] = [];
      for (const id of granted) {
        const ci = installs.get(orgId, id);
        const manifest = ci ? prepared.get(ci.versionId)?.manifest : undefined;
        for (const req of manifest?.requires?.toolkits ?? []) {
          if (!req.any.some((slug) => granted.has(`first_party:${slug}`))) missing.push({ pluginId: id, slug: manifest!.slug, any: [...req.any], reason: req.reason });
        }
      }
      return missing;
    },
    async drop(installationId) {
      health.delete(installationId);
    },
    async closeAll() {
      pluginLog.flush();
    },
  };
}
