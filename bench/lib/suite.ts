/**
 * What a benchmark suite is: something that, given the shared options and the load generator,
 * measures and returns tables, goals and failures. `run.ts` prints and saves the results of every
 * suite it ran (passthrough, tool-loop, whatsapp).
 */
import type { BaselineInfo } from './ab.ts';
import type { LoadGenerator } from './loadgen.ts';

/** `baseline`: the gateway of another checkout (`--baseline DIR`), never chosen with --targets. */
export type TargetName = 'direct' | 'bare' | 'gateway' | 'baseline';
export type Scenario = 'json' | 'sse';

export interface BenchOptions {
  rounds: number;
  durationMs: number;
  /** Unmeasured run of each (kind, target) before the passthrough rounds, so hops are measured warm. */
  primeMs: number;
  warmupMs: number;
  maxRequests: number;
  warmupMaxRequests: number;
  requestTimeoutMs: number;
  connections: number[];
  scenarios: Scenario[];
  targets: TargetName[];
  /** Content pieces per answer from the fake upstream. */
  pieces: number;
  /** Gap the fake upstream holds after the first chunk in the "never buffered" check. */
  streamGapMs: number;
  /** Streams per target in that check (interleaved cycles). */
  checkStreams: number;
  /** A gateway already running: base URL (with or without /v1) and a gateway key. */
  targetUrl?: string;
  targetKey?: string;
  /** pid of that gateway, for CPU accounting (optional). */
  targetPid?: number;
  /** A fake upstream already running (bench/fake-upstream.ts), instead of starting one. */
  upstreamUrl?: string;
  /** Start the fake upstream on this port (so an external gateway can point at it). */
  upstreamPort?: number;
  rateLimitRpm: number;
  /** Extra PLUGBOARD_* variables for the spawned gateway. */
  gatewayEnv: Record<string, string>;
  /** Extra Node options for the spawned gateway (e.g. --cpu-prof, --trace-gc). */
  gatewayNodeArgs: string[];
  keepTemp: boolean;
  /** A/B: another checkout whose gateway is measured in the same rounds (passthrough, tool-loop). */
  baseline?: BaselineInfo;
  clockTicksPerSecond: number;
  repoRoot: string;
  /** Tool-loop suite: rounds, measured phase and warm-up per (scenario, target), connections, scenarios. */
  toolLoop: { rounds: number; durationMs: number; warmupMs: number; primeMs: number; primeRequests: number; connections: number[]; scenarios: Scenario[] };
  /** WhatsApp suite: webhooks per burst, connections of a burst, rounds (each: a /healthz burst and a webhook burst). */
  whatsapp: { messages: number; connections: number; rounds: number };
  /** usage-summary suite: usage events per data set, summary requests per query, rollup-maintenance rounds. */
  usage: { sizes: number[]; samples: number; rounds: number };
}

export interface SuiteContext {
  options: BenchOptions;
  loadgen: LoadGenerator;
  /** Progress output (stderr), not part of the report. */
  log(message: string): void;
  /** True once the user interrupted the run (Ctrl-C): clean up, report nothing. */
  interrupted(): boolean;
}

export interface Goal {
  description: string;
  /** The measured value (median of per-round values); NaN when not measured. */
  value: number;
  /** Formatted value for the report. */
  shown: string;
  target: string;
  /** null = not measured in this run. */
  pass: boolean | null;
}

export interface Section {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

export interface SuiteResult {
  name: string;
  title: string;
  /** Settings worth printing above the tables (rate limiter, log level, …). */
  settings: [string, string][];
  sections: Section[];
  goals: Goal[];
  /** Things that broke (errors, non-2xx, incomplete streams): any makes the run fail. */
  failures: string[];
  /** Everything measured, for the JSON file. */
  data: unknown;
}

export interface Suite {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}
