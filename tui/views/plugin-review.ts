/**
 * Pure views of the appliance operator's screens: the review queue (rows and the detail a reviewer
 * reads: author, contact, permissions, tools, toolkits and what changed against the last published
 * version) and every organisation's plugin installations with their pause state. Never import
 * blessed or call the API.
 */
import type { OperatorInstallation, PluginReview } from '../../src/shared/api.ts';
import { permissionLines, toolkitLines, toolLine } from './plugin-directory.ts';
import { consentReasonText, upgradeNoteText } from './plugin-installs.ts';
import { clean, shortTime, type Column } from './text.ts';

export const REVIEW_COLUMNS: Column[] = [
  { title: 'SLUG', width: 18 },
  { title: 'VERSION', width: 12 },
  { title: 'ORGANISATION', min: 10 },
  { title: 'SUBMITTED', width: 14, drop: 2 },
  { title: 'AGAINST', width: 10, drop: 1 },
];

export function reviewRow(r: PluginReview): string[] {
  return [clean(r.slug), clean(r.version), clean(r.organizationName ?? r.organizationId), shortTime(r.submittedAt), r.previousPublishedVersion ? clean(r.previousPublishedVersion) : 'new'];
}

export function reviewDetail(r: PluginReview): string[] {
  const lines = [
    `${clean(r.name)} (${clean(r.slug)}) ${clean(r.version)} — submitted ${shortTime(r.submittedAt)}`,
    clean(r.description, ''),
    `Author     ${clean(r.organizationName, '')} ${r.organizationId}`,
    `Contact    ${clean(r.contact.name, '')}${r.contact.name ? ' ' : ''}<${clean(r.contact.email)}>${r.contact.url ? ` ${clean(r.contact.url)}` : ''}`,
    `Base URL   ${clean(r.baseUrl)}`,
  ];
  if (r.contact.privacyPolicyUrl) lines.push(`Privacy    ${clean(r.contact.privacyPolicyUrl)}`);
  if (r.contact.termsUrl) lines.push(`Terms      ${clean(r.contact.termsUrl)}`);
  if (r.previousPublishedVersion && r.changes) {
    lines.push('', `Against the published ${clean(r.previousPublishedVersion)}: ${r.changes.needsConsent ? 'installations will need consent' : 'no consent needed'}`);
    for (const c of r.changes.reasons) lines.push(`  • ${consentReasonText(c)}`);
    for (const n of r.changes.notes) lines.push(`  • ${upgradeNoteText(n)}`);
  } else lines.push('', 'First publication of this plugin.');
  lines.push('', 'Permissions:', ...permissionLines(r.permissions));
  lines.push('', `Tools (${r.tools.length}):`, ...r.tools.flatMap((t) => [`• ${toolLine(t)}`, ...(t.permissions.length ? [`    uses ${t.permissions.map((p) => clean(p)).join(', ')}`] : [])]));
  if (r.requires.toolkits.length) lines.push('', 'Needs toolkits:', ...toolkitLines(r.requires.toolkits));
  return lines;
}

export const OPERATOR_INSTALL_COLUMNS: Column[] = [
  { title: 'ORG', width: 14, drop: 2 },
  { title: 'KIND', width: 6 },
  { title: 'SLUG', min: 10 },
  { title: 'VERSION', width: 10, drop: 3 },
  { title: 'MODE', width: 7, drop: 1 },
  { title: 'STATUS', width: 8 },
  { title: 'PAUSED', width: 6 },
];

export function operatorInstallRow(i: OperatorInstallation): string[] {
  return [clean(i.organizationId), i.kind, clean(i.slug), clean(i.version), clean(i.mode), i.status, i.pausedByOperator ? 'PAUSED' : '-'];
}

export function operatorInstallDetail(i: OperatorInstallation): string[] {
  const lines = [
    `${clean(i.displayName)} (${clean(i.slug)}) — ${i.kind}${i.version ? ` ${clean(i.version)}` : ''}${i.mode ? `, ${i.mode}` : ''}`,
    `Id ${i.id}  organisation ${clean(i.organizationId)}${i.pluginId ? `  plugin ${clean(i.pluginId)}` : ''}`,
    `Status ${i.status}; last ok ${shortTime(i.health.lastSuccessAt)}`,
  ];
  if (i.health.lastError) lines.push(`Last error ${shortTime(i.health.lastErrorAt)} ${clean(i.health.lastError)}`);
  lines.push(i.pausedByOperator ? `PAUSED by ${clean(i.pausedByOperator.pausedBy)} ${shortTime(i.pausedByOperator.pausedAt)}: ${clean(i.pausedByOperator.reason, '(no reason)')}` : 'Not paused (p pauses it everywhere).');
  return lines;
}
