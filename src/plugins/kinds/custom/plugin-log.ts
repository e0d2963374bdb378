/**
 * The plugin log: one entry per custom plugin call (time, tool, installation, instance, status,
 * HTTP status, latency, attempts, scrubbed error; request and response bodies for sandbox
 * installations only, secret values redacted), read by the installing organisation, the plugin's
 * developer and the operator. Entries are queued by the call path and written in batches (a
 * SQLite commit per call would cost more than the call's own work); reads write what is queued
 * first. Retention is bounded twice: entries older than RETENTION_MS go, and each installation
 * keeps its newest MAX_ROWS_PER_INSTALLATION. A refused write drops the batch (counted and
 * reported), never fails a call. Must never store an unredacted body or a live installation's body.
 */
import type { Db } from '../../../storage/db.ts';

/** How long entries are kept. */
export const PLUGIN_LOG_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Newest entries kept per installation. */
export const MAX_ROWS_PER_INSTALLATION = 1000;
/** Longest stored body, in characters; longer ones end with a marker. */
export const MAX_LOGGED_BODY_CHARS = 16 * 1024;
const FLUSH_INTERVAL_MS = 100;
const MAX_QUEUE = 500;
const PRUNE_INTERVAL_MS = 60_000;

export interface PluginLogEntry {
  pluginId: string;
  authorOrgId: string;
  version: string;
  installationId: string;
  orgId: string;
  instanceId: string | null;
  requestId: string;
  webhookId: string;
  tool: string;
  mode: 'sandbox' | 'live';
  status: 'ok' | 'error';
  httpStatus: number | null;
  errorClass: string | null;
  error: string | null;
  latencyMs: number;
  attempts: number;
  requestBody: string | null;
  responseBody: string | null;
  createdAt: number;
}

export interface StoredPluginLogEntry extends PluginLogEntry {
  id: number;
}

export interface PluginLogQuery {
  installationId?: string;
  /** With installationId: the installing organisation (tenant check). */
  orgId?: string;
  pluginId?: string;
  beforeId?: number;
  limit: number;
}

interface Row {
  id: number; plugin_id: string; author_org_id: string; version: string; installation_id: string; org_id: string; instance_id: string | null;
  request_id: string; webhook_id: string; tool: string; mode: 'sandbox' | 'live'; status: 'ok' | 'error'; http_status: number | null;
  error_class: string | null; error: string | null; latency_ms: number; attempts: number; request_body: string | null; response_body: string | null; created_at: number;
}
const toEntry = (r: Row): StoredPluginLogEntry => ({
  id: r.id, pluginId: r.plugin_id, authorOrgId: r.author_org_id, version: r.version, installationId: r.installation_id, orgId: r.org_id,
  instanceId: r.instance_id, requestId: r.request_id, webhookId: r.webhook_id, tool: r.tool, mode: r.mode, status: r.status,
  httpStatus: r.http_status, errorClass: r.error_class, error: r.error, latencyMs: r.latency_ms, attempts: r.attempts,
  requestBody: r.request_body, responseBody: r.response_body, createdAt: r.created_at,
});

/** A body cut to MAX_LOGGED_BODY_CHARS with a visible marker. */
export function capBody(text: string): string {
  return text.length <= MAX_LOGGED_BODY_CHARS ? text : `${text.slice(0, MAX_LOGGED_BODY_CHARS)}… [${text.length - MAX_LOGGED_BODY_CHARS} more characters not logged]`;
}

export function createPluginLog(db: Db, opts: { onDropped?: (count: number, err: unknown) => void } = {}) {
  const stmts = {
    insert: db.prepare(
      `INSERT INTO custom_plugin_logs (plugin_id, author_org_id, version, installation_id, org_id, instance_id, request_id, webhook_id, tool, mode, status,
         http_status, error_class, error, latency_ms, attempts, request_body, response_body, created_at)
       VALUES (@pluginId, @authorOrgId, @version, @installationId, @orgId, @instanceId, @requestId, @webhookId, @tool, @mode, @status,
         @httpStatus, @errorClass, @error, @latencyMs, @attempts, @requestBody, @responseBody, @createdAt)`,
    ),
    capInstallation: db.prepare(
      `DELETE FROM custom_plugin_logs WHERE installation_id = ? AND id <= (
         SELECT id FROM custom_plugin_logs WHERE installation_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ),
    expire: db.prepare('DELETE FROM custom_plugin_logs WHERE created_at < ?'),
  };
  let queue: PluginLogEntry[] = [];
  let timer: NodeJS.Timeout | null = null;
  let lastPrune = 0;

  const write = db.transaction((batch: PluginLogEntry[], now: number) => {
    const touched = new Set<string>();
    for (const e of batch) {
      stmts.insert.run({ ...e, latencyMs: Math.round(e.latencyMs) });
      touched.add(e.installationId);
    }
    for (const id of touched) stmts.capInstallation.run(id, id, MAX_ROWS_PER_INSTALLATION);
    if (now - lastPrune >= PRUNE_INTERVAL_MS) {
      lastPrune = now;
      stmts.expire.run(now - PLUGIN_LOG_RETENTION_MS);
    }
  });

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      write.immediate(batch, Date.now());
    } catch (err) {
      opts.onDropped?.(batch.length, err);
    }
  }

  return {
    /** Queues one entry; written within FLUSH_INTERVAL_MS. */
    add(entry: PluginLogEntry): void {
      queue.push(entry);
      if (queue.length >= MAX_QUEUE) flush();
      else if (!timer) {
        timer = setTimeout(flush, FLUSH_INTERVAL_MS);
        timer.unref();
      }
    },
    flush,
    /** Newest first; `limit + 1` rows are read so the caller can tell there are more. */
    list(q: PluginLogQuery): StoredPluginLogEntry[] {
      flush();
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.installationId !== undefined) {
        where.push('installation_id = ?');
        args.push(q.installationId);
      }
      if (q.orgId !== undefined) {
        where.push('org_id = ?');
        args.push(q.orgId);
      }
      if (q.pluginId !== undefined) {
        where.push('plugin_id = ?');
        args.push(q.pluginId);
      }
      if (q.beforeId !== undefined) {
        where.push('id < ?');
        args.push(q.beforeId);
      }
      const sql = `SELECT * FROM custom_plugin_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return (db.prepare(sql).all(...(args as [unknown]), q.limit + 1) as Row[]).map(toEntry);
    },
    close(): void {
      flush();
    },
  };
}
export type PluginLog = ReturnType<typeof createPluginLog>;
