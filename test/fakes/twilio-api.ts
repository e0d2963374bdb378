/**
 * A loopback fake of Twilio's Messages REST API (2010-04-01) for tests, reached by the real SDK.
 *
 * It accepts what Twilio accepts per Twilio's OpenAPI description (form-encoded create with the
 * documented parameters, typed and patterned; HTTP Basic auth; list with To/From/DateSent filters
 * and paging; fetch) and answers in Twilio's JSON shapes, including `{code,message,more_info,
 * status}` errors. Unknown parameters are ignored, as Twilio does (warning 20001). `failNext()`
 * scripts faults: an HTTP error (with `echoCredentials`, its message repeats the Authorization header
 * and the password it carries, as a careless proxy would), a hang, a dropped connection, optionally
 * after the message was stored ("sent, but the response was lost"), or a create that answers with
 * the SID of an earlier message (`reuseSid`, a broken Twilio-compatible server).
 * Binds 127.0.0.1 only; must never reach the network.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dateParam, intParam, TwilioError, validateCreate, type Form } from './twilio-api-validation.ts';

export { CREATE_PARAMS, type ParamRule } from './twilio-api-validation.ts';

const API = '/2010-04-01';
const MAX_BODY_BYTES = 1024 * 1024;

/** A message as the fake keeps it; `toTwilioJson()` renders Twilio's resource shape. */
export interface StoredMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  mediaUrls: string[];
  contentSid: string | null;
  contentVariables: string | null;
  statusCallback: string | null;
  status: string;
  errorCode: number | null;
  dateCreated: Date;
  dateSent: Date | null;
  dateUpdated: Date;
  /** The form exactly as received. */
  form: Form;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  form: Form;
}

type Match = 'any' | 'create' | 'list' | 'fetch';
/** A scripted fault for the next matching request. `afterCreate` stores the message first. */
export type FailSpec = { match?: Match; afterCreate?: boolean } & (
  | { status: number; code?: number; message?: string; echoCredentials?: boolean }
  | { hang: true }
  | { drop: true }
  /** The create succeeds (message stored) but answers with the SID of the newest earlier message. */
  | { reuseSid: true }
);

export interface FakeTwilioOptions {
  /** AccountSid → AuthToken; default: one random account. */
  accounts?: Record<string, string>;
  now?: () => Date;
}

export interface FakeTwilio extends AsyncDisposable {
  origin: string;
  /** The first (default) account's credentials. */
  accountSid: string;
  authToken: string;
  messages: StoredMessage[];
  requests: RecordedRequest[];
  failNext(spec: FailSpec): void;
  /** Moves a stored message to another status (as Twilio would over time). */
  setStatus(sid: string, status: string, errorCode?: number | null): void;
  close(): Promise<void>;
}

/** Random SID with a prefix: `SM` + 32 hex digits. */
export function fakeSid(prefix: string): string {
  return prefix + crypto.randomBytes(16).toString('hex');
}

/** Twilio's RFC 2822 date form: `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

/** The message resource as Twilio's JSON has it. */
export function toTwilioJson(m: StoredMessage): Record<string, unknown> {
  const uri = `${API}/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
  const whatsapp = m.to.startsWith('whatsapp:');
  return {
    account_sid: m.accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: m.dateSent ? rfc2822(m.dateSent) : null,
    date_updated: rfc2822(m.dateUpdated),
    direction: 'outbound-api',
    error_code: m.errorCode,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.mediaUrls.length),
    num_segments: String(whatsapp || m.body.length <= 160 ? 1 : Math.ceil(m.body.length / 153)),
    price: null,
    price_unit: null,
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `${API}/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json`,
      feedback: `${API}/Accounts/${m.accountSid}/Messages/${m.sid}/Feedback.json`,
    },
    to: m.to,
    uri,
  };
}

/** Starts the fake on 127.0.0.1 with a random port. */
export async function startFakeTwilio(opts: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const accounts = opts.accounts ?? { [fakeSid('AC')]: crypto.randomBytes(16).toString('hex') };
  const [accountSid, authToken] = Object.entries(accounts)[0];
  const now = opts.now ?? (() => new Date());
  const messages: StoredMessage[] = [];
  const requests: RecordedRequest[] = [];
  const faults: FailSpec[] = [];

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
      const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const form = isForm ? parseForm(Buffer.concat(chunks).toString('utf8')) : {};
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, form });
      try {
        handle(req, res, url, form);
      } catch (err) {
        const e = err instanceof TwilioError ? err : new TwilioError(500, 20500, 'Internal Server Error');
        sendJson(res, e.status, { code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status });
      }
    });
  });

  function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, form: Form): void {
    const list = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    const one = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/.exec(url.pathname);
    const op: Match | null = list ? (req.method === 'POST' ? 'create' : 'list') : one ? 'fetch' : null;
    const faultAt = faults.findIndex((f) => (f.match ?? 'any') === 'any' || f.match === op);
    const fault = faultAt === -1 ? undefined : faults.splice(faultAt, 1)[0];
    if (fault && !(fault.afterCreate && op === 'create') && !('reuseSid' in fault)) return applyFault(req, res, fault);

    if (!op) throw new TwilioError(404, 20404, `The requested resource ${url.pathname} was not found`);
    const account = (list ?? one)![1];
    authenticate(req, account);
    if (op === 'create') {
      const earlier = messages.at(-1);
      const m = create(account, form);
      if (fault && 'reuseSid' in fault) return sendJson(res, 201, { ...toTwilioJson(m), sid: earlier?.sid ?? m.sid });
      if (fault) return applyFault(req, res, fault);
      return sendJson(res, 201, toTwilioJson(m));
    }
    if (op === 'list' && req.method === 'GET') return sendJson(res, 200, listPage(account, url));
    if (op === 'fetch' && req.method === 'GET') {
      const m = messages.find((x) => x.sid === one![2] && x.accountSid === account);
      if (!m) throw new TwilioError(404, 20404, `The requested resource ${url.pathname} was not found`);
      return sendJson(res, 200, toTwilioJson(m));
    }
    throw new TwilioError(405, 20004, 'Method not allowed');
  }

  function applyFault(req: http.IncomingMessage, res: http.ServerResponse, f: FailSpec): void {
    if ('hang' in f) return; // never answers; close() destroys the socket
    if ('drop' in f) return void req.socket.destroy();
    if ('reuseSid' in f) return;
    const code = f.code ?? (f.status === 429 ? 20429 : f.status >= 500 ? 20500 : 21211);
    const base = f.message ?? (f.status === 429 ? 'Too Many Requests' : f.status >= 500 ? 'Internal Server Error' : `Error ${code}`);
    sendJson(res, f.status, {
      code,
      message: f.echoCredentials ? `${base} (received Authorization: ${req.headers.authorization ?? ''}; password ${basicPassword(req)})` : base,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status: f.status,
    });
  }

  function authenticate(req: http.IncomingMessage, account: string): void {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const [user, ...rest] = m ? Buffer.from(m[1], 'base64').toString('utf8').split(':') : [];
    const token = rest.join(':');
    const known = user !== undefined && Object.hasOwn(accounts, user) ? accounts[user] : undefined;
    const ok = known !== undefined && token.length === known.length && crypto.timingSafeEqual(Buffer.from(token), Buffer.from(known));
    if (!ok || user !== account) throw new TwilioError(401, 20003, 'Authenticate');
  }

  function create(account: string, form: Form): StoredMessage {
    const p = validateCreate(form);
    const at = now();
    const m: StoredMessage = {
      sid: fakeSid('SM'),
      accountSid: account,
      to: p.To as string,
      from: (p.From as string | undefined) ?? null,
      messagingServiceSid: (p.MessagingServiceSid as string | undefined) ?? null,
      body: (p.Body as string | undefined) ?? '',
      mediaUrls: (p.MediaUrl as string[] | undefined) ?? [],
      contentSid: (p.ContentSid as string | undefined) ?? null,
      contentVariables: (p.ContentVariables as string | undefined) ?? null,
      statusCallback: (p.StatusCallback as string | undefined) ?? null,
      status: 'queued',
      errorCode: null,
      dateCreated: at,
      dateSent: at,
      dateUpdated: at,
      form,
    };
    messages.push(m);
    return m;
  }

  function listPage(account: string, url: URL): Record<string, unknown> {
    const q = url.searchParams;
    const pageSize = intParam(q, 'PageSize', 50, 1, 1000);
    const page = intParam(q, 'Page', 0, 0, Number.MAX_SAFE_INTEGER);
    const token = q.get('PageToken');
    const offset = token && /^PT\d+$/.test(token) ? Number(token.slice(2)) : page * pageSize;
    const after = dateParam(q, 'DateSent>');
    const before = dateParam(q, 'DateSent<');
    const on = dateParam(q, 'DateSent');
    const rows = messages
      .filter((m) => m.accountSid === account)
      .filter((m) => !q.has('To') || m.to === q.get('To'))
      .filter((m) => !q.has('From') || m.from === q.get('From'))
      .filter((m) => after === null || (m.dateSent !== null && m.dateSent >= after))
      .filter((m) => before === null || (m.dateSent !== null && m.dateSent <= before))
      .filter((m) => on === null || (m.dateSent !== null && m.dateSent.toISOString().slice(0, 10) === on.toISOString().slice(0, 10)))
      .map((m, i) => ({ m, i }))
      .sort((a, b) => b.m.dateCreated.getTime() - a.m.dateCreated.getTime() || b.i - a.i)
      .map(({ m }) => m);
    const slice = rows.slice(offset, offset + pageSize);
    const base = new URLSearchParams([...q].filter(([k]) => k !== 'Page' && k !== 'PageToken' && k !== 'PageSize'));
    const uriFor = (p: number, tokenOffset?: number) => {
      const u = new URLSearchParams(base);
      u.set('PageSize', String(pageSize));
      u.set('Page', String(p));
      if (tokenOffset !== undefined) u.set('PageToken', `PT${tokenOffset}`);
      return `${url.pathname}?${u}`;
    };
    const pageNo = Math.floor(offset / pageSize);
    return {
      end: offset + Math.max(slice.length - 1, 0),
      first_page_uri: uriFor(0),
      next_page_uri: offset + pageSize < rows.length ? uriFor(pageNo + 1, offset + pageSize) : null,
      page: pageNo,
      page_size: pageSize,
      previous_page_uri: pageNo > 0 ? uriFor(pageNo - 1, Math.max(0, offset - pageSize)) : null,
      start: offset,
      uri: `${url.pathname}?${url.searchParams}`,
      messages: slice.map(toTwilioJson),
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };
  return {
    origin,
    accountSid,
    authToken,
    messages,
    requests,
    failNext: (spec) => void faults.push(spec),
    setStatus(sid, status, errorCode = null) {
      const m = messages.find((x) => x.sid === sid);
      if (!m) throw new Error(`No fake message ${sid}.`);
      Object.assign(m, { status, errorCode, dateUpdated: now() });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The password of a Basic Authorization header, or ''. */
function basicPassword(req: http.IncomingMessage): string {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? Buffer.from(m[1], 'base64').toString('utf8').split(':').slice(1).join(':') : '';
}

function parseForm(raw: string): Form {
  const out = Object.create(null) as Form;
  for (const [k, v] of new URLSearchParams(raw)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'twilio-request-id': fakeSid('RQ'),
    ...(status === 401 && { 'www-authenticate': 'Basic realm="Twilio API"' }),
  });
  res.end(text);
}
