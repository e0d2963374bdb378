/**
 * Gateway keys: an application's bearer secret for `/v1/*`, identifying its organisation.
 * Stored as SHA-256 hashes with a display prefix and last four characters; shown once.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import { GATEWAY_KEY_PREFIX, hashSecret, mintSecret } from '../tokens.ts';

export interface GatewayKey {
  id: string;
  orgId: string;
  name: string;
  prefix: string;
  last4: string;
  /** Per-key requests-per-minute override; null = the appliance default. */
  rateLimitRpm: number | null;
  /** Plugins this key may use; null = every plugin of the organisation. */
  allowedPluginIds: string[] | null;
  createdBy: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface Row {
  id: string; org_id: string; name: string; prefix: string; last4: string; rate_limit_rpm: number | null;
  allowed_plugin_ids: string | null; created_by: string | null; created_at: number; last_used_at: number | null; revoked_at: number | null;
}
const toKey = (r: Row): GatewayKey => ({
  id: r.id, orgId: r.org_id, name: r.name, prefix: r.prefix, last4: r.last4, rateLimitRpm: r.rate_limit_rpm,
  allowedPluginIds: r.allowed_plugin_ids === null ? null : (JSON.parse(r.allowed_plugin_ids) as string[]),
  createdBy: r.created_by, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
});

export interface CreateKeyInput {
  name?: string;
  rateLimitRpm?: number | null;
  allowedPluginIds?: string[] | null;
  createdBy?: string | null;
}

export function createGatewayKeysRepo(db: Db) {
  const stmts = {
    insert: db.prepare(
      `INSERT INTO gateway_keys (id, org_id, name, key_hash, prefix, last4, rate_limit_rpm, allowed_plugin_ids, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byHash: db.prepare('SELECT * FROM gateway_keys WHERE key_hash = ?'),
    get: db.prepare('SELECT * FROM gateway_keys WHERE org_id = ? AND id = ?'),
    list: db.prepare('SELECT * FROM gateway_keys WHERE org_id = ? ORDER BY created_at, id'),
    revoke: db.prepare('UPDATE gateway_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL'),
    update: db.prepare('UPDATE gateway_keys SET name = ?, rate_limit_rpm = ?, allowed_plugin_ids = ? WHERE org_id = ? AND id = ?'),
    touch: db.prepare('UPDATE gateway_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
  };
  return {
    create(orgId: string, input: CreateKeyInput = {}, now = Date.now()): { key: GatewayKey; secret: string } {
      const minted = mintSecret(GATEWAY_KEY_PREFIX);
      const id = crypto.randomUUID();
      const allowed = input.allowedPluginIds ?? null;
      stmts.insert.run(
        id, orgId, input.name ?? '', minted.hash, minted.displayPrefix, minted.last4, input.rateLimitRpm ?? null,
        allowed === null ? null : JSON.stringify(allowed), input.createdBy ?? null, now,
      );
      return { key: this.get(orgId, id)!, secret: minted.secret };
    },
    /** The key for a presented secret, revoked or not (the caller decides). */
    findBySecret(secret: string): GatewayKey | null {
      const r = stmts.byHash.get(hashSecret(secret)) as Row | undefined;
      return r ? toKey(r) : null;
    },
    get(orgId: string, id: string): GatewayKey | null {
      const r = stmts.get.get(orgId, id) as Row | undefined;
      return r ? toKey(r) : null;
    },
    list(orgId: string): GatewayKey[] {
      return (stmts.list.all(orgId) as Row[]).map(toKey);
    },
    revoke(orgId: string, id: string, now = Date.now()): boolean {
      return stmts.revoke.run(now, orgId, id).changes > 0;
    },
    update(orgId: string, id: string, patch: { name?: string; rateLimitRpm?: number | null; allowedPluginIds?: string[] | null }): GatewayKey | null {
      const cur = this.get(orgId, id);
      if (!cur) return null;
      const name = patch.name ?? cur.name;
      const rpm = patch.rateLimitRpm === undefined ? cur.rateLimitRpm : patch.rateLimitRpm;
      const allowed = patch.allowedPluginIds === undefined ? cur.allowedPluginIds : patch.allowedPluginIds;
      stmts.update.run(name, rpm, allowed === null ? null : JSON.stringify(allowed), orgId, id);
      return this.get(orgId, id);
    },
    /** Batched from the request path: last-used times only move forward. */
    touchMany(entries: Iterable<[string, number]>): void {
      for (const [id, at] of entries) stmts.touch.run(at, id, at);
    },
  };
}
export type GatewayKeysRepo = ReturnType<typeof createGatewayKeysRepo>;
