/**
 * Row → API JSON for gateway keys. Never includes the key's hash; the secret is added only by the
 * create answer, once.
 */
import type * as Api from '../../shared/api.ts';
import type { GatewayKey } from '../../storage/repos/gateway-keys.ts';
import { iso } from './common.ts';

export function presentKey(k: GatewayKey): Api.GatewayKey {
  return {
    id: k.id,
    object: 'gateway_key',
    name: k.name,
    prefix: k.prefix,
    last4: k.last4,
    rateLimitRpm: k.rateLimitRpm,
    allowedPluginIds: k.allowedPluginIds,
    createdBy: k.createdBy,
    createdAt: iso(k.createdAt),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
    status: k.revokedAt === null ? 'active' : 'revoked',
  };
}

export function presentCreatedKey(k: GatewayKey, secret: string): Api.CreatedGatewayKey {
  return { ...presentKey(k), key: secret };
}
