/**
 * Operator tokens: the appliance operator's bearer secrets (`pbo_…`) for the `/operator/…` routes
 * (plugin review, pausing installations). Operators are not organisation members; a token names
 * only a person or purpose. Stored as SHA-256 hashes like control tokens; the secret exists in plain
 * text once, when created (CLI). Last-used times are coarse and best-effort. Must never store or
 * return a token's secret after `create`.
 */
import crypto from 'node:crypto';
import type { Db } from '../db.ts';
import { hashSecret, mintSecret, OPERATOR_TOKEN_PREFIX } from '../tokens.ts';
import { storageFailureKind } from '../health.ts';

export interface OperatorToken {
  id: string;
  name: string;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface Row { id: string; name: string; prefix: string; created_at: number; last_used_at: number | null; revoked_at: number | null }
const toToken = (r: Row): OperatorToken => ({ id: r.id, name: r.name, prefix: r.prefix, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at });

const TOUCH_EVERY_MS = 60_000;
const MAX_REMEMBERED_TOUCHES = 1_000;

export function createOperatorTokensRepo(db: Db) {
  const touchedAt = new Map<string, number>();
  const stmts = {
    insert: db.prepare('INSERT INTO operator_tokens (id, name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)'),
    byHash: db.prepare('SELECT * FROM operator_tokens WHERE token_hash = ?'),
    list: db.prepare('SELECT * FROM operator_tokens ORDER BY created_at'),
    touch: db.prepare('UPDATE operator_tokens SET last_used_at = ? WHERE id = ?'),
    revoke: db.prepare('UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    get: db.prepare('SELECT * FROM operator_tokens WHERE id = ?'),
  };
  return {
    /** Creates a token; its secret is returned here and never again. */
    create(name: string, now = Date.now()): { token: OperatorToken; secret: string } {
      const minted = mintSecret(OPERATOR_TOKEN_PREFIX);
      const id = crypto.randomUUID();
      stmts.insert.run(id, name, minted.hash, minted.displayPrefix, now);
      return { token: toToken(stmts.get.get(id) as Row), secret: minted.secret };
    },
    findBySecret(secret: string): OperatorToken | null {
      const r = stmts.byHash.get(hashSecret(secret)) as Row | undefined;
      return r ? toToken(r) : null;
    },
    list(): OperatorToken[] {
      return (stmts.list.all() as Row[]).map(toToken);
    },
    revoke(id: string, now = Date.now()): boolean {
      return stmts.revoke.run(now, id).changes > 0;
    },
    get(id: string): OperatorToken | null {
      const r = stmts.get.get(id) as Row | undefined;
      return r ? toToken(r) : null;
    },
    /** Marks a token used, at most once a minute; a refused write never fails the request. */
    touch(id: string, now = Date.now()): void {
      const last = touchedAt.get(id);
      if (last !== undefined && now - last < TOUCH_EVERY_MS && now >= last) return;
      if (touchedAt.size >= MAX_REMEMBERED_TOUCHES) touchedAt.clear();
      touchedAt.set(id, now);
      try {
        stmts.touch.run(now, id);
      } catch (err) {
        if (storageFailureKind(err) === null) throw err;
      }
    },
  };
}
export type OperatorTokensRepo = ReturnType<typeof createOperatorTokensRepo>;
