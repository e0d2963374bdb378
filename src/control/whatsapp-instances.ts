/**
 * WhatsApp number instance use cases (owners and admins write): create, update, delete.
 *
 * Name and sender are unique per organisation: a duplicate is a clear 409 naming the field, and a
 * race that only the database's unique index catches is still a 409, never a constraint error.
 * Changing the Twilio account needs that account's token. Every change drops the instance's cached
 * Twilio client so new credentials take effect at once. Callers find the instance in their
 * organisation first (`getWhatsAppInstance`), so another organisation's instance is a 404.
 * Must never know about HTTP or Koa, and never return the Twilio auth token.
 */
import { conflict, invalidRequest, notFound } from '../errors.ts';
import type { CreateInstanceInput, UpdateInstanceInput, WhatsAppInstance, WhatsAppInstancesRepo } from '../storage/repos/whatsapp-instances.ts';

export interface WhatsAppInstanceDeps {
  instances: WhatsAppInstancesRepo;
  /** Forgets the instance's cached Twilio client (the channel's `clients.drop`). */
  dropClient(instanceId: string): void;
}

export function listWhatsAppInstances(d: Pick<WhatsAppInstanceDeps, 'instances'>, orgId: string): WhatsAppInstance[] {
  return d.instances.list(orgId);
}

export function getWhatsAppInstance(d: Pick<WhatsAppInstanceDeps, 'instances'>, orgId: string, id: string): WhatsAppInstance {
  const inst = d.instances.get(orgId, id);
  if (!inst) throw notFound('whatsapp_instance', 'id');
  return inst;
}

export function createWhatsAppInstance(d: WhatsAppInstanceDeps, orgId: string, input: CreateInstanceInput): WhatsAppInstance {
  assertUnique(d, orgId, input);
  return uniquely(() => d.instances.create(orgId, input));
}

/** Applies `input` to `cur`; an empty update changes nothing and returns `cur`. */
export function updateWhatsAppInstance(d: WhatsAppInstanceDeps, cur: WhatsAppInstance, input: UpdateInstanceInput): WhatsAppInstance {
  if (Object.keys(input).length === 0) return cur;
  if (input.twilioAccountSid !== undefined && input.twilioAccountSid !== cur.twilioAccountSid && input.twilioAuthToken === undefined) {
    throw invalidRequest('twilioAuthToken is required when twilioAccountSid changes (the stored token belongs to the old account).', 'twilioAuthToken', 'missing_parameter');
  }
  assertUnique(d, cur.orgId, input, cur.id);
  const inst = uniquely(() => d.instances.update(cur.orgId, cur.id, input));
  if (!inst) throw notFound('whatsapp_instance', 'id');
  d.dropClient(inst.id);
  return inst;
}

/** Deletes the instance (its grants, customers and messages go with it) and forgets its client. */
export function deleteWhatsAppInstance(d: WhatsAppInstanceDeps, inst: WhatsAppInstance): void {
  d.instances.delete(inst.orgId, inst.id);
  d.dropClient(inst.id);
}

/** Name and sender are unique per organisation: a clear 409 instead of a constraint error. */
function assertUnique(d: Pick<WhatsAppInstanceDeps, 'instances'>, orgId: string, input: { name?: string; sender?: string }, selfId?: string): void {
  for (const other of d.instances.list(orgId)) {
    if (other.id === selfId) continue;
    if (input.name !== undefined && other.name === input.name) throw conflict(`An instance named "${input.name}" already exists.`, 'instance_name_taken', 'name');
    if (input.sender !== undefined && other.sender === input.sender) throw conflict('Another instance already uses this sender.', 'sender_taken', 'sender');
  }
}

/** Runs a write; a unique-index violation (a concurrent writer won) becomes a 409. */
function uniquely<T>(write: () => T): T {
  try {
    return write();
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict('An instance with this name or sender already exists.', 'instance_conflict');
    throw err;
  }
}
