/**
 * MCP installations as the MCP kind and its control use cases see them: the shared installation row
 * (storage/repos/plugin-installations.ts) joined with its endpoint in `mcp_endpoints` (URL, transport,
 * sealed credential, timeout). Writes touching both tables run in one transaction.
 *
 * The credential is sealed with the AAD `plugin_installations|credential_sealed|<org>|<id>`: the
 * string from before migration 0005 moved the column here, kept so that stored credentials still
 * open (re-sealing would need the master key, which a migration does not have). Only the MCP kind
 * opens a credential, for the endpoint it was stored for. Must never return a credential from
 * get/list, and never touch an installation of another kind.
 */
import crypto from 'node:crypto';
import type { Db } from '../../../storage/db.ts';
import type { SecretBox } from '../../../storage/secret-box.ts';
import type { CatalogTool, Installation, InstallationsRepo, InstallationPatch } from '../../../storage/repos/plugin-installations.ts';

export type Transport = 'streamable_http' | 'sse' | 'auto';
export type Credential = { type: 'bearer'; token: string } | { type: 'header'; name: string; value: string };

/** An MCP installation's endpoint settings. */
export interface McpEndpoint {
  url: string;
  transport: Transport;
  resolvedTransport: 'streamable_http' | 'sse' | null;
  credentialType: 'bearer' | 'header' | null;
  credentialHeaderName: string | null;
  /** Changes whenever the stored credential changes (a hash of its ciphertext); never the credential. */
  credentialVersion: string | null;
  timeoutMs: number | null;
}

/** The shared installation row with its endpoint. */
export type McpInstallation = Installation & McpEndpoint & { kind: 'mcp' };

export interface NewMcpInstallation {
  slug: string;
  displayName: string;
  description: string;
  url: string;
  transport: Transport;
  credential: Credential | null;
  timeoutMs: number | null;
  toolAllowlist: string[] | null;
  toolRateLimits: Installation['toolRateLimits'];
}

export type McpInstallationPatch = InstallationPatch & Partial<Pick<NewMcpInstallation, 'url' | 'transport' | 'timeoutMs'>> & { credential?: Credential | null };

interface EndpointRow {
  url: string; transport: Transport; resolved_transport: 'streamable_http' | 'sse' | null; credential_type: 'bearer' | 'header' | null;
  credential_header_name: string | null; credential_sealed: string | null; timeout_ms: number | null;
}

const toEndpoint = (r: EndpointRow): McpEndpoint => ({
  url: r.url, transport: r.transport, resolvedTransport: r.resolved_transport, credentialType: r.credential_type,
  credentialHeaderName: r.credential_header_name,
  credentialVersion: r.credential_sealed ? crypto.createHash('sha256').update(r.credential_sealed).digest('hex').slice(0, 16) : null,
  timeoutMs: r.timeout_ms,
});

/** The credential's AAD, unchanged since migration 0002 (see the header). */
const aad = (orgId: string, id: string): string => `plugin_installations|credential_sealed|${orgId}|${id}`;

export function createMcpInstallationsRepo(db: Db, box: SecretBox, installations: InstallationsRepo) {
  const stmts = {
    insert: db.prepare(
      `INSERT INTO mcp_endpoints (installation_id, org_id, url, transport, credential_type, credential_header_name, credential_sealed, timeout_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare('SELECT * FROM mcp_endpoints WHERE org_id = ? AND installation_id = ?'),
    listForOrg: db.prepare('SELECT * FROM mcp_endpoints WHERE org_id = ?'),
    sealed: db.prepare('SELECT credential_sealed FROM mcp_endpoints WHERE org_id = ? AND installation_id = ?').pluck(),
    resolved: db.prepare('UPDATE mcp_endpoints SET resolved_transport = ? WHERE org_id = ? AND installation_id = ?'),
  };
  const join = (inst: Installation | null, row: EndpointRow | undefined): McpInstallation | null =>
    inst && inst.kind === 'mcp' && row ? { ...inst, ...toEndpoint(row), kind: 'mcp' } : null;

  const create = db.transaction((orgId: string, input: NewMcpInstallation, now: number): McpInstallation => {
    const inst = installations.create(orgId, {
      kind: 'mcp', slug: input.slug, displayName: input.displayName, description: input.description, toolAllowlist: input.toolAllowlist, toolRateLimits: input.toolRateLimits,
    }, now);
    const c = input.credential;
    stmts.insert.run(
      inst.id, orgId, input.url, input.transport, c?.type ?? null, c?.type === 'header' ? c.name : null,
      c ? box.seal(JSON.stringify(c), aad(orgId, inst.id)) : null, input.timeoutMs,
    );
    return self.get(orgId, inst.id)!;
  });

  const update = db.transaction((orgId: string, id: string, patch: McpInstallationPatch, now: number): McpInstallation | null => {
    if (!self.get(orgId, id)) return null;
    const { url, transport, timeoutMs, credential, ...shared } = patch;
    installations.update(orgId, id, shared, now);
    const sets: string[] = [];
    const args: unknown[] = [];
    const put = (col: string, v: unknown): void => {
      sets.push(`${col} = ?`);
      args.push(v);
    };
    if (url !== undefined) put('url', url);
    if (transport !== undefined) {
      put('transport', transport);
      put('resolved_transport', null);
    }
    if (timeoutMs !== undefined) put('timeout_ms', timeoutMs);
    if (credential !== undefined) {
      put('credential_type', credential?.type ?? null);
      put('credential_header_name', credential?.type === 'header' ? credential.name : null);
      put('credential_sealed', credential ? box.seal(JSON.stringify(credential), aad(orgId, id)) : null);
    }
    if (sets.length) db.prepare(`UPDATE mcp_endpoints SET ${sets.join(', ')} WHERE org_id = ? AND installation_id = ?`).run(...(args as [unknown]), orgId, id);
    return self.get(orgId, id);
  });

  const saveCatalog = db.transaction((orgId: string, id: string, c: { tools: CatalogTool[]; skipped: Installation['skippedTools']; transport: 'streamable_http' | 'sse' | null }, now: number): void => {
    installations.saveCatalog(orgId, id, c, now);
    stmts.resolved.run(c.transport, orgId, id);
  });

  const self = {
    create(orgId: string, input: NewMcpInstallation, now = Date.now()): McpInstallation {
      return create.immediate(orgId, input, now);
    },
    /** The MCP installation with its endpoint; null for another organisation's, another kind's, or none. */
    get(orgId: string, id: string): McpInstallation | null {
      return join(installations.get(orgId, id), stmts.get.get(orgId, id) as EndpointRow | undefined);
    },
    /** Any installation holding the slug, of any kind: slugs are unique per organisation across kinds. */
    getBySlug(orgId: string, slug: string): Installation | null {
      return installations.getBySlug(orgId, slug);
    },
    /** The organisation's MCP installations, by slug. */
    list(orgId: string): McpInstallation[] {
      const rows = new Map((stmts.listForOrg.all(orgId) as Array<EndpointRow & { installation_id: string }>).map((r) => [r.installation_id, r]));
      return installations.list(orgId).map((i) => join(i, rows.get(i.id))).filter((i): i is McpInstallation => i !== null);
    },
    /** Opens the stored credential. Only the MCP kind calls this, for the endpoint it was stored for. */
    credential(orgId: string, id: string): Credential | null {
      const sealed = stmts.sealed.get(orgId, id) as string | null | undefined;
      return sealed ? (JSON.parse(box.open(sealed, aad(orgId, id))) as Credential) : null;
    },
    update(orgId: string, id: string, patch: McpInstallationPatch, now = Date.now()): McpInstallation | null {
      return update.immediate(orgId, id, patch, now);
    },
    saveCatalog(orgId: string, id: string, c: { tools: CatalogTool[]; skipped: Installation['skippedTools']; transport: 'streamable_http' | 'sse' | null }, now = Date.now()): void {
      saveCatalog.immediate(orgId, id, c, now);
    },
    recordHealth(orgId: string, id: string, h: { successAt?: number | null; error: string | null; errorAt: number | null }): void {
      installations.recordHealth(orgId, id, h);
    },
    /** Deletes the installation; its endpoint and grants go with it. */
    delete(orgId: string, id: string): boolean {
      return installations.delete(orgId, id);
    },
  };
  return self;
}
export type McpInstallationsRepo = ReturnType<typeof createMcpInstallationsRepo>;
