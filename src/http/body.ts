/**
 * Request-body reading with a hard size limit, and JSON parsing with clear 4xx errors.
 * Reads raw bytes (so signatures and passthrough see exactly what was sent).
 */
import type { IncomingMessage } from 'node:http';
import { bodyTooLarge, invalidJson, invalidRequest } from '../errors.ts';

export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    throw bodyTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw bodyTooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/** Parses a JSON object body; anything else (array, scalar, invalid) is a 400. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw invalidRequest('The request body is empty; a JSON object is required.', null, 'missing_body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidJson();
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidRequest('The request body must be a JSON object.', null, 'invalid_body');
  }
  return parsed as Record<string, unknown>;
}
