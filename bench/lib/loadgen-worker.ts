/**
 * The load generator, run in its own child process (forked by `loadgen.ts`) so that its CPU use
 * never lands in a server's event loop or the orchestrator's. undici `Pool` with exactly
 * `connections` connections, pipelining 1, each connection driven by a closed loop
 * (send → read the whole response → send the next), bounded by both time and count.
 */
import fs from 'node:fs';
import { Client, Pool } from 'undici';
import { checkJsonBody, checkSseBody } from './fixtures.ts';
import { summarize } from './stats.ts';
import type { CpuUse, ErrorCounts, LoadJob, LoadResult, ProbeResult, RequestSpec, WorkerReply, WorkerRequest } from './loadgen-types.ts';

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
  }
  return s;
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
  const body = Buffer.from(job.body);
  const pool = new Pool(job.origin, {
    connections: job.connections,
    pipelining: 1,
    headersTimeout: job.requestTimeoutMs,
    bodyTimeout: job.requestTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  try {
    // 1. One request, validated deeply (parsed, content compared).
    let validation: LoadResult['validation'];
    try {
      const s = await once(pool, job, body, true);
      const text = s.body?.toString('utf8') ?? '';
      if (s.status < 200 || s.status > 299) validation = { ok: false, status: s.status, problem: s.problem, sawUsage: false, bodySample: text.slice(0, 500) };
      else if (job.expect === 'any-2xx') validation = { ok: true, status: s.status, sawUsage: false };
      else {
        const c = job.stream ? checkSseBody(text, job.pieces) : checkJsonBody(text, job.pieces);
        validation = { ok: c.ok, status: s.status, problem: c.problem, sawUsage: c.sawUsage, bodySample: c.ok ? undefined : text.slice(0, 500) };
      }
    } catch (err) {
      validation = { ok: false, status: 0, problem: `request failed: ${(err as Error).message}`, sawUsage: false };
    }
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
            onSample(await once(pool, job, body, false));
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
    const cpu0 = Object.fromEntries(Object.entries(job.cpuPids).map(([k, pid]) => [k, cpuTicks(pid)]));
    const sys0 = systemTicks();
    const self0 = process.cpuUsage();
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
    await pool.destroy().catch(() => {});
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

process.on('message', (msg: WorkerRequest) => {
  const reply = (r: WorkerReply) => process.send?.(r);
  if (msg.type === 'exit') {
    reply({ id: msg.id, ok: true, result: null });
    process.disconnect?.();
    return;
  }
  const work = msg.type === 'load' ? runLoad(msg.job) : probe(msg.spec, msg.timeoutMs);
  work.then(
    (result) => reply({ id: msg.id, ok: true, result }),
    (err: Error) => reply({ id: msg.id, ok: false, error: err.stack ?? String(err) }),
  );
});
process.send?.({ id: 0, ok: true, result: null } satisfies WorkerReply);
