/**
 * Plays Twilio's side of webhooks in tests: builds the form an inbound WhatsApp message or a
 * status callback carries, signs it with the SDK (X-Twilio-Signature over the public URL) and
 * POSTs it. The URL that is signed can differ from the one posted to, as behind a proxy
 * (PLUGBOARD_PUBLIC_BASE_URL + path vs. the loopback address). Must never reach the network.
 */
import crypto from 'node:crypto';
import twilio from 'twilio';

export type WebhookParams = Record<string, string>;

export interface InboundInput {
  accountSid: string;
  /** Customer, `whatsapp:+E164`. */
  from: string;
  /** The instance's sender, `whatsapp:+E164`. */
  to: string;
  body?: string;
  media?: Array<{ url: string; contentType: string }>;
  messageSid?: string;
  profileName?: string;
}

/** The form Twilio posts for an inbound WhatsApp message. */
export function inboundParams(input: InboundInput): WebhookParams {
  const sid = input.messageSid ?? 'SM' + crypto.randomBytes(16).toString('hex');
  const media = input.media ?? [];
  const p: WebhookParams = {
    MessageSid: sid, SmsMessageSid: sid, SmsSid: sid, AccountSid: input.accountSid, From: input.from, To: input.to,
    Body: input.body ?? '', NumMedia: String(media.length), NumSegments: '1', SmsStatus: 'received', ApiVersion: '2010-04-01',
    WaId: input.from.replace(/^whatsapp:\+/, ''), ProfileName: input.profileName ?? 'Test Customer',
    MessageType: media.length ? 'image' : 'text', ChannelMetadata: '{"type":"whatsapp"}',
  };
  media.forEach((m, i) => {
    p[`MediaUrl${i}`] = m.url;
    p[`MediaContentType${i}`] = m.contentType;
  });
  return p;
}

/** The form of a status callback for an outbound message. */
export function statusParams(input: { accountSid: string; messageSid: string; status: string; from: string; to: string; errorCode?: number }): WebhookParams {
  return {
    MessageSid: input.messageSid, SmsSid: input.messageSid, AccountSid: input.accountSid, From: input.from, To: input.to,
    MessageStatus: input.status, SmsStatus: input.status, ApiVersion: '2010-04-01', ChannelPrefix: 'whatsapp',
    ...(input.errorCode !== undefined && { ErrorCode: String(input.errorCode) }),
  };
}

export interface DeliverInput {
  /** Where to POST (e.g. the app's loopback URL). */
  url: string;
  /** The URL Twilio would sign (public base URL + path); defaults to `url`. */
  signedUrl?: string;
  authToken: string;
  params: WebhookParams;
  /** Override the header: `null` sends none, a string sends that (forged) value. */
  signature?: string | null;
}

/** POSTs a signed webhook like Twilio; returns status, content type and body text. */
export async function deliverTwilioWebhook(input: DeliverInput): Promise<{ status: number; contentType: string | null; text: string }> {
  const signature = input.signature === undefined
    ? twilio.getExpectedTwilioSignature(input.authToken, input.signedUrl ?? input.url, input.params)
    : input.signature;
  const res = await fetch(input.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'user-agent': 'TwilioProxy/1.1',
      'i-twilio-idempotency-token': crypto.randomUUID(),
      ...(signature !== null && { 'x-twilio-signature': signature }),
    },
    body: new URLSearchParams(input.params).toString(),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}
