/**
 * Wire types of the operations endpoints: `GET /readyz` (no credentials) — what the TUI's
 * connection indicator and the public-URL warning can read. Types only: never runtime code.
 * `/metrics` is Prometheus text, not JSON (README, Operator guide).
 */

/** What is known of the upstream model provider: a TCP probe at start, then every real call's outcome. */
export interface UpstreamHealthSnapshot {
  /** ok; refusing (401/403: our key is refused); error (5xx); unreachable; unknown (nothing learnt yet); not_configured. */
  state: 'ok' | 'refusing' | 'error' | 'unreachable' | 'unknown' | 'not_configured';
  /** ISO time it was learnt, null before anything was. */
  checkedAt: string | null;
  source: 'probe' | 'request' | null;
  /** HTTP status of the last answer, or the network error's code (ECONNREFUSED, connect_timeout, timeout…). */
  detail: string | null;
}

/** The WhatsApp reply worker. */
export interface WorkerReport {
  state: 'disabled' | 'new' | 'running' | 'stopping' | 'stopped';
  inFlight: number;
  concurrency: number;
}

/** The durable job table (all kinds; `done` jobs are not counted). */
export interface QueueSummary {
  queued: number;
  /** Queued jobs whose run time has come. */
  due: number;
  running: number;
  /** Dead letters: jobs that need an operator (requeue after fixing the cause). */
  dead: number;
  /** How long the oldest due job has waited, seconds. */
  oldestDueSeconds: number;
}

/** Why Twilio cannot reach PLUGBOARD_PUBLIC_BASE_URL. */
export type PublicUrlProblem = 'plain_http' | 'loopback' | 'private_address' | 'not_a_public_name';

/** `GET /readyz`: 200 `ready` or 503 `not_ready` (database, storage and shutdown decide; the rest is reported). */
export interface ReadyzResponse {
  status: 'ready' | 'not_ready';
  checks: {
    database: 'ok' | 'failing';
    storage: 'ok' | 'full' | 'io_error' | 'read_only' | 'busy' | 'unknown';
    usageDropped: number;
    shuttingDown: boolean;
    upstream: UpstreamHealthSnapshot;
    worker: WorkerReport;
    queue: QueueSummary | 'unknown';
    publicBaseUrl: { state: 'ok' } | { state: 'not_public'; problems: PublicUrlProblem[] };
  };
}
