/**
 * Usage events: one row per completion, model turn, tool call or loop-cap hit.
 * Inserts come in batches from the recorder; reads are always scoped to one organisation and
 * paginated by a cursor over the row id (newest first). The free-text columns (model, tool, error
 * class — some come from the upstream or the model) pass the known-secrets redactor before they
 * are stored: members can list every row.
 */
import type { Db } from '../db.ts';
import { NO_SECRETS, type Redactor } from '../known-secrets.ts';
import { createUsageRollupsRepo, type RollupEvent, type UsageRollupsRepo } from './usage-rollups.ts';

export const UsageKinds = ['completion', 'model_turn', 'tool_call', 'loop_cap'] as const;
export type UsageKind = (typeof UsageKinds)[number];

export interface UsageEventInput {
  orgId: string;
  requestId: string;
  kind: UsageKind;
  keyId?: string | null;
  instanceId?: string | null;
  pluginId?: string | null;
  tool?: string | null;
  model?: string | null;
  status: 'ok' | 'error';
  httpStatus?: number | null;
  errorClass?: string | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  latencyMs: number;
  stream?: boolean;
  createdAt: number;
}

export interface UsageEvent extends Required<Omit<UsageEventInput, 'stream'>> {
  id: number;
  stream: boolean;
}

export interface UsageQuery {
  orgId: string;
  model?: string;
  keyId?: string;
  requestId?: string;
  status?: 'ok' | 'error';
  kind?: UsageKind;
  pluginId?: string;
  tool?: string;
  instanceId?: string;
  /** Inclusive lower bound, Unix ms. */
  from?: number;
  /** Exclusive upper bound, Unix ms. */
  to?: number;
  /** Return rows with id below this (from the previous page's cursor). */
  beforeId?: number;
  limit: number;
}

interface Row {
  id: number; org_id: string; request_id: string; kind: UsageKind; key_id: string | null; instance_id: string | null;
  plugin_id: string | null; tool: string | null; model: string | null; status: 'ok' | 'error'; http_status: number | null;
  error_class: string | null; prompt_tokens: number | null; completion_tokens: number | null; latency_ms: number; stream: number; created_at: number;
}

const toEvent = (r: Row): UsageEvent => ({
  id: r.id, orgId: r.org_id, requestId: r.request_id, kind: r.kind, keyId: r.key_id, instanceId: r.instance_id,
  pluginId: r.plugin_id, tool: r.tool, model: r.model, status: r.status, httpStatus: r.http_status, errorClass: r.error_class,
  promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens, latencyMs: r.latency_ms, stream: r.stream === 1, createdAt: r.created_at,
});

const FILTERS: Array<[keyof UsageQuery, string]> = [
  ['model', 'model = ?'], ['keyId', 'key_id = ?'], ['requestId', 'request_id = ?'], ['status', 'status = ?'],
  ['kind', 'kind = ?'], ['pluginId', 'plugin_id = ?'], ['tool', 'tool = ?'], ['instanceId', 'instance_id = ?'],
  ['from', 'created_at >= ?'], ['to', 'created_at < ?'], ['beforeId', 'id < ?'],
];

/** meta key of the last usage-journal sequence number written here (usage/journal.ts). */
const JOURNAL_SEQ_KEY = 'usage_journal_seq';

/** Rows per INSERT statement: one statement per batch slice instead of one per row (16 × 64 parameters). */
const ROWS_PER_INSERT = 64;
const COLUMNS = `org_id, request_id, kind, key_id, instance_id, plugin_id, tool, model, status, http_status,
  error_class, prompt_tokens, completion_tokens, latency_ms, stream, created_at`;

/**
 * The event with every free-text field (request id, tool, model, error class) passed through the
 * known-secrets redactor: applied where an event enters the recorder (before the usage journal
 * touches the disk) and again at insert.
 */
export function redactUsageEvent(e: UsageEventInput, secrets: Redactor): UsageEventInput {
  const text = (v: string | null | undefined): string | null | undefined => (typeof v === 'string' ? secrets.redact(v) : v);
  return { ...e, requestId: secrets.redact(e.requestId), tool: text(e.tool), model: text(e.model), errorClass: text(e.errorClass) };
}

/** Appends the event's 16 column values (free text redacted) to `args`; returns what its rollups need of it, as stored. */
function pushRow(args: unknown[], e: UsageEventInput, secrets: Redactor): RollupEvent {
  const text = (v: string | null | undefined): string | null => (typeof v === 'string' ? secrets.redact(v) : null);
  const tool = text(e.tool);
  const model = text(e.model);
  const latencyMs = Math.round(e.latencyMs);
  args.push(
    e.orgId, secrets.redact(e.requestId), e.kind, e.keyId ?? null, e.instanceId ?? null, e.pluginId ?? null, tool, model,
    e.status, e.httpStatus ?? null, text(e.errorClass), e.promptTokens ?? null, e.completionTokens ?? null,
    latencyMs, e.stream ? 1 : 0, e.createdAt,
  );
  return {
    orgId: e.orgId, kind: e.kind, keyId: e.keyId ?? null, model, tool, instanceId: e.instanceId ?? null, pluginId: e.pluginId ?? null,
    status: e.status, promptTokens: e.promptTokens ?? null, completionTokens: e.completionTokens ?? null, latencyMs, createdAt: e.createdAt,
  };
}

/**
 * `rollups`: where the inserted events are rolled up, in the same transaction (usage-rollups.ts);
 * made here by default so no writer of usage events can skip them. `null` only for the bench's
 * "without rollups" side, which measures what maintaining them costs.
 */
export function createUsageEventsRepo(db: Db, opts: { secrets?: Redactor; rollups?: UsageRollupsRepo | null } = {}) {
  const secrets = opts.secrets ?? NO_SECRETS;
  const rollups = opts.rollups === undefined ? createUsageRollupsRepo(db) : opts.rollups;
  const inserts = new Map<number, ReturnType<Db['prepare']>>();
  const insertFor = (rows: number): ReturnType<Db['prepare']> => {
    let stmt = inserts.get(rows);
    if (!stmt) {
      const tuple = `(${new Array(16).fill('?').join(', ')})`;
      stmt = db.prepare(`INSERT INTO usage_events (${COLUMNS}) VALUES ${new Array(rows).fill(tuple).join(', ')}`);
      inserts.set(rows, stmt);
    }
    return stmt;
  };
  const readJournalSeq = db.prepare(`SELECT value FROM meta WHERE key = '${JOURNAL_SEQ_KEY}'`).pluck();
  const writeJournalSeq = db.prepare(`INSERT INTO meta (key, value) VALUES ('${JOURNAL_SEQ_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const insertMany = db.transaction((events: UsageEventInput[], journalSeq: number | undefined) => {
    const stored: RollupEvent[] = [];
    for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
      const slice = events.slice(i, i + ROWS_PER_INSERT);
      const args: unknown[] = [];
      for (const e of slice) stored.push(pushRow(args, e, secrets));
      (insertFor(slice.length).run as (...p: unknown[]) => unknown).apply(insertFor(slice.length), args);
    }
    rollups?.apply(stored);
    if (journalSeq !== undefined) writeJournalSeq.run(String(journalSeq));
  });
  const cache = new Map<string, ReturnType<Db['prepare']>>();
  const oldest = db.prepare('SELECT id, created_at AS createdAt FROM usage_events ORDER BY id LIMIT ?');
  const deleteRange = db.prepare('DELETE FROM usage_events WHERE id BETWEEN ? AND ?');
  return {
    /**
     * Retention: deletes the oldest rows (by id) created before `before`, at most `limit`, and
     * says whether more may remain. Walks the id order and stops at the first row that is young
     * enough: rows are inserted in time order, so this reads at most `limit` + 1 rows however large
     * the table — the rare row recorded out of order (a journal replay) goes once the rows before
     * it have. Rollups are not touched.
     */
    pruneBefore(before: number, limit: number): { deleted: number; more: boolean } {
      const rows = oldest.all(limit + 1) as Array<{ id: number; createdAt: number }>;
      let n = 0;
      while (n < rows.length && n < limit && rows[n].createdAt < before) n++;
      if (n === 0) return { deleted: 0, more: false };
      const deleted = deleteRange.run(rows[0].id, rows[n - 1].id).changes;
      return { deleted, more: n === limit && rows.length > limit && rows[limit].createdAt < before };
    },
    /**
     * Inserts in one transaction. `journalSeq`: the usage journal's sequence number of the last
     * event, stored in the same transaction, so a replay after a crash skips what is already here.
     */
    insertMany(events: UsageEventInput[], journalSeq?: number): void {
      if (events.length) insertMany(events, journalSeq);
    },
    /** The journal sequence number of the last event inserted with one (0: none yet). */
    journalSeq(): number {
      const v = readJournalSeq.get() as string | undefined;
      return v === undefined ? 0 : Number(v);
    },
    query(q: UsageQuery): UsageEvent[] {
      const where = ['org_id = ?'];
      const args: unknown[] = [q.orgId];
      for (const [field, clause] of FILTERS) {
        const v = q[field];
        if (v !== undefined) {
          where.push(clause);
          args.push(v);
        }
      }
      const sql = `SELECT * FROM usage_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`;
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      args.push(q.limit);
      return ((stmt.all as (...p: unknown[]) => unknown[]).apply(stmt, args) as Row[]).map(toEvent);
    },
  };
}
export type UsageEventsRepo = ReturnType<typeof createUsageEventsRepo>;
