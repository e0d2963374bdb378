/**
 * Request schemas of the organisation routes (routes/control/organizations.ts), checked against
 * the shared request types. Must never hold a rule that needs storage (that is the use case's).
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import type { Accepts } from '../../validate.ts';

export const orgName = z.string().trim().min(1).max(200);

export const CreateOrganization = z.strictObject({ name: orgName });
export const UpdateOrganization = z.strictObject({ name: orgName.optional(), settings: z.strictObject({ pluginInjection: z.boolean().optional() }).optional() });

export type CreateOrganizationAccepts = Accepts<typeof CreateOrganization, Api.CreateOrganizationRequest>;
export type UpdateOrganizationAccepts = Accepts<typeof UpdateOrganization, Api.UpdateOrganizationRequest>;
