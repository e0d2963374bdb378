/**
 * Operator pauses of plugin installations of any kind: while a pause row exists the installation's
 * shared status is 'disabled', and migration 0006's trigger refuses to switch it back on from any
 * path; resuming restores the status it had. The custom kind derives its status with the pause in
 * mind (installation-store.ts `syncStatus`). Must never change a kind's own settings.
 */
import type { Db } from '../db.ts';
import type { InstallationsRepo } from './plugin-installations.ts';

export interface InstallationPause {
  installationId: string;
  orgId: string;
  reason: string;
  previousStatus: 'active' | 'disabled';
  pausedBy: string;
  pausedAt: number;
}

interface Row { installation_id: string; org_id: string; reason: string; previous_status: 'active' | 'disabled'; paused_by: string; paused_at: number }
const toPause = (r: Row): InstallationPause => ({
  installationId: r.installation_id, orgId: r.org_id, reason: r.reason, previousStatus: r.previous_status, pausedBy: r.paused_by, pausedAt: r.paused_at,
});

export function createInstallationPausesRepo(db: Db, installations: InstallationsRepo) {
  const stmts = {
    get: db.prepare('SELECT * FROM installation_pauses WHERE installation_id = ?'),
    insert: db.prepare('INSERT INTO installation_pauses (installation_id, org_id, reason, previous_status, paused_by, paused_at) VALUES (?, ?, ?, ?, ?, ?)'),
    del: db.prepare('DELETE FROM installation_pauses WHERE installation_id = ?'),
    orgOf: db.prepare('SELECT org_id FROM plugin_installations WHERE id = ?').pluck(),
    list: db.prepare('SELECT * FROM installation_pauses ORDER BY paused_at'),
  };
  const pause = db.transaction((id: string, reason: string, by: string, now: number): InstallationPause | null => {
    const orgId = stmts.orgOf.get(id) as string | undefined;
    const inst = orgId ? installations.get(orgId, id) : null;
    if (!orgId || !inst) return null;
    const existing = stmts.get.get(id) as Row | undefined;
    if (existing) return toPause(existing);
    stmts.insert.run(id, orgId, reason, inst.status, by, now);
    if (inst.status !== 'disabled') installations.update(orgId, id, { status: 'disabled' }, now);
    return toPause(stmts.get.get(id) as Row);
  });
  const resume = db.transaction((id: string, restore: boolean, now: number): InstallationPause | null => {
    const row = stmts.get.get(id) as Row | undefined;
    if (!row) return null;
    stmts.del.run(id);
    if (restore && row.previous_status === 'active') installations.update(row.org_id, id, { status: 'active' }, now);
    return toPause(row);
  });
  return {
    /** The organisation of any installation (the operator addresses installations by id alone). */
    orgOf(id: string): string | null {
      return (stmts.orgOf.get(id) as string | undefined) ?? null;
    },
    get(id: string): InstallationPause | null {
      const r = stmts.get.get(id) as Row | undefined;
      return r ? toPause(r) : null;
    },
    list(): InstallationPause[] {
      return (stmts.list.all() as Row[]).map(toPause);
    },
    /** Pauses (idempotent: an existing pause is returned as it is); null when there is no such installation. */
    pause(id: string, reason: string, by: string, now = Date.now()): InstallationPause | null {
      return pause.immediate(id, reason, by, now);
    },
    /**
     * Removes the pause and restores the previous status (`restore` false: the caller derives the
     * status itself, as the custom kind does); null when it was not paused.
     */
    resume(id: string, restore = true, now = Date.now()): InstallationPause | null {
      return resume.immediate(id, restore, now);
    },
  };
}
export type InstallationPausesRepo = ReturnType<typeof createInstallationPausesRepo>;
