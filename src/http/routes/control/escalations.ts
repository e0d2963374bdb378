/**
 * Control panel of the Escalations and Scheduling toolkits: the escalation inbox (list, detail
 * with the whole history, assign, reply through WhatsApp, resolve, open one by hand), escalation
 * settings, scheduled messages (list per instance / conversation / status, create, cancel) and the
 * reminder template. Members read; owners and admins act. Each route is a pipeline: auth and policy
 * → find the resource in the organisation (another organisation's is a 404) → validate → use case
 * → presenter; validation happens before anything is written or sent. Must never hold business
 * rules (the toolkits and src/control/escalations.ts have them).
 */
import crypto from 'node:crypto';
import Router from '@koa/router';
import type * as Api from '../../../shared/api.ts';
import type { ControlAuthDeps } from '../../control-auth.ts';
import { actorOf, requireOrgAction } from '../../control-auth.ts';
import { readJson } from '../../body.ts';
import { singleQuery, validate } from '../../validate.ts';
import { pageOf } from '../../presenters/common.ts';
import {
  presentEscalation, presentEscalationDetail, presentEscalationSettings, presentScheduledMessage, presentSchedulingSettings,
} from '../../presenters/escalations.ts';
import {
  assignableUser, getEscalation, getScheduledMessage, listEscalations, listScheduledMessages, phoneMaskedOf, type EscalationControlDeps,
} from '../../../control/escalations.ts';
import { optionalJson, requestIdOf } from './commerce.ts';
import {
  AssignEscalation, CancelScheduledMessage, CreateEscalation, CreateScheduledMessage, EscalationDetailQuery, EscalationReply, EscalationsQuery,
  ResolveEscalation, ScheduledMessagesQuery, UpdateEscalationSettings, UpdateSchedulingSettings,
} from './escalations.schema.ts';

const DEFAULT_PAGE = 50;

export function escalationRoutes(deps: ControlAuthDeps & EscalationControlDeps): Router {
  const router = new Router();
  const org = '/organizations/:organizationId';
  const { escalations, scheduling } = deps;
  const phone = (e: { orgId: string; instanceId: string; customerRef: string }) => phoneMaskedOf(deps, e.orgId, e.instanceId, e.customerRef);

  router.get(`${org}/escalations`, requireOrgAction(deps, 'escalations:read'), async function listInbox(ctx) {
    const actor = actorOf(ctx);
    const q = validate(EscalationsQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listEscalations(deps, actor.orgId, actor.userId, { ...q, limit: q.limit ?? DEFAULT_PAGE }), (e) => presentEscalation(e, phone(e)));
  });

  router.post(`${org}/escalations`, requireOrgAction(deps, 'escalations:write'), async function openEscalation(ctx) {
    const actor = actorOf(ctx);
    const input = validate(CreateEscalation, await readJson(ctx));
    const e = escalations.open({
      orgId: actor.orgId, instanceId: input.instanceId, customerRef: input.customerRef, reason: input.reason, summary: input.summary ?? '',
      priority: input.priority ?? 'normal', userId: actor.userId,
    }, requestIdOf(ctx));
    ctx.status = 201;
    ctx.body = presentEscalation(e, phone(e));
  });

  router.get(`${org}/escalation-settings`, requireOrgAction(deps, 'escalations:read'), async function readEscalationSettings(ctx) {
    ctx.body = presentEscalationSettings(escalations.settings(actorOf(ctx).orgId));
  });

  router.put(`${org}/escalation-settings`, requireOrgAction(deps, 'escalations:write'), async function writeEscalationSettings(ctx) {
    const patch = validate(UpdateEscalationSettings, await readJson(ctx));
    ctx.body = presentEscalationSettings(escalations.updateSettings(actorOf(ctx).orgId, patch));
  });

  router.get(`${org}/escalations/:escalationId`, requireOrgAction(deps, 'escalations:read'), async function readEscalation(ctx) {
    const e = getEscalation(deps, actorOf(ctx).orgId, ctx.params.escalationId);
    const q = validate(EscalationDetailQuery, singleQuery(ctx.request.query));
    ctx.body = presentEscalationDetail(escalations.detail(e, q.historyLimit), phone(e));
  });

  router.post(`${org}/escalations/:escalationId/assign`, requireOrgAction(deps, 'escalations:write'), async function assignEscalation(ctx) {
    const actor = actorOf(ctx);
    const e = getEscalation(deps, actor.orgId, ctx.params.escalationId);
    const input = validate(AssignEscalation, await optionalJson(ctx));
    const assignee = assignableUser(deps, actor.orgId, input.userId ?? actor.userId);
    const after = escalations.assign(e, assignee, requestIdOf(ctx));
    ctx.body = presentEscalation(after, phone(after));
  });

  router.post(`${org}/escalations/:escalationId/reply`, requireOrgAction(deps, 'escalations:write'), async function replyToCustomer(ctx) {
    const actor = actorOf(ctx);
    const e = getEscalation(deps, actor.orgId, ctx.params.escalationId);
    const input = validate(EscalationReply, await readJson(ctx));
    const clientMessageId = input.clientMessageId ?? crypto.randomUUID();
    const r = await escalations.reply(e, actor.userId, { text: input.text, ...(input.template && { template: input.template }), clientMessageId }, requestIdOf(ctx));
    const body: Api.EscalationReplyResponse = {
      object: 'escalation_reply', escalationId: e.id, clientMessageId, status: 'sent', usedTemplate: r.usedTemplate, duplicate: r.duplicate,
      messageSids: r.sids, escalation: presentEscalation(r.escalation, phone(r.escalation)),
    };
    ctx.body = body;
  });

  router.post(`${org}/escalations/:escalationId/resolve`, requireOrgAction(deps, 'escalations:write'), async function resolveEscalation(ctx) {
    const actor = actorOf(ctx);
    const e = getEscalation(deps, actor.orgId, ctx.params.escalationId);
    const input = validate(ResolveEscalation, await optionalJson(ctx));
    const after = escalations.resolve(e, actor.userId, input.note ?? null, requestIdOf(ctx));
    ctx.body = presentEscalation(after, phone(after));
  });

  router.get(`${org}/scheduled-messages`, requireOrgAction(deps, 'scheduling:read'), async function listScheduled(ctx) {
    const q = validate(ScheduledMessagesQuery, singleQuery(ctx.request.query));
    ctx.body = pageOf(listScheduledMessages(deps, actorOf(ctx).orgId, { ...q, limit: q.limit ?? DEFAULT_PAGE }), presentScheduledMessage);
  });

  router.post(`${org}/scheduled-messages`, requireOrgAction(deps, 'scheduling:write'), async function scheduleMessage(ctx) {
    const actor = actorOf(ctx);
    const input = validate(CreateScheduledMessage, await readJson(ctx));
    const { message } = scheduling.schedule({
      orgId: actor.orgId, instanceId: input.instanceId, customerRef: input.customerRef, text: input.text, sendAt: input.sendAt,
      template: input.template ?? null, createdBy: 'operator', userId: actor.userId, idempotencyKey: null,
    }, requestIdOf(ctx));
    ctx.status = 201;
    ctx.body = presentScheduledMessage(message);
  });

  router.get(`${org}/scheduling-settings`, requireOrgAction(deps, 'scheduling:read'), async function readSchedulingSettings(ctx) {
    ctx.body = presentSchedulingSettings(scheduling.reminderTemplate(actorOf(ctx).orgId));
  });

  router.put(`${org}/scheduling-settings`, requireOrgAction(deps, 'scheduling:write'), async function writeSchedulingSettings(ctx) {
    const orgId = actorOf(ctx).orgId;
    const patch = validate(UpdateSchedulingSettings, await readJson(ctx));
    ctx.body = presentSchedulingSettings(patch.reminderTemplate === undefined ? scheduling.reminderTemplate(orgId) : scheduling.setReminderTemplate(orgId, patch.reminderTemplate));
  });

  router.get(`${org}/scheduled-messages/:scheduledMessageId`, requireOrgAction(deps, 'scheduling:read'), async function readScheduled(ctx) {
    ctx.body = presentScheduledMessage(getScheduledMessage(deps, actorOf(ctx).orgId, ctx.params.scheduledMessageId));
  });

  router.post(`${org}/scheduled-messages/:scheduledMessageId/cancel`, requireOrgAction(deps, 'scheduling:write'), async function cancelScheduled(ctx) {
    const m = getScheduledMessage(deps, actorOf(ctx).orgId, ctx.params.scheduledMessageId);
    const input = validate(CancelScheduledMessage, await optionalJson(ctx));
    ctx.body = presentScheduledMessage(scheduling.cancel(m, input.reason ?? null, requestIdOf(ctx)));
  });

  return router;
}
