/**
 * Text size helpers every layer that hands outside text onwards needs: a UTF-8 byte cap with a
 * truncation marker (tool results of any plugin kind, later HTTP plugin answers) and a short byte
 * count for humans. Pure functions over strings: must never import anything, and never return more
 * than the cap plus its marker or split a multi-byte character.
 */

/** `512 B`, `12.3 KB`, `4.0 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const encoder = new TextEncoder();

/**
 * Caps `text` at `maxBytes` UTF-8 bytes, marker included where the cap allows it: the kept part
 * ends on a character boundary and is followed by `\n…[truncated N bytes]` (N = bytes dropped).
 */
export function capUtf8(text: string, maxBytes: number): string {
  // Each UTF-16 unit encodes to at most 3 bytes, so short strings need no measuring.
  if (text.length * 3 <= maxBytes) return text;
  const total = Buffer.byteLength(text, 'utf8');
  if (total <= maxBytes) return text;
  const markerFor = (dropped: number) => `\n…[truncated ${dropped} bytes]`;
  // The marker's length depends on the count; size it for the largest possible count.
  const budget = Math.max(0, maxBytes - Buffer.byteLength(markerFor(total)));
  // encodeInto writes whole characters only, so `read` is a safe cut point in UTF-16 units.
  const { read, written } = encoder.encodeInto(text, new Uint8Array(budget));
  return `${text.slice(0, read)}${markerFor(total - written)}`;
}
