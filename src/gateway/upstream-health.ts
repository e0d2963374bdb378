/**
 * What is known about the upstream model provider's health, for `/readyz`, `/metrics` and the
 * start-up warning: the outcome of the latest real call (the pool reports every one) or of a
 * probe, whichever is newer.
 *
 * The probe is a TCP connection to the upstream's host and port, closed at once: it spends no
 * tokens, sends no key and no HTTP request (an HTTP probe would show up in an upstream's request
 * log and bill or rate-limit nothing useful), and tells the usual start-up mistakes apart — a
 * wrong host name, nothing listening, a firewall. Whether the key is right shows on the first
 * real call (`refusing`). Never probes an upstream nobody configured (the default is for `serve`,
 * not a destination to call), and never throws.
 */
import net from 'node:net';
import type { UpstreamHealthSnapshot } from '../shared/api-ops.ts';

export type { UpstreamHealthSnapshot };

/** How long a probe waits for the connection. */
const PROBE_TIMEOUT_MS = 3000;

export type UpstreamState = UpstreamHealthSnapshot['state'];

export interface UpstreamHealth {
  /** A real call's outcome (from the upstream pool's observer). */
  note(status: number | 'unreachable' | 'timeout'): void;
  /** Connects to the upstream's host and port once; resolves with the new snapshot. */
  probe(signal?: AbortSignal): Promise<UpstreamHealthSnapshot>;
  snapshot(): UpstreamHealthSnapshot;
  /** 1 up, 0 down, null unknown (metrics). */
  up(): number | null;
}

/** The state a status of a real answer means: 401/403 = our key is refused; 5xx = the provider fails. */
function stateOf(status: number): UpstreamState {
  if (status === 401 || status === 403) return 'refusing';
  if (status >= 500) return 'error';
  return 'ok';
}

export function createUpstreamHealth(opts: { baseUrl: string; configured: boolean; now?: () => number; timeoutMs?: number }): UpstreamHealth {
  const now = opts.now ?? Date.now;
  const url = new URL(opts.baseUrl);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // Plain fields, written on every upstream call (the hot path): the snapshot object is built only when read.
  let state: UpstreamState = opts.configured ? 'unknown' : 'not_configured';
  let at = 0;
  let source: 'probe' | 'request' | null = null;
  let detail: string | number | null = null;
  const snapshot = (): UpstreamHealthSnapshot => ({ state, checkedAt: at ? new Date(at).toISOString() : null, source, detail: detail === null ? null : String(detail) });
  const set = (s: UpstreamState, src: 'probe' | 'request', d: string | number | null): void => {
    state = s;
    at = now();
    source = src;
    detail = d;
  };
  return {
    // Every upstream call: four plain writes, no snapshot (its date string alone cost ~7 µs a call).
    note(status) {
      if (typeof status === 'number') set(stateOf(status), 'request', status);
      else set('unreachable', 'request', status);
    },
    probe(signal) {
      if (!opts.configured) return Promise.resolve(snapshot());
      return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        let settled = false;
        const finish = (result: UpstreamState, why: string): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          socket.destroy();
          // A real answer that arrived meanwhile is newer news than a connection.
          if (!(source === 'request' && at > started)) set(result, 'probe', why);
          resolve(snapshot());
        };
        const started = now();
        const timer = setTimeout(() => finish('unreachable', 'connect_timeout'), opts.timeoutMs ?? PROBE_TIMEOUT_MS);
        const onAbort = (): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.destroy();
          resolve(snapshot());
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.once('connect', () => finish('ok', 'connected'));
        socket.once('error', (err: NodeJS.ErrnoException) => finish('unreachable', err.code ?? 'error'));
      });
    },
    snapshot,
    up() {
      if (state === 'ok') return 1;
      if (state === 'unknown' || state === 'not_configured') return null;
      return 0;
    },
  };
}
