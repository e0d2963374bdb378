/**
 * Maps an upstream non-2xx answer to the caller's error, in OpenAI's shape.
 *
 * 4xx: status and message passed on (the caller sent something the model provider refused);
 * 429 keeps Retry-After; 5xx becomes 502 with a safe message; 401/403 mean the appliance's own
 * upstream key is wrong, which is not the caller's fault, so they become 502 too.
 * The upstream (or a proxy in front of it) is not trusted with what it echoes: its message goes
 * through the scrubber with every known secret, and `code`, `type` and `param` are passed on only
 * when they have the shape of an identifier and hold no secret — otherwise a default replaces them.
 * Must never pass on upstream text unscrubbed: it reaches callers, usage rows and logs.
 */
import { AppError, ErrorType, upstreamError } from '../errors.ts';
import { scrubText } from '../plugins/scrub.ts';
import { NO_SECRETS, type Redactor } from '../storage/known-secrets.ts';

const PASS_HEADERS = ['retry-after', 'retry-after-ms', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'];
const MAX_MESSAGE = 1000;
/** `code` and `type` are identifiers (`context_length_exceeded`, `invalid_request_error`, `tokens`). */
const TOKEN_SHAPE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
/** `param` names a request field (`messages[0].content`, `tools.0.function.name`). */
const PARAM_SHAPE = /^[A-Za-z0-9_.[\]$-]{1,128}$/;

interface UpstreamErrorBody {
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | string;
  message?: unknown;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length ? v.slice(0, MAX_MESSAGE * 4) : null;
}

/** `v` when it has `shape` and the scrubber leaves it as it is (no known secret, no token shape); else null. */
function safeToken(v: unknown, shape: RegExp, secrets: Redactor): string | null {
  if (typeof v !== 'string' || !shape.test(v)) return null;
  return scrubText(v, { secrets, maxLength: 256 }) === v ? v : null;
}

export function mapUpstreamStatus(status: number, headers: Record<string, string | string[] | undefined>, bodyText: string, secrets: Redactor = NO_SECRETS): AppError {
  if (status >= 500) {
    return upstreamError(502, `The upstream model provider failed (HTTP ${status}).`, 'upstream_error');
  }
  if (status === 401 || status === 403) {
    return upstreamError(502, 'The upstream model provider refused the appliance\'s upstream credentials. Ask the operator to check PLUGBOARD_UPSTREAM_API_KEY.', 'upstream_auth_failed');
  }
  let parsed: UpstreamErrorBody = {};
  try {
    parsed = JSON.parse(bodyText) as UpstreamErrorBody;
  } catch {
    // Not JSON: fall back to a generic message below.
  }
  if (parsed === null || typeof parsed !== 'object') parsed = {};
  const e = typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : {};
  const raw = str(e.message) ?? str(typeof parsed.error === 'string' ? parsed.error : null) ?? str(parsed.message);
  const message = (raw && scrubText(raw, { secrets, maxLength: MAX_MESSAGE })) || `The upstream model provider rejected the request (HTTP ${status}).`;
  const passHeaders: Record<string, string> = {};
  for (const h of PASS_HEADERS) {
    const v = headers[h];
    if (typeof v === 'string' && secrets.redact(v) === v) passHeaders[h] = v.slice(0, 64);
  }
  const defaultType = status === 429 ? ErrorType.rateLimit : ErrorType.invalidRequest;
  return new AppError({
    status,
    code: safeToken(e.code, TOKEN_SHAPE, secrets) ?? (status === 429 ? 'rate_limit_exceeded' : 'upstream_rejected'),
    type: (safeToken(e.type, TOKEN_SHAPE, secrets) ?? defaultType) as typeof defaultType,
    param: safeToken(e.param, PARAM_SHAPE, secrets),
    message,
    headers: passHeaders,
  });
}
