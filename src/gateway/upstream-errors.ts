/**
 * Maps an upstream non-2xx answer to the caller's error, in OpenAI's shape.
 *
 * 4xx: status and message passed on (the caller sent something the model provider refused);
 * 429 keeps Retry-After; 5xx becomes 502 with a safe message; 401/403 mean the appliance's own
 * upstream key is wrong, which is not the caller's fault, so they become 502 too.
 */
import { AppError, ErrorType, upstreamError } from '../errors.ts';

const PASS_HEADERS = ['retry-after', 'retry-after-ms', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'];
const MAX_MESSAGE = 1000;

interface UpstreamErrorBody {
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | string;
  message?: unknown;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length ? v.slice(0, MAX_MESSAGE) : null;
}

export function mapUpstreamStatus(status: number, headers: Record<string, string | string[] | undefined>, bodyText: string): AppError {
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
  const e = typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : {};
  const message = str(e.message) ?? str(typeof parsed.error === 'string' ? parsed.error : null) ?? str(parsed.message) ?? `The upstream model provider rejected the request (HTTP ${status}).`;
  const passHeaders: Record<string, string> = {};
  for (const h of PASS_HEADERS) {
    const v = headers[h];
    if (typeof v === 'string') passHeaders[h] = v;
  }
  const defaultType = status === 429 ? ErrorType.rateLimit : ErrorType.invalidRequest;
  return new AppError({
    status,
    code: str(e.code) ?? (status === 429 ? 'rate_limit_exceeded' : 'upstream_rejected'),
    type: (str(e.type) ?? defaultType) as typeof defaultType,
    param: str(e.param),
    message,
    headers: passHeaders,
  });
}
