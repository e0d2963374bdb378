/**
 * The status-callback use case: a Twilio status callback for an outbound WhatsApp message, after
 * the HTTP layer found the instance and checked the signature. Reads and checks Twilio's form
 * fields, then hands the status to the toolkit's delivery-status ledger (which moves statuses only
 * forward and holds those that arrive before their SID is stored).
 * Must never know about HTTP, never trust a callback that names another instance's message (the
 * ledger looks the SID up within the instance), and never log phone numbers.
 */
import type { WebhookInstance } from '../../storage/repos/whatsapp-instances.ts';
import type { TwilioParams } from '../../toolkits/whatsapp/twilio.ts';
import type { DeliveryStatus, StatusOutcome } from '../../toolkits/whatsapp/delivery-status.ts';

export type { StatusOutcome };

const SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const STATUS = /^[a-z_]{1,32}$/;

/** A status callback that the route could not accept: the message names the field. */
export class StatusCallbackError extends Error {
  readonly param: string;
  constructor(message: string, param: string) {
    super(message);
    this.name = 'StatusCallbackError';
    this.param = param;
  }
}

/** The status-callback use case the webhook route calls. */
export interface StatusCallbacks {
  /** Applies one signed callback for `instance`; throws StatusCallbackError for a malformed one. */
  handle(instance: WebhookInstance, params: TwilioParams): StatusOutcome;
}

function one(params: TwilioParams, key: string): string | undefined {
  const v = params[key];
  return Array.isArray(v) ? undefined : v;
}

/** Builds the status-callback use case over the toolkit's ledger. */
export function createStatusCallbacks(deps: { delivery: DeliveryStatus }): StatusCallbacks {
  return {
    handle(instance, params) {
      const sid = one(params, 'MessageSid');
      const status = (one(params, 'MessageStatus') ?? one(params, 'SmsStatus'))?.toLowerCase();
      if (!sid || !SID.test(sid)) throw new StatusCallbackError('MessageSid is missing or malformed.', 'MessageSid');
      if (!status || !STATUS.test(status)) throw new StatusCallbackError('MessageStatus is missing or malformed.', 'MessageStatus');
      const rawCode = one(params, 'ErrorCode');
      const errorCode = rawCode && /^\d{1,6}$/.test(rawCode) ? Number(rawCode) : null;
      return deps.delivery.record(instance, sid, status, errorCode);
    },
  };
}
