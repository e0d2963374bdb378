/**
 * Job → API JSON for the dead-letter view. Payloads of Plugboard's job kinds hold ids only, never
 * text or numbers, and only those ids are shown.
 */
import type * as Api from '../../shared/api.ts';
import type { Job, JobStats } from '../../jobs/queue.ts';
import { iso } from './common.ts';

export function presentJob(j: Job): Api.Job {
  const p = (j.payload ?? {}) as Record<string, unknown>;
  return {
    id: String(j.id),
    object: 'job',
    kind: j.kind,
    status: j.status,
    attempts: j.attempts,
    maxAttempts: j.maxAttempts,
    instanceId: typeof p.instanceId === 'string' ? p.instanceId : null,
    messageId: typeof p.messageId === 'string' ? p.messageId : null,
    lastError: j.lastError,
    runAt: iso(j.runAt),
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
  };
}

export function presentJobList(jobs: Job[], stats: JobStats): Api.JobList & { object: 'list' } {
  return { object: 'list', data: jobs.map(presentJob), stats };
}
