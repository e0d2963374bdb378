/**
 * The load generator, run in its own child process (forked by `loadgen.ts`) so that its CPU use
 * never lands in a server's event loop or the orchestrator's. undici `Pool` with exactly
 * `connections` connections, pipelining 1, each connection driven by a closed loop
 * (send → read the whole response → send the next), bounded by both time and count.
 */
import fs from 'node:fs';
import { Client, Pool } from 'undici';
import { floorTurns, mcpClient, mcpClients } from './floor.ts';
import { pluginCaller, pluginFloorTurns } from './plugin-floor.ts';
import { checkJsonBody, checkSseBody } from './fixtures.ts';
import { summarize } from './stats.ts';
import type { BurstJob, BurstResult, CpuUse, ErrorCounts, LoadJob, LoadResult, ProbeResult, RequestSpec, WorkerReply, WorkerRequest } from './loadgen-types.ts';

const DATA = Buffer.from('data:');
const DONE = Buffer.from('data: [DONE]');
const COMPLETION = Buffer.from('"chat.completion"');

interface Sample {
  ok: boolean;
  status: number;
  totalMs: number;
  ttfbMs: number;
  bytes: number;
  problem?: string;
  body?: Buffer;
}

function countOccurrences(buf: Buffer, needle: Buffer): number {
  let n = 0;
  let i = buf.indexOf(needle);
  while (i !== -1) {
    n++;
    i = buf.indexOf(needle, i + needle.length);
  }
  return n;
}

/** The cheap per-response check of an expected content: its JSON encoding (with quotes) in the body. */
const expectedNeedles = new Map<string, Buffer>();
function contentNeedle(content: string): Buffer {
  let b = expectedNeedles.get(content);
  if (!b) {
    b = Buffer.from(JSON.stringify(content));
    expectedNeedles.set(content, b);
  }
  return b;
}

/** One request, fully read. `keepBody` keeps the body for deep validation. */
async function once(pool: Pool, spec: RequestSpec, body: Buffer, keepBody: boolean): Promise<Sample> {
  const t0 = performance.now();
  let tFirst = -1;
  const { statusCode, body: stream } = await pool.request({ path: spec.path, method: 'POST', headers: spec.headers, body });
  const parts: Buffer[] = [];
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      parts.push(c);
      bytes += c.length;
      if (tFirst < 0) {
        if (!spec.stream || c.includes(DATA) || (parts.length > 1 && Buffer.concat(parts).includes(DATA))) tFirst = performance.now();
      }
    });
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const t1 = performance.now();
  const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes);
  const s: Sample = { ok: true, status: statusCode, totalMs: t1 - t0, ttfbMs: tFirst < 0 ? Number.NaN : tFirst - t0, bytes };
  if (keepBody || statusCode < 200 || statusCode > 299) s.body = buf;
  if (statusCode < 200 || statusCode > 299) {
    s.ok = false;
    s.problem = `HTTP ${statusCode}: ${buf.toString('utf8', 0, Math.min(buf.length, 300))}`;
  } else if (spec.expect === 'any-2xx') {
    // nothing more to check
  } else if (spec.stream) {
    const end = buf.lastIndexOf(DONE);
    if (end === -1 || buf.length - end > 20 || countOccurrences(buf, DATA) < spec.pieces + 2) {
      s.ok = false;
      s.problem = `incomplete stream (${bytes} bytes, ends ${JSON.stringify(buf.toString('utf8', Math.max(0, buf.length - 60)))})`;
    }
  } else if (!buf.includes(COMPLETION)) {
    s.ok = false;
    s.problem = `incomplete JSON (${bytes} bytes: ${JSON.stringify(buf.toString('utf8', 0, Math.min(buf.length, 120)))})`;
  } else if (spec.expectContent !== undefined && !buf.includes(contentNeedle(spec.expectContent))) {
    s.ok = false;
    s.problem = `wrong content (${bytes} bytes: ${JSON.stringify(buf.toString('utf8', 0, Math.min(buf.length, 300)))})`;
  }
  return s;
}

/** What the measured loop drives: one "request" (a single HTTP exchange, or the tool-loop floor's three steps). */
interface Driver {
  /** The first request, checked in depth. */
  validate(): Promise<LoadResult['validation']>;
  one(): Promise<Sample>;
  close(): Promise<void>;
}

function deepCheck(job: LoadJob, s: Sample): LoadResult['validation'] {
  const text = s.body?.toString('utf8') ?? '';
  if (s.status < 200 || s.status > 299) return { ok: false, status: s.status, problem: s.problem, sawUsage: false, bodySample: text.slice(0, 500) };
  if (job.expect === 'any-2xx') return { ok: true, status: s.status, sawUsage: false };
  const c = job.stream ? checkSseBody(text, job.pieces, job.expectContent) : checkJsonBody(text, job.pieces, job.expectContent);
  return { ok: c.ok, status: s.status, problem: c.problem, sawUsage: c.sawUsage, bodySample: c.ok ? undefined : text.slice(0, 500) };
}

/** Exactly `connections` keep-alive connections, one request at a time on each. */
function closedLoopPool(job: { origin: string; connections: number; requestTimeoutMs: number }): Pool {
  return new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    headersTimeout: job.requestTimeoutMs,
    bodyTimeout: job.requestTimeoutMs,
    keepAliveTimeout: 30_000,
  });
}

function httpDriver(job: LoadJob): Driver {
  const body = Buffer.from(job.body);
  const pool = closedLoopPool(job);
  return {
    async validate() {
      try {
        return deepCheck(job, await once(pool, job, body, true));
      } catch (err) {
        return { ok: false, status: 0, problem: `request failed: ${(err as Error).message}`, sawUsage: false };
      }
    },
    one: () => once(pool, job, body, false),
    close: () => pool.destroy().catch(() => {}),
  };
}

// ── the tool-loop floor ──────────────────────────────────────────────────────────────────────

async function floorDriver(job: LoadJob): Promise<Driver> {
  const pool = closedLoopPool(job);
  const first = Buffer.from(job.body);
  const firstObj = JSON.parse(job.body) as Record<string, unknown> & { messages: unknown[] };
  // custom-plugin suite: the same three steps with a signed HTTP call instead of an MCP call.
  let turns: () => ReturnType<typeof floorTurns | typeof pluginFloorTurns>;
  if (job.pluginFloor) {
    const pf = job.pluginFloor;
    const plugin = pluginCaller(pf.toolsUrl, pf.secret, pf.client);
    turns = () => pluginFloorTurns({ pool, plugin, template: pf.template, path: job.path, headers: job.headers, first, firstObj, stream: job.stream, toolPrefix: pf.toolPrefix });
  } else {
    const floor = job.floor!;
    const mcp = await mcpClient(floor.mcpUrl, floor.mcpTransport);
    turns = () => floorTurns({ pool, mcp, path: job.path, headers: job.headers, first, firstObj, stream: job.stream, toolPrefix: floor.toolPrefix });
  }
  let lastFinalBody = '';
  const run = async (keepBody: boolean): Promise<Sample> => {
    const t0 = performance.now();
    const fail = (status: number, problem: string, body?: string): Sample => ({ ok: false, status, totalMs: performance.now() - t0, ttfbMs: Number.NaN, bytes: 0, problem, body: body === undefined ? undefined : Buffer.from(body) });
    const out = await turns();
    if (!out.ok) return fail(out.status, out.problem, out.body);
    if (keepBody) lastFinalBody = out.finalBody;
    const r2 = out.final;
    const t1 = performance.now();
    const buf = Buffer.from(r2.text);
    const s: Sample = { ok: true, status: r2.status, totalMs: t1 - t0, ttfbMs: Number.NaN, bytes: buf.length };
    if (keepBody || r2.status !== 200) s.body = buf;
    if (r2.status !== 200) {
      s.ok = false;
      s.problem = `final turn: HTTP ${r2.status}: ${r2.text.slice(0, 300)}`;
    } else if (job.stream ? buf.lastIndexOf('data: [DONE]') === -1 : job.expectContent !== undefined && !buf.includes(contentNeedle(job.expectContent))) {
      s.ok = false;
      s.problem = `final turn: wrong or incomplete answer: ${r2.text.slice(0, 300)}`;
    }
    return s;
  };
  return {
    async validate() {
      try {
        const s = await run(true);
        if (!s.ok && s.status !== 200) return { ok: false, status: s.status, problem: s.problem, sawUsage: false, bodySample: s.body?.toString('utf8').slice(0, 500) };
        return { ...deepCheck(job, s), floorFinalTurnBody: lastFinalBody };
      } catch (err) {
        return { ok: false, status: 0, problem: `floor failed: ${(err as Error).message}`, sawUsage: false };
      }
    },
    one: () => run(false),
    close: () => pool.destroy().catch(() => {}),
  };
}

function newErrors(): ErrorCounts {
  return { non2xx: 0, statusCounts: {}, network: 0, incomplete: 0, samples: [] };
}

function record(errors: ErrorCounts, s: Sample | Error): void {
  if (s instanceof Error) {
    errors.network++;
    if (errors.samples.length < 5) errors.samples.push(`${s.name}: ${s.message}`);
    return;
  }
  if (s.status < 200 || s.status > 299) {
    errors.non2xx++;
    errors.statusCounts[s.status] = (errors.statusCounts[s.status] ?? 0) + 1;
  } else errors.incomplete++;
  if (errors.samples.length < 5 && s.problem) errors.samples.push(s.problem);
}

function totalErrors(e: ErrorCounts): number {
  return e.non2xx + e.network + e.incomplete;
}

/** utime+stime of a process in clock ticks, or NaN when it cannot be read. */
function cpuTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Busy time of the whole machine (all cores) in clock ticks, from the first line of /proc/stat:
 * `task` = user+nice+system (what processes use, ours and others'), `irq` = irq+softirq,
 * `steal` = time the hypervisor gave to someone else.
 */
function systemTicks(): { task: number; irq: number; steal: number } {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    return { task: f[0] + f[1] + f[2], irq: f[5] + f[6], steal: f[7] || 0 };
  } catch {
    return { task: Number.NaN, irq: Number.NaN, steal: Number.NaN };
  }
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const driver = job.floor || job.pluginFloor ? await floorDriver(job) : httpDriver(job);
  try {
    // 1. One request, validated deeply (parsed, content compared).
    const validation = await driver.validate();
    const errors = newErrors();
    const warmup = { requests: 0, failed: 0 };
    if (!validation.ok) {
      return { label: job.label, connections: job.connections, requests: 0, elapsedMs: 0, rps: 0, latency: summarize([]), bytesPerResponse: 0, errors, warmup, validation, cpu: {} };
    }

    // 2. Warm-up: same loop, results discarded (failures still counted).
    const closedLoop = async (ms: number, max: number, onSample: (s: Sample) => void, onError: (e: Error) => void, stop: () => boolean) => {
      const deadline = performance.now() + ms;
      let started = 0;
      const worker = async () => {
        while (started < max && performance.now() < deadline && !stop()) {
          started++;
          try {
            onSample(await driver.one());
          } catch (err) {
            onError(err as Error);
          }
        }
      };
      await Promise.all(Array.from({ length: job.connections }, worker));
    };
    const warmErrors = newErrors();
    await closedLoop(
      job.warmupMs,
      job.warmupMaxRequests,
      (s) => {
        warmup.requests++;
        if (!s.ok) {
          warmup.failed++;
          record(warmErrors, s);
        }
      },
      (e) => {
        warmup.failed++;
        record(warmErrors, e);
      },
      () => totalErrors(warmErrors) >= job.maxErrors,
    );
    globalThis.gc?.();

    // 3. Measured phase.
    const cap = Math.max(1, job.maxRequests);
    const lat = new Float64Array(cap + job.connections);
    const ttfb = new Float64Array(cap + job.connections);
    let n = 0;
    let bytes = 0;
    for (const e of warmErrors.samples) if (errors.samples.length < 2) errors.samples.push(`(warm-up) ${e}`);
    const cpuWatch = watchCpu(job);
    const t0 = performance.now();
    await closedLoop(
      job.durationMs,
      cap,
      (s) => {
        if (!s.ok) return record(errors, s);
        lat[n] = s.totalMs;
        ttfb[n] = s.ttfbMs;
        bytes += s.bytes;
        n++;
      },
      (e) => record(errors, e),
      () => totalErrors(errors) >= job.maxErrors,
    );
    const elapsedMs = performance.now() - t0;
    const cpu = cpuWatch.finish(n, elapsedMs);
    // Warm-up failures count as run failures too.
    errors.non2xx += warmErrors.non2xx;
    errors.network += warmErrors.network;
    errors.incomplete += warmErrors.incomplete;
    for (const [k, v] of Object.entries(warmErrors.statusCounts)) errors.statusCounts[k] = (errors.statusCounts[k] ?? 0) + v;
    return {
      label: job.label,
      connections: job.connections,
      requests: n,
      elapsedMs,
      rps: (n * 1000) / elapsedMs,
      latency: summarize(lat.subarray(0, n)),
      ttfb: job.stream ? summarize(ttfb.subarray(0, n)) : undefined,
      bytesPerResponse: n ? bytes / n : 0,
      errors,
      warmup,
      validation,
      cpu,
    };
  } finally {
    await driver.close();
  }
}

/** One SSE request; the arrival time of every `data:` event. */
async function probe(spec: RequestSpec, timeoutMs: number): Promise<ProbeResult> {
  const client = new Client(spec.origin, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    const t0 = performance.now();
    const { statusCode, body } = await client.request({ path: spec.path, method: 'POST', headers: spec.headers, body: spec.body });
    const times: number[] = [];
    const delays: (number | null)[] = [];
    let pending = '';
    let all = '';
    await new Promise<void>((resolve, reject) => {
      body.setEncoding('utf8');
      body.on('data', (c: string) => {
        const now = performance.now() - t0;
        all += c;
        pending += c.replace(/\r\n/g, '\n');
        let i = pending.indexOf('\n\n');
        while (i !== -1) {
          const block = pending.slice(0, i);
          pending = pending.slice(i + 2);
          if (block.split('\n').some((l) => l.startsWith('data:'))) {
            times.push(now);
            const m = /"bench_sent_at":\s*([0-9.]+)/.exec(block);
            delays.push(m ? performance.timeOrigin + t0 + now - Number(m[1]) : null);
          }
          i = pending.indexOf('\n\n');
        }
      });
      body.on('end', resolve);
      body.on('error', reject);
    });
    if (statusCode < 200 || statusCode > 299) return { status: statusCode, eventTimesMs: times, eventDelaysMs: delays, complete: false, problem: `HTTP ${statusCode}: ${all.slice(0, 300)}` };
    const c = checkSseBody(all, spec.pieces);
    return { status: statusCode, eventTimesMs: times, eventDelaysMs: delays, complete: c.ok, problem: c.problem };
  } finally {
    await client.destroy().catch(() => {});
  }
}

/** A fixed list of requests over exactly `connections` connections; latency of each, and the burst's span. */
async function runBurst(job: BurstJob): Promise<BurstResult> {
  const pool = closedLoopPool(job);
  const errors = newErrors();
  const needle = job.expectBodyIncludes === undefined ? undefined : Buffer.from(job.expectBodyIncludes);
  try {
    // Open the connections first (not measured), so both kinds of burst start from warm connections.
    if (job.warmupPath && (job.warmupRequests ?? 0) > 0) {
      let left = job.warmupRequests!;
      const warm = async () => {
        while (left-- > 0) {
          const r = await pool.request({ path: job.warmupPath!, method: 'GET' });
          await r.body.dump();
        }
      };
      await Promise.all(Array.from({ length: job.connections }, warm));
    }
    globalThis.gc?.();
    const bodies = job.requests.map((r) => (r.body === undefined ? undefined : Buffer.from(r.body)));
    const lat = new Float64Array(job.requests.length);
    const sentAt = job.recordSentAt ? new Array<number>(job.requests.length).fill(Number.NaN) : undefined;
    let n = 0;
    let next = 0;
    const cpuWatch = watchCpu(job);
    const t0 = performance.now();
    const worker = async () => {
      while (next < job.requests.length) {
        const i = next++;
        const r = job.requests[i];
        const ts = performance.now();
        if (sentAt) sentAt[i] = performance.timeOrigin + ts;
        try {
          const res = await pool.request({ path: r.path, method: r.method, headers: r.headers, body: bodies[i] });
          const buf = Buffer.from(await res.body.arrayBuffer());
          const ms = performance.now() - ts;
          const okStatus = job.expectStatus === undefined ? res.statusCode >= 200 && res.statusCode <= 299 : res.statusCode === job.expectStatus;
          if (!okStatus) {
            record(errors, { ok: false, status: res.statusCode, totalMs: ms, ttfbMs: Number.NaN, bytes: buf.length, problem: `HTTP ${res.statusCode}: ${buf.toString('utf8', 0, Math.min(buf.length, 300))}` });
          } else if (needle && !buf.includes(needle)) {
            // a 2xx with an unexpected body: counted as incomplete
            record(errors, { ok: false, status: 200, totalMs: ms, ttfbMs: Number.NaN, bytes: buf.length, problem: `unexpected body: ${buf.toString('utf8', 0, Math.min(buf.length, 200))}` });
          } else lat[n++] = ms;
        } catch (err) {
          record(errors, err as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: job.connections }, worker));
    const t1 = performance.now();
    const elapsedMs = t1 - t0;
    const cpu = cpuWatch.finish(n, elapsedMs);
    return {
      label: job.label,
      connections: job.connections,
      sent: job.requests.length,
      ok: n,
      elapsedMs,
      rps: (n * 1000) / elapsedMs,
      latency: summarize(lat.subarray(0, n)),
      errors,
      firstSentAt: performance.timeOrigin + t0,
      lastDoneAt: performance.timeOrigin + t1,
      sentAt,
      cpu,
    };
  } finally {
    await pool.destroy().catch(() => {});
  }
}

process.on('message', (msg: WorkerRequest) => {
  const reply = (r: WorkerReply) => process.send?.(r);
  if (msg.type === 'exit') {
    reply({ id: msg.id, ok: true, result: null });
    const closing = [...mcpClients.values()].map((c) => c.then((x) => x.close()).catch(() => {}));
    void Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 1000))]).then(() => {
      process.disconnect?.();
      // Idle keep-alive sockets (fetch's global pool, used by the MCP client) must not hold us.
      setTimeout(() => process.exit(0), 200).unref();
    });
    return;
  }
  const work = msg.type === 'load' ? runLoad(msg.job) : msg.type === 'burst' ? runBurst(msg.job) : probe(msg.spec, msg.timeoutMs);
  work.then(
    (result) => reply({ id: msg.id, ok: true, result }),
    (err: Error) => reply({ id: msg.id, ok: false, error: err.stack ?? String(err) }),
  );
});
process.send?.({ id: 0, ok: true, result: null } satisfies WorkerReply);

/** CPU of the watched processes, this load generator and the rest of the machine over one measurement. */
function watchCpu(job: { cpuPids: Record<string, number>; clockTicksPerSecond: number }) {
  const cpu0 = Object.fromEntries(Object.entries(job.cpuPids).map(([k, pid]) => [k, cpuTicks(pid)]));
  const sys0 = systemTicks();
  const self0 = process.cpuUsage();
  return {
    finish(n: number, elapsedMs: number): Record<string, CpuUse> {
      const self = process.cpuUsage(self0);
      const cpu: Record<string, CpuUse> = {};
      const use = (ms: number): CpuUse => ({ ms, pct: (ms / elapsedMs) * 100, usPerRequest: n ? (ms * 1000) / n : Number.NaN });
      for (const [k, pid] of Object.entries(job.cpuPids)) {
        const d = cpuTicks(pid) - cpu0[k];
        if (Number.isFinite(d)) cpu[k] = use((d * 1000) / job.clockTicksPerSecond);
      }
      cpu.loadgen = use((self.user + self.system) / 1000);
      const sys1 = systemTicks();
      if (Number.isFinite(sys1.task - sys0.task)) {
        const ms = (ticks: number) => (ticks * 1000) / job.clockTicksPerSecond;
        // CPU that other programs used meanwhile: the machine's process time minus ours.
        const ours = Object.values(cpu).reduce((a, v) => a + v.ms, 0);
        cpu.other = use(Math.max(0, ms(sys1.task - sys0.task) - ours));
        cpu.irq = use(ms(sys1.irq - sys0.irq));
        cpu.steal = use(ms(sys1.steal - sys0.steal));
      }
      return cpu;
    },
  };
}
