/**
 * Request schemas of the custom plugin routes (developer area, directory, installations, logs),
 * checked against the shared request types. The manifest itself is not checked here: the manifest
 * validator reports every problem of it at once (control/plugin-versions.ts). Must never hold a
 * rule that needs storage or the network.
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';
import { MAX_SECRET_OVERLAP_SECONDS } from '../../../control/developer-plugins.ts';

export const MAX_LOG_PAGE = 200;

export const ManifestSource = z.strictObject({
  // Any value: a manifest that is not even an object is reported by the manifest validator, with the rest.
  manifest: z.unknown().optional(),
  manifestUrl: z.string().min(1).max(2048).optional(),
});

export const RotateSecret = z.strictObject({
  overlapSeconds: z.number().int().min(0).max(MAX_SECRET_OVERLAP_SECONDS).optional(),
});

const rateLimits = z.record(z.string().min(1).max(128), z.strictObject({ points: z.number().int().min(1).max(1_000_000), durationSeconds: z.number().int().min(1).max(86_400) }));
const config = z.record(z.string().min(1).max(64), z.unknown());
const permissions = z.array(z.string().min(1).max(200)).max(64);
const allowlist = z.array(z.string().min(1).max(128)).max(64).nullable();
const version = z.string().min(1).max(64);

export const InstallPlugin = z.strictObject({
  pluginId: z.string().min(1).max(100),
  version: version.optional(),
  config: config.optional(),
  acceptedPermissions: permissions,
  toolAllowlist: allowlist.optional(),
  toolRateLimits: rateLimits.optional(),
});

export const UpdatePluginInstallation = z.strictObject({
  config: config.optional(),
  toolAllowlist: allowlist.optional(),
  toolRateLimits: rateLimits.optional(),
  status: z.enum(['active', 'disabled']).optional(),
});

export const UpgradePluginInstallation = z.strictObject({ version: version.optional() });

export const AcceptPluginUpgrade = z.strictObject({ version, acceptedPermissions: permissions, config: config.optional() });

export const PageQuery = z.strictObject({
  cursor: z.string().regex(/^\d{1,15}$/, 'must be a cursor from a previous page').optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(MAX_LOG_PAGE)).optional(),
});

/** Action routes take no fields (an empty object, or no body at all). */
export const NoFields = z.strictObject({});

export const DirectoryQuery = z.strictObject({ version: version.optional() });

export type RegisterAccepts = Accepts<typeof ManifestSource, Api.RegisterCustomPluginRequest>;
export type RotateAccepts = Accepts<typeof RotateSecret, Api.RotatePluginSecretRequest>;
export type InstallAccepts = Accepts<typeof InstallPlugin, Api.InstallPluginRequest>;
export type UpdateAccepts = Accepts<typeof UpdatePluginInstallation, Api.UpdatePluginInstallationRequest>;
export type UpgradeAccepts = Accepts<typeof UpgradePluginInstallation, Api.UpgradePluginInstallationRequest>;
export type AcceptUpgradeAccepts = Accepts<typeof AcceptPluginUpgrade, Api.AcceptPluginUpgradeRequest>;
