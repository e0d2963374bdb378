/**
 * `npm run bench` — measures what Plugboard adds on top of its upstream.
 *
 * The orchestrator (this process) only starts processes, hands jobs to the load generator (its own
 * process) and writes the report; it is idle while a measurement runs. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baselineLabel, describeBaseline } from './lib/ab.ts';
import { LoadGenerator } from './lib/loadgen.ts';
import { killAllChildren } from './lib/proc.ts';
import { renderSuite, writeResults } from './lib/report.ts';
import type { BenchOptions, Scenario, Suite, SuiteResult, TargetName } from './lib/suite.ts';
import { passthroughSuite } from './suites/passthrough.ts';
import { toolLoopSuite } from './suites/tool-loop.ts';
import { whatsappSuite } from './suites/whatsapp.ts';
import { usageSummarySuite } from './suites/usage-summary.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');

/** Every suite `npm run bench` knows; they run in this order. */
const SUITES: Suite[] = [passthroughSuite, toolLoopSuite, whatsappSuite];
SUITES.splice(SUITES.indexOf(toolLoopSuite) + 1, 0, (await import('./suites/custom-plugin.ts')).customPluginSuite); // custom-plugin suite (issue 11), right after tool-loop
SUITES.push(usageSummarySuite); // usage-summary suite (issue 13), last

const HELP = `Usage: npm run bench -- [options]   (or: node bench/run.ts [options])

Suites (in this order):
${SUITES.map((s) => `  ${s.name.padEnd(12)} ${s.description}`).join('\n')}

  --suites NAME[,NAME]    suites to run (default: all); --suite is the same
  --quick                 smoke run, ≤ 1 minute: fewer rounds of shorter measurements

passthrough:
  --rounds N              interleaved rounds (default 5; quick 2)
  --duration-ms MS        measured phase per (scenario, target) (default 2000; quick 600)
  --warmup-ms MS          warm-up before each measurement (default 400; quick 150)
  --max-requests N        cap on requests per measured phase (default 200000)
  --connections LIST      concurrent connections (default 1,32)
  --scenarios LIST        json,sse (default both)
  --targets LIST          direct,bare,gateway (default all three; without gateway the other
                          suites are skipped)
  --target-url URL        measure a gateway that is already running (base URL, with or without /v1)
                          instead of starting one; env BENCH_TARGET_URL (the other suites are skipped)
  --target-key KEY        gateway key for --target-url; env BENCH_TARGET_KEY
  --target-pid PID        pid of that gateway, for CPU accounting (optional)
  --upstream-port PORT    start the fake upstream on this port (point an external gateway at it)
  --upstream-url URL      use a fake upstream that is already running (node bench/fake-upstream.ts)
  --stream-gap-ms MS      gap held after the first chunk in the buffering check (default 200)

tool-loop (gateway with one MCP tool call vs. a minimal client doing the same work; custom-plugin uses the same options):
  --tool-loop-rounds N        interleaved rounds (default 4; quick 2)
  --tool-loop-duration-ms MS  measured phase per (scenario, target) (default 1000; quick 400)
  --tool-loop-connections L   concurrent connections (default 1,8)
  --tool-loop-scenarios L     json,sse (default json)

whatsapp (webhook acknowledgement under a burst, end-to-end replies):
  --whatsapp-messages N       webhooks per burst (default 500; quick 200)
  --whatsapp-connections N    concurrency of a burst (default 32)
  --whatsapp-rounds N         rounds, each a /healthz burst and a webhook burst (default 3; quick 1)

usage-summary (the summary from rollups at growing usage tables; rollup maintenance cost):
  --usage-sizes LIST          usage events per data set (default 10000,10000000; quick 10000,1000000)
  --usage-samples N           summary requests per query and size (default 40; quick 15)
  --usage-rounds N            rounds of the rollup-maintenance measurement (default 5; quick 3)

A/B against another checkout (passthrough, tool-loop, custom-plugin; whatsapp ignores it):
  --baseline DIR          also start the gateway of the Plugboard checkout DIR (e.g. made with
                          \`git worktree add /work/wt/base <commit>\`) exactly like this one, and measure
                          it as the target "baseline" in the same interleaved rounds; reports gateway ÷
                          baseline req/s and gateway − baseline p50/TTFB per round (median [min…max]).
                          DIR without node_modules uses this checkout's (resolve hook; DIR is not written)

all suites:
  --rate-limit-rpm N      PLUGBOARD_RATE_LIMIT_RPM of the spawned gateways (default 0 = limiter off)
  --gateway-env K=V       extra PLUGBOARD_* variable for the spawned gateways (repeatable)
  --gateway-node-arg ARG  extra Node option for the spawned gateways, e.g. --gateway-node-arg=--cpu-prof
                          (repeatable; profiles land in the gateway's data dir, kept with --keep-temp)
  --pieces N              content chunks per streamed answer (default 8)
  --out FILE              results file (default bench/results/<timestamp>.json)
  --keep-temp             keep the gateway's temporary data dir
  -h, --help

Exit code: 0 when the run measured cleanly (goals may still FAIL: it is a measurement),
1 when something broke (errors, non-2xx, incomplete streams, a process died), 2 on bad options.`;

function die(msg: string, code = 2): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
}

function list<T extends string>(value: string, allowed: readonly T[], name: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) die(`${name}: unknown value "${i}" (allowed: ${allowed.join(', ')})`);
  if (!items.length) die(`${name}: empty list`);
  return [...new Set(items)] as T[];
}

function int(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) die(`${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function parseOptions(): { options: BenchOptions; suites: Suite[]; out?: string } {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        suite: { type: 'string' },
        suites: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'duration-ms': { type: 'string' },
        'warmup-ms': { type: 'string' },
        'max-requests': { type: 'string' },
        connections: { type: 'string', default: '1,32' },
        scenarios: { type: 'string', default: 'json,sse' },
        targets: { type: 'string', default: 'direct,bare,gateway' },
        'target-url': { type: 'string' },
        'target-key': { type: 'string' },
        'target-pid': { type: 'string' },
        'upstream-port': { type: 'string' },
        'upstream-url': { type: 'string' },
        'rate-limit-rpm': { type: 'string' },
        'gateway-env': { type: 'string', multiple: true, default: [] },
        'gateway-node-arg': { type: 'string', multiple: true, default: [] },
        'stream-gap-ms': { type: 'string' },
        pieces: { type: 'string' },
        'tool-loop-rounds': { type: 'string' },
        'tool-loop-duration-ms': { type: 'string' },
        'tool-loop-connections': { type: 'string', default: '1,8' },
        'tool-loop-scenarios': { type: 'string', default: 'json' },
        'whatsapp-messages': { type: 'string' },
        'whatsapp-connections': { type: 'string' },
        'whatsapp-rounds': { type: 'string' },
        'usage-sizes': { type: 'string' },
        'usage-samples': { type: 'string' },
        'usage-rounds': { type: 'string' },
        out: { type: 'string' },
        baseline: { type: 'string' },
        'keep-temp': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    die(`${(err as Error).message}\n\n${HELP}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const quick = v.quick ?? false;
  if (v.suite && v.suites) die('--suite and --suites are the same option: give one');
  const suiteList = v.suites ?? v.suite;
  // Chosen suites still run in the usual order.
  const chosen = suiteList ? list(suiteList, SUITES.map((s) => s.name), '--suites') : undefined;
  const suites = chosen ? SUITES.filter((s) => chosen.includes(s.name)) : SUITES;
  const gatewayEnv: Record<string, string> = {};
  for (const kv of v['gateway-env'] ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0 || !kv.startsWith('PLUGBOARD_')) die(`--gateway-env expects PLUGBOARD_NAME=value, got "${kv}"`);
    gatewayEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const connections = v.connections!.split(',').map((s) => int(s.trim(), '--connections', 1, 1));
  const targetUrl = v['target-url'] ?? process.env.BENCH_TARGET_URL;
  const targetKey = v['target-key'] ?? process.env.BENCH_TARGET_KEY;
  const upstreamUrl = v['upstream-url'] ?? process.env.BENCH_UPSTREAM_URL;
  for (const [name, url] of [['--target-url', targetUrl], ['--upstream-url', upstreamUrl]] as const) {
    if (url && !URL.canParse(url)) die(`${name}: not a URL: ${url}`);
  }
  if (upstreamUrl && v['upstream-port']) die('--upstream-url and --upstream-port exclude each other');
  const targets = list<TargetName>(v.targets!, ['direct', 'bare', 'gateway'], '--targets');
  let baseline: BenchOptions['baseline'];
  if (v.baseline !== undefined) {
    if (targetUrl) die('--baseline and --target-url exclude each other: the A/B comparison starts both gateways itself');
    if (!targets.includes('gateway')) die('--baseline needs the gateway target (it is compared with the gateway)');
    try {
      baseline = describeBaseline(v.baseline);
    } catch (err) {
      die((err as Error).message);
    }
  }
  const options: BenchOptions = {
    rounds: int(v.rounds, '--rounds', 1, quick ? 2 : 5),
    durationMs: int(v['duration-ms'], '--duration-ms', 100, quick ? 600 : 2000),
    primeMs: quick ? 1000 : 4000,
    warmupMs: int(v['warmup-ms'], '--warmup-ms', 0, quick ? 150 : 400),
    maxRequests: int(v['max-requests'], '--max-requests', 1, 200_000),
    warmupMaxRequests: 20_000,
    requestTimeoutMs: 30_000,
    connections: [...new Set(connections)],
    scenarios: list<Scenario>(v.scenarios!, ['json', 'sse'], '--scenarios'),
    targets,
    pieces: int(v.pieces, '--pieces', 1, 8),
    streamGapMs: int(v['stream-gap-ms'], '--stream-gap-ms', 20, 200),
    checkStreams: quick ? 3 : 5,
    targetUrl,
    targetKey,
    targetPid: v['target-pid'] ? int(v['target-pid'], '--target-pid', 1, 0) : undefined,
    upstreamUrl,
    upstreamPort: v['upstream-port'] ? int(v['upstream-port'], '--upstream-port', 1, 0) : undefined,
    rateLimitRpm: int(v['rate-limit-rpm'], '--rate-limit-rpm', 0, 0),
    gatewayEnv,
    gatewayNodeArgs: v['gateway-node-arg'] ?? [],
    keepTemp: v['keep-temp'] ?? false,
    baseline,
    clockTicksPerSecond: clockTicks(),
    repoRoot: REPO,
    toolLoop: {
      rounds: int(v['tool-loop-rounds'], '--tool-loop-rounds', 1, quick ? 2 : 4),
      durationMs: int(v['tool-loop-duration-ms'], '--tool-loop-duration-ms', 100, quick ? 400 : 1000),
      warmupMs: quick ? 150 : 250,
      // Both sides keep getting faster for several thousand requests (JIT): measure them warm.
      primeMs: quick ? 1500 : 30_000,
      primeRequests: quick ? 1000 : 12_000,
      connections: [...new Set(v['tool-loop-connections']!.split(',').map((s) => int(s.trim(), '--tool-loop-connections', 1, 1)))],
      scenarios: list<Scenario>(v['tool-loop-scenarios']!, ['json', 'sse'], '--tool-loop-scenarios'),
    },
    whatsapp: {
      messages: int(v['whatsapp-messages'], '--whatsapp-messages', 1, quick ? 200 : 500),
      connections: int(v['whatsapp-connections'], '--whatsapp-connections', 1, 32),
      rounds: int(v['whatsapp-rounds'], '--whatsapp-rounds', 1, quick ? 1 : 3),
    },
    usage: {
      sizes: (v['usage-sizes'] ?? (quick ? '10000,1000000' : '10000,10000000')).split(',').map((x) => int(x.trim(), '--usage-sizes', 1, 0)),
      samples: int(v['usage-samples'], '--usage-samples', 1, quick ? 15 : 40),
      rounds: int(v['usage-rounds'], '--usage-rounds', 1, quick ? 3 : 5),
    },
  };
  return { options, suites, out: v.out };
}

async function main(): Promise<number> {
  const { options, suites, out } = parseOptions();
  const log = (m: string) => process.stderr.write(`· ${m}\n`);
  const started = new Date();
  const cpus = os.cpus();
  const machine = {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAvgStart: os.loadavg(),
  };
  process.stdout.write(
    `Plugboard bench — ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, load avg ${machine.loadAvgStart.map((x) => x.toFixed(2)).join(' ')}\n` +
      `Note: the load generator, the servers and the upstream share these ${machine.cpus} cores.\n` +
      (options.baseline ? `A/B: the gateway (${gitCommit()?.slice(0, 7) ?? 'this checkout'}) against the baseline ${baselineLabel(options.baseline)}, in the same rounds.\n` : '') +
      '\n',
  );

  const loadgen = new LoadGenerator();
  await loadgen.ready();
  const results: SuiteResult[] = [];
  const crashed: { suite: string; error: string }[] = [];
  try {
    for (const suite of suites) {
      log(`suite ${suite.name}: ${suite.description}`);
      try {
        const r = await suite.run({ options, loadgen, log, interrupted: () => interrupted });
        results.push(r);
        process.stdout.write(`${renderSuite(r)}\n\n`);
      } catch (err) {
        if (interrupted) break;
        const msg = (err as Error).message ?? String(err);
        crashed.push({ suite: suite.name, error: msg });
        process.stdout.write(`━━ ${suite.name}: BROKEN ━━\n  ${msg.replace(/\n/g, '\n  ')}\n\n`);
      }
    }
  } finally {
    await loadgen.close();
  }

  if (interrupted) {
    process.stdout.write('Interrupted: no results written.\n');
    return 130;
  }
  const failures = results.reduce((n, r) => n + r.failures.length, 0);
  const goals = results.flatMap((r) => r.goals);
  const ok = failures === 0 && crashed.length === 0;
  const file = writeResults(
    path.join(HERE, 'results'),
    {
      startedAt: started.toISOString(),
      durationS: (Date.now() - started.getTime()) / 1000,
      commit: gitCommit(),
      baseline: options.baseline,
      machine: { ...machine, loadAvgEnd: os.loadavg() },
      options: { ...options, targetKey: options.targetKey ? '[redacted]' : undefined },
      ok,
      crashed,
      goals: { passed: goals.filter((g) => g.pass === true).length, failed: goals.filter((g) => g.pass === false).length, notMeasured: goals.filter((g) => g.pass === null).length },
      suites: Object.fromEntries(results.map((r) => [r.name, r])),
    },
    out,
  );
  const secs = ((Date.now() - started.getTime()) / 1000).toFixed(0);
  const passed = goals.filter((g) => g.pass === true).length;
  const failed = goals.filter((g) => g.pass === false).length;
  process.stdout.write(
    `${ok ? 'Run OK' : 'Run BROKEN (see problems above)'} in ${secs} s — goals: ${passed} passed, ${failed} failed, ${goals.length - passed - failed} not measured.\nResults: ${path.relative(process.cwd(), file) || file}\n`,
  );
  return ok ? 0 : 1;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, stopping child processes…\n`);
    killAllChildren();
    setTimeout(() => process.exit(130), 1500).unref();
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
