/**
 * A minimal fake of Twilio's Messages REST API (2010-04-01) for the benchmark, node:http on
 * 127.0.0.1 only, reached by the gateway through the real `twilio` SDK
 * (PLUGBOARD_TWILIO_API_BASE_URL). JSON shapes as Twilio's (and test/fakes/twilio-api.ts).
 *
 *   POST /2010-04-01/Accounts/{sid}/Messages.json       create → 201, the message resource
 *                                                       (`SM` + 32 hex, status "queued")
 *   GET  /2010-04-01/Accounts/{sid}/Messages.json       list (To/From filters, PageSize) → a page
 *   GET  /2010-04-01/Accounts/{sid}/Messages/{sid}.json fetch
 *   GET  /__bench/stats     {created, listed, fetched, rejected, firstCreatedAt, lastCreatedAt, pid}
 *                           (epoch ms, µs precision) since the last reset
 *   GET  /__bench/replies   {replies: [[to, createdAt, body], …]} since the last reset
 *   POST /__bench/reset     clears counters and recorded replies (stored messages stay listable)
 *
 * HTTP Basic auth must name the account of the path; with `--account SID:TOKEN` the token is
 * checked too (401 otherwise, Twilio's error shape). Run standalone:
 * `node bench/fake-twilio.ts [--port 0] [--account AC…:token]`; prints `{"ready":true,"port":…}`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

const MAX_STORED = 200_000;

interface Stored {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  numMedia: number;
  status: string;
  created: Date;
}

function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function resource(m: Stored): Record<string, unknown> {
  const base = `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}`;
  return {
    account_sid: m.accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: rfc2822(m.created),
    date_sent: rfc2822(m.created),
    date_updated: rfc2822(m.created),
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: String(m.numMedia),
    num_segments: '1',
    price: null,
    price_unit: null,
    sid: m.sid,
    status: m.status,
    subresource_uris: { media: `${base}/Media.json`, feedback: `${base}/Feedback.json` },
    to: m.to,
    uri: `${base}.json`,
  };
}

export interface FakeTwilio {
  port: number;
  close(): Promise<void>;
}

export async function startFakeTwilio(opts: { host?: string; port?: number; accounts?: Record<string, string> } = {}): Promise<FakeTwilio> {
  const accounts = opts.accounts ?? {};
  const messages: Stored[] = [];
  let stats = { created: 0, listed: 0, fetched: 0, rejected: 0, firstCreatedAt: 0, lastCreatedAt: 0 };
  let replies: [string, number, string][] = [];

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'twilio-request-id': `RQ${crypto.randomBytes(16).toString('hex')}`,
      ...(status === 401 && { 'www-authenticate': 'Basic realm="Twilio API"' }),
    });
    res.end(text);
  }

  function error(res: http.ServerResponse, status: number, code: number, message: string): void {
    stats.rejected++;
    send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  }

  function authorised(req: http.IncomingMessage, account: string): boolean {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = i === -1 ? decoded : decoded.slice(0, i);
    if (user !== account) return false;
    const known = accounts[account];
    return known === undefined || decoded.slice(i + 1) === known;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      const p = url.pathname;
      if (p === '/__bench/stats' && req.method === 'GET') return send(res, 200, { ...stats, stored: messages.length, pid: process.pid });
      if (p === '/__bench/replies' && req.method === 'GET') return send(res, 200, { replies });
      if (p === '/__bench/reset' && req.method === 'POST') {
        stats = { created: 0, listed: 0, fetched: 0, rejected: 0, firstCreatedAt: 0, lastCreatedAt: 0 };
        replies = [];
        return send(res, 200, { ok: true });
      }
      const list = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(p);
      const one = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\.json$/.exec(p);
      if (!list && !one) return error(res, 404, 20404, `The requested resource ${p} was not found`);
      const account = (list ?? one)![1];
      if (!authorised(req, account)) return error(res, 401, 20003, 'Authenticate');
      if (list && req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const to = form.get('To');
        const from = form.get('From');
        const mg = form.get('MessagingServiceSid');
        if (!to) return error(res, 400, 21604, "A 'To' phone number is required.");
        if (!from && !mg) return error(res, 400, 21603, "A 'From' phone number is required.");
        if (!form.get('Body') && !form.get('MediaUrl') && !form.get('ContentSid')) return error(res, 400, 21602, 'Message body is required.');
        const now = performance.timeOrigin + performance.now();
        const m: Stored = {
          sid: `SM${crypto.randomBytes(16).toString('hex')}`,
          accountSid: account,
          to,
          from,
          messagingServiceSid: mg,
          body: form.get('Body') ?? '',
          numMedia: form.getAll('MediaUrl').length,
          status: 'queued',
          created: new Date(now),
        };
        if (messages.length < MAX_STORED) messages.push(m);
        stats.created++;
        if (!stats.firstCreatedAt) stats.firstCreatedAt = now;
        stats.lastCreatedAt = now;
        if (replies.length < MAX_STORED) replies.push([to, now, m.body]);
        return send(res, 201, resource(m));
      }
      if (list && req.method === 'GET') {
        stats.listed++;
        const q = url.searchParams;
        const pageSize = Math.min(1000, Math.max(1, Number(q.get('PageSize') ?? 50) || 50));
        const rows = messages
          .filter((m) => m.accountSid === account && (!q.has('To') || m.to === q.get('To')) && (!q.has('From') || m.from === q.get('From')))
          .reverse()
          .slice(0, pageSize);
        const uri = `${p}?${q}`;
        return send(res, 200, {
          end: Math.max(rows.length - 1, 0),
          first_page_uri: uri,
          next_page_uri: null,
          page: 0,
          page_size: pageSize,
          previous_page_uri: null,
          start: 0,
          uri,
          messages: rows.map(resource),
        });
      }
      if (one && req.method === 'GET') {
        stats.fetched++;
        const m = messages.find((x) => x.sid === one[2] && x.accountSid === account);
        if (!m) return error(res, 404, 20404, `The requested resource ${p} was not found`);
        return send(res, 200, resource(m));
      }
      return error(res, 405, 20004, 'Method not allowed');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      account: { type: 'string', multiple: true, default: [] },
    },
  });
  const accounts: Record<string, string> = {};
  for (const a of values.account ?? []) {
    const i = a.indexOf(':');
    if (i > 0) accounts[a.slice(0, i)] = a.slice(i + 1);
  }
  const srv = await startFakeTwilio({ host: values.host, port: Number(values.port), accounts });
  process.stdout.write(`${JSON.stringify({ ready: true, name: 'fake-twilio', pid: process.pid, port: srv.port })}\n`);
  const stop = () => void srv.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
