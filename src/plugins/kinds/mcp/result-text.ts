/**
 * Converts an MCP `tools/call` result into the text a chat model reads.
 *
 * Every content block shows up: text as it is, other kinds as a short description, so nothing is
 * silently dropped. The byte cap and size wording are net/text.ts's, shared with every plugin kind.
 * This module must never import the MCP SDK (it takes plain objects).
 */
import { capUtf8, formatBytes } from '../../../net/text.ts';

/** The parts of a `CallToolResult` this module reads; anything else is ignored. */
export interface ToolResultLike {
  content?: unknown[];
  structuredContent?: unknown;
  isError?: boolean;
  /** Results of protocol 2024-10-07 servers. */
  toolResult?: unknown;
}

/** Shown when a tool returned nothing at all. */
export const EMPTY_RESULT_TEXT = '(no output)';

/**
 * Joins text blocks with "\n", describes images, audio, resource links and blobs, includes the
 * text of embedded resources, appends `structuredContent` as compact JSON unless a text block
 * already is that JSON, and caps the whole at `maxBytes` UTF-8 bytes (see `capUtf8`).
 */
export function toolResultToText(result: ToolResultLike, maxBytes: number): { text: string; isError: boolean } {
  const parts: string[] = [];
  const content = Array.isArray(result?.content) ? result.content : [];
  for (const block of content) parts.push(describeBlock(block));

  const structured = result?.structuredContent;
  if (structured !== undefined && structured !== null) {
    const json = safeJson(structured);
    if (json !== undefined && !content.some((b) => isTextBlock(b) && sameJson(b.text, json))) parts.push(json);
  }
  if (!content.length && structured == null && result?.toolResult !== undefined) {
    const legacy = typeof result.toolResult === 'string' ? result.toolResult : safeJson(result.toolResult);
    if (legacy) parts.push(legacy);
  }

  const text = parts.join('\n');
  return { text: capUtf8(text.trim() ? text : EMPTY_RESULT_TEXT, maxBytes), isError: result?.isError === true };
}

function describeBlock(block: unknown): string {
  if (!block || typeof block !== 'object') return '[unreadable content block]';
  const b = block as Record<string, unknown>;
  switch (b.type) {
    case 'text':
      return typeof b.text === 'string' ? b.text : '';
    case 'image':
    case 'audio':
      return `[${b.type}: ${str(b.mimeType, 'unknown type')}, ${formatBytes(base64Bytes(b.data))}, not shown]`;
    case 'resource_link':
      return `[resource link: ${[str(b.name, ''), str(b.uri, '')].filter(Boolean).join(' ') || 'unnamed'}]`;
    case 'resource': {
      const r = (b.resource && typeof b.resource === 'object' ? b.resource : {}) as Record<string, unknown>;
      const uri = str(r.uri, 'unknown uri');
      if (typeof r.text === 'string') return `[resource ${uri}]\n${r.text}`;
      if (typeof r.blob === 'string') return `[resource: ${uri}, ${str(r.mimeType, 'binary')}, ${formatBytes(base64Bytes(r.blob))}, not shown]`;
      return `[resource: ${uri}, no content]`;
    }
    default:
      return `[${typeof b.type === 'string' ? b.type.slice(0, 40) : 'unknown'} content, not shown]`;
  }
}

function isTextBlock(block: unknown): block is { type: 'text'; text: string } {
  return !!block && typeof block === 'object' && (block as { type?: unknown }).type === 'text' && typeof (block as { text?: unknown }).text === 'string';
}

/** True when `text` is the same JSON value as `json` (whitespace and formatting ignored). */
function sameJson(text: string, json: string): boolean {
  const trimmed = text.trim();
  if (trimmed === json) return true;
  if (trimmed.length > json.length * 4 + 1024 || !/^[[{]/.test(trimmed)) return false;
  try {
    return JSON.stringify(JSON.parse(trimmed)) === json;
  } catch {
    return false;
  }
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' && value ? value : fallback;
}

/** Decoded size of base64 text, without decoding it. */
function base64Bytes(data: unknown): number {
  if (typeof data !== 'string') return 0;
  const clean = data.replace(/\s+/g, '');
  const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - padding);
}
