/**
 * The WhatsApp toolkit: the first-party plugin (`first_party:whatsapp`) and everything outbound it
 * needs — its repositories, the per-instance Twilio clients, exactly-once sending, customer refs,
 * splitting, and the delivery-status ledger. Built BEFORE the plugin runtime (the runtime takes
 * `plugin`), and needs nothing built after it: the inbound side, which asks the model, is the
 * channel (src/channels/whatsapp/), built once the completion exists.
 *
 * Use case `sendToCustomer` (send-to-customer.ts) — the ONE way to message a customer, for the
 * plugin's tools and for other toolkits (payment confirmations, operator replies, reminders):
 *   sendToCustomer({ orgId, instanceId, customerRef, message: { text?, mediaUrls?, template? },
 *                    idempotencyKey, signal? }) → sent | accepted_unrecorded | refused | unavailable
 * - The instance must be active and the customer (`wcr_…`) must have written to it.
 * - Inside the 24-hour window: the text (split at ~1,500 chars, media on the first part), else the
 *   template; outside it: the template only, refused (`outside_window`, nothing stored) without one.
 * - `idempotencyKey` is the caller's business key, per instance (`payment:<id>:paid`; `tool:` is the
 *   plugin's). All parts are stored under it before any Twilio call; the first message stored under
 *   a key is the only one ever sent, across restarts: a repeat answers `duplicate: true`, a retry
 *   after `unavailable` resumes the unsent parts, reconciling unknown outcomes with Twilio first.
 * - Refusals and Twilio failures are results, never throws; no raw phone number in results or logs.
 *
 * The shape other toolkits copy: `createXToolkit(deps)` → `{ plugin, repos, …its use cases }`; a
 * toolkit owns its tables' repositories and takes the shared ones (grants) from the composition
 * root. Must never call the model, start work on its own, or hold module-level state.
 */
import type { Db } from '../../storage/db.ts';
import type { SecretBox } from '../../storage/secret-box.ts';
import type { Logger } from '../../log.ts';
import type { FirstPartyPlugin } from '../../plugins/types.ts';
import type { GrantsRepo } from '../../storage/repos/grants.ts';
import { createWhatsAppInstancesRepo, type WhatsAppInstancesRepo } from '../../storage/repos/whatsapp-instances.ts';
import { createWhatsAppCustomersRepo, type WhatsAppCustomersRepo } from '../../storage/repos/whatsapp-customers.ts';
import { createWhatsAppMessagesRepo, type WhatsAppMessage, type WhatsAppMessagesRepo } from '../../storage/repos/whatsapp-messages.ts';
import { deriveCustomerRefKey } from './customer-ref.ts';
import { createTwilioClients, type TwilioClients } from './outbound.ts';
import { classifyTwilioError } from './twilio.ts';
import { createWhatsAppPlugin } from './plugin.ts';
import { createDeliveryStatus, type DeliveryStatus } from './delivery-status.ts';
import { createSendToCustomer, type SendToCustomer } from './send-to-customer.ts';

export { WHATSAPP_PLUGIN_ID } from './plugin.ts';
export type { CustomerMessage, RefusalReason, SendToCustomer, SendToCustomerInput, SendToCustomerResult } from './send-to-customer.ts';

/** What the toolkit is built from; the composition root passes it in. */
export interface WhatsAppToolkitDeps {
  db: Db;
  box: SecretBox;
  /** The appliance master key; the customer-ref key is derived from it. */
  masterKey: Buffer;
  /** The general grants (an instance's granted plugins); shared with every subject type. */
  grants: GrantsRepo;
  log: Logger;
  /** Public origin Twilio calls (PLUGBOARD_PUBLIC_BASE_URL), without a trailing slash. */
  publicBaseUrl: string;
  twilioApiBaseUrl: string;
  twilioTimeoutMs: number;
  now?: () => number;
  /** Metrics of Twilio sends and status callbacks (GET /metrics); statuses and error codes only. */
  observe?: { send(status: string, errorCode: number | null): void; status(status: string): void };
  /** The customer-ref key, when a master-key rotation stored it (it must outlive the key it was derived from). */
  customerRefKey?: Buffer;
}

/** The repositories WhatsApp's use cases share (the toolkit's tables, and the grants it reads). */
export interface WhatsAppRepos {
  instances: WhatsAppInstancesRepo;
  grants: GrantsRepo;
  customers: WhatsAppCustomersRepo;
  messages: WhatsAppMessagesRepo;
}

/** The built toolkit. */
export interface WhatsAppToolkit {
  /** Registered with the plugin runtime. */
  plugin: FirstPartyPlugin;
  repos: WhatsAppRepos;
  clients: TwilioClients;
  /** Key of the customer refs (keyed HMAC of org + phone). */
  refKey: Buffer;
  /** Statuses Twilio reports for sent parts; fed by the channel's status callbacks. */
  delivery: DeliveryStatus;
  /** Every sender calls this once a part's SID is stored (applies a status that arrived first). */
  onSid(part: WhatsAppMessage, sid: string): void;
  /** The StatusCallback sent with every outbound message. */
  statusCallbackUrl(instanceId: string): string;
  /**
   * Sends a message to a customer who has written to the instance, exactly once per
   * `idempotencyKey` (see the module comment and send-to-customer.ts). The plugin's tools use it;
   * so do other toolkits' use cases.
   */
  sendToCustomer: SendToCustomer;
}

/** Builds the toolkit. Nothing runs until a tool is called. */
export function createWhatsAppToolkit(deps: WhatsAppToolkitDeps): WhatsAppToolkit {
  const repos: WhatsAppRepos = {
    instances: createWhatsAppInstancesRepo(deps.db, deps.box),
    grants: deps.grants,
    customers: createWhatsAppCustomersRepo(deps.db, deps.box),
    messages: createWhatsAppMessagesRepo(deps.db),
  };
  const refKey = deps.customerRefKey ?? deriveCustomerRefKey(deps.masterKey);
  const clients = observedClients(createTwilioClients({ instances: repos.instances, apiBaseUrl: deps.twilioApiBaseUrl, timeoutMs: deps.twilioTimeoutMs }), deps.observe);
  const statusCallbackUrl = (id: string): string => `${deps.publicBaseUrl}/webhooks/twilio/status?instanceId=${encodeURIComponent(id)}`;
  const delivery = observedDelivery(createDeliveryStatus({ messages: repos.messages, log: deps.log, now: deps.now }), deps.observe);
  const onSid = (part: WhatsAppMessage, sid: string): void => delivery.settleEarly(part.orgId, part.instanceId, part.id, sid);
  const sendToCustomer = createSendToCustomer({ ...repos, clients, statusCallbackUrl, onSid, log: deps.log, now: deps.now });
  return {
    plugin: createWhatsAppPlugin({ ...repos, refKey, sendToCustomer, log: deps.log }),
    sendToCustomer,
    repos,
    clients,
    refKey,
    delivery,
    onSid,
    statusCallbackUrl,
  };
}

/** Counts every Twilio send by the status Twilio answered, or as failed with its error code (metrics). */
function observedClients(clients: TwilioClients, observe: WhatsAppToolkitDeps['observe']): TwilioClients {
  if (!observe) return clients;
  return {
    ...clients,
    forInstance(instance) {
      const client = clients.forInstance(instance);
      return {
        ...client,
        async sendMessage(input) {
          try {
            const sent = await client.sendMessage(input);
            observe.send(sent.status, null);
            return sent;
          } catch (err) {
            observe.send('failed', classifyTwilioError(err).code);
            throw err;
          }
        },
      };
    },
  };
}

/** Counts every delivery-status callback by status (metrics). */
function observedDelivery(delivery: DeliveryStatus, observe: WhatsAppToolkitDeps['observe']): DeliveryStatus {
  if (!observe) return delivery;
  return {
    ...delivery,
    record(instance, sid, status, errorCode) {
      observe.status(status);
      return delivery.record(instance, sid, status, errorCode);
    },
  };
}
