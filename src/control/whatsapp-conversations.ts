/**
 * Read-only use cases for the TUI: a WhatsApp instance's conversations (most recent first) and one
 * conversation's messages (newest first), paginated by opaque cursors. A cursor that is not one
 * this module made is a 400; a customer ref that is not of this instance is a 404, like an unknown
 * one. Must never know about HTTP or Koa, and never return a customer's raw number.
 */
import { invalidRequest, notFound } from '../errors.ts';
import type { ConversationSummary, WhatsAppCustomersRepo } from '../storage/repos/whatsapp-customers.ts';
import type { WhatsAppMessage, WhatsAppMessagesRepo } from '../storage/repos/whatsapp-messages.ts';
import { takePage, type Page } from './page.ts';

/** The shape of a customer ref (`wcr_` and 22 base64url characters). */
export const CUSTOMER_REF = /^wcr_[A-Za-z0-9_-]{22}$/;

export interface ConversationDeps {
  customers: WhatsAppCustomersRepo;
  messages: WhatsAppMessagesRepo;
}

/** An instance found in its organisation. */
export interface ConversationInstance {
  orgId: string;
  id: string;
}

export function listConversations(d: Pick<ConversationDeps, 'customers'>, inst: ConversationInstance, q: { limit: number; cursor?: string }): Page<ConversationSummary> {
  const after = q.cursor === undefined ? undefined : decodeConversationCursor(q.cursor);
  const rows = d.customers.conversations(inst.orgId, inst.id, { limit: q.limit + 1, ...(after && { after }) });
  return takePage(rows, q.limit, (last) => Buffer.from(JSON.stringify([last.lastMessageAt, last.customerRef])).toString('base64url'));
}

/** Throws the 404 unless `customerRef` is a conversation of this instance. */
export function assertConversation(d: Pick<ConversationDeps, 'customers'>, inst: ConversationInstance, customerRef: string): void {
  if (!CUSTOMER_REF.test(customerRef) || !d.customers.get(inst.orgId, inst.id, customerRef)) throw notFound('conversation', 'customerRef');
}

/** `cursor` is a message sequence number from a previous page (checked by the caller's schema). */
export function listMessages(d: Pick<ConversationDeps, 'messages'>, inst: ConversationInstance, customerRef: string, q: { limit: number; cursor?: string }): Page<WhatsAppMessage> {
  const rows = d.messages.page(inst.orgId, inst.id, customerRef, { limit: q.limit + 1, ...(q.cursor !== undefined && { before: Number(q.cursor) }) });
  return takePage(rows, q.limit, (last) => String(last.seq));
}

function decodeConversationCursor(cursor: string): { at: number; customerRef: string } {
  try {
    const [at, customerRef] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof at === 'number' && Number.isSafeInteger(at) && typeof customerRef === 'string' && CUSTOMER_REF.test(customerRef)) return { at, customerRef };
  } catch {
    // fall through to the 400
  }
  throw invalidRequest('cursor: must be a cursor from a previous page', 'cursor', 'invalid_value');
}
