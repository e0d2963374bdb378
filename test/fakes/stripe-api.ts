/**
 * A loopback fake of the Stripe REST API (v1) for tests, reached by the real `stripe` SDK through
 * its own options: `{ host: '127.0.0.1', port, protocol: 'http' }` (see `fake.sdkOptions`).
 *
 * What a payment-link flow needs: Checkout Sessions (create with `line_items[n][price_data]`,
 * retrieve, list by `payment_intent`, expire), PaymentIntent retrieve, Refunds (create, retrieve),
 * `expand[]` for `payment_intent`/`latest_charge`. Bearer auth against the configured secret keys
 * (one account each; objects are visible only to their account). Stripe's idempotency: the first
 * response to an `Idempotency-Key` (per account) is replayed with `Idempotent-Replayed: true`; the
 * same key with other parameters or another endpoint is a 400 `idempotency_error`; auth and
 * parameter-validation failures are not saved. Every request is recorded. `failNext()` scripts
 * faults (HTTP errors in Stripe's shape, dropped connections, hangs), optionally after the request
 * was executed ("done, but the answer was lost"). Test controls play the payer (`markPaid`, …).
 *
 * Binds 127.0.0.1 only; must never reach the network. Webhooks: see `stripe-webhooks.ts`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expandParam, FakeStripeError, fingerprint, parseStripeForm, type FormObject, type StripeErrorType } from './stripe-api-form.ts';
import { stripeId } from './stripe-api-objects.ts';
import { createStripeState, type StripeState } from './stripe-api-state.ts';

export type { RefundStatus } from './stripe-api-objects.ts';

const MAX_BODY_BYTES = 256 * 1024;
/** Stripe keeps idempotency keys at least 24 hours; older ones start a new request. */
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_IDEMPOTENCY_KEY = 255;

export type StripeOperation =
  | 'create_session' | 'retrieve_session' | 'list_sessions' | 'expire_session'
  | 'retrieve_payment_intent' | 'create_refund' | 'retrieve_refund';

/** A scripted fault for the next matching request(s). `afterExecute` runs the request (and saves its idempotent result) first. */
export type StripeFault = { match?: StripeOperation | 'any'; afterExecute?: boolean } & (
  | { status: number; type?: StripeErrorType; code?: string; message?: string; shouldRetry?: boolean }
  | { drop: true }
  | { hang: true }
);

export interface RecordedStripeRequest {
  method: string;
  path: string;
  operation: StripeOperation | null;
  form: FormObject;
  idempotencyKey: string | null;
  stripeVersion: string | null;
  /** The account whose key authenticated the request, or null. */
  account: string | null;
  /** Whether the SDK sent X-Stripe-Client-Telemetry (telemetry on). */
  telemetry: boolean;
  userAgent: string | null;
  /** The Authorization header as sent (tests may check it carries no other secret). */
  authorization: string | null;
  /** Filled in when the response is sent; null for dropped or hung requests. */
  status: number | null;
  replayed: boolean;
}

export interface FakeStripeAccount {
  id: string;
  secretKey: string;
}

export interface FakeStripeOptions {
  /** Accounts and their secret keys; default one account with a random `sk_test_` key. */
  accounts?: Array<Partial<FakeStripeAccount>>;
  now?: () => Date;
}

export interface FakeStripe extends AsyncDisposable {
  origin: string;
  /** What the SDK needs to reach the fake: `new Stripe(key, { ...fake.sdkOptions })`. */
  sdkOptions: { host: string; port: number; protocol: 'http' };
  /** The first (default) account. */
  accountId: string;
  secretKey: string;
  accounts: FakeStripeAccount[];
  requests: RecordedStripeRequest[];
  state: StripeState;
  /** Scripts `times` consecutive faults for matching requests. */
  failNext(fault: StripeFault, times?: number): void;
  markPaid(sessionId: string): void;
  markProcessing(sessionId: string): void;
  markFailed(sessionId: string): void;
  markExpired(sessionId: string): void;
  close(): Promise<void>;
}

interface Saved {
  fingerprint: string;
  path: string;
  status: number;
  body: string;
  requestId: string;
  at: number;
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startFakeStripe(opts: FakeStripeOptions = {}): Promise<FakeStripe> {
  const now = opts.now ?? (() => new Date());
  const accounts: FakeStripeAccount[] = (opts.accounts ?? [{}]).map((a) => ({
    id: a.id ?? stripeId('acct_', 16),
    secretKey: a.secretKey ?? stripeId('sk_test_', 48),
  }));
  const state = createStripeState(now);
  const requests: RecordedStripeRequest[] = [];
  const faults: StripeFault[] = [];
  const saved = new Map<string, Saved>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      const rec: RecordedStripeRequest = {
        method: req.method ?? '',
        path: url.pathname,
        operation: route(req.method ?? '', url.pathname)?.op ?? null,
        form: {},
        idempotencyKey: header(req, 'idempotency-key'),
        stripeVersion: header(req, 'stripe-version'),
        account: accountOf(req)?.id ?? null,
        telemetry: header(req, 'x-stripe-client-telemetry') !== null,
        userAgent: header(req, 'user-agent'),
        authorization: header(req, 'authorization'),
        status: null,
        replayed: false,
      };
      requests.push(rec);
      const send = (r: Reply) => {
        rec.status = r.status;
        rec.replayed = r.headers['idempotent-replayed'] === 'true';
        const requestId = r.headers['request-id'] ?? stripeId('req_', 14);
        res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(r.body), ...r.headers, 'request-id': requestId });
        res.end(r.body);
      };
      const faultAt = faults.findIndex((f) => (f.match ?? 'any') === 'any' || f.match === rec.operation);
      const fault = faultAt === -1 ? undefined : faults.splice(faultAt, 1)[0];
      if (fault && !fault.afterExecute) return applyFault(req, fault, send);
      let reply: Reply;
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
        rec.form = parseStripeForm(req.method === 'GET' || req.method === 'DELETE' ? url.search.slice(1) : isForm ? raw : '');
        reply = handle(rec);
      } catch (err) {
        reply = errorReply(err);
      }
      if (fault) return applyFault(req, fault, send);
      send(reply);
    });
  });

  function handle(rec: RecordedStripeRequest): Reply {
    if (rec.operation === null) {
      throw new FakeStripeError({ status: 404, type: 'invalid_request_error', message: `Unrecognized request URL (${rec.method}: ${rec.path}).`, stored: false });
    }
    const account = rec.account;
    if (account === null) throw unauthorized(rec.authorization);
    const key = rec.idempotencyKey;
    if (rec.method !== 'POST' || key === null) return execute(account, rec);
    if (key.length > MAX_IDEMPOTENCY_KEY) {
      throw new FakeStripeError({ status: 400, type: 'invalid_request_error', message: `Invalid idempotency key: must be at most ${MAX_IDEMPOTENCY_KEY} characters.`, stored: false });
    }
    const slot = `${account}\u0000${key}`;
    const fp = fingerprint(rec.method, rec.path, rec.form);
    const prior = saved.get(slot);
    if (prior && now().getTime() - prior.at < IDEMPOTENCY_TTL_MS) {
      if (prior.path !== rec.path) {
        throw idempotencyError(`Keys for idempotent requests can only be used for the same endpoint they were first used for ('${rec.path}' vs '${prior.path}'). Try using a key other than '${key}' if you meant to execute a different request.`);
      }
      if (prior.fingerprint !== fp) {
        throw idempotencyError(`Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
      }
      return { status: prior.status, body: prior.body, headers: { 'idempotent-replayed': 'true', 'idempotency-key': key, 'request-id': prior.requestId } };
    }
    let reply: Reply;
    try {
      reply = execute(account, rec);
    } catch (err) {
      if (err instanceof FakeStripeError && !err.stored) throw err;
      reply = errorReply(err);
    }
    const requestId = stripeId('req_', 14);
    saved.set(slot, { fingerprint: fp, path: rec.path, status: reply.status, body: reply.body, requestId, at: now().getTime() });
    return { ...reply, headers: { ...reply.headers, 'idempotency-key': key, 'request-id': requestId } };
  }

  function execute(account: string, rec: RecordedStripeRequest): Reply {
    const id = route(rec.method, rec.path)?.id ?? '';
    const expand = () => expandParam(rec.form);
    const ok = (status: number, body: unknown): Reply => ({ status, body: JSON.stringify(body), headers: {} });
    switch (rec.operation) {
      case 'create_session': return ok(200, state.createSession(account, rec.form));
      case 'retrieve_session': return ok(200, state.retrieveSession(account, id, expand()));
      case 'list_sessions': return ok(200, state.listSessions(account, rec.form));
      case 'expire_session': return ok(200, state.expireSession(account, id, rec.form));
      case 'retrieve_payment_intent': return ok(200, state.retrievePaymentIntent(account, id, expand()));
      case 'create_refund': return ok(200, state.createRefund(account, rec.form));
      case 'retrieve_refund': return ok(200, state.retrieveRefund(account, id));
      default: throw new Error('unreachable');
    }
  }

  function accountOf(req: http.IncomingMessage): FakeStripeAccount | undefined {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const given = Buffer.from(m[1]);
    return accounts.find((a) => a.secretKey.length === given.length && crypto.timingSafeEqual(Buffer.from(a.secretKey), given));
  }


  function applyFault(req: http.IncomingMessage, f: StripeFault, send: (r: Reply) => void): void {
    if ('hang' in f) return; // never answers; close() destroys the socket
    if ('drop' in f) return void req.socket.destroy();
    const type: StripeErrorType = f.type ?? (f.status === 402 ? 'card_error' : f.status >= 500 ? 'api_error' : 'invalid_request_error');
    const message = f.message ?? (f.status === 429 ? 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.' : f.status >= 500 ? 'An unknown error occurred' : `Scripted error ${f.status}`);
    const code = f.code ?? (f.status === 429 ? 'rate_limit' : f.status === 402 ? 'card_declined' : undefined);
    const err = new FakeStripeError({ status: f.status, type, message, code });
    send({ status: f.status, body: JSON.stringify(err.toJson()), headers: f.shouldRetry === undefined ? {} : { 'stripe-should-retry': String(f.shouldRetry) } });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };
  return {
    origin: `http://127.0.0.1:${port}`,
    sdkOptions: { host: '127.0.0.1', port, protocol: 'http' },
    accountId: accounts[0].id,
    secretKey: accounts[0].secretKey,
    accounts,
    requests,
    state,
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    markPaid: (id) => state.markPaid(id),
    markProcessing: (id) => state.markProcessing(id),
    markFailed: (id) => state.markFailed(id),
    markExpired: (id) => state.markExpired(id),
    close,
    [Symbol.asyncDispose]: close,
  };
}

const ROUTES: Array<[string, RegExp, StripeOperation]> = [
  ['POST', /^\/v1\/checkout\/sessions$/, 'create_session'],
  ['GET', /^\/v1\/checkout\/sessions$/, 'list_sessions'],
  ['GET', /^\/v1\/checkout\/sessions\/([A-Za-z0-9_]{1,255})$/, 'retrieve_session'],
  ['POST', /^\/v1\/checkout\/sessions\/([A-Za-z0-9_]{1,255})\/expire$/, 'expire_session'],
  ['GET', /^\/v1\/payment_intents\/([A-Za-z0-9_]{1,255})$/, 'retrieve_payment_intent'],
  ['POST', /^\/v1\/refunds$/, 'create_refund'],
  ['GET', /^\/v1\/refunds\/([A-Za-z0-9_]{1,255})$/, 'retrieve_refund'],
];

function route(method: string, path: string): { op: StripeOperation; id: string } | null {
  for (const [m, re, op] of ROUTES) {
    const hit = m === method ? re.exec(path) : null;
    if (hit) return { op, id: hit[1] ?? '' };
  }
  return null;
}

/** Stripe's 401s: it never echoes a key whole, only its prefix and last four characters. */
function unauthorized(authorization: string | null): FakeStripeError {
  const key = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  const message = key === undefined
    ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
    : `Invalid API Key provided: ${key.slice(0, key.indexOf('_', 3) + 1)}${'*'.repeat(Math.max(0, key.length - key.indexOf('_', 3) - 5))}${key.slice(-4)}`;
  return new FakeStripeError({ status: 401, type: 'invalid_request_error', message, stored: false, headers: { 'www-authenticate': 'Bearer realm="Stripe"' } });
}

function header(req: http.IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : null;
}

function idempotencyError(message: string): FakeStripeError {
  return new FakeStripeError({ status: 400, type: 'idempotency_error', message, stored: false });
}

function errorReply(err: unknown): Reply {
  const e = err instanceof FakeStripeError ? err : new FakeStripeError({ status: 500, type: 'api_error', message: 'An unknown error occurred' });
  return { status: e.status, body: JSON.stringify(e.toJson()), headers: e.headers };
}
