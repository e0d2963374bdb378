/**
 * Request schemas of the member routes (routes/control/members.ts), checked against the shared
 * request types. Must never hold a rule that needs storage (owner rules are the use case's).
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import { Roles } from '../../../storage/repos/organizations.ts';
import type { Accepts } from '../../validate.ts';

const name = z.string().trim().min(1).max(200);

export const CreateMember = z.strictObject({ name, role: z.enum(Roles) });
export const UpdateMember = z.strictObject({ role: z.enum(Roles) });

export type CreateMemberAccepts = Accepts<typeof CreateMember, Api.CreateMemberRequest>;
export type UpdateMemberAccepts = Accepts<typeof UpdateMember, Api.UpdateMemberRequest>;
