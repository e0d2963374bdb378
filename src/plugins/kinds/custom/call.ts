/**
 * One custom plugin tool call, Plugboard → plugin: the body issue 11 fixes (`tool`, `input`, `mode`,
 * `context`, `config`, `bridge`), signed with Standard Webhooks over the exact bytes sent, POSTed
 * through the SSRF-guarded client to the version's `baseUrl` + `endpoints.tools` (the only place the
 * installation's config, secrets included, ever goes), the answer read within a size cap and told
 * to the model: a 2xx JSON result (checked against the tool's outputSchema), or a clear tool error
 * for everything else — 4xx/5xx `{"error":{"message"}}`, timeouts, refused or closed connections,
 * redirects (never followed), non-JSON and oversize answers. Idempotent tools are retried once, with
 * the same webhook-id, after a failure that cannot have reached the plugin's logic or a 502/503/504.
 * Every call leaves one plugin-log entry. Must never throw, follow a redirect, or log a secret.
 */
import crypto from 'node:crypto';
import type { GuardedRequest } from '../../../net/ssrf.ts';
import type { WebhookSigner } from '../../../net/standard-webhooks.ts';
import type { Redactor } from '../../../storage/known-secrets.ts';
import { REDACTED } from '../../../storage/known-secrets.ts';
import { scrubText } from '../../scrub.ts';
import type { ToolCallContext, ToolOutcome } from '../../types.ts';
import type { PreparedTool, PreparedVersion } from './prepared.ts';
import { schemaProblems } from './prepared.ts';
import { capBody, type PluginLog } from './plugin-log.ts';

type Response = Awaited<ReturnType<GuardedRequest>>;

/** What one installation's calls need, built once per handle (lazily, at its first call). */
export interface CallTarget {
  installationId: string;
  orgId: string;
  pluginId: string;
  authorOrgId: string;
  mode: 'sandbox' | 'live';
  version: PreparedVersion;
  /** The installation's config, secrets included: sent only to `version.toolsUrl`. */
  config: Readonly<Record<string, unknown>>;
  /** The same config with every secret value replaced, for sandbox logs. */
  loggedConfig: Readonly<Record<string, unknown>>;
  /** Secret values of this installation, removed from logged bodies whatever their length. */
  secretValues: readonly string[];
  customerKey: Buffer;
  /** The signer for now (the previous secret signs too while a rotation overlaps). */
  signer(): WebhookSigner;
}

export interface CallDeps {
  request: GuardedRequest;
  maxResultBytes: number;
  secrets: Redactor;
  log: PluginLog;
  /** Told the outcome: `failed` = counts against the installation's health. */
  health(target: CallTarget, failed: boolean, error: string | null): void;
}

interface Attempt {
  ok: boolean;
  text: string;
  errorClass: string | null;
  httpStatus: number | null;
  retryable: boolean;
  /** A failure of the plugin or the way to it (health), as opposed to a business refusal. */
  unhealthy: boolean;
  responseBody: string | null;
}

/** HTTP statuses a plugin uses to refuse a call it did not accept (configuration, auth), counted against its health. */
const UNHEALTHY_4XX = new Set([401, 403, 404, 405, 410]);
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Connection failures before the request could reach the plugin's logic. */
const RETRY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EAI_AGAIN']);
const MAX_ERROR_MESSAGE = 500;

/** A per-installation pseudonym: HMAC-SHA256 under the installation's own key, 128 bits, base64url. */
export function pseudonym(key: Buffer, prefix: string, ...parts: string[]): string {
  return prefix + crypto.createHmac('sha256', key).update(parts.join('\u0000')).digest().subarray(0, 16).toString('base64url');
}

function newWebhookId(): string {
  return `call_${Date.now().toString(36)}${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`;
}

function removeValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) if (v.length >= 4 && out.includes(v)) out = out.split(v).join(REDACTED);
  return out;
}

const fail = (errorClass: string, text: string, extra: Partial<Attempt> = {}): Attempt => ({
  ok: false, text, errorClass, httpStatus: null, retryable: false, unhealthy: true, responseBody: null, ...extra,
});

function transportFailure(err: unknown, timedOut: boolean, cancelled: boolean, budgetMs: number, host: string): Attempt {
  if (cancelled) return fail('aborted', 'The call was cancelled before the plugin answered.', { unhealthy: false });
  if (timedOut) return fail('timeout', `The plugin did not answer within ${budgetMs} ms.`);
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  if (e?.name === 'SsrfError') return fail('transport', `The plugin's endpoint is not allowed: ${e.message}`);
  const code = e?.code ?? e?.cause?.code ?? '';
  if (code === 'ECONNREFUSED') return fail('transport', `The plugin's endpoint (${host}) refused the connection.`, { retryable: true });
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE') {
    return fail('transport', 'The plugin closed the connection before it answered.', { retryable: true });
  }
  return fail('transport', `The plugin could not be reached (${code || e?.name || 'network error'}).`, { retryable: RETRY_CODES.has(code) });
}

/** Reads at most `cap` bytes of the body; null when it is larger (the rest is thrown away). */
async function readCapped(res: Response, cap: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > cap) {
      res.body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function errorMessageOf(text: string): string | null {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | unknown };
    const m = (parsed?.error as { message?: unknown } | undefined)?.message;
    return typeof m === 'string' && m.trim() !== '' ? m.trim().slice(0, MAX_ERROR_MESSAGE) : null;
  } catch {
    return null;
  }
}

async function readAnswer(res: Response, tool: PreparedTool, cap: number): Promise<Attempt> {
  const status = res.statusCode;
  const contentType = String(res.headers['content-type'] ?? '').split(';', 1)[0].trim();
  if (status >= 300 && status < 400) {
    await res.body.dump().catch(() => undefined);
    return fail('redirect', `The plugin answered with a redirect (HTTP ${status}); Plugboard never follows redirects, so its baseUrl must name the final address.`, { httpStatus: status });
  }
  const raw = await readCapped(res, cap);
  if (raw === null) return fail('oversize', `The plugin's answer (HTTP ${status}) is larger than ${cap} bytes; tool results must be compact JSON.`, { httpStatus: status });
  const text = raw.toString('utf8');
  if (status >= 200 && status < 300) {
    let value: unknown;
    try {
      if (text.trim() === '') throw new SyntaxError('empty');
      value = JSON.parse(text);
    } catch {
      return fail('invalid_response', `The plugin answered HTTP ${status} with something that is not JSON${contentType ? ` (${contentType})` : ''}.`, { httpStatus: status, responseBody: text });
    }
    if (tool.checkOutput && !tool.checkOutput(value)) {
      return fail('invalid_output', `The plugin's answer does not match the tool's outputSchema: ${schemaProblems(tool.checkOutput)}.`, { httpStatus: status, responseBody: text });
    }
    return { ok: true, text: text.trim(), errorClass: null, httpStatus: status, retryable: false, unhealthy: false, responseBody: text };
  }
  const message = errorMessageOf(text);
  const said = message ?? `no {"error":{"message"}} in its answer${contentType ? ` (${contentType})` : ''}`;
  if (status >= 400 && status < 500) {
    return fail('tool_error', `The plugin refused the call (HTTP ${status}): ${said}`, { httpStatus: status, unhealthy: UNHEALTHY_4XX.has(status), responseBody: text });
  }
  return fail('plugin_error', `The plugin failed (HTTP ${status}): ${said}`, { httpStatus: status, retryable: RETRY_STATUSES.has(status), responseBody: text });
}

/** Runs one call; always resolves with what the model reads. */
export async function callPlugin(deps: CallDeps, target: CallTarget, tool: PreparedTool, input: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolOutcome> {
  // The arguments were checked against the tool's inputSchema (2020-12) by the runtime already.
  const started = performance.now();
  const customerId = ctx.customerRef ? pseudonym(target.customerKey, 'cus_', 'customer', ctx.customerRef) : null;
  const conversationId = ctx.customerRef && ctx.instanceId ? pseudonym(target.customerKey, 'cnv_', 'conversation', ctx.instanceId, ctx.customerRef) : null;
  const payload = {
    tool: tool.name,
    input,
    mode: target.mode,
    context: { organizationId: ctx.orgId, installationId: target.installationId, instanceId: ctx.instanceId, customerId, conversationId, requestId: ctx.requestId },
    config: target.config,
    bridge: null,
  };
  const body = JSON.stringify(payload);
  const webhookId = newWebhookId();
  const budgetMs = Math.max(1, Math.min(tool.timeoutMs, ctx.timeoutMs || tool.timeoutMs));
  const deadline = started + budgetMs;
  const url = target.version.toolsUrl;
  let attempts = 0;
  let result: Attempt;
  for (;;) {
    attempts++;
    const timeout = AbortSignal.timeout(Math.max(1, Math.round(deadline - performance.now())));
    const signal = AbortSignal.any([ctx.signal, timeout]);
    try {
      const headers = { 'content-type': 'application/json', 'user-agent': 'Plugboard', ...target.signer().headers(webhookId, Math.floor(Date.now() / 1000), body) };
      const res = await deps.request(url, { method: 'POST', headers, body, signal });
      result = await readAnswer(res, tool, deps.maxResultBytes);
    } catch (err) {
      result = transportFailure(err, timeout.aborted, ctx.signal.aborted, budgetMs, url.host);
    }
    // One retry, only for idempotent tools, only when the failure says the plugin did not act (or asks to be retried).
    if (!result.ok && result.retryable && tool.idempotent && attempts < 2 && !ctx.signal.aborted && deadline - performance.now() > 50) continue;
    break;
  }
  const latencyMs = performance.now() - started;
  const errorText = result.ok ? null : scrubText(removeValues(result.text, target.secretValues), { secrets: deps.secrets, maxLength: 1000 });
  if (result.errorClass !== 'aborted') deps.health(target, !result.ok && result.unhealthy, errorText);
  const sandbox = target.mode === 'sandbox';
  const clean = (text: string): string => capBody(removeValues(deps.secrets.redact(text), target.secretValues));
  deps.log.add({
    pluginId: target.pluginId, authorOrgId: target.authorOrgId, version: target.version.version, installationId: target.installationId, orgId: target.orgId,
    instanceId: ctx.instanceId, requestId: ctx.requestId, webhookId, tool: tool.name, mode: target.mode, status: result.ok ? 'ok' : 'error',
    httpStatus: result.httpStatus, errorClass: result.errorClass, error: errorText, latencyMs, attempts,
    requestBody: sandbox ? clean(JSON.stringify({ ...payload, config: target.loggedConfig })) : null,
    responseBody: sandbox && result.responseBody !== null ? clean(result.responseBody) : null,
    createdAt: Date.now(),
  });
  if (result.ok) return { isError: false, text: result.text };
  return { isError: true, text: errorText ?? result.text, errorClass: result.errorClass ?? 'plugin_error' };
}
