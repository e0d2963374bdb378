/**
 * Prometheus metrics (`GET /metrics`): the one owner of `prom-client`.
 *
 * Request paths call the narrow recording functions below (an increment or a histogram bucket
 * per call, no I/O); state that lives in the database — the job queue's depth and dead letters —
 * is read only when Prometheus scrapes, through the `collect` callbacks the composition root
 * passes in. Labels carry only bounded, non-secret values: route templates (never a concrete path
 * with ids), methods, status codes, plugin ids (`first_party:*` or an installation id, never a
 * slug or a tool's arguments), job kinds, Twilio statuses and error codes. Never an organisation,
 * a key, a customer reference, a phone number or any text a tenant or a customer wrote.
 * Each app has its own registry: no module-level state, so several apps share a process in tests.
 */
import client from 'prom-client';

/** Latency buckets (seconds) for requests, upstream answers and tool calls: 5 ms up to the 10-minute upstream timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** HTTP methods Node accepts are bounded, but only these are told apart in labels. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Most label sets one request-path histogram keeps (route templates × methods × statuses are far fewer). */
const MAX_CHILDREN = 2000;
/** Statuses Twilio reports for messages; anything else is counted as `other` (a label never takes free text). */
const TWILIO_STATUSES = new Set(['accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'canceled', 'receiving', 'received', 'partially_delivered']);
/** Outcomes and error classes are snake_case words chosen by code; anything else becomes `other`. */
const WORD = /^[a-z][a-z0-9_]{0,47}$/;
const word = (v: string): string => (WORD.test(v) ? v : 'other');
/** Plugin ids as labels: `first_party:*` or an installation id; anything else is counted as `unknown`. */
const PLUGIN_ID = /^[A-Za-z0-9_:.-]{1,64}$/;
const twilioStatus = (v: string): string => (TWILIO_STATUSES.has(v) ? v : 'other');

/** Counts of jobs by kind and state, read from the job table at scrape time. */
export interface JobCounts {
  kind: string;
  status: string;
  count: number;
  /** Seconds the oldest due queued job of this kind has waited (queued rows only). */
  oldestDueSeconds?: number;
}

/** What the composition root lets the registry read at scrape time. */
export interface MetricsSources {
  jobs?: () => JobCounts[];
  usage?: () => { committed: number; dropped: number; recovered: number };
  /** Reply worker: jobs in flight and whether it runs. */
  worker?: () => { running: boolean; inFlight: number; concurrency: number } | null;
  upstreamUp?: () => number | null;
}

export interface Metrics {
  /** One HTTP request answered: route template (`/organizations/:orgId/keys`, or `unmatched`), method, status, seconds. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** One upstream call until its response headers (or its failure): status code, or `unreachable` / `timeout`. */
  upstreamResponse(path: string, status: number | 'unreachable' | 'timeout', seconds: number): void;
  /** One tool call of the model: plugin id and kind, outcome (`ok` or the error class), seconds. */
  toolCall(pluginId: string | null, kind: string | null, outcome: string, seconds: number): void;
  /** One Twilio send: the status Twilio answered (`queued`, `accepted`…) or `failed` with Twilio's error code. */
  whatsappSend(status: string, errorCode?: number | string | null): void;
  /** One delivery-status callback from Twilio (`sent`, `delivered`, `read`, `failed`, `undelivered`…). */
  whatsappStatus(status: string): void;
  /** Text exposition of every metric. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Builds a registry with the process's default metrics and Plugboard's own. */
export function createMetrics(opts: { version: string; sources?: MetricsSources }): Metrics {
  const registry = new client.Registry();
  const sources = opts.sources ?? {};
  client.collectDefaultMetrics({ register: registry });
  const reg = [registry];

  new client.Gauge({ name: 'plugboard_build_info', help: 'Plugboard version (value 1).', labelNames: ['version'], registers: reg }).set({ version: opts.version }, 1);

  // The metrics written on the request path (per request, per upstream call, per tool call) are
  // kept by FastHistogram and FastCounter (below): prom-client's own observe() and inc() validate
  // and hash their labels on every call, measured at 1.3–2.5 µs each here (the tool metrics ~8 µs
  // per tool call in a CPU profile of the tool loop), against ~0.1 µs for a lookup by prebuilt keys.
  const http = new FastHistogram('plugboard_http_request_duration_seconds', 'HTTP requests by route template, method and status; _count is the request count.', LATENCY_BUCKETS);
  const upstream = new FastHistogram('plugboard_upstream_response_seconds', 'Upstream model provider calls until response headers (non-streamed: the whole completion), by path and status (or unreachable/timeout).', LATENCY_BUCKETS);
  const tools = new FastCounter('plugboard_tool_calls_total', 'Tool calls of the model by plugin (first_party:* or installation id), plugin kind and outcome (ok or error class).');
  const toolLatency = new FastHistogram('plugboard_tool_call_duration_seconds', 'Tool call latency by plugin kind and outcome.', LATENCY_BUCKETS);
  for (const metric of [http, upstream, tools, toolLatency]) registry.registerMetric(metric as unknown as client.Metric);
  const sends = new client.Counter({
    name: 'plugboard_whatsapp_sends_total', help: 'Twilio send calls by the status Twilio answered, or failed with its error code.',
    labelNames: ['status', 'error_code'], registers: reg,
  });
  const statuses = new client.Counter({
    name: 'plugboard_whatsapp_status_callbacks_total', help: 'Delivery-status callbacks from Twilio by status.',
    labelNames: ['status'], registers: reg,
  });

  new client.Gauge({
    name: 'plugboard_jobs', help: 'Jobs in the durable job table by kind and state (queued, running, dead = dead letters).',
    labelNames: ['kind', 'status'], registers: reg,
    collect() {
      this.reset();
      for (const row of safe(sources.jobs) ?? []) this.set({ kind: row.kind, status: row.status }, row.count);
    },
  });
  new client.Gauge({
    name: 'plugboard_jobs_oldest_due_seconds', help: 'Seconds the oldest due queued job of each kind has waited (0 when none is due).',
    labelNames: ['kind'], registers: reg,
    collect() {
      this.reset();
      for (const row of safe(sources.jobs) ?? []) if (row.status === 'queued') this.set({ kind: row.kind }, row.oldestDueSeconds ?? 0);
    },
  });
  new client.Gauge({
    name: 'plugboard_reply_worker_in_flight', help: 'WhatsApp reply jobs being handled now (-1 when the worker is disabled).', registers: reg,
    collect() {
      const w = safe(sources.worker);
      this.set(w ? w.inFlight : -1);
    },
  });
  new client.Gauge({
    name: 'plugboard_upstream_up', help: 'Whether the upstream answered the last probe or request (1), failed (0); absent until known.', registers: reg,
    collect() {
      this.reset();
      const up = safe(sources.upstreamUp);
      if (up !== null && up !== undefined) this.set(up);
    },
  });
  const usage = (name: string, help: string, pick: (s: { committed: number; dropped: number; recovered: number }) => number): void => {
    new client.Counter({
      name, help, registers: reg,
      collect() {
        const s = safe(sources.usage);
        if (!s) return;
        this.reset();
        this.inc(pick(s));
      },
    });
  };
  usage('plugboard_usage_events_committed_total', 'Usage events written to the database since start.', (s) => s.committed);
  usage('plugboard_usage_events_dropped_total', 'Usage events lost because the database refused the write since start.', (s) => s.dropped);

  return {
    httpRequest(route, method, status, seconds) {
      // Keys that cost nothing to hash: the route template is the same string object every time
      // (V8 keeps its hash), method and status fold into one small integer.
      const m = METHODS.indexOf(method);
      http.observe(route, status * 8 + (m < 0 ? 7 : m), () => ({ route, method: m < 0 ? 'other' : METHODS[m], status: String(status) }), seconds);
    },
    upstreamResponse(path, status, seconds) {
      upstream.observe(path, status, () => ({ path, status: String(status) }), seconds);
    },
    toolCall(pluginId, kind, outcome, seconds) {
      const plugin = pluginId !== null && PLUGIN_ID.test(pluginId) ? pluginId : 'unknown';
      const k = kind === null ? 'unknown' : word(kind);
      const o = word(outcome);
      // Keyed by the label values themselves (a word never holds NUL): one key, one label set.
      const ko = `${k}\u0000${o}`;
      tools.inc(plugin, ko, () => ({ plugin, kind: k, outcome: o }));
      toolLatency.observe(ko, 0, () => ({ kind: k, outcome: o }), seconds);
    },
    whatsappSend(status, errorCode) {
      const code = errorCode === null || errorCode === undefined ? '' : String(errorCode);
      sends.labels(status === 'failed' ? 'failed' : twilioStatus(status), code === '' || /^\d{1,6}$|^[a-z_]{1,32}$/.test(code) ? code : 'other').inc();
    },
    whatsappStatus(status) {
      statuses.labels(twilioStatus(status)).inc();
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** A source that throws (a closed database at shutdown) leaves its metric out instead of failing the scrape. */
function safe<T>(fn: (() => T) | undefined): T | undefined {
  try {
    return fn?.();
  } catch {
    return undefined;
  }
}

/**
 * Label sets found by two keys the caller builds cheaply (e.g. a route template, then method and
 * status folded into one integer); `labels` is called only when a set is first seen. At most
 * MAX_CHILDREN sets; beyond that, everything counts under one set whose every label is
 * `overflow`, so a bug that made labels unbounded shows instead of eating memory.
 */
class SeriesTable<T extends { labels: Record<string, string> }> {
  readonly #series = new Map<string, Map<string | number, T>>();
  readonly #make: (labels: Record<string, string>) => T;
  #size = 0;

  constructor(make: (labels: Record<string, string>) => T) {
    this.#make = make;
  }

  get(k1: string, k2: string | number, labels: () => Record<string, string>): T {
    return this.#series.get(k1)?.get(k2) ?? this.#create(k1, k2, labels);
  }

  #create(k1: string, k2: string | number, labels: () => Record<string, string>): T {
    const overflow = this.#size >= MAX_CHILDREN;
    const a = overflow ? '\u0000overflow' : k1;
    const b = overflow ? 0 : k2;
    let inner = this.#series.get(a);
    if (!inner) this.#series.set(a, (inner = new Map()));
    let s = inner.get(b);
    if (s === undefined) {
      const l = labels();
      s = this.#make(overflow ? Object.fromEntries(Object.keys(l).map((n) => [n, 'overflow'])) : l);
      inner.set(b, s);
      this.#size++;
    }
    return s;
  }

  all(): T[] {
    return [...this.#series.values()].flatMap((m) => [...m.values()]);
  }

  clear(): void {
    this.#series.clear();
    this.#size = 0;
  }
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };
type MetricGet = { name: string; help: string; type: string; aggregator: string; values: MetricValue[] };

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above the highest bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram in prom-client's registry (it is duck-typed: name, help, type, aggregator, get()),
 * whose observe() costs one Map lookup by keys the caller builds and a few additions.
 */
class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series: SeriesTable<Series>;

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = bounds;
    this.#series = new SeriesTable((labels) => ({ labels, counts: new Float64Array(bounds.length + 1), sum: 0, count: 0 }));
  }

  observe(k1: string, k2: string | number, labels: () => Record<string, string>, value: number): void {
    const s = this.#series.get(k1, k2, labels);
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  async get(): Promise<MetricGet> {
    const values: MetricValue[] = [];
    for (const s of this.#series.all()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}

/** A counter kept the same way as FastHistogram: inc() is one lookup by prebuilt keys and an addition. */
class FastCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #series = new SeriesTable((labels) => ({ labels, value: 0 }));

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  inc(k1: string, k2: string | number, labels: () => Record<string, string>): void {
    this.#series.get(k1, k2, labels).value++;
  }

  async get(): Promise<MetricGet> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#series.all().map((s) => ({ labels: s.labels, value: s.value })) };
  }

  reset(): void {
    this.#series.clear();
  }
}
