/**
 * What every presenter shares: times as ISO strings, list and page envelopes, deletion answers.
 * Presenters turn stored rows into the wire types of src/shared/api.ts; they must never read
 * storage, call a use case, or add a field the shared type does not declare.
 */
import type * as Api from '../../shared/api.ts';
import type { Page } from '../../control/page.ts';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function listOf<T>(data: T[]): Api.ListResponse<T> & { object: 'list' } {
  return { object: 'list', data };
}

export function pageOf<R, T>(page: Page<R>, present: (row: R) => T): Api.PageResponse<T> & { object: 'list' } {
  return { object: 'list', data: page.items.map(present), hasMore: page.nextCursor !== null, nextCursor: page.nextCursor };
}

export function deleted(id: string, object: string): Api.DeletedResponse {
  return { id, object, deleted: true };
}
