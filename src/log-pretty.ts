/**
 * The log for people (`serve --pretty`, PLUGBOARD_LOG_FORMAT=pretty): each JSON line pino wrote —
 * already through the secret redactor — turned into one aligned line:
 *   02:14:07.123 INFO  request  POST /v1/chat/completions 200 12.3ms  requestId=req_… orgId=org_…
 * Fields are printed as key=value after the message; nothing is dropped, so no fact of the JSON log
 * is lost, and a line that is not JSON is passed through as it is. Must never re-read a field that
 * the JSON line did not hold (the redaction happened before this stream).
 */
import { Writable } from 'node:stream';

const LEVELS: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL' };
const COLORS: Record<string, string> = { trace: '90', debug: '90', info: '36', warn: '33', error: '31', fatal: '35' };
/** Fields shown elsewhere in the line, or noise for a person. */
const HIDDEN = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s="]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One JSON log line as a readable line (no trailing newline); `color` adds ANSI colours to the level. */
export function prettyLine(json: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (!o || typeof o !== 'object') return json;
  const level = String(o.level ?? 'info');
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : '';
  const label = LEVELS[level] ?? level.toUpperCase().padEnd(5);
  const lvl = color ? `\u001b[${COLORS[level] ?? '0'}m${label}\u001b[0m` : label;
  let head = `${time} ${lvl} ${String(o.msg ?? '')}`;
  // The access line reads as a request line.
  if (o.msg === 'request' && typeof o.method === 'string') head += `  ${o.method} ${String(o.path)} ${String(o.status)} ${String(o.ms)}ms`;
  const rest = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k) && !(o.msg === 'request' && ['method', 'path', 'status', 'ms'].includes(k)))
    .map(([k, v]) => `${k}=${value(v)}`);
  return rest.length ? `${head}  ${rest.join(' ')}` : head;
}

/** A stream that takes pino's JSON lines and writes pretty lines to `out`. */
export function createPrettyStream(out: NodeJS.WritableStream, opts: { color?: boolean } = {}): Writable {
  let pending = '';
  return new Writable({
    write(chunk, _enc, cb) {
      pending += String(chunk);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const text = lines.filter((l) => l !== '').map((l) => prettyLine(l, opts.color) + '\n').join('');
      if (text) out.write(text);
      cb();
    },
    final(cb) {
      if (pending) out.write(prettyLine(pending, opts.color) + '\n');
      cb();
    },
  });
}
