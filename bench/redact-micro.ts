/**
 * Micro-benchmark of the known-secrets redactor on the log path: ns per log line with 0, 1, 10,
 * 100 and 1000 registered secrets, for an access-log line (the hot path) and a longer error line,
 * plus the cost of the pino `streamWrite` hook around a real logger writing to a null stream, and
 * the per-request work a passthrough completion now does without any error: the echo guard's probe
 * per relayed SSE event and the redaction of a usage row's text columns.
 * Not part of `npm run bench`; run it alone: `node bench/redact-micro.ts`. Figures on a shared
 * machine are noisy: compare rows of one run, not runs.
 */
import crypto from 'node:crypto';
import { createKnownSecrets } from '../src/storage/known-secrets.ts';
import { createLogger } from '../src/log.ts';
import { createEchoGuard } from '../src/gateway/upstream-pool.ts';

const ACCESS = JSON.stringify({
  level: 'info', time: new Date().toISOString(), service: 'plugboard', requestId: 'req_0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4',
  method: 'POST', path: '/v1/chat/completions', status: 200, ms: 1.23, orgId: crypto.randomUUID(), keyId: crypto.randomUUID(), msg: 'request',
});
const ERROR = JSON.stringify({
  level: 'error', time: new Date().toISOString(), service: 'plugboard', requestId: 'req_0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4',
  err: { message: 'The upstream model provider sent an error in the stream: context_length_exceeded for model gpt-4o-mini', stack: 'Error: x\n    at a (file:///app/src/gateway/tool-loop.ts:10:3)\n'.repeat(8) },
  msg: 'stream failed after headers',
});

function nsPerOp(fn: () => unknown, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

const rows: string[] = ['| secrets | access line (' + ACCESS.length + ' chars) | error line (' + ERROR.length + ' chars) | pino info() + hook | pino info() no hook |', '|---:|---:|---:|---:|---:|'];
// A destination that takes the line and drops it: the figures are pino's formatting plus the hook, no I/O.
const nullSink = () => ({ write: (_line: string) => true }) as unknown as NodeJS.WritableStream;
const plain = createLogger({ level: 'info', destination: nullSink() });
const plainNs = nsPerOp(() => plain.info({ requestId: 'req_1', status: 200, ms: 1.2 }, 'request'), 200_000);
/** What a fresh appliance registers: the upstream key and the master key in its three written forms. */
function applianceDefaults(): ReturnType<typeof createKnownSecrets> {
  const s = createKnownSecrets();
  const mk = crypto.randomBytes(32);
  for (const v of ['sk-proj-' + crypto.randomBytes(36).toString('base64url'), mk.toString('hex'), mk.toString('base64'), mk.toString('base64url')]) s.add(v);
  return s;
}

for (const n of [0, 1, 'appliance defaults (4 values)', 10, 100, 1000] as const) {
  const secrets = typeof n === 'number' ? createKnownSecrets() : applianceDefaults();
  for (let i = 0; i < (typeof n === 'number' ? n : 0); i++) secrets.add(crypto.randomBytes(24).toString('base64url'));
  secrets.redact('warm the index');
  const access = nsPerOp(() => secrets.redact(ACCESS), 200_000);
  const error = nsPerOp(() => secrets.redact(ERROR), 50_000);
  const log = createLogger({ level: 'info', destination: nullSink(), secrets });
  const logged = nsPerOp(() => log.info({ requestId: 'req_1', status: 200, ms: 1.2 }, 'request'), 200_000);
  rows.push(`| ${n} | ${access.toFixed(0)} ns | ${error.toFixed(0)} ns | ${logged.toFixed(0)} ns | ${plainNs.toFixed(0)} ns |`);
}
console.log(rows.join('\n'));

// The passthrough's per-event probe for the upstream key, and a usage row's text columns.
const event = Buffer.from(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: 'Hello there, how can I help?' }, finish_reason: null }] })}\n\n`);
const guard = createEchoGuard('sk-proj-' + crypto.randomBytes(36).toString('base64url'));
const probeNs = nsPerOp(() => guard.redactBytes(event), 500_000);
const registry = createKnownSecrets();
registry.add('sk-proj-' + crypto.randomBytes(36).toString('base64url'));
for (let i = 0; i < 10; i++) registry.add(crypto.randomBytes(24).toString('base64url'));
const row = { requestId: 'req_0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4', model: 'gpt-4o-mini', errorClass: null as string | null, tool: null as string | null };
const rowNs = nsPerOp(() => {
  registry.redact(row.requestId);
  registry.redact(row.model);
}, 500_000);
console.log(`\nEcho guard probe per SSE event (${event.length} bytes): ${probeNs.toFixed(0)} ns; usage row text columns (11 secrets): ${rowNs.toFixed(0)} ns`);
