/**
 * Control-panel tokens: a user's bearer secrets for the control-panel API, stored as hashes.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import { CONTROL_TOKEN_PREFIX, hashSecret, mintSecret } from '../tokens.ts';

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

export function createControlTokensRepo(db: Db) {
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
    touch(id: string, now = Date.now()): void {
      stmts.touch.run(now, id);
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
