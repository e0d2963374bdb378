/**
 * Plugboard plugin kit: verify that a tool call really comes from your Plugboard appliance and
 * read it. Copy this file into your plugin or import it; it needs nothing but Node's `node:crypto`
 * (Node >= 22.18 runs it as TypeScript directly; it is erasable TypeScript, so any bundler or
 * `tsc` can strip it too).
 *
 * Plugboard signs every call with the Standard Webhooks scheme: `webhook-id`, `webhook-timestamp`
 * (Unix SECONDS) and `webhook-signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.rawBody")>`.
 * The official `standardwebhooks` and `svix` libraries verify the same calls, if you prefer them.
 *
 * Verify the RAW request bytes, before any JSON parsing: a body parser that re-serialises JSON
 * breaks the signature. Keep `webhook-id`s you have handled for a few minutes and answer a repeat
 * with the first answer: Plugboard retries idempotent tools with the same id.
 *
 * This module never logs, and its errors never contain the secret or the signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Seconds a call's timestamp may be off from this machine's clock, in either direction. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** Most `v1,` entries looked at in one `webhook-signature` header (two during a secret rotation). */
const MAX_SIGNATURES = 8;

export type PlugboardRequestErrorCode =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_signature'
  | 'invalid_body'
  | 'body_too_large'
  | 'invalid_secret';

/** Why a request was refused. `status` is what to answer (401 unauthenticated, 400 malformed, 413 too large, 500 misconfigured). */
export class PlugboardRequestError extends Error {
  override name = 'PlugboardRequestError';
  readonly code: PlugboardRequestErrorCode;
  readonly status: number;
  constructor(code: PlugboardRequestErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = code === 'invalid_body' ? 400 : code === 'body_too_large' ? 413 : code === 'invalid_secret' ? 500 : 401;
  }
}

/** Where the call happens. Ids are opaque strings; `customerId` is a per-installation pseudonym, never a phone number. */
export interface PlugboardCallContext {
  organizationId: string;
  installationId: string;
  /** The WhatsApp number instance; null on the plain API path. */
  instanceId: string | null;
  customerId: string | null;
  conversationId: string | null;
  requestId: string;
}

/** A verified tool call. */
export interface PlugboardToolCall {
  /** The `webhook-id`: the same on a retry of the same call, so use it to deduplicate. */
  webhookId: string;
  /** The `webhook-timestamp`, in seconds. */
  timestamp: number;
  tool: string;
  input: Record<string, unknown>;
  /** `sandbox` while the plugin is installed for testing by its own organisation. */
  mode: 'live' | 'sandbox';
  context: PlugboardCallContext;
  /** The installation's configuration values, secrets included. */
  config: Record<string, unknown>;
  /** Platform bridge access for this call; null for now. */
  bridge: Record<string, unknown> | null;
  /** The whole parsed body, including fields newer than this kit. */
  body: Record<string, unknown>;
}

/** Node's `req.headers`, a plain record, or a fetch `Headers`. */
export type HeadersLike = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** Default 300 s. */
  toleranceSeconds?: number;
  /** The current time in SECONDS (tests); default the system clock. */
  nowSeconds?: () => number;
}

function header(headers: HeadersLike, name: string): string | null {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name);
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() !== name) continue;
    // A repeated header is ambiguous: refuse it rather than guess which copy was signed.
    return typeof value === 'string' ? value : null;
  }
  return null;
}

function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new PlugboardRequestError('invalid_secret', 'the signing secret is not whsec_ followed by base64: copy it again from Plugboard');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 24) throw new PlugboardRequestError('invalid_secret', 'the signing secret is too short: copy it again from Plugboard');
  return key;
}

/** Throws PlugboardRequestError `invalid_secret` unless `secret` is a usable `whsec_…` secret: call it at start-up. */
export function assertSigningSecret(secret: string): void {
  secretKey(secret);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isIdOrNull = (v: unknown): v is string | null => v === null || isId(v);

/** Checks the body's shape; unknown extra fields are kept (newer appliances may send more). */
function parseCall(raw: Buffer, webhookId: string, timestamp: number): PlugboardToolCall {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PlugboardRequestError('invalid_body', 'the body is not JSON');
  }
  const bad = (what: string) => new PlugboardRequestError('invalid_body', `the body's ${what}`);
  if (!isRecord(body)) throw bad('top level is not an object');
  if (!isId(body.tool)) throw bad('"tool" is not a tool name');
  if (!isRecord(body.input)) throw bad('"input" is not an object');
  if (body.mode !== 'live' && body.mode !== 'sandbox') throw bad('"mode" is not "live" or "sandbox"');
  const c = body.context;
  if (!isRecord(c) || !isId(c.organizationId) || !isId(c.installationId) || !isId(c.requestId) || !isIdOrNull(c.instanceId) || !isIdOrNull(c.customerId) || !isIdOrNull(c.conversationId)) {
    throw bad('"context" lacks organizationId, installationId, instanceId, customerId, conversationId or requestId');
  }
  const config = body.config ?? {};
  if (!isRecord(config)) throw bad('"config" is not an object');
  const bridge = body.bridge ?? null;
  if (bridge !== null && !isRecord(bridge)) throw bad('"bridge" is not an object or null');
  return {
    webhookId,
    timestamp,
    tool: body.tool,
    input: body.input,
    mode: body.mode,
    context: { organizationId: c.organizationId, installationId: c.installationId, instanceId: c.instanceId, customerId: c.customerId, conversationId: c.conversationId, requestId: c.requestId },
    config,
    bridge,
    body,
  };
}

/**
 * Verifies a Plugboard tool call and parses it. `secret` is your plugin's `whsec_…` signing secret
 * (or a list, if you hold an old and a new one); `rawBody` is the exact bytes received.
 * Throws PlugboardRequestError: answer `err.status` with `{"error":{"message": err.message}}`.
 */
export function verifyPlugboardRequest(secret: string | readonly string[], headers: HeadersLike, rawBody: Uint8Array | string, opts: VerifyOptions = {}): PlugboardToolCall {
  const keys = (typeof secret === 'string' ? [secret] : [...secret]).map(secretKey);
  if (keys.length === 0) throw new PlugboardRequestError('invalid_secret', 'no signing secret given');
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !ts || !signatures) throw new PlugboardRequestError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  if (!/^\d{1,15}$/.test(ts)) throw new PlugboardRequestError('invalid_timestamp', 'webhook-timestamp is not a number of seconds');
  const timestamp = Number(ts);
  const now = Math.floor(opts.nowSeconds ? opts.nowSeconds() : Date.now() / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - timestamp > tolerance) throw new PlugboardRequestError('timestamp_too_old', 'webhook-timestamp is too old (check this machine\'s clock, or a replayed call)');
  if (timestamp - now > tolerance) throw new PlugboardRequestError('timestamp_too_new', 'webhook-timestamp is in the future (check this machine\'s clock)');
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const expected = keys.map((key) => Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64')}`));
  const offered = signatures.split(' ').filter((s) => s !== '').slice(0, MAX_SIGNATURES).map((s) => Buffer.from(s));
  // Constant-time per comparison; lengths are public (every v1 signature has the same length).
  const match = offered.some((sig) => expected.some((exp) => sig.length === exp.length && timingSafeEqual(sig, exp)));
  if (!match) throw new PlugboardRequestError('invalid_signature', 'no valid signature: the call was not signed with this plugin\'s secret, or the body was changed');
  return parseCall(body, id, timestamp);
}

/** Reads a Node request's raw body; more than `maxBytes` throws PlugboardRequestError `body_too_large` (413). */
export async function readRawBody(req: AsyncIterable<Uint8Array | string>, maxBytes = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += buf.length;
    if (size > maxBytes) throw new PlugboardRequestError('body_too_large', `the body is larger than ${maxBytes} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
