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
  /**
   * The completion's content when it is not the fake upstream's default answer (tool-loop final
   * answers). JSON: the body must contain it (JSON-encoded); SSE: `pieces` is then its piece count.
   * Checked exactly in the first (deep) validation.
   */
  expectContent?: string;
}

/**
 * The tool-loop floor: per "request", what the gateway's loop does, done by a minimal client —
 * POST the first turn (`body` of the job) to the upstream, call the named tool on a warm MCP
 * session, POST the final turn (the first turn's body plus the assistant's tool call and the
 * wrapped tool result, serialised again), read the answer. `origin`/`path`/`headers` of the job
 * are the upstream's.
 */
export interface ToolFloorSpec {
  /** Streamable HTTP endpoint of the MCP server. */
  mcpUrl: string;
  /** Prefix the gateway puts before MCP tool names (`crm__`): stripped to call the MCP tool. */
  toolPrefix: string;
  /**
   * The MCP client's transport: `plugboard` = the SDK's `Client` over the transport the gateway
   * itself uses (src/plugins/kinds/mcp/http-transport.ts, undici request API) — the strict floor;
   * `sdk` = the SDK's `Client` over its own `StreamableHTTPClientTransport` (fetch), as an
   * application using the SDK directly would call the tool.
   */
  mcpTransport: 'plugboard' | 'sdk';
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
  /** Run the tool-loop floor instead of one HTTP request per iteration. */
  floor?: ToolFloorSpec;
  /** Run the custom-plugin floor instead (custom-plugin suite). */
  pluginFloor?: PluginFloorSpec;
}

/**
 * The custom-plugin floor (bench/lib/plugin-floor.ts): per "request", the first turn (`body` of
 * the job) to the upstream, one Standard Webhooks-signed POST of the call body to the plugin, the
 * final turn. `origin`/`path`/`headers` of the job are the upstream's.
 */
export interface PluginFloorSpec {
  /** The plugin's tool endpoint (baseUrl + endpoints.tools). */
  toolsUrl: string;
  /** The plugin's signing secret (`whsec_…`). */
  secret: string;
  /** `minimal`: `standardwebhooks` + an undici Pool; `plugboard`: the gateway's own signer and guarded request. */
  client: 'minimal' | 'plugboard';
  /** `<slug>__`, stripped from the model's tool name. */
  toolPrefix: string;
  /** mode, context and config of the gateway's call body (captured by the plugin server). */
  template: { mode: string; context: Record<string, unknown>; config: Record<string, unknown> };
}

/** One request of a burst. */
export interface BurstRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * A fixed list of requests sent once each over exactly `connections` connections (each a closed
 * loop taking the next request of the list), e.g. a burst of signed webhooks.
 */
export interface BurstJob {
  label: string;
  origin: string;
  requests: BurstRequest[];
  connections: number;
  /** Before the burst, this many GETs of `warmupPath` (at `connections` at once) open the connections; not measured. */
  warmupPath?: string;
  warmupRequests?: number;
  requestTimeoutMs: number;
  /** Expected status (default: any 2xx) and a string the body must contain (optional). */
  expectStatus?: number;
  expectBodyIncludes?: string;
  /** Return when each request was sent (epoch ms), in list order. */
  recordSentAt?: boolean;
  cpuPids: Record<string, number>;
  clockTicksPerSecond: number;
}

export interface BurstResult {
  label: string;
  connections: number;
  /** Requests sent; `ok` of them answered as expected. */
  sent: number;
  ok: number;
  elapsedMs: number;
  /** ok ÷ elapsed. */
  rps: number;
  /** Latency of the requests answered as expected, ms. */
  latency: Distribution;
  errors: ErrorCounts;
  /** Epoch ms (µs precision) when the first request was sent and the last answer read. */
  firstSentAt: number;
  lastDoneAt: number;
  /** With `recordSentAt`: when request i was sent, epoch ms. */
  sentAt?: number[];
  cpu: Record<string, CpuUse>;
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
  validation: {
    ok: boolean;
    status: number;
    problem?: string;
    sawUsage: boolean;
    bodySample?: string;
    /** Floor jobs: the final-turn body the floor sent (to compare with the gateway's). */
    floorFinalTurnBody?: string;
  };
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
  | { id: number; type: 'burst'; job: BurstJob }
  | { id: number; type: 'exit' };

export type WorkerReply =
  | { id: number; ok: true; result: LoadResult | ProbeResult | BurstResult | null }
  | { id: number; ok: false; error: string };
