/**
 * The MCP plugin kind: what the runtime and the control use cases see of MCP installations. Builds
 * the kind's settings repository (the installation joined with its `mcp_endpoints` row) and the
 * connection manager, and implements `PluginKind` over them.
 *
 * Must never drive an installation of another kind (it finds no endpoint for one and says so
 * through the handle), and never let a credential out of the manager.
 */
import type { Logger } from '../../../log.ts';
import type { Db } from '../../../storage/db.ts';
import type { SecretBox } from '../../../storage/secret-box.ts';
import type { Installation, InstallationsRepo } from '../../../storage/repos/plugin-installations.ts';
import type { Redactor } from '../../../storage/known-secrets.ts';
import type { NetworkPolicy } from '../../../net/ssrf.ts';
import type { InstallationHealth, PluginHandle, PluginKind } from '../../types.ts';
import { createMcpManager } from './manager.ts';
import { createMcpInstallationsRepo, type McpInstallation, type McpInstallationsRepo } from './settings.ts';
import { McpClientError } from './client.ts';

export interface McpKindDeps {
  db: Db;
  box: SecretBox;
  /** The shared installations repository (every kind's rows). */
  installations: InstallationsRepo;
  policy: NetworkPolicy;
  log: Logger;
  defaultTimeoutMs: number;
  maxResultBytes: number;
  secrets?: Redactor;
}

/** MCP health: the generic fields plus the transport that worked. */
export interface McpInstallationHealth extends InstallationHealth {
  transport: 'streamable_http' | 'sse' | null;
}

export interface McpKind extends PluginKind {
  readonly kind: 'mcp';
  /** MCP installations with their endpoints: the MCP integration use cases read and write through it. */
  readonly installations: McpInstallationsRepo;
  refresh(inst: Installation): Promise<McpInstallation>;
  health(inst: Installation): McpInstallationHealth;
}

const MISSING = 'This MCP integration has no endpoint settings stored; re-create it.';

export function createMcpKind(deps: McpKindDeps): McpKind {
  const installations = createMcpInstallationsRepo(deps.db, deps.box, deps.installations);
  const manager = createMcpManager({
    installations, policy: deps.policy, log: deps.log, defaultTimeoutMs: deps.defaultTimeoutMs, maxResultBytes: deps.maxResultBytes, secrets: deps.secrets,
  });
  // The caller may hold the joined row already (the control use cases); the runtime holds the shared one.
  const withEndpoint = (inst: Installation): McpInstallation | null =>
    'url' in inst && inst.kind === 'mcp' ? (inst as McpInstallation) : installations.get(inst.orgId, inst.id);

  /** A handle for a row without its endpoint (a broken database): it lists the stored tools and fails every call. */
  function unavailable(inst: Installation): PluginHandle {
    return {
      id: inst.id, kind: 'mcp', slug: inst.slug, displayName: inst.displayName, description: inst.description,
      tools: () => inst.catalog.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations })),
      call: async () => ({ isError: true, text: MISSING, errorClass: 'transport' }),
    };
  }

  return {
    kind: 'mcp',
    installations,
    handle(inst) {
      const mcp = withEndpoint(inst);
      return mcp ? manager.handle(mcp) : unavailable(inst);
    },
    async refresh(inst) {
      const mcp = withEndpoint(inst);
      if (!mcp) throw new McpClientError('transport', MISSING, MISSING);
      return manager.refresh(mcp);
    },
    health(inst) {
      const mcp = withEndpoint(inst);
      if (mcp) return manager.health(mcp);
      return { transport: null, connected: false, lastSuccessAt: inst.lastSuccessAt, lastError: inst.lastError, lastErrorAt: inst.lastErrorAt };
    },
    drop: (installationId) => manager.drop(installationId),
    closeAll: () => manager.closeAll(),
  };
}
