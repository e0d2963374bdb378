/**
 * The first-party Escalations plugin (`first_party:escalations`, slug `escalations`): the agent's
 * `hand_over` tool. It opens an escalation for the current conversation (one per conversation at
 * a time; the same turn's retry finds the first) and tells the model that the customer is
 * acknowledged automatically, so its own closing words are not sent. Only inside a WhatsApp
 * conversation, only while granted to its number. Must never throw out of `call`.
 */
import type { Logger } from '../../log.ts';
import type { FirstPartyPlugin, PluginHandle, ToolCallContext, ToolDescriptor, ToolOutcome } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import { asTool, currentCustomer, grantRevoked, toolError, toolResult } from '../ecommerce/support.ts';
import { toolKey } from '../ecommerce/plugin.ts';
import { ESCALATION_PRIORITIES, type Escalation, type EscalationPriority } from './store.ts';

export const ESCALATIONS_PLUGIN_ID = 'first_party:escalations';
export const ESCALATIONS_SLUG = 'escalations';
/** Seed 001's platform permission; no custom plugin may claim a `toolkit:` permission. */
export const ESCALATIONS_PERMISSIONS = { hand_over: 'toolkit:ESCALATIONS:handoff' } as const;
export const MAX_REASON = 500;
export const MAX_SUMMARY = 4000;

export const ESCALATION_TOOLS: readonly ToolDescriptor[] = [
  {
    name: 'hand_over',
    description: 'Hand this conversation over to a person on the shop\'s team: when the customer asks for a human, or when you cannot help (a complaint you cannot settle, a question outside your knowledge, an angry customer). From then on a person answers; you will not see the conversation until they hand it back. The customer receives an automatic acknowledgement, so do not add a message of your own.',
    inputSchema: {
      type: 'object',
      properties: {
        reason: { type: 'string', minLength: 1, maxLength: MAX_REASON, description: 'Why a person is needed, in one sentence.' },
        summary: { type: 'string', minLength: 1, maxLength: MAX_SUMMARY, description: 'What the customer wants and what was already said or tried, so the person does not have to ask again.' },
        priority: { type: 'string', enum: [...ESCALATION_PRIORITIES], description: 'How urgent (default normal).' },
      },
      required: ['reason', 'summary'],
      additionalProperties: false,
    },
  },
];

export interface EscalationsPluginDeps {
  grants: GrantsRepo;
  /** Offered (listed, grantable) only to organisations with a WhatsApp number: it acts inside its conversations. */
  hasWhatsApp(orgId: string): boolean;
  log: Logger;
  handOver(input: { orgId: string; instanceId: string; customerRef: string; reason: string; summary: string; priority: EscalationPriority; requestId: string; idempotencyKey: string }): { escalation: Escalation; created: boolean };
}

export function createEscalationsPlugin(deps: EscalationsPluginDeps): FirstPartyPlugin {
  async function run(tool: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
    const revoked = grantRevoked(deps.grants, ctx, ESCALATIONS_PLUGIN_ID);
    if (revoked) return revoked;
    if (tool !== 'hand_over') return toolError(`The Escalations toolkit has no tool "${tool}".`, 'unknown_tool');
    const who = currentCustomer(ctx);
    if ('isError' in who) return who;
    const priority = (typeof args.priority === 'string' ? args.priority : 'normal') as EscalationPriority;
    const reason = String(args.reason).trim();
    const summary = String(args.summary).trim();
    if (!reason) return toolError('reason must not be blank.', 'invalid_arguments');
    const { escalation, created } = deps.handOver({
      ...who, reason, summary, priority, requestId: ctx.requestId, idempotencyKey: toolKey(ctx, tool, [reason, summary, priority]),
    });
    return toolResult({
      handedOver: true, escalationId: escalation.id, status: escalation.status,
      note: created
        ? 'A person from the team will take over. The customer is acknowledged automatically; your reply to this message is not sent.'
        : 'This conversation was already handed over to a person; nothing new was opened. Your reply to this message is not sent.',
    });
  }

  const handle: PluginHandle = {
    id: ESCALATIONS_PLUGIN_ID,
    kind: 'first_party',
    // Useless without a customer to act for: never injected on the plain API path.
    conversationOnly: true,
    slug: ESCALATIONS_SLUG,
    displayName: 'Escalations',
    description: 'Human handoff: the agent hands a WhatsApp conversation over to a person on the team (an operator answers from the inbox, then hands it back).',
    rateLimits: { hand_over: { points: 60, durationSeconds: 60 } },
    tools: () => [...ESCALATION_TOOLS],
    call: (tool, args, ctx) => asTool(() => run(tool, args, ctx), (err) => deps.log.error({ tool, requestId: ctx.requestId, err: { message: String((err as Error)?.message).slice(0, 300) } }, 'escalations tool failed')),
  };
  return { slug: ESCALATIONS_SLUG, displayName: handle.displayName, description: handle.description, forOrg: (orgId) => (deps.hasWhatsApp(orgId) ? handle : null) };
}
