/**
 * Request schemas of the operator's plugin routes (routes/operator/plugins.ts), checked against the
 * shared request types. Must never hold a rule that needs storage.
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';

const note = z.string().trim().min(1).max(2000).regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'must not contain control characters');

export const ApproveVersion = z.strictObject({ note: note.optional() });
export const RejectVersion = z.strictObject({ reason: note });
export const PauseInstallation = z.strictObject({ reason: z.string().max(500).regex(/^[^\u0000-\u001f\u007f]*$/, 'must be one line').optional() });
export const NoFields = z.strictObject({});

export const OperatorInstallationsQuery = z.strictObject({ pluginId: z.string().min(1).max(100).optional() });
export const OperatorLogQuery = z.strictObject({
  pluginId: z.string().min(1).max(100).optional(),
  installationId: z.string().min(1).max(100).optional(),
  cursor: z.string().regex(/^\d{1,15}$/, 'must be a cursor from a previous page').optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(200)).optional(),
});

export type ApproveAccepts = Accepts<typeof ApproveVersion, Api.ApprovePluginVersionRequest>;
export type RejectAccepts = Accepts<typeof RejectVersion, Api.RejectPluginVersionRequest>;
export type PauseAccepts = Accepts<typeof PauseInstallation, Api.PauseInstallationRequest>;
