/**
 * The one door to Twilio: REST calls for Messages, error classification, webhook signatures,
 * form parsing and splitting long answers. The only file in src/ that imports `twilio`.
 *
 * Every value is passed in explicitly: the SDK never reads TWILIO_* variables here (credentials
 * are arguments, `env: {}`, an explicit log level, and the origin of every request is forced
 * onto `apiBaseUrl`, which also undoes any TWILIO_REGION/TWILIO_EDGE host rewriting).
 * Must never log or return auth tokens, and never let the SDK retry on its own: retries belong
 * to the durable job queue, which reconciles before sending again. An error Twilio (or a proxy in
 * front of it) answers is untrusted text: the client's own auth token, in every form it can be
 * echoed (plain, URL-encoded, inside `Basic base64(sid:token)`), is removed from it before it leaves
 * this module; every other known secret is removed at the exits (job errors, tool results, logs).
 * Answers are read up to TWILIO_RESPONSE_MAX_BYTES.
 */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as HttpResponse from 'twilio/lib/http/response.js';
import { createKnownSecrets } from '../../storage/known-secrets.ts';
import { maskPhonesIn } from './customer-ref.ts';

/** Twilio's own REST origin. */
export const TWILIO_API_ORIGIN = 'https://api.twilio.com';
/** Twilio rejects bodies above 1,600 characters (21617); we split below that. */
export const TWILIO_BODY_MAX = 1600;
/** Default size of one WhatsApp part: headroom under TWILIO_BODY_MAX for emoji counting. */
export const WHATSAPP_PART_LIMIT = 1500;
/** Most records `listMessages` returns; reconciliation only needs the last few minutes. */
const MAX_LIST_LIMIT = 1000;
const MAX_ERROR_MESSAGE = 300;
/** Largest Twilio answer read (a page of 100 messages is ~150 KB); a larger one is an unreadable response. */
export const TWILIO_RESPONSE_MAX_BYTES = 8 * 1024 * 1024;

/** Twilio error codes the channel reacts to. */
export const TwilioErrorCode = {
  authenticate: 20003,
  notFound: 20404,
  tooManyRequests: 20429,
  invalidTo: 21211,
  invalidFrom: 21212,
  toNotWhatsApp: 21614,
  permissionToSendNotEnabled: 21408,
  unsubscribed: 21610,
  bodyTooLong: 21617,
  outsideSessionWindow: 63016,
} as const;

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** PLUGBOARD_TWILIO_API_BASE_URL: Twilio's origin, a proxy, or a test fake (may carry a path prefix). */
  apiBaseUrl: string;
  /** Per-request timeout (connect + response). */
  timeoutMs: number;
}

/** What to send. Exactly one of `from` / `messagingServiceSid` is normally set. */
export interface SendMessageInput {
  from?: string;
  messagingServiceSid?: string;
  to: string;
  body?: string;
  mediaUrls?: string[];
  /** Content template `HX…`. */
  contentSid?: string;
  /** Template variables; an object is sent as the JSON string Twilio expects. */
  contentVariables?: Record<string, string> | string;
  statusCallback?: string;
}

export interface SentMessage {
  sid: string;
  status: string;
}

export interface ListMessagesInput {
  to: string;
  from?: string;
  /** Twilio's `DateSent>` filter. */
  dateSentAfter?: Date;
  limit: number;
}

export interface TwilioMessageRecord {
  sid: string;
  to: string;
  from: string | null;
  body: string;
  status: string;
  direction: string;
  errorCode: number | null;
  dateCreated: Date | null;
  dateSent: Date | null;
}

/** The small surface of Twilio Messaging that Plugboard uses. */
export interface TwilioMessaging {
  sendMessage(input: SendMessageInput): Promise<SentMessage>;
  /** Newest first, at most `limit` records (paged by the SDK). */
  listMessages(input: ListMessagesInput): Promise<TwilioMessageRecord[]>;
  fetchMessage(sid: string): Promise<TwilioMessageRecord>;
}

type RequestOptions<T> = RequestClient.RequestOptions<T>;

/**
 * A RequestClient that sends every request to `base` (origin and optional path prefix), keeping
 * Twilio's path and query. Applied always, not only for non-Twilio origins, so a host rewritten by
 * the SDK from TWILIO_REGION/TWILIO_EDGE is put back on the configured origin.
 */
class RebasingRequestClient extends twilio.RequestClient {
  readonly #base: string;

  constructor(base: string, timeoutMs: number) {
    super({ timeout: timeoutMs, autoRetry: false, keepAlive: true });
    this.#base = base;
    this.axios.defaults.maxContentLength = TWILIO_RESPONSE_MAX_BYTES;
  }

  override request<T>(opts: RequestOptions<T>): Promise<HttpResponse.default<T>> {
    const u = new URL(opts.uri);
    return super.request({ ...opts, uri: this.#base + u.pathname + u.search });
  }
}

/** Builds the Twilio Messaging client for one account (one instance's credentials). */
export function createTwilioClient(options: TwilioClientOptions): TwilioMessaging {
  const base = normaliseBase(options.apiBaseUrl);
  if (!/^AC[0-9a-fA-F]{32}$/.test(options.accountSid)) throw new TypeError('accountSid must look like AC + 32 hex digits.');
  if (!options.authToken) throw new TypeError('authToken is required.');
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive integer.');
  const client = twilio(options.accountSid, options.authToken, {
    httpClient: new RebasingRequestClient(base, options.timeoutMs),
    env: {},
    autoRetry: false,
    logLevel: 'info',
    timeout: options.timeoutMs,
  });
  const messages = client.api.v2010.accounts(options.accountSid).messages;
  // The token and the Basic credential it travels in (the base64 forms of both are covered by the registry's variants).
  const own = createKnownSecrets();
  own.add(options.authToken);
  own.add(`${options.accountSid}:${options.authToken}`);
  const guarded = <T>(call: () => Promise<T>): Promise<T> => call().catch((err: unknown) => {
    throw redactOwnToken(err, own);
  });

  return {
    sendMessage: (input) => guarded(() => send(input)),
    listMessages: (input) => guarded(() => list(input)),
    fetchMessage: (sid) => guarded(() => fetchOne(sid)),
  };

  async function send(input: SendMessageInput): Promise<SentMessage> {
    const variables =
      input.contentVariables === undefined || typeof input.contentVariables === 'string'
        ? input.contentVariables
        : JSON.stringify(input.contentVariables);
    const m = await messages.create({
      to: input.to,
      ...(input.from !== undefined && { from: input.from }),
      ...(input.messagingServiceSid !== undefined && { messagingServiceSid: input.messagingServiceSid }),
      ...(input.body !== undefined && { body: input.body }),
      ...(input.mediaUrls !== undefined && input.mediaUrls.length > 0 && { mediaUrl: input.mediaUrls }),
      ...(input.contentSid !== undefined && { contentSid: input.contentSid }),
      ...(variables !== undefined && { contentVariables: variables }),
      ...(input.statusCallback !== undefined && { statusCallback: input.statusCallback }),
    });
    return { sid: m.sid, status: m.status };
  }

  async function list(input: ListMessagesInput): Promise<TwilioMessageRecord[]> {
    const limit = Math.min(Math.max(1, Math.trunc(input.limit)), MAX_LIST_LIMIT);
    const list = await messages.list({
      to: input.to,
      ...(input.from !== undefined && { from: input.from }),
      ...(input.dateSentAfter !== undefined && { dateSentAfter: input.dateSentAfter }),
      limit,
      pageSize: Math.min(limit, 100),
    });
    return list.map(toRecord);
  }

  async function fetchOne(sid: string): Promise<TwilioMessageRecord> {
    if (!/^(SM|MM)[0-9a-fA-F]{32}$/.test(sid)) throw new TypeError('Not a Message SID.');
    return toRecord(await messages(sid).fetch());
  }
}

/** Removes the client's own credential from every text a thrown error carries (message, details, more info). */
function redactOwnToken(err: unknown, own: { redact(text: string): string }): unknown {
  if (typeof err === 'string') return own.redact(err);
  if (!(err instanceof Error)) return err;
  const e = err as unknown as Record<string, unknown>;
  for (const field of ['message', 'moreInfo', 'details', 'stack'] as const) {
    const v = e[field];
    if (typeof v === 'string') e[field] = own.redact(v);
    else if (v && typeof v === 'object') {
      try {
        e[field] = JSON.parse(own.redact(JSON.stringify(v))) as unknown;
      } catch {
        e[field] = undefined;
      }
    }
  }
  return err;
}

function normaliseBase(apiBaseUrl: string): string {
  const u = new URL(apiBaseUrl);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError('apiBaseUrl must be http(s).');
  if (u.username || u.password) throw new TypeError('apiBaseUrl must not carry credentials.');
  return (u.origin + u.pathname).replace(/\/+$/, '');
}

interface SdkMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  status: string;
  direction: string;
  errorCode: number;
  dateCreated: Date;
  dateSent: Date;
}

function toRecord(m: SdkMessage): TwilioMessageRecord {
  return {
    sid: m.sid,
    to: m.to,
    from: m.from ?? null,
    body: m.body ?? '',
    status: m.status,
    direction: m.direction,
    errorCode: typeof m.errorCode === 'number' && Number.isFinite(m.errorCode) ? m.errorCode : null,
    dateCreated: validDate(m.dateCreated),
    dateSent: validDate(m.dateSent),
  };
}

function validDate(d: unknown): Date | null {
  return d instanceof Date && !Number.isNaN(d.getTime()) ? d : null;
}

/** The verdict on a failed Twilio call. */
export interface TwilioErrorClass {
  /** 429, 5xx, network failures and timeouts: try again later (after reconciling). */
  retryable: boolean;
  /** Twilio error code (21211, 63016, …), when Twilio sent one. */
  code: number | null;
  /** HTTP status, when a response arrived. */
  status: number | null;
  /** Safe for logs and operators: no credentials, phone numbers masked, bounded length. */
  message: string;
}

/** Socket-level failures (axios/Node codes) where the request may or may not have reached Twilio. */
const NETWORK_CODES = new Set([
  'ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'ERR_NETWORK', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_CANCELED',
]);

/** Classifies anything a Twilio call threw: RestException, network/timeout error, or other. */
export function classifyTwilioError(err: unknown): TwilioErrorClass {
  if (err instanceof twilio.RestException || isRestExceptionLike(err)) {
    const e = err as { status: number; code?: number; message?: string };
    const status = e.status;
    const code = typeof e.code === 'number' ? e.code : null;
    const retryable = status === 429 || status >= 500 || code === TwilioErrorCode.tooManyRequests;
    const what = code === null ? `HTTP ${status}` : `HTTP ${status}, code ${code}`;
    return { retryable, code, status, message: safe(`Twilio error (${what}): ${e.message ?? ''}`) };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    const timeout = code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(String((err as Error).message));
    return {
      retryable: true,
      code: null,
      status: null,
      message: timeout ? 'Twilio request timed out.' : `Twilio request failed (network: ${code}).`,
    };
  }
  // An answer over TWILIO_RESPONSE_MAX_BYTES was not read: like an unreadable one, the outcome is unknown.
  if (code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(String((err as Error).message))) {
    return { retryable: true, code: null, status: null, message: `Twilio sent a response larger than ${TWILIO_RESPONSE_MAX_BYTES} bytes.` };
  }
  // A 2xx whose body is not JSON: Twilio may have created the message, so treat it as unknown
  // outcome and let the caller reconcile before trying again.
  if (err instanceof SyntaxError) return { retryable: true, code: null, status: null, message: 'Twilio sent an unreadable response.' };
  const text = err instanceof Error ? err.message : String(err);
  return { retryable: false, code: null, status: null, message: safe(`Twilio call failed: ${text}`) };
}

function isRestExceptionLike(err: unknown): boolean {
  return (
    err instanceof Error &&
    typeof (err as { status?: unknown }).status === 'number' &&
    'moreInfo' in err
  );
}

function safe(text: string): string {
  // Credentials can only appear in URLs (user:pass@) or Basic headers; strip both, then mask numbers.
  const cleaned = maskPhonesIn(text.replace(/\/\/[^/\s@]+@/g, '//').replace(/Basic\s+[A-Za-z0-9+/=]+/g, 'Basic [redacted]'));
  return cleaned.length > MAX_ERROR_MESSAGE ? cleaned.slice(0, MAX_ERROR_MESSAGE - 1) + '…' : cleaned;
}

/** Form params as Twilio signs them: flat keys, repeated keys as arrays. */
export type TwilioParams = Record<string, string | string[]>;

export interface ValidateSignatureInput {
  authToken: string;
  /** The X-Twilio-Signature header; missing or empty is invalid. */
  signature: string | undefined;
  /** The URL Twilio called: PLUGBOARD_PUBLIC_BASE_URL + original path and query. */
  url: string;
  params: TwilioParams;
}

/**
 * Checks X-Twilio-Signature with the SDK's `validateRequest` (which also tries the URL with and
 * without the default port). Never throws: a malformed URL or header is simply invalid.
 */
export function validateTwilioSignature(input: ValidateSignatureInput): boolean {
  if (!input.signature || !input.authToken) return false;
  try {
    return twilio.validateRequest(input.authToken, input.signature, input.url, input.params);
  } catch {
    return false;
  }
}

/** The signature Twilio would send for this request; for tests and fakes. */
export function computeTwilioSignature(authToken: string, url: string, params: TwilioParams): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

/**
 * Parses an `application/x-www-form-urlencoded` body exactly as Twilio signed it: keys stay flat
 * (`MediaUrl0`, `a[b]` are literal names, never qs-style nesting), a repeated key becomes an array
 * in arrival order. The result has no prototype, so keys like `__proto__` are plain data.
 */
export function parseTwilioForm(rawBody: string): TwilioParams {
  const out = Object.create(null) as TwilioParams;
  for (const [key, value] of new URLSearchParams(rawBody)) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

// Splitting lives in its own module (pure text work, no SDK); re-exported so callers find it here.
export { splitForWhatsApp } from './split.ts';
