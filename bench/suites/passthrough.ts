/**
 * Passthrough suite: what one gateway hop costs on the plain chat-completions path.
 *
 * Targets, all in front of the same fake upstream (its own process):
 *   direct   the fake upstream itself (the floor),
 *   bare     a bare Node `http` proxy that only pipes bytes (the practical limit of a Node hop),
 *   gateway  Plugboard (`node src/main.ts serve`, or an already running one via --target-url),
 *   baseline with --baseline DIR: the gateway of another checkout, started the same way (A/B).
 * Scenarios: {json, sse} × connections (default 1 and 32). Every round runs each
 * (scenario, target) once, in an order that rotates from round to round; ratios and differences
 * are computed within a round and the report shows their median across rounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { abCells, abNotes, abRound, abSummary, abVerdict, AB_COLUMNS, baselineLabel, primeInTurns, PRIME_PASSES, roundOrder, type AbSummary } from '../lib/ab.ts';
import { chatRequestBody, checkJsonBody } from '../lib/fixtures.ts';
import { gatewayLogSummary, installMcpIntegration, rotate, sleep, splitBaseUrl, startGateway, type GatewayStart } from '../lib/gateway.ts';
import type { LoadJob, LoadResult, ProbeResult, RequestSpec } from '../lib/loadgen-types.ts';
import { spawnReadyServer, tail } from '../lib/proc.ts';
import { fmtDiffMs, fmtInt, fmtMs, fmtRatio, withRange } from '../lib/report.ts';
import { median, range } from '../lib/stats.ts';
import type { BenchOptions, Goal, Scenario, Section, Suite, SuiteContext, SuiteResult, TargetName } from '../lib/suite.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FAKE_UPSTREAM = path.join(HERE, '..', 'fake-upstream.ts');
const BARE_PROXY = path.join(HERE, '..', 'bare-proxy.ts');
const MCP_SERVER = path.join(HERE, '..', 'mcp-server.ts');

/** Goals from the issue. */
const GOAL_RPS_VS_BARE = 0.5;
const GOAL_ADDED_P50_MS = 0.3;
const GOAL_ADDED_TTFB_MS = 1;
/** In the buffering check the upstream spaces the remaining chunks by this much. */
const CHECK_CHUNK_GAP_MS = 25;
/** Most a hop may add to the median event delay over the direct path: with send-time stamps / against the schedule. */
const CHECK_MAX_EXCESS_STAMPED_MS = 5;
const CHECK_MAX_EXCESS_SCHEDULE_MS = CHECK_CHUNK_GAP_MS / 2;

interface Target {
  name: TargetName;
  /** Where it is, for the report. */
  where: string;
  origin: string;
  /** Path prefix in front of /chat/completions, normally /v1. */
  prefix: string;
  headers: Record<string, string>;
  /** Process whose CPU time is "the hop" (bare proxy or gateway), when known. */
  pid?: number;
}

interface ScenarioSpec {
  key: string;
  kind: Scenario;
  connections: number;
}

/** Per-round derived values of one scenario. */
interface RoundDerived {
  gwBareRps: number;
  gwDirectRps: number;
  bareDirectRps: number;
  gwAddedP50: number;
  bareAddedP50: number;
  gwAddedP99: number;
  bareAddedP99: number;
  gwAddedTtfb: number;
  bareAddedTtfb: number;
  gwBareHopCpu: number;
}

interface UpstreamControl {
  origin: string;
  /** false when the upstream is not bench/fake-upstream.ts (no /__bench endpoints). */
  controllable: boolean;
  pid?: number;
}

async function upstreamStats(up: UpstreamControl): Promise<{ chat: number; chatStream: number; withTools?: number } | undefined> {
  if (!up.controllable) return undefined;
  const res = await fetch(`${up.origin}/__bench/stats`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as { chat: number; chatStream: number; withTools?: number };
}

async function configureUpstream(up: UpstreamControl, cfg: { firstGapMs: number; chunkGapMs: number; stamp: boolean }): Promise<void> {
  const res = await fetch(`${up.origin}/__bench/config`, { method: 'POST', body: JSON.stringify(cfg), signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`fake upstream refused config: HTTP ${res.status}`);
  await res.arrayBuffer();
}

function spec(t: Target, kind: Scenario, pieces: number): RequestSpec {
  return {
    origin: t.origin,
    path: `${t.prefix}/chat/completions`,
    headers: { 'content-type': 'application/json', ...t.headers },
    body: chatRequestBody(kind === 'sse').toString('utf8'),
    stream: kind === 'sse',
    pieces,
  };
}

/** One non-streamed request through `t`; checks the answer and that the fake upstream saw it. */
async function preflight(t: Target, up: UpstreamControl, pieces: number): Promise<string | undefined> {
  const s = spec(t, 'json', pieces);
  const before = await upstreamStats(up);
  let status = 0;
  let text = '';
  try {
    const res = await fetch(`${s.origin}${s.path}`, { method: 'POST', headers: s.headers, body: s.body, signal: AbortSignal.timeout(15_000) });
    status = res.status;
    text = await res.text();
  } catch (err) {
    return `${t.name} (${t.where}) is unreachable: ${(err as Error).message}`;
  }
  if (status !== 200) return `${t.name} (${t.where}) answered HTTP ${status}: ${text.slice(0, 400)}`;
  const c = checkJsonBody(text, pieces);
  if (!c.ok) return `${t.name} (${t.where}) returned an unexpected completion: ${c.problem}`;
  const after = await upstreamStats(up);
  if (before && after && after.chat <= before.chat) {
    return `${t.name} (${t.where}) answered, but the fake upstream at ${up.origin} did not see the request: point its upstream at ${up.origin}/v1 (see --upstream-port / --upstream-url).`;
  }
  return undefined;
}

interface StreamCheckTarget {
  target: TargetName;
  runs: ProbeResult[];
  /** Time to the first event, ms after sending: median over the streams, and the worst. */
  firstMs: number;
  worstFirstMs: number;
  /** Median over the streams of each stream's median event delay (stamped) or lateness against the schedule, ms. */
  medianLatenessMs: number;
  /** Median over the cycles of (this target's median lateness − the direct stream's of the same cycle), ms. */
  excessLatenessMs: number;
  /** Largest single lateness seen (a stall shows here, buffering in the median). */
  maxLatenessMs: number;
  pass: boolean;
  problem?: string;
}

/**
 * "Streams never buffered": the upstream sends the first chunk, holds `gapMs`, then sends one
 * chunk every CHECK_CHUNK_GAP_MS. Through the target, the first event must arrive well before the
 * gap ends (< gap/2), and every event about as soon as the direct path delivers it: an event's
 * delay is its arrival − the send time the upstream stamps into each chunk (without stamps:
 * lateness against the upstream's schedule), and the target's median may exceed the direct
 * stream's of the same cycle by less than CHECK_MAX_EXCESS_*. Everything is a median over
 * `checkStreams` cycles (5; 3 with --quick): a proxy that holds streams back (until the end, a size or a timer) does it
 * every time, while a scheduling stall on a busy machine hits one stream — it shows in the worst
 * first event and the max delay, which are reported but not judged.
 */
async function streamCheck(ctx: SuiteContext, targets: Target[], up: UpstreamControl): Promise<{ mode: 'stamped' | 'schedule'; maxExcessMs: number; results: StreamCheckTarget[] }> {
  const gap = ctx.options.streamGapMs;
  const pieces = ctx.options.pieces;
  const spacing = CHECK_CHUNK_GAP_MS;
  await configureUpstream(up, { firstGapMs: gap, chunkGapMs: spacing, stamp: true });
  // probes[target][cycle]; each cycle streams once through every target (rotating order), so a
  // target is compared with the direct path under the same conditions.
  const probes: ProbeResult[][] = targets.map(() => []);
  try {
    for (let c = 0; c < ctx.options.checkStreams; c++) {
      for (const ti of rotate(targets.map((_, i) => i), c)) {
        probes[ti][c] = await ctx.loadgen.probe(spec(targets[ti], 'sse', pieces), gap + spacing * (pieces + 6) + 10_000);
      }
    }
  } finally {
    await configureUpstream(up, { firstGapMs: 0, chunkGapMs: 0, stamp: false });
  }
  const usable = (r: ProbeResult | undefined): r is ProbeResult => !!r && r.complete && r.eventTimesMs.length >= 3;
  // Preferred: every chunk carries the upstream's send time, so each event's delay through the hop
  // is measured exactly. Fallback (a hop that drops unknown fields): lateness against the
  // upstream's schedule, anchored on the quickest first event seen directly (event i is due at
  // base + gap + (i−1)·spacing), which also counts delays on the request path.
  const stamped = probes.every((runs) => runs.filter(usable).every((r) => r.eventDelaysMs.filter((d) => d !== null).length >= r.eventTimesMs.length - 1));
  const maxExcess = stamped ? CHECK_MAX_EXCESS_STAMPED_MS : CHECK_MAX_EXCESS_SCHEDULE_MS;
  const directIdx = targets.findIndex((t) => t.name === 'direct');
  const anchor = (runs: ProbeResult[]) => range(runs.filter(usable).map((r) => r.eventTimesMs[0]))[0];
  const directBase = directIdx === -1 ? Number.NaN : anchor(probes[directIdx]);
  const latenessOf = (r: ProbeResult | undefined, base: number): number[] => {
    if (!usable(r)) return [];
    if (stamped) return r.eventDelaysMs.filter((d): d is number => d !== null);
    return r.eventTimesMs.slice(1).map((x, i) => x - (base + gap + i * spacing));
  };
  const results = targets.map((t, ti) => {
    const runs = probes[ti];
    let problem: string | undefined;
    for (const r of runs) {
      if (!r.complete) problem ??= r.problem ?? 'incomplete stream';
      else if (r.eventTimesMs.length < 3) problem ??= `only ${r.eventTimesMs.length} events`;
    }
    const base = Number.isFinite(directBase) ? directBase : anchor(runs);
    const firsts = runs.filter(usable).map((r) => r.eventTimesMs[0]);
    const medians = runs.map((r) => median(latenessOf(r, base)));
    // Excess over the direct stream of the same cycle: on a busy machine even the upstream's
    // timers and the client's reads run late, and that is not the hop's doing.
    const excess = runs.map((_, c) => medians[c] - (directIdx === -1 ? 0 : Math.max(0, median(latenessOf(probes[directIdx][c], base)))));
    const maxLate = Math.max(0, ...runs.flatMap((r) => latenessOf(r, base)));
    const first = median(firsts);
    const extra = median(excess);
    if (!problem && !(first < gap / 2)) problem = `first event after ${fmtMs(first)} ms (median), though the upstream sent it at once and then waited ${gap} ms: held back`;
    if (!problem && !(extra < maxExcess)) problem = `events arrive a median ${fmtMs(extra)} ms later than through the direct path: held back`;
    return { target: t.name, runs, firstMs: first, worstFirstMs: range(firsts)[1], medianLatenessMs: median(medians), excessLatenessMs: extra, maxLatenessMs: maxLate, pass: !problem, problem };
  });
  return { mode: stamped ? 'stamped' : 'schedule', maxExcessMs: maxExcess, results };
}

function targetOf(r: Record<string, LoadResult>, name: TargetName): LoadResult | undefined {
  return r[name];
}

function derive(r: Record<string, LoadResult>): RoundDerived {
  const d = targetOf(r, 'direct');
  const b = targetOf(r, 'bare');
  const g = targetOf(r, 'gateway');
  const div = (a?: number, z?: number) => (a !== undefined && z !== undefined && z > 0 ? a / z : Number.NaN);
  const sub = (a?: number, z?: number) => (a !== undefined && z !== undefined ? a - z : Number.NaN);
  return {
    gwBareRps: div(g?.rps, b?.rps),
    gwDirectRps: div(g?.rps, d?.rps),
    bareDirectRps: div(b?.rps, d?.rps),
    gwAddedP50: sub(g?.latency.p50, d?.latency.p50),
    bareAddedP50: sub(b?.latency.p50, d?.latency.p50),
    gwAddedP99: sub(g?.latency.p99, d?.latency.p99),
    bareAddedP99: sub(b?.latency.p99, d?.latency.p99),
    gwAddedTtfb: sub(g?.ttfb?.p50, d?.ttfb?.p50),
    bareAddedTtfb: sub(b?.ttfb?.p50, d?.ttfb?.p50),
    gwBareHopCpu: div(g?.cpu.hop?.usPerRequest, b?.cpu.hop?.usPerRequest),
  };
}

function describeErrors(label: string, r: LoadResult): string | undefined {
  const e = r.errors;
  const total = e.non2xx + e.network + e.incomplete;
  if (!total) return undefined;
  const statuses = Object.entries(e.statusCounts).map(([s, n]) => `${n}×${s}`).join(', ');
  return `${label}: ${e.non2xx} non-2xx${statuses ? ` (${statuses})` : ''}, ${e.network} network errors, ${e.incomplete} incomplete responses; e.g. ${e.samples.slice(0, 2).join(' | ')}`;
}

export const passthroughSuite: Suite = {
  name: 'passthrough',
  description: 'chat completions (JSON and SSE) through direct / bare proxy / gateway, interleaved rounds',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const o: BenchOptions = ctx.options;
    const stops: (() => Promise<void>)[] = [];
    const failures: string[] = [];
    const settings: [string, string][] = [];
    let gatewayStart: GatewayStart | undefined;
    let baselineStart: GatewayStart | undefined;
    /** The other organisation's MCP server, to check afterwards that none of our requests used it. */
    let mcpCheck: { origin: string } | undefined;
    let completed = false;
    try {
      // ── processes ───────────────────────────────────────────────────────────
      let up: UpstreamControl;
      if (o.upstreamUrl) {
        const origin = splitBaseUrl(o.upstreamUrl).origin;
        let controllable = false;
        let pid: number | undefined;
        try {
          const res = await fetch(`${origin}/__bench/stats`, { signal: AbortSignal.timeout(3000) });
          const body = (await res.json().catch(() => ({}))) as { pid?: unknown };
          controllable = res.status === 200;
          // Its pid means something only on this machine.
          if (controllable && typeof body.pid === 'number' && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(origin).hostname)) pid = body.pid;
        } catch (err) {
          throw new Error(`--upstream-url ${origin} is unreachable: ${(err as Error).message}`);
        }
        up = { origin, controllable, pid };
        settings.push(['upstream', `${origin} (external${controllable ? '' : '; not bench/fake-upstream.ts: no buffering check, no request accounting'})`]);
      } else {
        const h = await spawnReadyServer('fake-upstream', FAKE_UPSTREAM, ['--port', String(o.upstreamPort ?? 0), '--pieces', String(o.pieces)]);
        stops.push(() => h.stop());
        up = { origin: `http://127.0.0.1:${h.port}`, controllable: true, pid: h.pid };
        settings.push(['upstream', `bench/fake-upstream.ts, pid ${h.pid}, ${up.origin}/v1 (${o.pieces} content chunks per stream, no gap)`]);
      }
      const targets: Target[] = [];
      const common = { authorization: 'Bearer bench' };
      if (o.targets.includes('direct')) targets.push({ name: 'direct', where: up.origin, origin: up.origin, prefix: '/v1', headers: common });
      if (o.targets.includes('bare')) {
        const h = await spawnReadyServer('bare-proxy', BARE_PROXY, ['--upstream', up.origin]);
        stops.push(() => h.stop());
        targets.push({ name: 'bare', where: `http://127.0.0.1:${h.port}`, origin: `http://127.0.0.1:${h.port}`, prefix: '/v1', headers: common, pid: h.pid });
        settings.push(['bare proxy', `bench/bare-proxy.ts, pid ${h.pid}, http://127.0.0.1:${h.port}`]);
      }
      if (o.targets.includes('gateway')) {
        ctx.log(o.targetUrl ? `gateway: ${o.targetUrl} (already running)` : 'starting the gateway (CLI: org create ×2, key create; then serve) and an MCP server for the other organisation…');
        // Issue 3: the passthrough goals must hold with plugins installed for OTHER organisations.
        // A second organisation gets an MCP integration (a real MCP server); the measured key
        // belongs to the first one, which has no plugins, so its requests stay passthrough.
        let mcp: Awaited<ReturnType<typeof spawnReadyServer>> | undefined;
        if (!o.targetUrl) {
          const h = await spawnReadyServer('mcp-server', MCP_SERVER, []);
          stops.push(() => h.stop());
          mcp = h;
        }
        gatewayStart = await startGateway(ctx, up.origin, { otherOrgs: ['other'], env: { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' } });
        const handle = gatewayStart.handle;
        if (handle) stops.push(() => handle.stop());
        targets.push({ name: 'gateway', ...gatewayStart.target });
        settings.push(...gatewayStart.settings);
        const other = gatewayStart.otherOrgs[0];
        if (mcp && other && gatewayStart.org) {
          const url = `http://127.0.0.1:${mcp.port}/mcp`;
          const inst = await installMcpIntegration(gatewayStart.target.origin, other, { slug: 'crm', displayName: 'CRM', url });
          mcpCheck = { origin: `http://127.0.0.1:${mcp.port}` };
          settings.push([
            'other organisation',
            `"${other.name}" (${other.id}) has the MCP integration "crm" (${inst.toolCount} tool${inst.toolCount === 1 ? '' : 's'}: ${inst.tools.map((t) => t.prefixedName).join(', ')}) → bench/mcp-server.ts, pid ${mcp.pid}, ${url}`,
          ]);
          settings.push(['measured key', `belongs to "${gatewayStart.org.name}" (${gatewayStart.org.id}), which has no plugins: its requests are passthrough (checked after the run: no request reached the upstream with tools, no MCP tool call)`]);
        } else if (o.targetUrl) {
          settings.push(['other organisation', 'not set up: the gateway is external (--target-url)']);
        }
        if (o.baseline && mcp) {
          // A/B: the baseline checkout, set up exactly like the gateway (same env, upstream, other organisation and plugin).
          ctx.log(`starting the baseline gateway from ${o.baseline.dir} the same way…`);
          baselineStart = await startGateway(ctx, up.origin, { otherOrgs: ['other'], env: { PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' }, root: o.baseline.dir, label: 'baseline' });
          const bh = baselineStart.handle;
          if (bh) stops.push(() => bh.stop());
          targets.push({ name: 'baseline', ...baselineStart.target });
          const bOther = baselineStart.otherOrgs[0];
          const inst = await installMcpIntegration(baselineStart.target.origin, bOther, { slug: 'crm', displayName: 'CRM', url: `http://127.0.0.1:${mcp.port}/mcp` });
          settings.push([
            'baseline',
            `${baselineLabel(o.baseline)}; ${baselineStart.settings[0]?.[1] ?? ''}; same env; its other organisation has "crm" too (${inst.toolCount} tool${inst.toolCount === 1 ? '' : 's'}, same MCP server)`,
          ]);
          for (const n of baselineStart.notes) settings.push(['', `  baseline: ${n}`]);
        }
      }
      settings.push(['load generator', `undici Pool in its own process (pid ${ctx.loadgen.pid}), pipelining 1, closed loop`]);
      settings.push(['method', `${o.primeMs} ms priming per (kind, target) in ${PRIME_PASSES} turns (the last in round 1's order), not measured; then ${o.rounds} round(s) × each (scenario, target) once, rotating order; ${o.warmupMs} ms warm-up + ${o.durationMs} ms (≤ ${fmtInt(o.maxRequests)} requests) per measurement`]);

      for (const t of targets) {
        const problem = await preflight(t, up, o.pieces);
        if (problem) throw new Error(`preflight: ${problem}`);
      }
      ctx.log(`preflight OK: ${targets.map((t) => t.name).join(', ')}`);

      // ── interleaved rounds ─────────────────────────────────────────────────
      const scenarios: ScenarioSpec[] = [];
      for (const kind of o.scenarios) for (const c of o.connections) scenarios.push({ key: `${kind} c=${c}`, kind, connections: c });

      // Priming (not measured): every hop keeps getting faster for thousands of requests while the
      // JIT settles; the goals are about steady state, so each target runs each kind first — in
      // turns (primeInTurns), so that no target idles longer than another before round 1.
      await primeInTurns(targets, (x) => x.name, PRIME_PASSES, async (t) => {
        for (const kind of o.scenarios) {
          const prime = await ctx.loadgen.load({
            ...spec(t, kind, o.pieces), label: `prime ${kind} ${t.name}`, connections: Math.max(...o.connections), warmupMs: 0, warmupMaxRequests: 0,
            durationMs: Math.ceil(o.primeMs / PRIME_PASSES), maxRequests: o.maxRequests, requestTimeoutMs: o.requestTimeoutMs, maxErrors: 50, cpuPids: {}, clockTicksPerSecond: o.clockTicksPerSecond,
          });
          const err = prime.validation.ok ? describeErrors(`priming ${kind} ${t.name}`, prime) : `priming ${kind} ${t.name}: ${prime.validation.problem}`;
          if (err) failures.push(err);
        }
      });
      const rounds: Record<string, Record<string, LoadResult>>[] = [];
      let gatewayRequests = 0;
      let baselineRequests = 0;
      for (let r = 0; r < o.rounds; r++) {
        const round: Record<string, Record<string, LoadResult>> = {};
        rounds.push(round);
        for (const sc of rotate(scenarios, r)) {
          round[sc.key] = {};
          for (const t of roundOrder(targets, r, (x) => x.name)) {
            const cpuPids: Record<string, number> = {};
            if (t.pid) cpuPids.hop = t.pid;
            if (up.pid) cpuPids.upstream = up.pid;
            const job: LoadJob = {
              ...spec(t, sc.kind, o.pieces),
              label: `${sc.key} ${t.name}`,
              connections: sc.connections,
              warmupMs: o.warmupMs,
              warmupMaxRequests: o.warmupMaxRequests,
              durationMs: o.durationMs,
              maxRequests: o.maxRequests,
              requestTimeoutMs: o.requestTimeoutMs,
              maxErrors: 50,
              cpuPids,
              clockTicksPerSecond: o.clockTicksPerSecond,
            };
            const res = await ctx.loadgen.load(job);
            if (!res.validation.ok) {
              throw new Error(`${job.label}: the first response was wrong (HTTP ${res.validation.status}): ${res.validation.problem}${res.validation.bodySample ? `\n  body: ${res.validation.bodySample}` : ''}`);
            }
            round[sc.key][t.name] = res;
            if (t.name === 'gateway') gatewayRequests += res.requests + res.warmup.requests + 1;
            if (t.name === 'baseline') baselineRequests += res.requests + res.warmup.requests + 1;
            const err = describeErrors(`round ${r + 1} ${job.label}`, res);
            if (err) failures.push(err);
            const ttfb = res.ttfb ? ` ttfb p50 ${fmtMs(res.ttfb.p50)} ms` : '';
            ctx.log(`[round ${r + 1}/${o.rounds}] ${job.label.padEnd(20)} ${fmtInt(res.rps).padStart(7)} req/s  p50 ${fmtMs(res.latency.p50)} ms  p99 ${fmtMs(res.latency.p99)} ms${ttfb}${err ? '  ERRORS' : ''}`);
            for (const [who, st] of [['gateway', gatewayStart], ['baseline', baselineStart]] as const) {
              const ended = st?.handle?.exitDescription();
              if (ended) throw new Error(`the ${who} ${ended} during the run; last log lines:\n${tail(st!.handle!.logFile!, 20)}`);
            }
            await sleep(100);
          }
        }
      }

      // ── the buffering check ────────────────────────────────────────────────
      let check: StreamCheckTarget[] | undefined;
      let checkMode: 'stamped' | 'schedule' | undefined;
      let checkMaxExcess = CHECK_MAX_EXCESS_STAMPED_MS;
      let checkNote: string | undefined;
      if (!up.controllable) checkNote = 'skipped: the upstream is not bench/fake-upstream.ts';
      else if (!o.scenarios.includes('sse')) checkNote = 'skipped: no sse scenario';
      else {
        ctx.log(`stream buffering check (upstream holds ${o.streamGapMs} ms after the first chunk)…`);
        ({ results: check, mode: checkMode, maxExcessMs: checkMaxExcess } = await streamCheck(ctx, targets, up));
        // direct and the bare proxy cannot hold a stream back: if they fail, the check itself is off (or the machine too busy).
        for (const c of check) if (!c.pass && c.target !== 'gateway' && c.target !== 'baseline') failures.push(`buffering check failed for ${c.target}, which cannot buffer: the check is unreliable here: ${c.problem}`);
      }

      // The measured requests must have stayed passthrough despite the other organisation's plugin.
      if (mcpCheck) {
        const upNow = await upstreamStats(up);
        const mcpNow = (await (await fetch(`${mcpCheck.origin}/__bench/stats`, { signal: AbortSignal.timeout(5000) })).json()) as { calls: number };
        if ((upNow?.withTools ?? 0) > 0 || mcpNow.calls > 0) {
          failures.push(`the measured key's requests were not passthrough: ${upNow?.withTools ?? 0} upstream request(s) carried tools, ${mcpNow.calls} MCP tool call(s) — the other organisation's plugin leaked into ours`);
        } else settings.push(['passthrough check', 'OK: 0 upstream requests with tools, 0 MCP tool calls during the run']);
      }

      // ── aggregation ────────────────────────────────────────────────────────
      const has = (n: TargetName) => targets.some((t) => t.name === n);
      const perScenario = scenarios.map((sc) => {
        const rs = rounds.map((rd) => rd[sc.key]);
        const derived = rs.map(derive);
        const pick = (f: (d: RoundDerived) => number) => derived.map(f);
        const med = (f: (d: RoundDerived) => number) => median(pick(f));
        const targetMedians = Object.fromEntries(
          targets.map((t) => {
            const list = rs.map((x) => x[t.name]).filter((x): x is LoadResult => !!x);
            const m = (f: (x: LoadResult) => number | undefined) => median(list.map((x) => f(x) ?? Number.NaN));
            return [
              t.name,
              {
                rps: m((x) => x.rps),
                p50: m((x) => x.latency.p50),
                p99: m((x) => x.latency.p99),
                ttfbP50: m((x) => x.ttfb?.p50),
                ttfbP99: m((x) => x.ttfb?.p99),
                hopCpuUsPerReq: m((x) => x.cpu.hop?.usPerRequest),
                upstreamCpuUsPerReq: m((x) => x.cpu.upstream?.usPerRequest),
                loadgenCpuPct: m((x) => x.cpu.loadgen?.pct),
                hopCpuPct: m((x) => x.cpu.hop?.pct),
                otherCpuPct: m((x) => x.cpu.other?.pct),
                irqCpuPct: m((x) => x.cpu.irq?.pct),
                stealCpuPct: m((x) => x.cpu.steal?.pct),
                requests: m((x) => x.requests),
                bytesPerResponse: m((x) => x.bytesPerResponse),
              },
            ];
          }),
        );
        const keys = Object.keys(derived[0] ?? {}) as (keyof RoundDerived)[];
        const overhead = Object.fromEntries(keys.map((k) => [k, { median: med((d) => d[k]), range: range(pick((d) => d[k])), perRound: pick((d) => d[k]) }]));
        // A/B: the gateway against the baseline of the same round (hop CPU: each one's own process).
        const ab: AbSummary | undefined = has('baseline') ? abSummary(rs.map((x) => abRound(x.gateway, x.baseline, () => 'hop')), sc.kind === 'sse') : undefined;
        return { ...sc, targetMedians, overhead: overhead as Record<keyof RoundDerived, { median: number; range: [number, number]; perRound: number[] }>, ...(ab ? { ab } : {}) };
      });

      // ── report sections ────────────────────────────────────────────────────
      const sections: Section[] = [];
      const pct = (x: number) => (Number.isFinite(x) ? `${Math.round(x)}%` : '-');
      const nR = o.rounds;
      sections.push({
        title: `Per target — median over ${nR} round(s) (ms; TTFB = time to the first data: event)`,
        columns: ['scenario', 'target', 'req/s', 'p50', 'p99', 'TTFB p50', 'TTFB p99', 'hop CPU µs/req', 'upstream CPU µs/req', 'loadgen CPU', 'other CPU'],
        rows: perScenario.flatMap((s) =>
          targets.map((t, i) => {
            const m = s.targetMedians[t.name];
            return [
              i === 0 ? s.key : '',
              t.name,
              fmtInt(m.rps),
              fmtMs(m.p50),
              fmtMs(m.p99),
              s.kind === 'sse' ? fmtMs(m.ttfbP50) : '-',
              s.kind === 'sse' ? fmtMs(m.ttfbP99) : '-',
              fmtInt(m.hopCpuUsPerReq),
              fmtInt(m.upstreamCpuUsPerReq),
              pct(m.loadgenCpuPct),
              pct(m.otherCpuPct),
            ];
          }),
        ),
        notes: [
          'hop = the bare proxy or gateway process; CPU from /proc/<pid>/stat over the measured phase (10 ms ticks).',
          `CPU % is of one core (${os.cpus().length} cores in all); other = CPU used by other programs meanwhile (machine process time minus ours): it should be near 0%.`,
        ],
      });
      const ov = (s: (typeof perScenario)[number], k: keyof RoundDerived, f: (n: number) => string) => {
        const x = s.overhead[k];
        return x ? withRange(f(x.median), f(x.range[0]), f(x.range[1]), nR) : '-';
      };
      if (has('gateway') || has('bare')) {
        sections.push({
          title: `Overhead — median of per-round ratios / differences [min…max over rounds]`,
          columns: ['scenario', 'gw/bare req/s', 'gw/direct req/s', 'bare/direct req/s', '+p50 gw', '+p50 bare', '+p99 gw', '+TTFB gw', '+TTFB bare', 'hop CPU gw/bare'],
          rows: perScenario.map((s) => [
            s.key,
            ov(s, 'gwBareRps', fmtRatio),
            ov(s, 'gwDirectRps', fmtRatio),
            ov(s, 'bareDirectRps', fmtRatio),
            ov(s, 'gwAddedP50', fmtDiffMs),
            ov(s, 'bareAddedP50', fmtDiffMs),
            ov(s, 'gwAddedP99', fmtDiffMs),
            s.kind === 'sse' ? ov(s, 'gwAddedTtfb', fmtDiffMs) : '-',
            s.kind === 'sse' ? ov(s, 'bareAddedTtfb', fmtDiffMs) : '-',
            ov(s, 'gwBareHopCpu', fmtRatio),
          ]),
          notes: ['+x = gateway (or bare proxy) minus direct, ms. Ratios and differences are taken within each round, then the median across rounds.'],
        });
      }
      if (o.baseline && has('baseline')) {
        sections.push({
          title: 'A/B: gateway vs baseline — median of per-round ratios / differences [min…max over rounds]',
          columns: ['scenario', '+p50 gw', '+p50 base', '+TTFB gw', '+TTFB base', ...AB_COLUMNS],
          rows: perScenario.map((s) => {
            const baseAdded = (f: (x: LoadResult) => number | undefined) => {
              const v = rounds.map((rd) => {
                const b = rd[s.key].baseline;
                const d = rd[s.key].direct;
                return b && d ? (f(b) ?? Number.NaN) - (f(d) ?? Number.NaN) : Number.NaN;
              });
              const [lo, hi] = range(v);
              return Number.isFinite(median(v)) ? withRange(fmtDiffMs(median(v)), fmtDiffMs(lo), fmtDiffMs(hi), nR) : '-';
            };
            const sse = s.kind === 'sse';
            return [
              s.key,
              ov(s, 'gwAddedP50', fmtDiffMs),
              baseAdded((x) => x.latency.p50),
              sse ? ov(s, 'gwAddedTtfb', fmtDiffMs) : '-',
              sse ? baseAdded((x) => x.ttfb?.p50) : '-',
              ...abCells(s.ab!, sse),
            ];
          }),
          notes: [...abNotes(o.baseline), '+x = gateway (or baseline) minus direct, ms, as in the table above; CPU/req = each gateway process\'s CPU per request.'],
        });
        settings.push(['A/B', abVerdict(perScenario.map((s) => ({ key: s.key, worse: s.ab?.worse ?? [] })), nR)]);
      }
      if (check) {
        sections.push({
          title: `Streams never buffered — upstream sends the first chunk, waits ${o.streamGapMs} ms, then one chunk every ${CHECK_CHUNK_GAP_MS} ms (medians of ${o.checkStreams} streams per target, interleaved)`,
          columns: ['target', 'first event', 'worst first', checkMode === 'stamped' ? 'event delay' : 'lateness', 'over direct', checkMode === 'stamped' ? 'max delay' : 'max lateness', 'result'],
          rows: check.map((c) => [c.target, `${fmtMs(c.firstMs)} ms`, `${fmtMs(c.worstFirstMs)} ms`, `${fmtMs(c.medianLatenessMs)} ms`, c.target === 'direct' ? '-' : `${fmtDiffMs(c.excessLatenessMs)} ms`, `${fmtMs(c.maxLatenessMs)} ms`, c.pass ? 'PASS' : `FAIL: ${c.problem}`]),
          notes: [
            checkMode === 'stamped'
              ? 'event delay = arrival − the upstream\'s send time stamped into each chunk (same clock); median per stream, then over streams.'
              : `the hop dropped the send-time stamps: lateness = arrival − (quickest direct first arrival + ${o.streamGapMs} ms + i × ${CHECK_CHUNK_GAP_MS} ms), which also counts request-path delays.`,
            `first event = time from sending the request. over direct = median over cycles of (its delay − the direct stream's in the same cycle). PASS needs a median first event < ${o.streamGapMs / 2} ms and over direct < ${checkMaxExcess} ms.`,
          ],
        });
      }

      // ── goals ──────────────────────────────────────────────────────────────
      const goals: Goal[] = [];
      const find = (kind: Scenario, c: number) => perScenario.find((s) => s.kind === kind && s.connections === c);
      const gw = has('gateway');
      for (const kind of ['json', 'sse'] as const) {
        const s = find(kind, 32);
        const v = s && gw && has('bare') ? s.overhead.gwBareRps.median : Number.NaN;
        goals.push({ description: `${kind} c=32 req/s, gateway vs bare proxy`, value: v, shown: fmtRatio(v), target: `≥ ${GOAL_RPS_VS_BARE}×`, pass: Number.isFinite(v) ? v >= GOAL_RPS_VS_BARE : null });
      }
      for (const kind of ['json', 'sse'] as const) {
        const s = find(kind, 1);
        const v = s && gw && has('direct') ? s.overhead.gwAddedP50.median : Number.NaN;
        goals.push({ description: `${kind} c=1 added p50 (full ${kind === 'sse' ? 'stream' : 'response'}) over direct`, value: v, shown: `${fmtDiffMs(v)} ms`, target: `≤ ${GOAL_ADDED_P50_MS} ms`, pass: Number.isFinite(v) ? v <= GOAL_ADDED_P50_MS : null });
      }
      {
        const s = find('sse', 1);
        const v = s && gw && has('direct') ? s.overhead.gwAddedTtfb.median : Number.NaN;
        goals.push({ description: 'sse c=1 added time to first chunk over direct', value: v, shown: `${fmtDiffMs(v)} ms`, target: `≤ ${GOAL_ADDED_TTFB_MS} ms`, pass: Number.isFinite(v) ? v <= GOAL_ADDED_TTFB_MS : null });
      }
      {
        const c = check?.find((x) => x.target === 'gateway');
        goals.push({
          description: 'streams never buffered (gateway)',
          value: c ? c.firstMs : Number.NaN,
          shown: c ? (c.pass ? `first event after ${fmtMs(c.firstMs)} ms, events ${fmtDiffMs(c.excessLatenessMs)} ms vs direct` : (c.problem ?? 'failed')) : (checkNote ?? 'not measured (no gateway target)'),
          target: `first event < ${o.streamGapMs / 2} ms despite a ${o.streamGapMs} ms gap, events < ${checkMaxExcess} ms later than direct`,
          pass: c ? c.pass : null,
        });
      }

      // Foreign load: other programs on the machine make every number noisier.
      const all = rounds.flatMap((rd) => Object.values(rd).flatMap((byT) => Object.values(byT)));
      const otherOf = (list: LoadResult[]) => list.map((x) => x.cpu.other?.pct ?? Number.NaN);
      const otherMed = median(otherOf(all));
      if (Number.isFinite(otherMed)) {
        const otherMax = range(otherOf(all))[1];
        const steal = median(all.map((x) => x.cpu.steal?.pct ?? Number.NaN));
        const irq = median(all.map((x) => x.cpu.irq?.pct ?? Number.NaN));
        const noisyRounds = rounds.map((rd, i) => [i + 1, median(otherOf(Object.values(rd).flatMap((byT) => Object.values(byT))))] as const).filter(([, v]) => v > 20).map(([i]) => i);
        const busy = otherMed > 15 || steal > 10 || noisyRounds.length * 2 > rounds.length;
        settings.push([
          'machine noise',
          `${busy ? 'BUSY — other programs competed for the CPU, numbers are noisy; rerun on an idle machine. ' : 'quiet. '}` +
            `Other programs: median ${pct(otherMed)}, max ${pct(otherMax)} of one core` +
            `${noisyRounds.length ? `; busy in round${noisyRounds.length > 1 ? 's' : ''} ${noisyRounds.join(', ')} of ${rounds.length}` : ''}; steal ${pct(steal)}; irq ${pct(irq)}`,
        ]);
      }

      // Gateway log volume (an observation: logging per request costs CPU).
      const logInfo = gatewayLogSummary(gatewayStart?.handle?.logFile, gatewayRequests);
      if (logInfo) {
        settings.push(['gateway log', `${fmtInt(logInfo.lines)} lines (${(logInfo.bytes / 1e6).toFixed(1)} MB, ${logInfo.perRequest.toFixed(2)} lines/request, ${logInfo.warnOrWorse} warn or worse)`]);
        for (const l of logInfo.samples.slice(0, 3)) settings.push(['', `  ${l.length > 240 ? `${l.slice(0, 240)}…` : l}`]);
      }
      const baselineLog = gatewayLogSummary(baselineStart?.handle?.logFile, baselineRequests);
      if (baselineLog) settings.push(['baseline log', `${fmtInt(baselineLog.lines)} lines (${(baselineLog.bytes / 1e6).toFixed(1)} MB, ${baselineLog.perRequest.toFixed(2)} lines/request, ${baselineLog.warnOrWorse} warn or worse)`]);

      completed = true;
      return {
        name: 'passthrough',
        title: 'Passthrough: gateway overhead on /v1/chat/completions',
        settings,
        sections,
        goals,
        failures,
        data: {
          targets: targets.map((t) => ({ name: t.name, where: t.where, pid: t.pid })),
          upstream: up,
          scenarios: perScenario,
          rounds,
          streamCheck: check ? { mode: checkMode, maxExcessMs: checkMaxExcess, results: check } : checkNote,
          gatewayLog: logInfo,
          gatewayDataDir: gatewayStart?.dataDir,
          ...(baselineStart ? { baseline: { ...o.baseline, notes: baselineStart.notes, log: baselineLog, dataDir: baselineStart.dataDir } } : {}),
        },
      };
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      // Keep the gateway's data dir (and log) when something went wrong, for a look afterwards.
      for (const st of [gatewayStart, baselineStart]) {
        if (st?.dataDir && !o.keepTemp && ((completed && failures.length === 0) || ctx.interrupted())) fs.rmSync(st.dataDir, { recursive: true, force: true });
      }
    }
  },
};
