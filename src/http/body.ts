/**
 * Request-body reading with a hard size limit, and JSON parsing with clear 4xx errors.
 * Reads raw bytes (so signatures and passthrough see exactly what was sent). Every JSON body of
 * every route (gateway, control panel) goes through `parseJsonObject`, so its limits hold everywhere.
 */
import type { IncomingMessage } from 'node:http';
import { AppError, ErrorType, bodyTooLarge, invalidJson, invalidRequest } from '../errors.ts';
import { isTooDeep, MAX_JSON_DEPTH } from '../net/json-depth.ts';

/** Largest control-panel JSON body (instances with a long system prompt fit many times over). */
export const CONTROL_BODY_LIMIT = 1024 * 1024;

/** A control-panel JSON object body, read within CONTROL_BODY_LIMIT; anything else is a clear 4xx. */
export async function readJson(ctx: { req: IncomingMessage }): Promise<Record<string, unknown>> {
  return parseJsonObject(await readRawBody(ctx.req, CONTROL_BODY_LIMIT));
}

/** Like readJson, for action routes whose body is optional: no body at all (no Content-Length or 0, not chunked) is `{}`. */
export async function readOptionalJson(ctx: { req: IncomingMessage }): Promise<Record<string, unknown>> {
  const h = ctx.req.headers;
  if (h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0')) return {};
  return readJson(ctx);
}

export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    throw bodyTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.resume();
        throw bodyTooLarge(limit);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    // The request stream only fails when the connection does (the client hung up mid-body, or the
    // parser refused its framing and the clientError handler answered): normal traffic, not a fault.
    throw clientClosed();
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/**
 * Parses a JSON object body; anything else (array, scalar, invalid, nested deeper than
 * MAX_JSON_DEPTH) is a 400. The depth is checked on the text once it parsed, so invalid JSON is
 * still reported as such, and before any code walks the value recursively.
 */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw invalidRequest('The request body is empty; a JSON object is required.', null, 'missing_body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidJson();
  }
  if (parsed !== null && typeof parsed === 'object' && isTooDeep(raw)) {
    throw invalidRequest(`The request body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`, null, 'json_too_deep');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_body');
  }
  return parsed as Record<string, unknown>;
}

/**
 * The client went away before its body was complete. Nobody reads the answer; 499 (nginx's
 * "client closed request") makes the access log say what happened, at info level, without a stack.
 */
export function clientClosed(): AppError {
  return new AppError({ code: 'client_closed', status: 499, type: ErrorType.invalidRequest, message: 'The client closed the connection before the request body was complete.' });
}
