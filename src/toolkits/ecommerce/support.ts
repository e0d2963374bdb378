/**
 * What the E-Commerce and Payments toolkits' agent tools share: "the current customer" from the
 * tool-call context (a WhatsApp conversation's instance and customer ref; none on the plain API
 * path), the call-time grant check, tool outcomes, and the page shape of their lists.
 * Must never know about HTTP, and never treat a call without a conversation as a customer's.
 */
import type { ToolCallContext, ToolOutcome } from '../../plugins/types.ts';
import { whatsappInstanceSubject, type GrantsRepo } from '../../storage/repos/grants.ts';
import { isAppError } from '../../errors.ts';
import type { EventBus } from '../../usage/bus.ts';
import type { CommerceLiveEvent } from '../../shared/api-commerce.ts';

/** One page of a list and the opaque cursor of the next (null on the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The customer a tool acts for: the conversation's. */
export interface CurrentCustomer {
  orgId: string;
  instanceId: string;
  customerRef: string;
}

export const toolError = (text: string, errorClass = 'tool_error'): ToolOutcome => ({ isError: true, text, errorClass });
export const toolResult = (body: unknown): ToolOutcome => ({ isError: false, text: JSON.stringify(body) });

/** The conversation's customer, or a tool error saying the tool only works inside one. */
export function currentCustomer(ctx: ToolCallContext): CurrentCustomer | ToolOutcome {
  if (!ctx.instanceId || !ctx.customerRef) {
    return toolError('This tool acts for the current customer and works only inside a WhatsApp conversation; there is none here. Nothing was done.', 'no_customer');
  }
  return { orgId: ctx.orgId, instanceId: ctx.instanceId, customerRef: ctx.customerRef };
}

/** Inside a conversation the plugin must still be granted to its number (a revoke applies at once). */
export function grantRevoked(grants: GrantsRepo, ctx: ToolCallContext, pluginId: string): ToolOutcome | null {
  if (!ctx.instanceId) return null;
  if (grants.pluginIds(ctx.orgId, whatsappInstanceSubject(ctx.instanceId)).includes(pluginId)) return null;
  return toolError('This toolkit is not granted to this WhatsApp number; nothing was done. Answer without it.', 'not_allowed');
}

/**
 * Runs a tool body: an AppError (a rule the use case enforces) becomes a tool error carrying its
 * safe message and code; anything else is logged by the caller and answered generically.
 */
export async function asTool(run: () => Promise<ToolOutcome> | ToolOutcome, onFault: (err: unknown) => void): Promise<ToolOutcome> {
  try {
    return await run();
  } catch (err) {
    if (isAppError(err)) return toolError(err.message, err.code);
    onFault(err);
    return toolError('The toolkit failed internally; nothing was confirmed. Try again later or hand over to a person.', 'plugin_error');
  }
}

/** `1250 EUR` → `12.50 EUR` with the currency's own number of decimals. */
export function formatMoney(amountMinor: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // An unknown code keeps two decimals.
  }
  return `${(amountMinor / 10 ** digits).toFixed(digits)} ${currency}`;
}

/** Publishes one commerce live event (ids and amounts only) for operators watching the organisation. */
export function publishCommerce(bus: EventBus | undefined, event: Omit<CommerceLiveEvent, 'at'> & { at?: number }): void {
  bus?.publish({ ...event, at: event.at ?? Date.now() });
}
