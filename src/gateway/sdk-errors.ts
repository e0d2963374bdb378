/**
 * Maps errors of the `openai` SDK (the tool loop's upstream client) to the caller's errors, the
 * same way the passthrough maps raw upstream answers.
 */
import { AppError, upstreamError } from '../errors.ts';
import { mapUpstreamStatus } from './upstream-errors.ts';

interface SdkErrorLike {
  name?: string;
  status?: number;
  error?: unknown;
  headers?: Headers | Record<string, string>;
}

export function mapSdkError(err: unknown): AppError | Error {
  if (err instanceof AppError) return err;
  const e = err as SdkErrorLike;
  if (e?.name === 'APIUserAbortError' || e?.name === 'AbortError') return err as Error;
  if (e?.name === 'APIConnectionTimeoutError') return upstreamError(504, 'The upstream model provider did not answer in time.', 'upstream_timeout');
  if (e?.name === 'APIConnectionError') return upstreamError(502, 'The upstream model provider could not be reached.', 'upstream_unreachable');
  if (typeof e?.status === 'number') {
    const headers: Record<string, string> = {};
    if (e.headers instanceof Headers) e.headers.forEach((v, k) => (headers[k] = v));
    else if (e.headers) Object.assign(headers, e.headers);
    return mapUpstreamStatus(e.status, headers, JSON.stringify({ error: e.error ?? null }));
  }
  if (e?.name === 'APIError') return upstreamError(502, 'The upstream model provider sent an error in the stream.', 'upstream_error');
  return err instanceof Error ? err : new Error(String(err));
}
