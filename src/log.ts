/**
 * Structured JSON logs (pino).
 *
 * Logs carry ids, statuses and timings, never a key, token, secret or message body: fields that
 * could hold one are redacted by name as a second line of defence, and every line passes the
 * known-secrets redactor (by value) on its way to the destination. Must never log request bodies.
 */
import pino from 'pino';
import { createPrettyStream } from './log-pretty.ts';

export type Logger = pino.Logger;

const REDACT = [
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'key', '*.key', 'token', '*.token', 'secret', '*.secret', 'password', '*.password',
  'apiKey', '*.apiKey', 'authToken', '*.authToken', 'credential', '*.credential',
  'body', '*.body', 'messages', '*.messages', 'content', '*.content',
];

export interface LoggerOptions {
  level: string;
  /** Destination stream; stdout by default. Tests pass a capture stream. */
  destination?: NodeJS.WritableStream;
  /** Removes known secret values from every serialised line before it is written (the last exit of a log line). */
  secrets?: { redact(text: string): string };
  /** `pretty`: readable lines for people (log-pretty.ts) instead of JSON; redaction happens first either way. */
  format?: 'json' | 'pretty';
}

export function createLogger(opts: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: 'plugboard' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const secrets = opts.secrets;
  // On the whole serialised line, children included: no field name or serializer can route around it.
  if (secrets) options.hooks = { streamWrite: (line) => secrets.redact(line) };
  if (opts.format === 'pretty') {
    // For a person at a terminal: written as it comes (no batching), coloured when stdout is a TTY.
    const out = opts.destination ?? process.stdout;
    return pino(options, createPrettyStream(out, { color: !opts.destination && process.stdout.isTTY === true }) as unknown as pino.DestinationStream);
  }
  if (opts.destination) return pino(options, opts.destination as pino.DestinationStream);
  // Lines are written in batches of at least LOG_BATCH_BYTES, and at least every LOG_FLUSH_MS:
  // one write per log line would cost a system call and a thread-pool hop on every request.
  const dest = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES });
  const timer = setInterval(() => dest.flush(), LOG_FLUSH_MS);
  timer.unref();
  const flushNow = (): void => {
    try {
      dest.flushSync();
    } catch {
      // Nothing more can be done for the log at exit.
    }
  };
  process.once('exit', flushNow);
  return pino(options, dest);
}

/** Bytes gathered before a write to stdout. */
const LOG_BATCH_BYTES = 4096;
/** Longest delay of a log line under light traffic. */
const LOG_FLUSH_MS = 250;
