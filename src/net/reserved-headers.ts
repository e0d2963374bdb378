/**
 * The one list of HTTP header names a stored plugin credential may never set: they belong to HTTP
 * itself (framing, hop-by-hop, host, cookies, proxy credentials) or to the MCP transports (content
 * negotiation, session, protocol version, resumption). The control API refuses a credential header
 * with one of these names, and the MCP client drops any such header a stored row still carries, so
 * neither can drift from the other. Must only ever grow: removing a name re-opens both doors.
 */

/** Lower-case names; compare with `isReservedHeader`, which lower-cases. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  // HTTP framing and hop-by-hop (RFC 9110 §7.6.1, RFC 9112).
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  // Proxy credentials and cookies: never ours to forward.
  'proxy-authorization', 'cookie',
  // Content negotiation the transports set.
  'accept', 'content-type',
  // The MCP transports' own headers (session, protocol version, SSE resumption).
  'mcp-session-id', 'mcp-protocol-version', 'last-event-id',
]);

export function isReservedHeader(name: string): boolean {
  return RESERVED_HEADERS.has(name.toLowerCase());
}
