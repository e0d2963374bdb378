/**
 * Structured JSON logs (pino).
 *
 * Logs carry ids, statuses and timings, never a key, token, secret or message body: fields that
 * could hold one are redacted by name as a second line of defence. Must never log request bodies.
 */
import pino from 'pino';

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
}

export function createLogger(opts: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: 'plugboard' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (opts.destination) return pino(options, opts.destination as pino.DestinationStream);
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
