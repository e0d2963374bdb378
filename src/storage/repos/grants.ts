/**
 * Grants: which plugins a subject may use — a WhatsApp number instance's agent now; later toolkits'
 * subjects. Nothing is granted by default.
 *
 * A subject is `{ type, id }`; `pluginId` is an installation id or `first_party:<slug>`. A grant can
 * only be written for a subject of the same organisation (the INSERT selects the subject in that
 * organisation, and a trigger refuses raw SQL that does not); grants go with their subject and with
 * their installation (triggers, migration 0005). Every query is scoped by organisation. A new
 * subject type is a line in SUBJECTS plus the CHECK and triggers of a migration.
 * Must never know about HTTP, and never validate plugin ids (the caller does, against every kind).
 */
import type { Db, Statement } from '../db.ts';

/** Subject types and the table each subject lives in (its `id` and `org_id` columns). */
const SUBJECTS = {
  whatsapp_instance: 'whatsapp_instances',
} as const;

export type GrantSubjectType = keyof typeof SUBJECTS;

/** Who holds grants. */
export interface GrantSubject {
  type: GrantSubjectType;
  id: string;
}

/** The subject of a WhatsApp number instance's grants. */
export const whatsappInstanceSubject = (instanceId: string): GrantSubject => ({ type: 'whatsapp_instance', id: instanceId });

export interface Grant {
  subject: GrantSubject;
  pluginId: string;
  createdAt: number;
}

interface Row { subject_type: GrantSubjectType; subject_id: string; plugin_id: string; created_at: number }
const toGrant = (r: Row): Grant => ({ subject: { type: r.subject_type, id: r.subject_id }, pluginId: r.plugin_id, createdAt: r.created_at });

export function createGrantsRepo(db: Db) {
  const perType = Object.fromEntries(
    Object.entries(SUBJECTS).map(([type, table]) => [type, {
      exists: db.prepare(`SELECT 1 FROM ${table} WHERE org_id = ? AND id = ?`),
      // The SELECT carries the tenant check: no row is inserted for another organisation's subject.
      insert: db.prepare(`
        INSERT INTO grants (org_id, subject_type, subject_id, plugin_id, created_at)
        SELECT org_id, '${type}', id, @pluginId, @now FROM ${table} WHERE org_id = @orgId AND id = @subjectId
        ON CONFLICT (subject_type, subject_id, plugin_id) DO NOTHING`),
    }]),
  ) as Record<GrantSubjectType, { exists: Statement; insert: Statement }>;
  const stmts = {
    delete: db.prepare('DELETE FROM grants WHERE org_id = ? AND subject_type = ? AND subject_id = ? AND plugin_id = ?'),
    deletePlugin: db.prepare('DELETE FROM grants WHERE org_id = ? AND plugin_id = ?'),
    listForSubject: db.prepare('SELECT * FROM grants WHERE org_id = ? AND subject_type = ? AND subject_id = ? ORDER BY created_at, plugin_id'),
    listForOrg: db.prepare('SELECT * FROM grants WHERE org_id = ? ORDER BY subject_type, subject_id, created_at, plugin_id'),
    listForOrgOfType: db.prepare('SELECT * FROM grants WHERE org_id = ? AND subject_type = ? ORDER BY subject_id, created_at, plugin_id'),
  };
  const of = (subject: GrantSubject) => {
    const s = perType[subject.type];
    if (!s) throw new TypeError(`Unknown grant subject type "${String(subject.type)}".`);
    return s;
  };
  const rows = (orgId: string, subject: GrantSubject): Row[] => stmts.listForSubject.all(orgId, subject.type, subject.id) as Row[];

  // One transaction, so a reader never sees half of a replaced grant set.
  const replace = db.transaction((orgId: string, subject: GrantSubject, pluginIds: readonly string[], now: number): string[] | null => {
    const s = of(subject);
    if (!s.exists.get(orgId, subject.id)) return null;
    const wanted = new Set(pluginIds);
    for (const r of rows(orgId, subject)) {
      if (!wanted.has(r.plugin_id)) stmts.delete.run(orgId, subject.type, subject.id, r.plugin_id);
    }
    for (const pluginId of wanted) s.insert.run({ orgId, subjectId: subject.id, pluginId, now });
    return rows(orgId, subject).map((r) => r.plugin_id);
  });

  return {
    /** Grants a plugin; `created` is false when it was already granted. Null when the subject is not in this org. */
    grant(orgId: string, subject: GrantSubject, pluginId: string, now = Date.now()): { created: boolean } | null {
      if (!pluginId) throw new TypeError('pluginId must not be empty.');
      const s = of(subject);
      const changes = s.insert.run({ orgId, subjectId: subject.id, pluginId, now }).changes;
      if (changes === 1) return { created: true };
      return s.exists.get(orgId, subject.id) ? { created: false } : null;
    },
    revoke(orgId: string, subject: GrantSubject, pluginId: string): boolean {
      return stmts.delete.run(orgId, subject.type, subject.id, pluginId).changes === 1;
    },
    /** Removes a plugin from every subject of the organisation (e.g. first-party plugin switched off). */
    revokeEverywhere(orgId: string, pluginId: string): number {
      return stmts.deletePlugin.run(orgId, pluginId).changes;
    },
    list(orgId: string, subject: GrantSubject): Grant[] {
      return rows(orgId, subject).map(toGrant);
    },
    /** The subject's granted plugin ids, oldest grant first (e.g. to build a WhatsApp instance's tool list). */
    pluginIds(orgId: string, subject: GrantSubject): string[] {
      return rows(orgId, subject).map((r) => r.plugin_id);
    },
    /**
     * Makes the subject's grants exactly `pluginIds` (kept grants keep their creation time) and
     * returns the stored list; null when the subject is not in this org. The caller validates ids.
     */
    replace(orgId: string, subject: GrantSubject, pluginIds: readonly string[], now = Date.now()): string[] | null {
      if (pluginIds.some((id) => !id)) throw new TypeError('pluginId must not be empty.');
      return replace.immediate(orgId, subject, pluginIds, now);
    },
    /** Every grant of the organisation, or of one subject type. */
    listForOrg(orgId: string, subjectType?: GrantSubjectType): Grant[] {
      const all = subjectType ? stmts.listForOrgOfType.all(orgId, subjectType) : stmts.listForOrg.all(orgId);
      return (all as Row[]).map(toGrant);
    },
  };
}
export type GrantsRepo = ReturnType<typeof createGrantsRepo>;
