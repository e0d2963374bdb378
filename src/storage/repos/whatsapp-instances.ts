/**
 * WhatsApp number instances: one connected number with its Twilio credentials, prompt and model.
 *
 * Every query is scoped by organisation, except `findForWebhook`, which looks an instance up by
 * its unguessable id before the request is authenticated (the caller then checks the Twilio
 * signature with the token it returns). The auth token is sealed with AAD
 * `whatsapp_instances|twilio_auth_token_sealed|<org>|<id>`. Must never return the token from
 * list/get, and never know about HTTP.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import type { SecretBox } from '../secret-box.ts';

export const InstanceStatus = { active: 'active', paused: 'paused' } as const;
export type InstanceStatusValue = (typeof InstanceStatus)[keyof typeof InstanceStatus];

const SENDER = /^whatsapp:\+[1-9]\d{1,14}$/;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** An instance as callers see it: never the auth token. */
export interface WhatsAppInstance {
  id: string;
  orgId: string;
  name: string;
  /** `whatsapp:+E164`. */
  sender: string;
  messagingServiceSid: string | null;
  twilioAccountSid: string;
  systemPrompt: string;
  model: string;
  /** Null: the appliance default. */
  loopCap: number | null;
  status: InstanceStatusValue;
  createdAt: number;
  updatedAt: number;
}

export interface CreateInstanceInput {
  name: string;
  sender: string;
  messagingServiceSid?: string | null;
  twilioAccountSid: string;
  twilioAuthToken: string;
  systemPrompt?: string;
  model: string;
  loopCap?: number | null;
  status?: InstanceStatusValue;
}

export type UpdateInstanceInput = Partial<CreateInstanceInput>;

/** What the inbound webhook needs, token included, before it knows the organisation. */
export interface WebhookInstance {
  id: string;
  orgId: string;
  status: InstanceStatusValue;
  sender: string;
  messagingServiceSid: string | null;
  twilioAccountSid: string;
  authToken: string;
}

interface Row {
  id: string;
  org_id: string;
  name: string;
  sender: string;
  messaging_service_sid: string | null;
  twilio_account_sid: string;
  twilio_auth_token_sealed: string;
  system_prompt: string;
  model: string;
  loop_cap: number | null;
  status: InstanceStatusValue;
  created_at: number;
  updated_at: number;
}

const toInstance = (r: Row): WhatsAppInstance => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  sender: r.sender,
  messagingServiceSid: r.messaging_service_sid,
  twilioAccountSid: r.twilio_account_sid,
  systemPrompt: r.system_prompt,
  model: r.model,
  loopCap: r.loop_cap,
  status: r.status,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** AAD binding a sealed auth token to its row. */
export function instanceTokenAad(orgId: string, id: string): string {
  return `whatsapp_instances|twilio_auth_token_sealed|${orgId}|${id}`;
}

function check(input: UpdateInstanceInput): void {
  if (input.name !== undefined && !input.name.trim()) throw new TypeError('name must not be empty.');
  if (input.sender !== undefined && !SENDER.test(input.sender)) throw new TypeError('sender must be whatsapp:+E164.');
  if (input.twilioAccountSid !== undefined && !ACCOUNT_SID.test(input.twilioAccountSid)) throw new TypeError('twilioAccountSid must be AC + 32 hex.');
  if (input.messagingServiceSid != null && !SERVICE_SID.test(input.messagingServiceSid)) throw new TypeError('messagingServiceSid must be MG + 32 hex.');
  if (input.twilioAuthToken !== undefined && !input.twilioAuthToken) throw new TypeError('twilioAuthToken must not be empty.');
  if (input.model !== undefined && !input.model.trim()) throw new TypeError('model must not be empty.');
  if (input.loopCap != null && (!Number.isInteger(input.loopCap) || input.loopCap < 1 || input.loopCap > 64)) throw new RangeError('loopCap must be 1..64.');
}

export function createWhatsAppInstancesRepo(db: Db, box: SecretBox) {
  const stmts = {
    insert: db.prepare(`
      INSERT INTO whatsapp_instances (id, org_id, name, sender, messaging_service_sid, twilio_account_sid, twilio_auth_token_sealed,
        system_prompt, model, loop_cap, status, created_at, updated_at)
      VALUES (@id, @orgId, @name, @sender, @messagingServiceSid, @twilioAccountSid, @sealed, @systemPrompt, @model, @loopCap, @status, @now, @now)`),
    get: db.prepare('SELECT * FROM whatsapp_instances WHERE org_id = ? AND id = ?'),
    byId: db.prepare('SELECT * FROM whatsapp_instances WHERE id = ?'),
    list: db.prepare('SELECT * FROM whatsapp_instances WHERE org_id = ? ORDER BY created_at, id'),
    update: db.prepare(`
      UPDATE whatsapp_instances SET name = @name, sender = @sender, messaging_service_sid = @messagingServiceSid,
        twilio_account_sid = @twilioAccountSid, twilio_auth_token_sealed = @sealed, system_prompt = @systemPrompt, model = @model,
        loop_cap = @loopCap, status = @status, updated_at = @now
      WHERE org_id = @orgId AND id = @id`),
    setStatus: db.prepare('UPDATE whatsapp_instances SET status = ?, updated_at = ? WHERE org_id = ? AND id = ?'),
    delete: db.prepare('DELETE FROM whatsapp_instances WHERE org_id = ? AND id = ?'),
    any: db.prepare('SELECT 1 FROM whatsapp_instances WHERE org_id = ? LIMIT 1').pluck(),
  };

  const update = db.transaction((orgId: string, id: string, patch: UpdateInstanceInput, now: number): WhatsAppInstance | null => {
    const row = stmts.get.get(orgId, id) as Row | undefined;
    if (!row) return null;
    const sealed = patch.twilioAuthToken !== undefined ? box.seal(patch.twilioAuthToken, instanceTokenAad(orgId, id)) : row.twilio_auth_token_sealed;
    stmts.update.run({
      orgId,
      id,
      name: patch.name ?? row.name,
      sender: patch.sender ?? row.sender,
      messagingServiceSid: patch.messagingServiceSid === undefined ? row.messaging_service_sid : patch.messagingServiceSid,
      twilioAccountSid: patch.twilioAccountSid ?? row.twilio_account_sid,
      sealed,
      systemPrompt: patch.systemPrompt ?? row.system_prompt,
      model: patch.model ?? row.model,
      loopCap: patch.loopCap === undefined ? row.loop_cap : patch.loopCap,
      status: patch.status ?? row.status,
      now,
    });
    return toInstance(stmts.get.get(orgId, id) as Row);
  });

  return {
    /** Creates an instance; UNIQUE (org, name) and (org, sender) violations throw SQLITE_CONSTRAINT_UNIQUE. */
    create(orgId: string, input: CreateInstanceInput, now = Date.now()): WhatsAppInstance {
      check(input);
      const id = crypto.randomUUID();
      stmts.insert.run({
        id,
        orgId,
        name: input.name.trim(),
        sender: input.sender,
        messagingServiceSid: input.messagingServiceSid ?? null,
        twilioAccountSid: input.twilioAccountSid,
        sealed: box.seal(input.twilioAuthToken, instanceTokenAad(orgId, id)),
        systemPrompt: input.systemPrompt ?? '',
        model: input.model.trim(),
        loopCap: input.loopCap ?? null,
        status: input.status ?? InstanceStatus.active,
        now,
      });
      return toInstance(stmts.get.get(orgId, id) as Row);
    },
    get(orgId: string, id: string): WhatsAppInstance | null {
      const r = stmts.get.get(orgId, id) as Row | undefined;
      return r ? toInstance(r) : null;
    },
    list(orgId: string): WhatsAppInstance[] {
      return (stmts.list.all(orgId) as Row[]).map(toInstance);
    },
    /** Applies a patch (re-sealing the token when one is given); null when not found in this org. */
    update(orgId: string, id: string, patch: UpdateInstanceInput, now = Date.now()): WhatsAppInstance | null {
      check(patch);
      return update.immediate(orgId, id, patch, now);
    },
    setStatus(orgId: string, id: string, status: InstanceStatusValue, now = Date.now()): boolean {
      return stmts.setStatus.run(status, now, orgId, id).changes === 1;
    },
    /** Deletes the instance with its grants, customers and messages (cascade). */
    delete(orgId: string, id: string): boolean {
      return stmts.delete.run(orgId, id).changes === 1;
    },
    /** Whether the organisation has at least one instance (any status). The runtime caches plugin lists by config version. */
    hasAny(orgId: string): boolean {
      return stmts.any.get(orgId) !== undefined;
    },
    /** The instance's Twilio credentials, for sending. */
    credentials(orgId: string, id: string): { accountSid: string; authToken: string } | null {
      const r = stmts.get.get(orgId, id) as Row | undefined;
      if (!r) return null;
      return { accountSid: r.twilio_account_sid, authToken: box.open(r.twilio_auth_token_sealed, instanceTokenAad(r.org_id, r.id)) };
    },
    /** Unscoped lookup by id for the inbound webhook; the caller must verify the signature next. */
    findForWebhook(id: string): WebhookInstance | null {
      const r = stmts.byId.get(id) as Row | undefined;
      if (!r) return null;
      return {
        id: r.id,
        orgId: r.org_id,
        status: r.status,
        sender: r.sender,
        messagingServiceSid: r.messaging_service_sid,
        twilioAccountSid: r.twilio_account_sid,
        authToken: box.open(r.twilio_auth_token_sealed, instanceTokenAad(r.org_id, r.id)),
      };
    },
  };
}
export type WhatsAppInstancesRepo = ReturnType<typeof createWhatsAppInstancesRepo>;
