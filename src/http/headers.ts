/**
 * The gateway's request headers, parsed in the HTTP layer so the use cases get values, not
 * headers: `X-Plugboard-Plugins` (narrowing to some plugins) and `X-Plugboard-WhatsApp-Instance`
 * (the sender of first-party WhatsApp sends). Parsing only: never validates against stored data
 * (a name that matches nothing narrows to nothing), and allocates nothing when a header is absent.
 */
import type { IncomingMessage } from 'node:http';

/** A single-valued request header, or undefined when absent or empty. */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Parses `X-Plugboard-Plugins: id-or-slug, …` (`none` = no plugins for this request); null = no narrowing. */
export function parseNarrowingHeader(value: string | undefined): string[] | null {
  if (value === undefined || value.trim() === '') return null;
  if (value.trim().toLowerCase() === 'none') return [];
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The plugins this request narrows itself to (`X-Plugboard-Plugins`); null = no narrowing. */
export function narrowingOf(req: IncomingMessage): string[] | null {
  return parseNarrowingHeader(headerOf(req, 'x-plugboard-plugins'));
}

/** The WhatsApp instance (id or name) first-party sends of this request go from; null = not named. */
export function senderInstanceOf(req: IncomingMessage): string | null {
  return headerOf(req, 'x-plugboard-whatsapp-instance') ?? null;
}
