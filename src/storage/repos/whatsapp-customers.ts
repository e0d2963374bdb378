/**
 * WhatsApp customers per instance: the opaque customer ref, the sealed phone number (needed to
 * reply), its masked form for screens and logs, and the start of the 24-hour window.
 *
 * The caller computes `customerRef` and the mask (toolkits/whatsapp/customer-ref.ts); this module
 * only stores them. The phone is sealed with AAD `whatsapp_customers|phone_sealed|<org>|<id>`.
 * Every query is scoped by organisation. Must never return the phone except through `phone()`.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import type { SealOptions, SecretBox } from '../secret-box.ts';

/** A phone number is personal data, not a credential: not a known secret (it is masked where it shows). */
const PERSONAL_DATA: SealOptions = { credential: false };

export interface WhatsAppCustomer {
  id: string;
  orgId: string;
  instanceId: string;
  customerRef: string;
  phoneMasked: string;
  lastInboundAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface RecordInboundInput {
  orgId: string;
  instanceId: string;
  customerRef: string;
  /** E.164; sealed on first sight, never updated (the ref is derived from it). */
  phoneE164: string;
  phoneMasked: string;
  /** When the inbound message arrived; last_inbound_at only moves forward. */
  at: number;
}

interface Row {
  id: string;
  org_id: string;
  instance_id: string;
  customer_ref: string;
  phone_sealed: string;
  phone_masked: string;
  last_inbound_at: number | null;
  created_at: number;
  updated_at: number;
}

const toCustomer = (r: Row): WhatsAppCustomer => ({
  id: r.id,
  orgId: r.org_id,
  instanceId: r.instance_id,
  customerRef: r.customer_ref,
  phoneMasked: r.phone_masked,
  lastInboundAt: r.last_inbound_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** One row of an instance's conversation list: who, and when the last message either way was. */
export interface ConversationSummary {
  customerRef: string;
  phoneMasked: string;
  lastInboundAt: number | null;
  /** Newest message in either direction (falls back to the customer's creation). */
  lastMessageAt: number;
  messageCount: number;
}

export function customerPhoneAad(orgId: string, id: string): string {
  return `whatsapp_customers|phone_sealed|${orgId}|${id}`;
}

export function createWhatsAppCustomersRepo(db: Db, box: SecretBox) {
  const stmts = {
    insert: db.prepare(`
      INSERT INTO whatsapp_customers (id, org_id, instance_id, customer_ref, phone_sealed, phone_masked, last_inbound_at, created_at, updated_at)
      VALUES (@id, @orgId, @instanceId, @customerRef, @sealed, @masked, @at, @at, @at)
      ON CONFLICT (instance_id, customer_ref) DO NOTHING`),
    touch: db.prepare(`
      UPDATE whatsapp_customers SET last_inbound_at = MAX(COALESCE(last_inbound_at, 0), @at), updated_at = @at
      WHERE org_id = @orgId AND instance_id = @instanceId AND customer_ref = @customerRef`),
    get: db.prepare('SELECT * FROM whatsapp_customers WHERE org_id = ? AND instance_id = ? AND customer_ref = ?'),
    list: db.prepare(`
      SELECT * FROM whatsapp_customers WHERE org_id = ? AND instance_id = ?
      ORDER BY last_inbound_at DESC, id LIMIT ?`),
    // Newest conversation first; the cursor is the (last_message_at, customer_ref) of the previous page's last row.
    conversations: db.prepare(`
      SELECT * FROM (
        SELECT c.customer_ref, c.phone_masked, c.last_inbound_at,
          COALESCE((SELECT MAX(m.created_at) FROM whatsapp_messages m WHERE m.instance_id = c.instance_id AND m.customer_ref = c.customer_ref), c.created_at) AS last_message_at,
          (SELECT COUNT(*) FROM whatsapp_messages m WHERE m.instance_id = c.instance_id AND m.customer_ref = c.customer_ref) AS message_count
        FROM whatsapp_customers c WHERE c.org_id = @orgId AND c.instance_id = @instanceId)
      WHERE @afterAt IS NULL OR last_message_at < @afterAt OR (last_message_at = @afterAt AND customer_ref > @afterRef)
      ORDER BY last_message_at DESC, customer_ref LIMIT @limit`),
  };
  return {
    /**
     * Creates the customer on first contact or moves last_inbound_at forward. Safe inside the
     * webhook's transaction (plain statements). Throws on a foreign-key violation when the
     * instance is not in `orgId`.
     */
    recordInbound(input: RecordInboundInput): { customer: WhatsAppCustomer; created: boolean } {
      const id = crypto.randomUUID();
      const created =
        stmts.insert.run({
          id,
          orgId: input.orgId,
          instanceId: input.instanceId,
          customerRef: input.customerRef,
          sealed: box.seal(input.phoneE164, customerPhoneAad(input.orgId, id), PERSONAL_DATA),
          masked: input.phoneMasked,
          at: input.at,
        }).changes === 1;
      if (!created) stmts.touch.run({ orgId: input.orgId, instanceId: input.instanceId, customerRef: input.customerRef, at: input.at });
      const row = stmts.get.get(input.orgId, input.instanceId, input.customerRef) as Row | undefined;
      if (!row) throw new Error('The customer row is missing after its upsert (wrong organisation for this instance?).');
      return { customer: toCustomer(row), created };
    },
    get(orgId: string, instanceId: string, customerRef: string): WhatsAppCustomer | null {
      const r = stmts.get.get(orgId, instanceId, customerRef) as Row | undefined;
      return r ? toCustomer(r) : null;
    },
    /** The customer's E.164 number, opened from its seal; only for sending. */
    phone(orgId: string, instanceId: string, customerRef: string): string | null {
      const r = stmts.get.get(orgId, instanceId, customerRef) as Row | undefined;
      return r ? box.open(r.phone_sealed, customerPhoneAad(r.org_id, r.id), PERSONAL_DATA) : null;
    },
    /** The instance's conversations, newest first; `after` is the last row of the previous page. */
    conversations(orgId: string, instanceId: string, opts: { limit: number; after?: { at: number; customerRef: string } }): ConversationSummary[] {
      const rows = stmts.conversations.all({
        orgId, instanceId, limit: Math.min(Math.max(1, opts.limit), 1000), afterAt: opts.after?.at ?? null, afterRef: opts.after?.customerRef ?? '',
      }) as Array<{ customer_ref: string; phone_masked: string; last_inbound_at: number | null; last_message_at: number; message_count: number }>;
      return rows.map((r) => ({
        customerRef: r.customer_ref, phoneMasked: r.phone_masked, lastInboundAt: r.last_inbound_at, lastMessageAt: r.last_message_at, messageCount: r.message_count,
      }));
    },
    list(orgId: string, instanceId: string, limit = 100): WhatsAppCustomer[] {
      return (stmts.list.all(orgId, instanceId, Math.min(Math.max(1, limit), 1000)) as Row[]).map(toCustomer);
    },
  };
}
export type WhatsAppCustomersRepo = ReturnType<typeof createWhatsAppCustomersRepo>;
