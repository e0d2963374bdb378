/**
 * The one error type of Plugboard and its catalogue of factories.
 *
 * An `AppError` carries a stable snake_case `code`, an HTTP status, an OpenAI-style `type` and a
 * message that is safe to show to a client. Anything that is not an `AppError` is an internal
 * fault: the HTTP layer turns it into a generic 500 and never shows its text.
 * This module must never import HTTP, Koa or storage code (only the wire types of shared/api.ts).
 */
import type { ApiErrorBody } from './shared/api.ts';

/** OpenAI error `type` values used on the wire. */
export const ErrorType = {
  invalidRequest: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  notFound: 'not_found_error',
  conflict: 'conflict_error',
  rateLimit: 'requests',
  upstream: 'upstream_error',
  api: 'api_error',
} as const;
export type ErrorTypeValue = (typeof ErrorType)[keyof typeof ErrorType];

export interface AppErrorInit {
  code: string;
  status: number;
  type: ErrorTypeValue;
  message: string;
  param?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
  /** Every defect found, when the request was a whole document (a plugin manifest, an install's config). */
  problems?: Array<{ path: string; message: string }>;
}

/** An error whose message is safe to return to the client as it is. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: ErrorTypeValue;
  readonly param: string | null;
  readonly headers: Record<string, string>;
  readonly problems: Array<{ path: string; message: string }> | undefined;

  constructor(init: AppErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AppError';
    this.code = init.code;
    this.status = init.status;
    this.type = init.type;
    this.param = init.param ?? null;
    this.headers = init.headers ?? {};
    this.problems = init.problems;
  }
}

/** The wire shape shared by `/v1/*` and the control-panel API: shared/api.ts's `ApiErrorBody`, the one definition the TUI reads too. */
export type WireError = ApiErrorBody;

export function toWireError(err: AppError): ApiErrorBody {
  const error: ApiErrorBody['error'] = { message: err.message, type: err.type, param: err.param, code: err.code };
  if (err.problems) error.problems = err.problems;
  return { error };
}

export function internalWireError(requestId: string): ApiErrorBody {
  return {
    error: {
      message: `Internal error. Quote request id ${requestId} to the operator.`,
      type: ErrorType.api,
      param: null,
      code: 'internal_error',
    },
  };
}

export function invalidRequest(message: string, param?: string | null, code = 'invalid_request'): AppError {
  return new AppError({ code, status: 400, type: ErrorType.invalidRequest, message, param: param ?? null });
}

export function invalidJson(): AppError {
  return new AppError({
    code: 'invalid_json',
    status: 400,
    type: ErrorType.invalidRequest,
    message: 'The request body is not valid JSON.',
  });
}

export function unsupportedMediaType(): AppError {
  return new AppError({
    code: 'unsupported_media_type',
    status: 415,
    type: ErrorType.invalidRequest,
    message: 'The request body must be JSON (Content-Type: application/json).',
  });
}

export function bodyTooLarge(limitBytes: number): AppError {
  return new AppError({
    code: 'request_too_large',
    status: 413,
    type: ErrorType.invalidRequest,
    message: `The request body is larger than the limit of ${limitBytes} bytes.`,
  });
}

export function unauthenticated(message = 'Missing or invalid credentials.', code = 'invalid_api_key'): AppError {
  return new AppError({ code, status: 401, type: ErrorType.authentication, message });
}

export function forbidden(message = 'Your role does not allow this action.', code = 'insufficient_permissions'): AppError {
  return new AppError({ code, status: 403, type: ErrorType.permission, message });
}

/** `what` names the resource, e.g. `notFound('organization')`. */
export function notFound(what: string, param?: string): AppError {
  return new AppError({
    code: `${what.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_not_found`,
    status: 404,
    type: ErrorType.notFound,
    message: `No ${what.replace(/_/g, ' ')} with that id exists here.`,
    param: param ?? null,
  });
}

export function conflict(message: string, code = 'conflict', param?: string): AppError {
  return new AppError({ code, status: 409, type: ErrorType.conflict, message, param: param ?? null });
}

export function rateLimited(message: string, headers: Record<string, string>): AppError {
  return new AppError({ code: 'rate_limit_exceeded', status: 429, type: ErrorType.rateLimit, message, headers });
}

export function upstreamError(status: number, message: string, code = 'upstream_error'): AppError {
  return new AppError({ code, status, type: ErrorType.upstream, message });
}

const STORAGE_FAILURES = {
  full: { code: 'storage_full', message: "The appliance's disk is full, so this change could not be saved. Reads still work; retry once the operator has freed space on the data volume." },
  io_error: { code: 'storage_unavailable', message: 'The appliance could not write to its database (I/O error). Retry later; the operator should check the data volume.' },
  read_only: { code: 'storage_read_only', message: "The appliance's database is read-only right now, so this change could not be saved. The operator should check the data volume and file permissions." },
  busy: { code: 'storage_busy', message: 'The database is busy with another process. Retry in a moment.' },
} as const;

/** The database cannot take this request's writes (kinds from storage/health.ts): 503, never a generic 500. */
export function storageUnavailable(kind: keyof typeof STORAGE_FAILURES): AppError {
  const f = STORAGE_FAILURES[kind];
  return new AppError({ code: f.code, status: 503, type: ErrorType.api, message: f.message, headers: kind === 'busy' ? { 'retry-after': '1' } : {} });
}

export function methodNotAllowed(): AppError {
  return new AppError({
    code: 'method_not_allowed',
    status: 405,
    type: ErrorType.invalidRequest,
    message: 'This method is not allowed on this path.',
  });
}

export function unknownRoute(): AppError {
  return new AppError({
    code: 'unknown_url',
    status: 404,
    type: ErrorType.invalidRequest,
    message: 'Unknown request URL.',
  });
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
