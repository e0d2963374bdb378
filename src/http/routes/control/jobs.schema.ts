/**
 * Query schema of the job routes (routes/control/jobs.ts). Must never hold a rule that needs storage.
 */
import { z } from 'zod';

export const JobsQuery = z.strictObject({
  status: z.enum(['queued', 'running', 'done', 'dead']).optional(),
  kind: z.string().min(1).max(100).optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(500)).optional(),
});

/** A job id in the path: digits only (anything else is a 404, like an unknown id). */
export const JOB_ID = /^\d{1,15}$/;
