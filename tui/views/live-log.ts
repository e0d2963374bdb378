/**
 * Pure views of the live event stream: one line per event (time, request id, type, tool, status,
 * latency), the stream status label and a bounded line buffer. Never import blessed or do I/O.
 */
import type { Job, LiveEvent } from '../../src/shared/api.ts';
import type { StreamStatus } from '../client.ts';
import { clean, clockTime, fit, formatLatency } from './text.ts';

/** Lines the live log keeps; older ones scroll away (a busy gateway must not grow the TUI's memory). */
export const LIVE_LOG_MAX_LINES = 1000;

// Column widths add up to 75 so that status and latency stay visible in an 80-column terminal (inside the border).
export const LIVE_LOG_HEADER = `${fit('TIME', 12)} ${fit('REQUEST', 14)} ${fit('EVENT', 18)} ${fit('TOOL/MODEL', 14)} ${fit('STAT', 5)} ${fit('LATENCY', 7, 'right')} ERROR`;

export function liveEventLine(e: LiveEvent): string {
  let subject = '';
  if (e.tool) subject = clean(e.tool);
  else if (e.model) subject = clean(e.model);
  else if (e.type === 'request_started') subject = `${e.tools ?? 0} tools${e.stream ? ' stream' : ''}`;
  else if (e.type === 'final_answer') subject = `${e.turns ?? '?'} turns`;
  else if (e.type === 'loop_cap_reached') subject = `cap ${e.cap ?? '?'}`;
  else if (e.type === 'request_failed' && e.errorClass) subject = clean(e.errorClass);
  const status = e.status ?? (e.type === 'request_failed' ? 'error' : '');
  // 'error' is five columns: it fits the STAT column exactly.
  const latency = e.latencyMs === undefined ? '' : formatLatency(e.latencyMs);
  const error = e.errorClass ? clean(e.errorClass) : '';
  return `${clockTime(e.at)} ${fit(clean(e.requestId), 14)} ${fit(clean(e.type), 18)} ${fit(subject, 14)} ${fit(status, 5)} ${fit(latency, 7, 'right')} ${error}`.trimEnd();
}

/**
 * A reply that went to the dead letter (failed send, model refusal…), shown among the live events:
 * the stream carries the model loop, the jobs API the send, so the live pane polls it (type
 * `send_failed`, the job id in the request column, the recorded reason as the error).
 */
export function deadJobLine(j: Job, atMs: number): string {
  // The Twilio code goes where 80 columns still show it; the whole reason follows at the end.
  const code = /code (\d+)/.exec(j.lastError ?? '')?.[1];
  return `${clockTime(atMs)} ${fit(`job ${clean(j.id)}`, 14)} ${fit('send_failed', 18)} ${fit(code ? `twilio ${code}` : clean(j.kind), 14)} ${fit('error', 5)} ${fit('', 7, 'right')} ${clean(j.lastError, 'dead letter')}`.trimEnd();
}

/** `lines` plus `added`, keeping only the newest `max` (newest at the end, as shown). */
export function appendBounded(lines: readonly string[], added: readonly string[], max = LIVE_LOG_MAX_LINES): string[] {
  const all = [...lines, ...added];
  return all.length > max ? all.slice(all.length - max) : all;
}

export function streamStatusLabel(s: StreamStatus): string {
  switch (s.state) {
    case 'connecting':
      return s.attempt > 1 ? `connecting (attempt ${s.attempt})` : 'connecting';
    case 'connected':
      return 'connected';
    case 'retrying':
      return `disconnected (${clean(s.error)}); retrying in ${Math.ceil(s.inMs / 1000)}s`;
    case 'stopped':
      return s.error ? `stopped: ${clean(s.error)}` : 'stopped';
  }
}
