/**
 * One page of a newest-first list, as the control use cases hand it to the HTTP layer: the items
 * and the opaque cursor of the next page (null on the last one). Lists read `limit + 1` rows; the
 * extra row only says that there is more and is never returned. Must never know about HTTP.
 */

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The first `limit` of `rows` (read with `limit + 1`), and the cursor of the last one kept when more follow. */
export function takePage<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? cursorOf(items[items.length - 1]) : null };
}
