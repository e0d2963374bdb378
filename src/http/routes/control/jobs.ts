/**
 * Control panel: the durable job queue as operators see it (members read; owners and admins
 * requeue): `GET …/jobs?status=dead` is the dead letter, `POST …/jobs/{jobId}/requeue` gives a
 * dead job a fresh attempt budget. Scoped by the organisation in the path; another
 * organisation's job is a 404. Each route is a pipeline: auth and policy → validate → queue →
 * presenter. The requeue's steps stay here until the layer rules let src/control/ import jobs/.
 * Must never show job internals beyond ids, counts and the safe error text.
 */
import Router from '@koa/router';
import { conflict, notFound } from '../../../errors.ts';
import type { JobQueue, Job } from '../../../jobs/queue.ts';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { singleQuery, validate } from '../../validate.ts';
import { presentJob, presentJobList } from '../../presenters/jobs.ts';
import { JOB_ID, JobsQuery } from './jobs.schema.ts';

/** What the job routes need. */
export interface JobRouteDeps extends ControlAuthDeps {
  queue: JobQueue;
  /** Nudges the worker after a requeue. */
  wake(): void;
}

/** The job routes under `/organizations/{id}/jobs`. */
export function jobRoutes(deps: JobRouteDeps): Router {
  const router = new Router();
  const base = '/organizations/:organizationId/jobs';
  const load = (orgId: string, raw: string): Job => {
    const job = JOB_ID.test(raw) ? deps.queue.get(orgId, Number(raw)) : null;
    if (!job) throw notFound('job', 'jobId');
    return job;
  };

  router.get(base, requireOrgAction(deps, 'jobs:read'), async function listJobs(ctx) {
    const orgId = actorOf(ctx).orgId;
    const q = validate(JobsQuery, singleQuery(ctx.request.query));
    ctx.body = presentJobList(deps.queue.list(orgId, { status: q.status, kind: q.kind, limit: q.limit ?? 50 }), deps.queue.stats(orgId));
  });

  router.get(`${base}/:jobId`, requireOrgAction(deps, 'jobs:read'), async function getJob(ctx) {
    ctx.body = presentJob(load(actorOf(ctx).orgId, ctx.params.jobId));
  });

  router.post(`${base}/:jobId/requeue`, requireOrgAction(deps, 'jobs:write'), async function requeueJob(ctx) {
    const orgId = actorOf(ctx).orgId;
    const job = load(orgId, ctx.params.jobId);
    if (!deps.queue.requeue(orgId, job.id)) throw conflict(`Only dead jobs can be requeued; this one is ${job.status}.`, 'job_not_dead', 'jobId');
    deps.wake();
    ctx.body = presentJob(load(orgId, String(job.id)));
  });

  return router;
}
