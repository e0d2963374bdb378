/**
 * Gateway key use cases: create (the secret is returned once, here and nowhere else), update and
 * revoke. `allowedPluginIds` is checked against the organisation's plugins through the same lister
 * as grants. Every change that can affect a key already in use calls `onChange`, which drops the
 * gateway's cached key lookups, so a revoked or narrowed key stops working on the next request.
 * Must never know about HTTP or Koa, and never keep a secret after returning it.
 */
import { notFound } from '../errors.ts';
import type { GatewayKey, GatewayKeysRepo } from '../storage/repos/gateway-keys.ts';
import { assertKnownPluginIds, type PluginIdLister } from './plugins.ts';

export interface KeyDeps {
  keys: GatewayKeysRepo;
  /** The ids `allowedPluginIds` may name (the plugin runtime's `pluginIdsOf`). */
  pluginIds: PluginIdLister;
  onChange(): void;
}

/** What a key may be created or updated with. */
export interface KeyInput {
  name?: string;
  rateLimitRpm?: number | null;
  allowedPluginIds?: string[] | null;
}

export function listKeys(d: Pick<KeyDeps, 'keys'>, orgId: string): GatewayKey[] {
  return d.keys.list(orgId);
}

export function getKey(d: Pick<KeyDeps, 'keys'>, orgId: string, keyId: string): GatewayKey {
  const key = d.keys.get(orgId, keyId);
  if (!key) throw notFound('key', 'keyId');
  return key;
}

export function createKey(d: KeyDeps, actor: { orgId: string; userId: string }, input: KeyInput): { key: GatewayKey; secret: string } {
  checkPluginIds(d, actor.orgId, input);
  return d.keys.create(actor.orgId, { ...input, createdBy: actor.userId });
}

export function updateKey(d: KeyDeps, orgId: string, keyId: string, input: KeyInput): GatewayKey {
  getKey(d, orgId, keyId);
  checkPluginIds(d, orgId, input);
  const key = d.keys.update(orgId, keyId, input);
  if (!key) throw notFound('key', 'keyId');
  d.onChange();
  return key;
}

/** Revokes the key (kept, with its revocation time, for the usage it recorded). */
export function revokeKey(d: KeyDeps, orgId: string, keyId: string): GatewayKey {
  const existing = getKey(d, orgId, keyId);
  d.keys.revoke(orgId, existing.id);
  d.onChange();
  return getKey(d, orgId, existing.id);
}

function checkPluginIds(d: KeyDeps, orgId: string, input: KeyInput): void {
  if (input.allowedPluginIds) assertKnownPluginIds(d.pluginIds, orgId, input.allowedPluginIds, 'allowedPluginIds');
}
