/**
 * Pure views of members and the organisation's settings. Never import blessed or do I/O.
 */
import type { CreatedMember, Member, Organization, Role } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const ROLES: readonly Role[] = ['member', 'admin', 'owner'];

export const MEMBER_COLUMNS: Column[] = [
  { title: 'NAME', min: 12 },
  { title: 'ROLE', width: 7 },
  { title: 'ADDED', width: 14, drop: 2 },
  { title: 'USER ID', width: 36, drop: 1 },
];

export function memberRow(m: Member, me: string | null): string[] {
  return [`${clean(m.name)}${m.userId === me ? ' (you)' : ''}`, m.role, shortTime(m.createdAt), clean(m.userId)];
}

export function memberTokenMessage(m: CreatedMember, baseUrl: string): string {
  return [
    `${clean(m.name)} was added as ${m.role}.`,
    '',
    m.token,
    '',
    'Their control-panel token is shown only this once: hand it over safely.',
    `They attach with: PLUGBOARD_TUI_TOKEN=<token> plugboard tui --url ${clean(baseUrl)}`,
  ].join('\n');
}

/** What each role may do, shown on the settings screen. */
export const ROLE_HELP = [
  'member: reads everything of the organisation (numbers, conversations, keys, usage, live log)',
  'admin:  also acts: numbers, grants, jobs, keys, members (not owners), commerce, payments',
  'owner:  also integrations, organisation settings, payment bindings, consent, the audit log',
];

export function settingsLines(o: Organization, role: Role | null, baseUrl: string): string[] {
  return [
    `Name:              ${clean(o.name)}`,
    `Id:                ${clean(o.id)}`,
    `Created:           ${shortTime(o.createdAt)}`,
    `Plugin injection:  ${o.settings.pluginInjection ? 'on (requests get the granted plugins\' tools)' : 'off'}`,
    `Your role:         ${role ?? '-'}`,
    `Gateway base URL:  ${clean(baseUrl)}/v1`,
    '',
    ...ROLE_HELP,
  ];
}
