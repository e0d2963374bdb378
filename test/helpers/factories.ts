/**
 * Test data builders and small assertions shared by the gateway, control, storage and CLI tests.
 *
 * Builders write through the real repositories (never raw SQL for tenant data), so a test sees
 * rows exactly as the application writes them. Every wait here is bounded and names what it
 * waited for when it gives up. Nothing in this file starts a server.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Db } from '../../src/storage/db.ts';
import type { UsageEventInput } from '../../src/storage/repos/usage-events.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline: a condition that never holds fails the test instead of hanging it.
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(intervalMs);
  }
}

/** A loopback TCP port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolves with the connection error code when connecting to `port` fails, or null when it connects. */
export function tryConnect(port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('ETIMEDOUT');
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(null);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'ERROR');
    });
  });
}

/**
 * Tables a refused request writes to by design, left out of snapshots (issue 13): the audit log
 * records refused control-panel writes too (test/usage/audit-log.test.ts checks it).
 */
const RECORDS_OF_ATTEMPTS = new Set(['audit_log']);

/** Every user table with all its rows (sorted by rowid where there is one), for before/after comparisons. */
export function snapshotTables(db: Db, opts: { ignoreColumns?: Record<string, string[]> } = {}): Record<string, unknown[]> {
  const tables = (db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as Array<{ name: string; sql: string }>).filter((t) => !RECORDS_OF_ATTEMPTS.has(t.name));
  const out: Record<string, unknown[]> = {};
  for (const { name, sql } of tables) {
    const withoutRowid = /WITHOUT\s+ROWID/i.test(sql);
    const rows = db.prepare(`SELECT * FROM "${name}" ${withoutRowid ? '' : 'ORDER BY rowid'}`).all() as Array<Record<string, unknown>>;
    const ignore = opts.ignoreColumns?.[name] ?? [];
    out[name] = rows.map((r) => {
      const copy = { ...r };
      for (const c of ignore) delete copy[c];
      return copy;
    });
  }
  return out;
}

/** A usage event with sensible defaults; `createdAt` and `requestId` should usually be given. */
export function buildUsageEvent(overrides: Partial<UsageEventInput> & { orgId: string }): UsageEventInput {
  return {
    requestId: `req_${Math.random().toString(36).slice(2)}`,
    kind: 'completion',
    keyId: null,
    model: 'gpt-test',
    status: 'ok',
    httpStatus: 200,
    errorClass: null,
    promptTokens: 10,
    completionTokens: 5,
    latencyMs: 12,
    stream: false,
    createdAt: Date.now(),
    ...overrides,
  };
}

/** Usage rows of one organisation straight from the table (oldest first). */
export function usageRows(db: Db, orgId: string): Array<Record<string, any>> {
  return db.prepare('SELECT * FROM usage_events WHERE org_id = ? ORDER BY id').all(orgId) as Array<Record<string, any>>;
}

/**
 * Asserts an HTTP answer is the OpenAI error shape `{error:{message,type,param,code}}` with
 * exactly those four fields, the given status and code (and param, when given).
 */
export function assertWireError(
  res: { status: number; json: any; text?: string },
  status: number,
  code: string,
  param?: string | null,
  label = '',
): void {
  const where = `${label ? label + ': ' : ''}HTTP ${res.status} ${res.text ?? JSON.stringify(res.json)}`;
  assert.equal(res.status, status, where);
  assert.ok(res.json && typeof res.json === 'object' && res.json.error && typeof res.json.error === 'object', `error body expected; ${where}`);
  assert.deepEqual(Object.keys(res.json).sort(), ['error'], where);
  assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message', 'param', 'type'], where);
  assert.equal(typeof res.json.error.message, 'string', where);
  assert.ok(res.json.error.message.length > 0, where);
  assert.equal(typeof res.json.error.type, 'string', where);
  assert.equal(res.json.error.code, code, where);
  if (param !== undefined) assert.equal(res.json.error.param, param, where);
}

/** Counts `?` placeholders (the repositories' SQL has no literal question marks). */
export function placeholderCount(sql: string): number {
  return (sql.match(/\?/g) ?? []).length;
}

/** The `EXPLAIN QUERY PLAN` detail lines of a statement, with every parameter bound to null. */
export function queryPlan(db: Db, sql: string): string[] {
  const params = Array.from({ length: placeholderCount(sql) }, () => null);
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
}

/** Wraps a connection so every SQL text given to `prepare` is recorded (to pin the real queries' plans). */
export function recordingDb(db: Db): { db: Db; statements: string[] } {
  const statements: string[] = [];
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string) => {
          statements.push(sql);
          return target.prepare(sql);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: proxy, statements };
}
