/**
 * The first-party WhatsApp plugin (`first_party:whatsapp`, slug `whatsapp`): `send_message` and
 * `send_template` through Twilio, from one of the organisation's number instances.
 *
 * Sender: inside a conversation, the conversation's instance (`ctx.instanceId`, and only while the
 * plugin is still granted to it); on the gateway API path, the instance named by the
 * `X-Plugboard-WhatsApp-Instance` header (`ctx.senderInstanceId`, id or name), else the
 * organisation's only active instance; otherwise a tool error naming the choices.
 * Recipient: `to` (E.164), or in a conversation the current customer when `to` is left out. It
 * must be a customer who has messaged that instance. Sending itself (the 24-hour window, stored
 * intents, exactly-once, splitting) is the toolkit's `sendToCustomer` use case; this plugin only
 * chooses sender and recipient, keys each send by (request, tool, arguments) so a re-run loop finds
 * its first send instead of sending again, and words the result for the model.
 * Must never return or log a raw phone number (the model reads masked ones), never throw out of
 * `call` (failures are tool errors the model reads), and never call Twilio itself.
 */
import crypto from 'node:crypto';
import type { Logger } from '../../log.ts';
import type { FirstPartyPlugin, PluginHandle, ToolCallContext, ToolDescriptor, ToolOutcome } from '../../plugins/types.ts';
import type { WhatsAppInstance, WhatsAppInstancesRepo } from '../../storage/repos/whatsapp-instances.ts';
import { whatsappInstanceSubject, type GrantsRepo } from '../../storage/repos/grants.ts';
import type { WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import { customerRef, maskPhonesIn, toE164 } from './customer-ref.ts';
import { TWILIO_BODY_MAX } from './twilio.ts';
import { canonicalJson, MAX_MEDIA_URLS, type CustomerMessage, type SendToCustomer, type SendToCustomerResult } from './send-to-customer.ts';

/** Plugin id as grants and /plugins name it. */
export const WHATSAPP_PLUGIN_ID = 'first_party:whatsapp';
/** Tool-name prefix: `whatsapp__send_message`. */
export const WHATSAPP_SLUG = 'whatsapp';
/** Default per-tool limits (calls per minute per organisation); installations of other kinds carry their own. */
const DEFAULT_RATE_LIMITS = {
  send_message: { points: 30, durationSeconds: 60 },
  send_template: { points: 30, durationSeconds: 60 },
} as const;

const TO = {
  type: 'string', pattern: '^\\+[1-9][0-9]{1,14}$',
  description: 'Recipient phone number in E.164 form, e.g. +14155550123. Inside a WhatsApp conversation, leave it out to write to the current customer.',
};

/** The two tools, with strict input schemas (the runtime validates arguments against them). */
export const WHATSAPP_TOOLS: readonly ToolDescriptor[] = [
  {
    name: 'send_message',
    description: 'Send a WhatsApp text message, optionally with media (public https URLs). Only to customers who have written to this WhatsApp number, and only within 24 hours of their last message; outside that window use whatsapp__send_template.',
    inputSchema: {
      type: 'object',
      properties: {
        to: TO,
        text: { type: 'string', minLength: 1, maxLength: TWILIO_BODY_MAX, description: `Message text, at most ${TWILIO_BODY_MAX} characters.` },
        mediaUrls: {
          type: 'array', maxItems: MAX_MEDIA_URLS, description: `Up to ${MAX_MEDIA_URLS} public https URLs of images or documents to attach.`,
          items: { type: 'string', pattern: '^https://[^\\s]+$', maxLength: 2048 },
        },
      },
      required: ['text'],
      additionalProperties: false,
    },
  },
  {
    name: 'send_template',
    description: 'Send an approved WhatsApp template (Twilio Content API). Works outside the 24-hour window; the recipient must have written to this WhatsApp number before.',
    inputSchema: {
      type: 'object',
      properties: {
        to: TO,
        contentSid: { type: 'string', pattern: '^HX[0-9a-fA-F]{32}$', description: 'The template\'s Content SID (HX…).' },
        contentVariables: {
          type: 'object', maxProperties: 100, description: 'Template variables by placeholder name, e.g. {"1": "Ana"}; no empty values.',
          propertyNames: { pattern: '^[A-Za-z0-9_]{1,64}$' },
          additionalProperties: { type: 'string', minLength: 1, maxLength: 1024 },
        },
      },
      required: ['contentSid'],
      additionalProperties: false,
    },
  },
];

/** What the plugin needs (one deps object). */
export interface WhatsAppPluginDeps {
  instances: WhatsAppInstancesRepo;
  grants: GrantsRepo;
  customers: WhatsAppCustomersRepo;
  refKey: Buffer;
  /** The toolkit's sending use case: every send goes through it. */
  sendToCustomer: SendToCustomer;
  log: Logger;
}

const fail = (text: string, errorClass = 'tool_error'): ToolOutcome => ({ isError: true, text, errorClass });

function describeChoices(list: WhatsAppInstance[]): string {
  return list.map((i) => `"${i.name}" (id ${i.id})`).join(', ');
}

/** More than one part (a text split at about 1,500 characters): every SID, in order. */
const many = (sids: string[]): { messageSids?: string[] } => (sids.length > 1 ? { messageSids: sids } : {});

/** Builds the plugin module registered with the runtime. */
export function createWhatsAppPlugin(deps: WhatsAppPluginDeps): FirstPartyPlugin {
  function chooseSender(ctx: ToolCallContext): WhatsAppInstance | ToolOutcome {
    if (ctx.instanceId) {
      const inst = deps.instances.get(ctx.orgId, ctx.instanceId);
      if (!inst || inst.status !== 'active') return fail('This WhatsApp number is not active; nothing was sent.', 'not_allowed');
      // Grants are read at call time, so a revoke takes effect on the very next call.
      if (!deps.grants.pluginIds(ctx.orgId, whatsappInstanceSubject(inst.id)).includes(WHATSAPP_PLUGIN_ID)) {
        return fail('The WhatsApp plugin is not granted to this WhatsApp number; nothing was sent. Answer without it.', 'not_allowed');
      }
      return inst;
    }
    const all = deps.instances.list(ctx.orgId);
    const active = all.filter((i) => i.status === 'active');
    if (ctx.senderInstanceId) {
      const named = all.find((i) => i.id === ctx.senderInstanceId) ?? all.find((i) => i.name === ctx.senderInstanceId);
      if (!named) return fail(`No WhatsApp instance "${ctx.senderInstanceId}" in this organization (X-Plugboard-WhatsApp-Instance). Choices: ${describeChoices(active) || 'none active'}.`, 'no_sender');
      if (named.status !== 'active') return fail(`The WhatsApp instance "${named.name}" is paused; nothing was sent.`, 'no_sender');
      return named;
    }
    if (active.length === 1) return active[0];
    if (active.length === 0) return fail('This organization has no active WhatsApp instance to send from; nothing was sent.', 'no_sender');
    return fail(`Several WhatsApp instances could send this: ${describeChoices(active)}. The API caller must choose one with the X-Plugboard-WhatsApp-Instance header (id or name); nothing was sent.`, 'no_sender');
  }

  async function send(tool: 'send_message' | 'send_template', args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const sender = chooseSender(ctx);
    if ('isError' in sender) return sender;
    const instance = sender;
    let ref: string;
    if (args.to === undefined) {
      if (!ctx.customerRef || ctx.instanceId !== instance.id) return fail('"to" is required outside a WhatsApp conversation: give the recipient in E.164 form (+14155550123).', 'invalid_arguments');
      ref = ctx.customerRef;
    } else {
      const e164 = typeof args.to === 'string' ? toE164(args.to) : null;
      if (e164 === null || e164 !== args.to) return fail('"to" must be an E.164 phone number such as +14155550123.', 'invalid_arguments');
      ref = customerRef(deps.refKey, ctx.orgId, e164);
    }
    const customer = deps.customers.get(ctx.orgId, instance.id, ref);
    if (!customer) return neverWrote(instance);
    const message: CustomerMessage = tool === 'send_message'
      ? { text: String(args.text), ...(Array.isArray(args.mediaUrls) && { mediaUrls: args.mediaUrls as string[] }) }
      : { template: { contentSid: String(args.contentSid), ...(args.contentVariables !== undefined && { variables: args.contentVariables as Record<string, string> }) } };
    // Idempotent per (request, tool, sender, recipient, arguments): a re-run loop finds its first send.
    const fingerprint = crypto.createHash('sha256').update(canonicalJson([tool, instance.id, ref, message])).digest('base64url').slice(0, 22);
    const r = await deps.sendToCustomer({
      orgId: ctx.orgId, instanceId: instance.id, customerRef: ref, message, idempotencyKey: `tool:${ctx.requestId}:${fingerprint}`, signal: ctx.signal,
    });
    return present(r, instance, customer.phoneMasked);
  }

  function neverWrote(instance: WhatsAppInstance): ToolOutcome {
    return fail(`The recipient has never written to the WhatsApp number "${instance.name}"; only customers who have messaged it can be contacted. Nothing was sent.`, 'recipient_not_allowed');
  }

  /** The use case's result as the model reads it. */
  function present(r: SendToCustomerResult, instance: WhatsAppInstance, phoneMasked: string): ToolOutcome {
    const result = { instance: instance.name, to: phoneMasked };
    const ok = (body: Record<string, unknown>): ToolOutcome => ({ isError: false, text: JSON.stringify({ ...body, ...result }) });
    switch (r.kind) {
      case 'sent':
        if (r.duplicate && !r.reconciled) return ok({ status: 'sent', duplicate: true, messageSid: r.sids[0] ?? null, ...many(r.sids) });
        return ok({ status: r.status, messageSid: r.sids[0] ?? null, ...many(r.sids) });
      case 'accepted_unrecorded':
        if (r.duplicate) return ok({ status: 'sent', duplicate: true, messageSid: r.sids[0] ?? null });
        return ok({
          status: r.status, messageSid: r.unrecordedSids[0] ?? r.sids[0] ?? null,
          note: 'Twilio accepted the message, but Plugboard could not record its SID, so its delivery status will not be tracked. Do not send it again.',
        });
      case 'refused':
        if (r.duplicate) return fail(`This exact message was refused by Twilio earlier in this request (code ${r.twilioCode ?? 'unknown'}); it was not sent again.`, 'twilio_error');
        switch (r.reason) {
          case 'outside_window':
            return r.twilioCode === null
              ? fail(`Outside WhatsApp's 24-hour customer-service window: the customer (${phoneMasked}) last wrote more than 24 hours ago, so free-form messages are refused. Use whatsapp__send_template with an approved template instead. Nothing was sent.`, 'outside_window')
              : fail('Twilio refused the message: it is outside WhatsApp\'s 24-hour customer-service window (63016). Use whatsapp__send_template with an approved template instead.', 'outside_window');
          case 'recipient_unknown':
            return neverWrote(instance);
          case 'instance_inactive':
            return fail('This WhatsApp number is not active; nothing was sent.', 'not_allowed');
          case 'invalid_message':
            return fail(r.message, 'invalid_arguments');
          case 'twilio_permanent':
            return fail(`Twilio refused the message: ${r.message}`, 'twilio_error');
        }
        break;
      case 'unavailable':
        if (r.reason === 'aborted') return fail('The request was cancelled before the message was sent.', 'aborted');
        if (r.reason === 'unreconciled') return fail('Could not confirm with Twilio whether an earlier attempt of this message went through, so it was not sent again. Try again later.', 'twilio_unavailable');
        return fail(`Twilio is temporarily unavailable (${r.message}). The message was not confirmed; calling again with the same arguments during this request will not send it twice.`, 'twilio_unavailable');
    }
    return fail('The WhatsApp plugin failed internally; nothing was confirmed as sent.', 'plugin_error');
  }

  const handle: PluginHandle = {
    id: WHATSAPP_PLUGIN_ID,
    kind: 'first_party',
    slug: WHATSAPP_SLUG,
    displayName: 'WhatsApp',
    description: 'Send WhatsApp messages and templates via Twilio.',
    rateLimits: DEFAULT_RATE_LIMITS,
    tools: () => [...WHATSAPP_TOOLS],
    async call(tool, args, ctx) {
      if (tool !== 'send_message' && tool !== 'send_template') return fail(`The WhatsApp plugin has no tool "${tool}".`, 'unknown_tool');
      try {
        return await send(tool, args, ctx);
      } catch (err) {
        deps.log.error({ tool, requestId: ctx.requestId, err: { message: maskPhonesIn(String((err as Error)?.message)) } }, 'whatsapp plugin failed');
        return fail('The WhatsApp plugin failed internally; nothing was confirmed as sent.', 'plugin_error');
      }
    },
  };

  return {
    slug: WHATSAPP_SLUG,
    displayName: handle.displayName,
    description: handle.description,
    // Offered only to organisations with at least one WhatsApp instance (paused ones count: grants stay editable).
    forOrg: (orgId) => (deps.instances.hasAny(orgId) ? handle : null),
  };
}
