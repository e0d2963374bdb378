/**
 * Control-panel tokens: a user's bearer secrets for the control-panel API, stored as hashes.
 *
 * Last-used times are coarse (TOUCH_EVERY_MS) and best-effort: every control-panel request
 * touches its token, and a read must neither write each time nor fail because that write did
 * (a full disk): a failed touch goes to `onTouchFailure` and the request carries on.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import { CONTROL_TOKEN_PREFIX, hashSecret, mintSecret } from '../tokens.ts';
import { storageFailureKind } from '../health.ts';

export interface ControlToken {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface Row { id: string; user_id: string; name: string; prefix: string; created_at: number; last_used_at: number | null; revoked_at: number | null }
const toToken = (r: Row): ControlToken => ({
  id: r.id, userId: r.user_id, name: r.name, prefix: r.prefix, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at,
});

/** A token's last-used time is written at most this often by one process. */
const TOUCH_EVERY_MS = 60_000;
/** Bound on remembered touches (one per token used); forgetting only costs an early write. */
const MAX_REMEMBERED_TOUCHES = 10_000;

export interface ControlTokensRepoOptions {
  /** Told when a last-used time could not be written; the request is not failed for it. */
  onTouchFailure?: (err: unknown) => void;
}

export function createControlTokensRepo(db: Db, opts: ControlTokensRepoOptions = {}) {
  const touchedAt = new Map<string, number>();
  const stmts = {
    insert: db.prepare('INSERT INTO control_tokens (id, user_id, name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    byHash: db.prepare('SELECT * FROM control_tokens WHERE token_hash = ?'),
    touch: db.prepare('UPDATE control_tokens SET last_used_at = ? WHERE id = ?'),
    listForUser: db.prepare('SELECT * FROM control_tokens WHERE user_id = ? ORDER BY created_at'),
    revoke: db.prepare('UPDATE control_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL'),
  };
  return {
    /** Creates a token and returns it with its secret, which is never retrievable again. */
    create(userId: string, name = '', now = Date.now()): { token: ControlToken; secret: string } {
      const minted = mintSecret(CONTROL_TOKEN_PREFIX);
      const id = crypto.randomUUID();
      stmts.insert.run(id, userId, name, minted.hash, minted.displayPrefix, now);
      return { token: { id, userId, name, prefix: minted.displayPrefix, createdAt: now, lastUsedAt: null, revokedAt: null }, secret: minted.secret };
    },
    findBySecret(secret: string): ControlToken | null {
      const r = stmts.byHash.get(hashSecret(secret)) as Row | undefined;
      return r ? toToken(r) : null;
    },
    /** Marks a token used, at most once per TOUCH_EVERY_MS; never throws because the database refused the write. */
    touch(id: string, now = Date.now()): void {
      const last = touchedAt.get(id);
      if (last !== undefined && now - last < TOUCH_EVERY_MS && now >= last) return;
      if (touchedAt.size >= MAX_REMEMBERED_TOUCHES) touchedAt.clear();
      touchedAt.set(id, now);
      try {
        stmts.touch.run(now, id);
      } catch (err) {
        if (storageFailureKind(err) === null) throw err;
        opts.onTouchFailure?.(err);
      }
    },
    listForUser(userId: string): ControlToken[] {
      return (stmts.listForUser.all(userId) as Row[]).map(toToken);
    },
    revoke(userId: string, id: string, now = Date.now()): boolean {
      return stmts.revoke.run(now, id, userId).changes > 0;
    },
  };
}
export type ControlTokensRepo = ReturnType<typeof createControlTokensRepo>;
