/** Messages between the orchestrator and the load-generator child process. */
import type { Distribution } from './stats.ts';

export interface RequestSpec {
  /** Origin, e.g. http://127.0.0.1:8080 */
  origin: string;
  /** Request path, e.g. /v1/chat/completions */
  path: string;
  headers: Record<string, string>;
  /** Request body (JSON text). */
  body: string;
  /** The response is SSE: measure time to the first `data:` event and check for `[DONE]`. */
  stream: boolean;
  /** Content pieces the fake upstream sends (for validating the response). */
  pieces: number;
  /** How responses are checked: a chat completion (default), or any 2xx with a body read fully. */
  expect?: 'chat-completion' | 'any-2xx';
}

export interface LoadJob extends RequestSpec {
  label: string;
  /** Exactly this many connections (pipelining 1), each running a closed loop. */
  connections: number;
  warmupMs: number;
  warmupMaxRequests: number;
  durationMs: number;
  maxRequests: number;
  /** Per-request headers and body timeout. */
  requestTimeoutMs: number;
  /** A measurement stops early after this many failed requests. */
  maxErrors: number;
  /** Processes whose CPU time (from /proc/<pid>/stat) is read around the measured phase. */
  cpuPids: Record<string, number>;
  clockTicksPerSecond: number;
}

export interface ErrorCounts {
  /** Completed responses with a status outside 200–299. */
  non2xx: number;
  statusCounts: Record<string, number>;
  /** Connection errors, timeouts, resets. */
  network: number;
  /** 2xx responses whose body was not complete (stream without [DONE], JSON without a completion). */
  incomplete: number;
  /** First few problems, for the report. */
  samples: string[];
}

export interface CpuUse {
  /** CPU time used during the measured phase, ms. */
  ms: number;
  /** Share of one core, percent. */
  pct: number;
  /** CPU time per completed request, microseconds. */
  usPerRequest: number;
}

export interface LoadResult {
  label: string;
  connections: number;
  /** Completed 2xx, complete responses in the measured phase. */
  requests: number;
  elapsedMs: number;
  rps: number;
  /** Full response time (last body byte), ms. */
  latency: Distribution;
  /** SSE only: time to the first `data:` event, ms. */
  ttfb?: Distribution;
  bytesPerResponse: number;
  errors: ErrorCounts;
  warmup: { requests: number; failed: number };
  validation: { ok: boolean; status: number; problem?: string; sawUsage: boolean; bodySample?: string };
  cpu: Record<string, CpuUse>;
}

export interface ProbeResult {
  status: number;
  /** Arrival time of each `data:` event, ms after the request was sent. */
  eventTimesMs: number[];
  /**
   * Per event, arrival − the upstream's `bench_sent_at` stamp (ms, same clock), or null when the
   * event carries no stamp ([DONE], or a hop that dropped the field).
   */
  eventDelaysMs: (number | null)[];
  complete: boolean;
  problem?: string;
}

export type WorkerRequest =
  | { id: number; type: 'load'; job: LoadJob }
  | { id: number; type: 'probe'; spec: RequestSpec; timeoutMs: number }
  | { id: number; type: 'exit' };

export type WorkerReply =
  | { id: number; ok: true; result: LoadResult | ProbeResult | null }
  | { id: number; ok: false; error: string };
