/**
 * Request schemas of the MCP integration routes (routes/control/mcp-integrations.ts), checked
 * against the shared request types. A credential header may not be one the transport sets
 * itself (net/reserved-headers.ts). Must never hold a rule that needs storage or the network
 * (slug uniqueness and the URL's address are the use case's).
 */
import { z } from 'zod';
import type * as Api from '../../../shared/api.ts';
import { slugProblem } from '../../../plugins/naming.ts';
import { isReservedHeader } from '../../../net/reserved-headers.ts';
import type { Accepts } from '../../validate.ts';

const slug = z.string().superRefine((s, ctx) => {
  const problem = slugProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const credential = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), token: z.string().min(1).max(8192) }),
  z.strictObject({
    type: z.literal('header'),
    name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name').refine((n) => !isReservedHeader(n), 'is reserved and cannot carry a credential'),
    value: z.string().min(1).max(8192).regex(/^[^\r\n]*$/, 'must be one line'),
  }),
]);
const rateLimits = z.record(z.string().min(1).max(128), z.strictObject({ points: z.number().int().min(1).max(1_000_000), durationSeconds: z.number().int().min(1).max(86_400) }));
const fields = {
  displayName: z.string().trim().min(1).max(100),
  description: z.string().max(1000),
  url: z.string().max(2048).url(),
  transport: z.enum(['streamable_http', 'sse', 'auto']),
  credential: credential.nullable(),
  timeoutMs: z.number().int().min(100).max(600_000).nullable(),
  toolAllowlist: z.array(z.string().min(1).max(128)).max(1000).nullable(),
  toolRateLimits: rateLimits,
};
export const CreateMcpIntegration = z.strictObject({
  slug,
  displayName: fields.displayName,
  description: fields.description.optional(),
  url: fields.url,
  transport: fields.transport.optional(),
  credential: fields.credential.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  toolAllowlist: fields.toolAllowlist.optional(),
  toolRateLimits: fields.toolRateLimits.optional(),
});
export const UpdateMcpIntegration = z.strictObject({
  slug: slug.optional(),
  displayName: fields.displayName.optional(),
  description: fields.description.optional(),
  url: fields.url.optional(),
  transport: fields.transport.optional(),
  credential: fields.credential.optional(),
  timeoutMs: fields.timeoutMs.optional(),
  toolAllowlist: fields.toolAllowlist.optional(),
  toolRateLimits: fields.toolRateLimits.optional(),
  status: z.enum(['active', 'disabled']).optional(),
});

export type CreateMcpIntegrationAccepts = Accepts<typeof CreateMcpIntegration, Api.CreateMcpIntegrationRequest>;
export type UpdateMcpIntegrationAccepts = Accepts<typeof UpdateMcpIntegration, Api.UpdateMcpIntegrationRequest>;
