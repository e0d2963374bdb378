/**
 * Pure views of custom plugin installations: table rows, the detail (mode, state, config with
 * masked secrets, permissions, health, a pending version with the reasons it needs consent), and
 * the texts of upgrade answers. Never import blessed or call the API.
 */
import type { PluginConsentReason, PluginInstallation, PluginUpgradeNote } from '../../src/shared/api.ts';
import { permissionLines, toolkitLines } from './plugin-directory.ts';
import { clean, shortTime, type Column } from './text.ts';

export const CUSTOM_INSTALL_COLUMNS: Column[] = [
  { title: 'SLUG', width: 18 },
  { title: 'NAME', min: 10, drop: 3 },
  { title: 'VERSION', width: 12 },
  { title: 'MODE', width: 7 },
  { title: 'STATE', width: 16 },
  { title: 'HEALTH', width: 8, drop: 2 },
  { title: 'TOOLS', width: 5, align: 'right', drop: 1 },
];

/** `ok`, `failing` (consecutive failures), `unused` (never called). */
export function installHealth(i: Pick<PluginInstallation, 'health'>): string {
  if (i.health.consecutiveFailures > 0) return `failing`;
  return i.health.lastSuccessAt ? 'ok' : 'unused';
}

/** The state, with the pending version when one waits (`needs_consent → 1.1.0`). */
export function stateLabel(i: Pick<PluginInstallation, 'state' | 'pendingVersion'>): string {
  return i.pendingVersion && (i.state === 'needs_consent' || i.state === 'update_available') ? `${i.state}→${clean(i.pendingVersion.version)}` : i.state;
}

export function customInstallRow(i: PluginInstallation): string[] {
  return [clean(i.slug), clean(i.displayName), clean(i.version), i.mode, stateLabel(i), installHealth(i), String(i.toolCount)];
}

export function consentReasonText(r: PluginConsentReason): string {
  switch (r.kind) {
    case 'permission_added':
      return `asks for a new permission ${clean(r.key)}`;
    case 'permission_changed':
      return `rewords the permission ${clean(r.key)}`;
    case 'toolkit_requirement_added':
      return `needs a toolkit: one of ${r.any.map((a) => clean(a)).join(' | ')}`;
    case 'tool_added':
      return `adds the tool ${clean(r.name)}`;
    case 'tool_changed':
      return `changes the tool ${clean(r.name)}`;
    case 'base_url_origin_changed':
      return `moves its calls (and your config's secrets) from ${clean(r.from)} to ${clean(r.to)}`;
    case 'required_config_added':
      return `needs a new required setting ${clean(r.key)}`;
  }
}

export function upgradeNoteText(n: PluginUpgradeNote): string {
  switch (n.kind) {
    case 'tool_removed':
      return `removes the tool ${clean(n.name)}`;
    case 'permission_removed':
      return `drops the permission ${clean(n.key)}`;
    case 'toolkit_requirement_relaxed':
      return `relaxes a toolkit requirement (${n.any.map((a) => clean(a)).join(' | ')})`;
  }
}

/** What a pending version changes; empty when nothing is pending. */
export function pendingLines(i: PluginInstallation): string[] {
  const p = i.pendingVersion;
  if (!p) return [];
  const lines = [p.needsConsent ? `Version ${clean(p.version)} waits for an owner's consent (A): it` : `Version ${clean(p.version)} is available (u upgrades at once): it`];
  for (const r of p.reasons) lines.push(`  • ${consentReasonText(r)}`);
  for (const n of p.notes) lines.push(`  • ${upgradeNoteText(n)}`);
  if (!p.reasons.length && !p.notes.length) lines.push('  • changes nothing that needs consent');
  lines.push(`  Until then this installation keeps using ${clean(i.version)}.`);
  return lines;
}

export function customInstallDetail(i: PluginInstallation): string[] {
  const lines = [
    `${clean(i.displayName)} (${clean(i.slug)}) ${clean(i.version)} — ${i.state}, ${i.mode}${i.mode === 'sandbox' ? ' (logs keep bodies)' : ''}`,
    `Offered    ${i.status === 'active' ? 'yes' : 'no'}${i.enabled ? '' : ' (switched off here)'}; version ${i.versionStatus}`,
    `Health     last ok ${shortTime(i.health.lastSuccessAt)}; ${i.health.consecutiveFailures} failures in a row`,
  ];
  if (i.health.lastError) lines.push(`Last error ${shortTime(i.health.lastErrorAt)} ${clean(i.health.lastError)}`);
  if (i.pausedByOperator) lines.push(`PAUSED by the operator ${shortTime(i.pausedByOperator.pausedAt)}: ${clean(i.pausedByOperator.reason, '(no reason)')}`);
  const pending = pendingLines(i);
  if (pending.length) lines.push('', ...pending);
  const config = Object.entries(i.config);
  lines.push('', 'Configuration:');
  if (!config.length) lines.push('(none)');
  for (const [k, v] of config) lines.push(`  ${clean(k)} = ${v === null ? '(empty)' : clean(String(v))}`);
  lines.push('', 'Accepted permissions:', ...permissionLines(i.permissions.filter((p) => i.acceptedPermissions.includes(p.key))));
  if (i.requires.toolkits.length) lines.push('', 'Needs toolkits:', ...toolkitLines(i.requires.toolkits));
  lines.push('', `Tools (${i.toolCount} offered):`);
  for (const t of i.tools) lines.push(`${t.allowed ? '✓' : '✗'} ${clean(t.prefixedName)}  ${clean(t.description.split('\n')[0], '')}`);
  lines.push('', `Installation ${i.id}`, `Plugin       ${i.pluginId}`);
  return lines;
}

/** The message after `upgrade`: moved at once, or waiting for consent. */
export function upgradeOutcome(before: PluginInstallation, after: PluginInstallation): string {
  if (after.version !== before.version) return `${clean(after.slug)} moved to ${clean(after.version)}.`;
  if (after.pendingVersion?.needsConsent) return `${clean(after.slug)} ${clean(after.pendingVersion.version)} needs an owner's consent (A); it keeps using ${clean(after.version)}.`;
  return `${clean(after.slug)} is on ${clean(after.version)}; nothing newer to move to.`;
}
