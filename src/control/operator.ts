/**
 * What the appliance operator does besides reviewing plugins: issue and revoke operator tokens
 * (CLI), list every organisation's plugin installations, pause and resume any of them (a paused
 * installation's tools are offered nowhere, and its organisation cannot switch it back on), and
 * read any plugin's call log. Must never know about HTTP, and never return a token's secret except
 * from `createOperatorToken`.
 */
import { invalidRequest, notFound } from '../errors.ts';
import type { Installation, InstallationsRepo } from '../storage/repos/plugin-installations.ts';
import type { InstallationPause, InstallationPausesRepo } from '../storage/repos/installation-pauses.ts';
import type { OperatorToken, OperatorTokensRepo } from '../storage/repos/operator-tokens.ts';
import type { CustomKind } from '../plugins/kinds/custom/kind.ts';
import type { CustomInstallation } from '../plugins/kinds/custom/installation-store.ts';
import type { PluginVersion } from '../plugins/kinds/custom/plugin-store.ts';
import type { StoredPluginLogEntry } from '../plugins/kinds/custom/plugin-log.ts';
import { takePage, type Page } from './page.ts';

export interface OperatorDeps {
  installations: Pick<InstallationsRepo, 'get' | 'list'>;
  pauses: InstallationPausesRepo;
  custom: Pick<CustomKind, 'installs' | 'store' | 'pluginLog'>;
  /** Every organisation id (to list their installations). */
  orgIds(): string[];
  /** Forgets an installation's live state in its kind (connections, health). */
  drop(kind: string, installationId: string): Promise<void>;
  onChange(): void;
}

export interface OperatorInstallationView {
  inst: Installation;
  pause: InstallationPause | null;
  custom: CustomInstallation | null;
  version: PluginVersion | null;
}

export function createOperatorToken(tokens: OperatorTokensRepo, name: string): { token: OperatorToken; secret: string } {
  const clean = name.trim();
  if (!clean || clean.length > 100 || /[\u0000-\u001f\u007f]/.test(clean)) throw invalidRequest('The token name must be 1 to 100 printable characters.', 'name', 'invalid_value');
  return tokens.create(clean);
}

function view(d: OperatorDeps, inst: Installation): OperatorInstallationView {
  const custom = inst.kind === 'custom' ? d.custom.installs.get(inst.orgId, inst.id) : null;
  return { inst, pause: d.pauses.get(inst.id), custom, version: custom ? d.custom.store.version(custom.versionId) : null };
}

export function listAllInstallations(d: OperatorDeps, filter: { pluginId?: string } = {}): OperatorInstallationView[] {
  const out: OperatorInstallationView[] = [];
  for (const orgId of d.orgIds()) {
    for (const inst of d.installations.list(orgId)) {
      const v = view(d, inst);
      if (filter.pluginId === undefined || v.custom?.pluginId === filter.pluginId) out.push(v);
    }
  }
  return out;
}

export function operatorInstallation(d: OperatorDeps, id: string): OperatorInstallationView {
  const orgId = d.pauses.orgOf(id);
  const inst = orgId ? d.installations.get(orgId, id) : null;
  if (!inst) throw notFound('plugin_installation', 'id');
  return view(d, inst);
}

export async function pauseInstallation(d: OperatorDeps, id: string, reason: string, by: string): Promise<OperatorInstallationView> {
  const cur = operatorInstallation(d, id);
  d.pauses.pause(id, reason, by);
  if (cur.inst.kind === 'custom') d.custom.installs.syncStatus(cur.inst.orgId, id);
  await d.drop(cur.inst.kind, id);
  d.onChange();
  return operatorInstallation(d, id);
}

export function resumeInstallation(d: OperatorDeps, id: string): OperatorInstallationView {
  const cur = operatorInstallation(d, id);
  // A custom installation's status is derived (owner's switch, pause, version); others get back what they had.
  d.pauses.resume(id, cur.inst.kind !== 'custom');
  if (cur.inst.kind === 'custom') d.custom.installs.syncStatus(cur.inst.orgId, id);
  d.onChange();
  return operatorInstallation(d, id);
}

export function operatorLogs(d: OperatorDeps, q: { pluginId?: string; installationId?: string; limit: number; cursor?: string }): Page<StoredPluginLogEntry> {
  const rows = d.custom.pluginLog.list({ pluginId: q.pluginId, installationId: q.installationId, beforeId: q.cursor ? Number(q.cursor) : undefined, limit: q.limit });
  return takePage(rows, q.limit, (r) => String(r.id));
}
