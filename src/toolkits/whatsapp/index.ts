/**
 * The WhatsApp toolkit: the first-party plugin (`first_party:whatsapp`) and everything outbound it
 * needs — its repositories, the per-instance Twilio clients, exactly-once sending, customer refs,
 * splitting, and the delivery-status ledger. Built BEFORE the plugin runtime (the runtime takes
 * `plugin`), and needs nothing built after it: the inbound side, which asks the model, is the
 * channel (src/channels/whatsapp/), built once the completion exists.
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
import { createWhatsAppPlugin } from './plugin.ts';
import { createDeliveryStatus, type DeliveryStatus } from './delivery-status.ts';

export { WHATSAPP_PLUGIN_ID } from './plugin.ts';

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
}

/** Builds the toolkit. Nothing runs until a tool is called. */
export function createWhatsAppToolkit(deps: WhatsAppToolkitDeps): WhatsAppToolkit {
  const repos: WhatsAppRepos = {
    instances: createWhatsAppInstancesRepo(deps.db, deps.box),
    grants: deps.grants,
    customers: createWhatsAppCustomersRepo(deps.db, deps.box),
    messages: createWhatsAppMessagesRepo(deps.db),
  };
  const refKey = deriveCustomerRefKey(deps.masterKey);
  const clients = createTwilioClients({ instances: repos.instances, apiBaseUrl: deps.twilioApiBaseUrl, timeoutMs: deps.twilioTimeoutMs });
  const statusCallbackUrl = (id: string): string => `${deps.publicBaseUrl}/webhooks/twilio/status?instanceId=${encodeURIComponent(id)}`;
  const delivery = createDeliveryStatus({ messages: repos.messages, log: deps.log, now: deps.now });
  const onSid = (part: WhatsAppMessage, sid: string): void => delivery.settleEarly(part.orgId, part.instanceId, part.id, sid);
  return {
    plugin: createWhatsAppPlugin({ ...repos, clients, refKey, statusCallbackUrl, onSid, log: deps.log, now: deps.now }),
    repos,
    clients,
    refKey,
    delivery,
    onSid,
    statusCallbackUrl,
  };
}
