/**
 * Request schemas of the gateway key routes (routes/control/keys.ts), checked against the shared
 * request types. Must never hold a rule that needs storage (plugin ids are checked by the use case).
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';

const pluginIds = z.array(z.string().min(1).max(200)).max(500).nullable();

export const CreateKey = z.strictObject({
  name: z.string().trim().max(200).optional(),
  rateLimitRpm: z.number().int().min(0).max(10_000_000).nullable().optional(),
  allowedPluginIds: pluginIds.optional(),
});
export const UpdateKey = CreateKey;

export type CreateKeyAccepts = Accepts<typeof CreateKey, Api.CreateKeyRequest>;
export type UpdateKeyAccepts = Accepts<typeof UpdateKey, Api.UpdateKeyRequest>;
