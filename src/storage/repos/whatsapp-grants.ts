/**
 * Grants: which plugins a WhatsApp number instance's agent may use. Nothing is granted by default.
 *
 * `pluginId` is an installation id or `first_party:<slug>`; grants of a deleted installation are
 * removed by a trigger (migration 0003). Every query is scoped by organisation, and a grant can
 * only be written for an instance of the same organisation. Must never know about HTTP.
 */
import type { Db } from '../db.ts';

export interface WhatsAppGrant {
  instanceId: string;
  pluginId: string;
  createdAt: number;
}

interface Row { instance_id: string; plugin_id: string; created_at: number }
const toGrant = (r: Row): WhatsAppGrant => ({ instanceId: r.instance_id, pluginId: r.plugin_id, createdAt: r.created_at });

export function createWhatsAppGrantsRepo(db: Db) {
  const stmts = {
    instanceExists: db.prepare('SELECT 1 FROM whatsapp_instances WHERE org_id = ? AND id = ?'),
    // The SELECT carries the tenant check: no row is inserted for another organisation's instance.
    insert: db.prepare(`
      INSERT INTO whatsapp_grants (instance_id, org_id, plugin_id, created_at)
      SELECT id, org_id, @pluginId, @now FROM whatsapp_instances WHERE org_id = @orgId AND id = @instanceId
      ON CONFLICT (instance_id, plugin_id) DO NOTHING`),
    delete: db.prepare('DELETE FROM whatsapp_grants WHERE org_id = ? AND instance_id = ? AND plugin_id = ?'),
    deletePlugin: db.prepare('DELETE FROM whatsapp_grants WHERE org_id = ? AND plugin_id = ?'),
    listForInstance: db.prepare('SELECT * FROM whatsapp_grants WHERE org_id = ? AND instance_id = ? ORDER BY created_at, plugin_id'),
    listForOrg: db.prepare('SELECT * FROM whatsapp_grants WHERE org_id = ? ORDER BY instance_id, created_at, plugin_id'),
  };
  // One transaction, so a reader never sees half of a replaced grant set.
  const replace = db.transaction((orgId: string, instanceId: string, pluginIds: readonly string[], now: number): string[] | null => {
    if (!stmts.instanceExists.get(orgId, instanceId)) return null;
    const wanted = new Set(pluginIds);
    for (const r of stmts.listForInstance.all(orgId, instanceId) as Row[]) {
      if (!wanted.has(r.plugin_id)) stmts.delete.run(orgId, instanceId, r.plugin_id);
    }
    for (const pluginId of wanted) stmts.insert.run({ orgId, instanceId, pluginId, now });
    return (stmts.listForInstance.all(orgId, instanceId) as Row[]).map((r) => r.plugin_id);
  });
  return {
    /** Grants a plugin; `created` is false when it was already granted. Null when the instance is not in this org. */
    grant(orgId: string, instanceId: string, pluginId: string, now = Date.now()): { created: boolean } | null {
      if (!pluginId) throw new TypeError('pluginId must not be empty.');
      const changes = stmts.insert.run({ orgId, instanceId, pluginId, now }).changes;
      if (changes === 1) return { created: true };
      return stmts.instanceExists.get(orgId, instanceId) ? { created: false } : null;
    },
    revoke(orgId: string, instanceId: string, pluginId: string): boolean {
      return stmts.delete.run(orgId, instanceId, pluginId).changes === 1;
    },
    /** Removes a plugin from every instance of the organisation (e.g. first-party plugin switched off). */
    revokeEverywhere(orgId: string, pluginId: string): number {
      return stmts.deletePlugin.run(orgId, pluginId).changes;
    },
    list(orgId: string, instanceId: string): WhatsAppGrant[] {
      return (stmts.listForInstance.all(orgId, instanceId) as Row[]).map(toGrant);
    },
    /** The instance's enabled plugin ids, for building its tool list. */
    pluginIds(orgId: string, instanceId: string): string[] {
      return (stmts.listForInstance.all(orgId, instanceId) as Row[]).map((r) => r.plugin_id);
    },
    /**
     * Makes the instance's grants exactly `pluginIds` (kept grants keep their creation time) and
     * returns the stored list; null when the instance is not in this org. The caller validates ids.
     */
    replace(orgId: string, instanceId: string, pluginIds: readonly string[], now = Date.now()): string[] | null {
      if (pluginIds.some((id) => !id)) throw new TypeError('pluginId must not be empty.');
      return replace.immediate(orgId, instanceId, pluginIds, now);
    },
    listForOrg(orgId: string): WhatsAppGrant[] {
      return (stmts.listForOrg.all(orgId) as Row[]).map(toGrant);
    },
  };
}
export type WhatsAppGrantsRepo = ReturnType<typeof createWhatsAppGrantsRepo>;
