/**
 * WhatsApp suite: webhook acknowledgement latency under a burst, against `/healthz` in the same
 * run, and end-to-end replies per second with the fakes.
 *
 * Processes: the fake upstream (the model), bench/fake-twilio.ts (Twilio's Messages API, reached by
 * the gateway's `twilio` SDK through PLUGBOARD_TWILIO_API_BASE_URL), the gateway with its reply
 * worker on (defaults otherwise), and the load generator. A WhatsApp instance is created through
 * the control API; it has no plugin grants, so every reply is one plain model turn.
 *
 * A round is two bursts of N requests at C connections, in an order that alternates between
 * rounds: N `GET /healthz` (the cheapest route: the floor of the HTTP stack), and N signed inbound
 * webhooks (each a different customer; `X-Twilio-Signature` computed here). After the webhook
 * burst the suite waits (bounded) until the fake Twilio has received all N replies: end-to-end
 * time = last reply received − first webhook sent. The next burst starts only then, so /healthz is
 * measured on an idle gateway while the webhooks compete with the replies they cause, as in
 * production. The issue sets no goal here: the figures are reported, not judged.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentPieces } from '../lib/fixtures.ts';
import { controlApi, gatewayLogSummary, sleep, startGateway, type GatewayStart } from '../lib/gateway.ts';
import type { BurstRequest, BurstResult } from '../lib/loadgen-types.ts';
import { machineNoise } from '../lib/noise.ts';
import { freePort, spawnReadyServer, tail } from '../lib/proc.ts';
import { fmtInt, fmtMs, fmtRatio, withRange } from '../lib/report.ts';
import { median, range, summarize, type Distribution } from '../lib/stats.ts';
import type { Section, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FAKE_UPSTREAM = path.join(HERE, '..', 'fake-upstream.ts');
const FAKE_TWILIO = path.join(HERE, '..', 'fake-twilio.ts');

const SENDER = 'whatsapp:+14155550100';
const EMPTY_TWIML = '<Response></Response>';
/** Longest wait for the replies of one burst: generous, but bounded. */
const REPLY_WAIT_BASE_MS = 30_000;
const REPLY_WAIT_PER_MESSAGE_MS = 40;
/** Webhooks (and replies) of the unmeasured priming burst. */
const PRIME_MESSAGES = 100;

/** Customer k's WhatsApp address: +1 415 5xx xxxx, distinct for k < 10,000,000. */
function customer(k: number): string {
  return `whatsapp:+1415${String(5_000_000 + (k % 5_000_000)).padStart(7, '0')}`;
}

/** X-Twilio-Signature: base64 HMAC-SHA1(authToken, url + every key+value, keys sorted). Twilio's documented algorithm. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  return crypto.createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The form Twilio posts for an inbound WhatsApp text. */
function inboundForm(accountSid: string, from: string, body: string): Record<string, string> {
  const sid = `SM${crypto.randomBytes(16).toString('hex')}`;
  return {
    MessageSid: sid, SmsMessageSid: sid, SmsSid: sid, AccountSid: accountSid, From: from, To: SENDER,
    Body: body, NumMedia: '0', NumSegments: '1', SmsStatus: 'received', ApiVersion: '2010-04-01',
    WaId: from.replace(/^whatsapp:\+/, ''), ProfileName: 'Bench Customer', MessageType: 'text', ChannelMetadata: '{"type":"whatsapp"}',
  };
}

function signedWebhook(webhookUrl: string, authToken: string, params: Record<string, string>): BurstRequest {
  const u = new URL(webhookUrl);
  return {
    method: 'POST',
    path: u.pathname + u.search,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'user-agent': 'TwilioProxy/1.1',
      'i-twilio-idempotency-token': crypto.randomUUID(),
      'x-twilio-signature': twilioSignature(authToken, webhookUrl, params),
    },
    body: new URLSearchParams(params).toString(),
  };
}

/** utime+stime of a process, ms (NaN when unreadable). */
function cpuMs(pid: number, ticksPerSecond: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

interface TwilioStats {
  created: number;
  listed: number;
  fetched: number;
  rejected: number;
  firstCreatedAt: number;
  lastCreatedAt: number;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

function burstErrors(label: string, r: BurstResult): string | undefined {
  const e = r.errors;
  const total = e.non2xx + e.network + e.incomplete;
  if (!total) return undefined;
  const statuses = Object.entries(e.statusCounts).map(([s, n]) => `${n}×${s}`).join(', ');
  return `${label}: ${e.non2xx} unexpected statuses${statuses ? ` (${statuses})` : ''}, ${e.network} network errors, ${e.incomplete} unexpected bodies; e.g. ${e.samples.slice(0, 2).join(' | ')}`;
}

interface Round {
  healthz: BurstResult;
  webhook: BurstResult;
  /** Replies received by the fake Twilio for this burst, and when the last arrived. */
  replies: number;
  endToEndMs: number;
  repliesPerSecond: number;
  /** Per message: reply received − its webhook sent, ms. */
  replyLatency: Distribution;
  /** Gateway CPU from the first webhook to the last reply, per message (ack + reply), ms. */
  gatewayCpuMsPerMessage: number;
  upstreamCalls: number;
  twilio: TwilioStats;
}

function skipped(reason: string): SuiteResult {
  return { name: 'whatsapp', title: 'WhatsApp: webhook acknowledgement under a burst, end-to-end replies', settings: [['skipped', reason]], sections: [], goals: [], failures: [], data: { skipped: reason } };
}

export const whatsappSuite: Suite = {
  name: 'whatsapp',
  description: 'signed Twilio webhook bursts: ack latency vs /healthz in the same run, end-to-end replies/s through fake upstream + fake Twilio',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const o = ctx.options;
    const w = o.whatsapp;
    if (o.targetUrl) return skipped('needs a gateway the harness starts and configures (not --target-url)');
    if (!o.targets.includes('gateway')) return skipped('--targets has no gateway');
    const stops: (() => Promise<void>)[] = [];
    const failures: string[] = [];
    const settings: [string, string][] = [];
    let gw: GatewayStart | undefined;
    let completed = false;
    try {
      // ── processes ───────────────────────────────────────────────────────────
      const accountSid = `AC${crypto.randomBytes(16).toString('hex')}`;
      const authToken = crypto.randomBytes(16).toString('hex');
      const upH = await spawnReadyServer('fake-upstream', FAKE_UPSTREAM, ['--pieces', String(o.pieces)]);
      stops.push(() => upH.stop());
      const upOrigin = `http://127.0.0.1:${upH.port}`;
      const twH = await spawnReadyServer('fake-twilio', FAKE_TWILIO, ['--account', `${accountSid}:${authToken}`]);
      stops.push(() => twH.stop());
      const twOrigin = `http://127.0.0.1:${twH.port}`;
      settings.push(['upstream', `bench/fake-upstream.ts, pid ${upH.pid}, ${upOrigin}/v1 (a fixed short answer)`]);
      settings.push(['Twilio', `bench/fake-twilio.ts, pid ${twH.pid}, ${twOrigin} (Messages API: create → 201 queued; Basic auth checked)`]);

      ctx.log('whatsapp: starting the gateway (worker on) and creating a WhatsApp instance…');
      const port = await freePort();
      gw = await startGateway(ctx, upOrigin, {
        port,
        env: { PLUGBOARD_TWILIO_API_BASE_URL: twOrigin, PLUGBOARD_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, PLUGBOARD_WORKER_ENABLED: 'true' },
        allowExternal: false,
      });
      const handle = gw.handle!;
      stops.push(() => handle.stop());
      settings.push(...gw.settings);
      const org = gw.org!;
      const inst = await controlApi<{ id: string; webhookUrl: string }>(gw.target.origin, org, 'POST', `/organizations/${encodeURIComponent(org.id)}/whatsapp-instances`, {
        name: 'bench',
        sender: SENDER,
        twilioAccountSid: accountSid,
        twilioAuthToken: authToken,
        systemPrompt: 'You are a helpful support assistant. Answer briefly.',
        model: 'gpt-test',
      });
      if (!inst.id || !inst.webhookUrl) throw new Error(`the instance answer has no id/webhookUrl: ${JSON.stringify(inst)}`);
      settings.push(['instance', `${inst.id}, sender ${SENDER}, no plugin grants (each reply = one model turn + one Twilio send); webhook ${inst.webhookUrl}`]);
      const expectedReply = contentPieces(o.pieces).join('').trim();
      const healthzUrl = `${gw.target.origin}/healthz`;
      const wait = (ms: number) => sleep(ms);

      /** Waits until the fake Twilio has `n` messages since its reset; bounded. */
      const waitForReplies = async (n: number, timeoutMs: number): Promise<TwilioStats> => {
        const deadline = Date.now() + timeoutMs;
        let s = await getJson<TwilioStats>(`${twOrigin}/__bench/stats`);
        while (s.created < n && Date.now() < deadline) {
          const ended = handle.exitDescription();
          if (ended) throw new Error(`the gateway ${ended}; last log lines:\n${tail(handle.logFile!, 20)}`);
          await wait(25);
          s = await getJson<TwilioStats>(`${twOrigin}/__bench/stats`);
        }
        return s;
      };

      // ── preflight: one webhook, its reply ─────────────────────────────────
      {
        await getJson(`${twOrigin}/__bench/reset`, { method: 'POST' });
        const req = signedWebhook(inst.webhookUrl, authToken, inboundForm(accountSid, customer(9_999_999), 'Hello, is my order on its way?'));
        const res = await fetch(`${gw.target.origin}${req.path}`, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(15_000) });
        const text = await res.text();
        if (res.status !== 200 || !text.includes(EMPTY_TWIML)) throw new Error(`preflight: the webhook was answered HTTP ${res.status}: ${text.slice(0, 400)}`);
        const s = await waitForReplies(1, 20_000);
        if (s.created < 1) throw new Error(`preflight: no reply reached the fake Twilio within 20 s; last gateway log lines:\n${tail(handle.logFile!, 15)}`);
        const { replies } = await getJson<{ replies: [string, number, string][] }>(`${twOrigin}/__bench/replies`);
        if (replies[0]?.[2].trim() !== expectedReply) throw new Error(`preflight: the reply was ${JSON.stringify(replies[0]?.[2])}, expected ${JSON.stringify(expectedReply)}`);
      }
      ctx.log('whatsapp: preflight OK (webhook acknowledged, reply sent through the fake Twilio)');
      // Priming, not measured: a small burst and its replies, so round 1 does not run the
      // webhook and reply paths cold (the JIT) while /healthz is trivially warm.
      const primeN = Math.min(PRIME_MESSAGES, w.messages);
      {
        await getJson(`${twOrigin}/__bench/reset`, { method: 'POST' });
        const res = await ctx.loadgen.burst({
          label: 'priming webhook',
          origin: gw.target.origin,
          requests: Array.from({ length: primeN }, (_, i) => signedWebhook(inst.webhookUrl, authToken, inboundForm(accountSid, customer(9_000_000 + i), 'Hello, priming.'))),
          connections: w.connections,
          requestTimeoutMs: o.requestTimeoutMs,
          expectStatus: 200,
          expectBodyIncludes: EMPTY_TWIML,
          cpuPids: {},
          clockTicksPerSecond: o.clockTicksPerSecond,
        });
        const err = burstErrors(res.label, res);
        if (err) failures.push(err);
        const s = await waitForReplies(res.ok, REPLY_WAIT_BASE_MS + REPLY_WAIT_PER_MESSAGE_MS * res.ok);
        if (s.created < res.ok) throw new Error(`priming: only ${s.created} of ${res.ok} replies reached the fake Twilio`);
      }
      settings.push(['method', `priming: ${primeN} webhooks and their replies (not measured); then ${w.rounds} round(s), each: a burst of ${fmtInt(w.messages)} GET /healthz and a burst of ${fmtInt(w.messages)} signed webhooks (distinct customers), ${w.connections} connections (opened before the burst), order alternating; after the webhook burst, wait for all ${fmtInt(w.messages)} replies`]);

      // ── rounds ─────────────────────────────────────────────────────────────
      const rounds: Round[] = [];
      // Our other processes work during a webhook burst too (the replies): theirs is not "other" CPU.
      const cpuPids = { gateway: handle.pid, upstream: upH.pid, twilio: twH.pid };
      let gatewayRequests = 0;
      for (let r = 0; r < w.rounds; r++) {
        if (ctx.interrupted()) break;
        const order: ('healthz' | 'webhook')[] = r % 2 === 0 ? ['healthz', 'webhook'] : ['webhook', 'healthz'];
        const got: Partial<Round> = {};
        for (const kind of order) {
          if (kind === 'healthz') {
            const res = await ctx.loadgen.burst({
              label: `round ${r + 1} healthz`,
              origin: gw.target.origin,
              requests: Array.from({ length: w.messages }, () => ({ method: 'GET', path: '/healthz', headers: {} })),
              connections: w.connections,
              warmupPath: '/healthz',
              warmupRequests: w.connections,
              requestTimeoutMs: o.requestTimeoutMs,
              expectStatus: 200,
              expectBodyIncludes: '"ok"',
              cpuPids,
              clockTicksPerSecond: o.clockTicksPerSecond,
            });
            got.healthz = res;
            gatewayRequests += w.messages + w.connections;
            const err = burstErrors(res.label, res);
            if (err) failures.push(err);
            ctx.log(`[whatsapp ${r + 1}/${w.rounds}] healthz  ${fmtInt(res.rps).padStart(6)} req/s  p50 ${fmtMs(res.latency.p50)} ms  p99 ${fmtMs(res.latency.p99)} ms${err ? '  ERRORS' : ''}`);
          } else {
            await getJson(`${twOrigin}/__bench/reset`, { method: 'POST' });
            const upBefore = await getJson<{ chat: number }>(`${upOrigin}/__bench/stats`);
            const requests = Array.from({ length: w.messages }, (_, i) => signedWebhook(inst.webhookUrl, authToken, inboundForm(accountSid, customer(r * w.messages + i), `Hello, question ${i + 1} of round ${r + 1}: where is my order?`)));
            const cpu0 = cpuMs(handle.pid, o.clockTicksPerSecond);
            const res = await ctx.loadgen.burst({
              label: `round ${r + 1} webhook`,
              origin: gw.target.origin,
              requests,
              connections: w.connections,
              warmupPath: '/healthz',
              warmupRequests: w.connections,
              requestTimeoutMs: o.requestTimeoutMs,
              expectStatus: 200,
              expectBodyIncludes: EMPTY_TWIML,
              recordSentAt: true,
              cpuPids,
              clockTicksPerSecond: o.clockTicksPerSecond,
            });
            gatewayRequests += 2 * w.messages + w.connections; // webhook + the reply's work
            const err = burstErrors(res.label, res);
            if (err) failures.push(err);
            const timeoutMs = REPLY_WAIT_BASE_MS + REPLY_WAIT_PER_MESSAGE_MS * res.ok;
            let tw = await waitForReplies(res.ok, timeoutMs);
            const cpu1 = cpuMs(handle.pid, o.clockTicksPerSecond);
            if (tw.created < res.ok) {
              failures.push(`round ${r + 1}: only ${tw.created} of ${res.ok} replies reached the fake Twilio within ${(timeoutMs / 1000).toFixed(0)} s`);
              got.webhook = res;
              break;
            }
            // Exactly once: nothing more may arrive.
            await wait(250);
            const settled = await getJson<TwilioStats>(`${twOrigin}/__bench/stats`);
            if (settled.created !== res.ok) failures.push(`round ${r + 1}: ${settled.created} replies for ${res.ok} acknowledged webhooks (each must be answered exactly once)`);
            tw = settled;
            const { replies } = await getJson<{ replies: [string, number, string][] }>(`${twOrigin}/__bench/replies`);
            const wrong = replies.filter((x) => x[2].trim() !== expectedReply).length;
            if (wrong) failures.push(`round ${r + 1}: ${wrong} replies with an unexpected body (e.g. ${JSON.stringify(replies.find((x) => x[2].trim() !== expectedReply)?.[2].slice(0, 100))})`);
            const replyAt = new Map(replies.map(([to, at]) => [to, at]));
            const lat: number[] = [];
            requests.forEach((_, i) => {
              const at = replyAt.get(customer(r * w.messages + i));
              const sent = res.sentAt?.[i];
              if (at !== undefined && sent !== undefined && Number.isFinite(sent)) lat.push(at - sent);
            });
            const upAfter = await getJson<{ chat: number }>(`${upOrigin}/__bench/stats`);
            const e2e = tw.lastCreatedAt - res.firstSentAt;
            Object.assign(got, {
              webhook: res,
              replies: tw.created,
              endToEndMs: e2e,
              repliesPerSecond: (tw.created * 1000) / e2e,
              replyLatency: summarize(lat),
              gatewayCpuMsPerMessage: (cpu1 - cpu0) / Math.max(1, res.ok),
              upstreamCalls: upAfter.chat - upBefore.chat,
              twilio: tw,
            });
            ctx.log(
              `[whatsapp ${r + 1}/${w.rounds}] webhook  ${fmtInt(res.rps).padStart(6)} req/s  p50 ${fmtMs(res.latency.p50)} ms  p99 ${fmtMs(res.latency.p99)} ms; ` +
                `${tw.created} replies in ${fmtMs(e2e)} ms = ${fmtInt(got.repliesPerSecond!)}/s${err ? '  ERRORS' : ''}`,
            );
          }
          const ended = handle.exitDescription();
          if (ended) throw new Error(`the gateway ${ended} during the run; last log lines:\n${tail(handle.logFile!, 20)}`);
          await wait(150);
        }
        if (got.healthz && got.webhook && got.endToEndMs !== undefined) rounds.push(got as Round);
        else break;
      }
      if (rounds.length === 0) throw new Error(`no complete round: ${failures.join('; ') || 'interrupted'}`);

      // ── report ─────────────────────────────────────────────────────────────
      const nR = rounds.length;
      const med = (f: (x: Round) => number) => median(rounds.map(f));
      const rng = (f: (x: Round) => number, fmt: (n: number) => string) => {
        const [lo, hi] = range(rounds.map(f));
        return withRange(fmt(med(f)), fmt(lo), fmt(hi), nR);
      };
      const ms = (n: number) => fmtMs(n);
      const ratioP50 = (x: Round) => x.webhook.latency.p50 / x.healthz.latency.p50;
      const ratioP99 = (x: Round) => x.webhook.latency.p99 / x.healthz.latency.p99;
      const sections: Section[] = [
        {
          title: `Acknowledgement under a burst of ${fmtInt(w.messages)} at ${w.connections} connections — median over ${nR} round(s) [min…max] (ms)`,
          columns: ['request', 'p50', 'p99', 'max', 'req/s', 'gateway CPU %'],
          rows: [
            ['GET /healthz', rng((x) => x.healthz.latency.p50, ms), rng((x) => x.healthz.latency.p99, ms), ms(med((x) => x.healthz.latency.max)), fmtInt(med((x) => x.healthz.rps)), `${Math.round(med((x) => x.healthz.cpu.gateway?.pct ?? Number.NaN))}%`],
            ['POST webhook (signed)', rng((x) => x.webhook.latency.p50, ms), rng((x) => x.webhook.latency.p99, ms), ms(med((x) => x.webhook.latency.max)), fmtInt(med((x) => x.webhook.rps)), `${Math.round(med((x) => x.webhook.cpu.gateway?.pct ?? Number.NaN))}%`],
            ['webhook ÷ healthz', rng(ratioP50, fmtRatio), rng(ratioP99, fmtRatio), '', fmtRatio(med((x) => x.webhook.rps / x.healthz.rps)), ''],
          ],
          notes: [
            'Latency = request sent → answer read (client side). The webhook ack checks the signature, stores the message and its reply job in one transaction and answers empty TwiML;',
            'its burst competes with the reply worker it wakes (the replies start during the burst). /healthz runs on an idle gateway: the floor of the HTTP stack.',
            'gateway CPU % = share of one core during the burst.',
          ],
        },
        {
          title: `End to end — first webhook sent → the fake Twilio has all ${fmtInt(w.messages)} replies; median over ${nR} round(s) [min…max]`,
          columns: ['replies', 'time', 'replies/s', 'reply latency p50', 'reply latency p99', 'gateway CPU / message', 'model calls', 'Twilio lists'],
          rows: [
            [
              fmtInt(med((x) => x.replies)),
              `${rng((x) => x.endToEndMs, ms)} ms`,
              rng((x) => x.repliesPerSecond, fmtInt),
              `${rng((x) => x.replyLatency.p50, ms)} ms`,
              `${rng((x) => x.replyLatency.p99, ms)} ms`,
              `${ms(med((x) => x.gatewayCpuMsPerMessage))} ms`,
              fmtInt(med((x) => x.upstreamCalls)),
              fmtInt(med((x) => x.twilio.listed)),
            ],
          ],
          notes: [
            'reply latency = the reply reaching the fake Twilio − its webhook being sent, per message. gateway CPU / message = the gateway\'s CPU from the first webhook to the last reply ÷ messages (ack + reply).',
            'Twilio lists = reconciliation queries (only after an unknown send outcome; 0 expected). Worker settings are the defaults (PLUGBOARD_WORKER_CONCURRENCY etc.).',
          ],
        },
      ];
      settings.push(['goals', 'none set by the issue for this suite: figures only']);
      if (o.baseline) settings.push(['baseline', 'not measured in this suite (the A/B comparison covers passthrough and tool-loop)']);
      const noise = machineNoise(rounds.map((x) => [x.healthz, x.webhook]));
      if (noise) settings.push(['machine noise', noise.line]);
      const logInfo = gatewayLogSummary(handle.logFile, gatewayRequests);
      if (logInfo) {
        settings.push(['gateway log', `${fmtInt(logInfo.lines)} lines (${(logInfo.bytes / 1e6).toFixed(1)} MB, ${logInfo.warnOrWorse} warn or worse)`]);
        for (const l of logInfo.samples.slice(0, 3)) settings.push(['', `  ${l.length > 240 ? `${l.slice(0, 240)}…` : l}`]);
      }

      completed = true;
      return {
        name: 'whatsapp',
        title: 'WhatsApp: webhook acknowledgement under a burst, end-to-end replies',
        settings,
        sections,
        goals: [],
        failures,
        data: {
          messages: w.messages,
          connections: w.connections,
          rounds: rounds.map((x) => ({ ...x, webhook: { ...x.webhook, sentAt: undefined } })),
          summary: {
            healthzP50: med((x) => x.healthz.latency.p50),
            healthzP99: med((x) => x.healthz.latency.p99),
            webhookP50: med((x) => x.webhook.latency.p50),
            webhookP99: med((x) => x.webhook.latency.p99),
            ratioP50: med(ratioP50),
            ratioP99: med(ratioP99),
            endToEndMs: med((x) => x.endToEndMs),
            repliesPerSecond: med((x) => x.repliesPerSecond),
            replyLatencyP50: med((x) => x.replyLatency.p50),
            replyLatencyP99: med((x) => x.replyLatency.p99),
            gatewayCpuMsPerMessage: med((x) => x.gatewayCpuMsPerMessage),
          },
          gatewayLog: logInfo,
          gatewayDataDir: gw.dataDir,
        },
      };
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      if (gw?.dataDir && !o.keepTemp && ((completed && failures.length === 0) || ctx.interrupted())) fs.rmSync(gw.dataDir, { recursive: true, force: true });
    }
  },
};
