/**
 * Pure views of the escalation inbox and of scheduled messages: the inbox order (most urgent, then
 * longest waiting), table rows, a conversation's full history with the escalation's timeline,
 * the actions a role and a state allow, and the parsing of a reminder's send time ("in 30m",
 * "2h", an ISO time). Never import blessed or call the API. Customer text goes through clean().
 */
import type {
  Escalation, EscalationDetail, EscalationPriority, Role, ScheduledMessage,
} from '../../src/shared/api.ts';
import { canAct, READ_ONLY, type ActionHint } from './commerce.ts';
import { clean, shortTime, type Column } from './text.ts';

const PRIORITY_RANK: Record<EscalationPriority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };

/** Active first, then by priority, then the one waiting longest (oldest) first. */
export function inboxOrder(list: Escalation[]): Escalation[] {
  const active = (e: Escalation): number => (e.status === 'pending' || e.status === 'assigned' ? 0 : 1);
  return [...list].sort((a, b) => active(a) - active(b) || PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || String(a.createdAt).localeCompare(String(b.createdAt)));
}

export const INBOX_COLUMNS: Column[] = [
  { title: 'PRIO', width: 6 },
  { title: 'STATUS', width: 8 },
  { title: 'CUSTOMER', width: 14 },
  { title: 'REASON', min: 10 },
  { title: 'WHO', width: 8, drop: 2 },
  { title: 'MSGS', width: 4, align: 'right', drop: 3 },
  { title: 'OPENED', width: 14, drop: 1 },
];

/** `userId` is the caller: their own assignments read "me". */
export function escalationRow(e: Escalation, userId: string | null): string[] {
  const who = e.assigneeUserId === null ? '-' : e.assigneeUserId === userId ? 'me' : clean(e.assigneeUserId).slice(0, 8);
  return [e.priority, e.status, clean(e.phoneMasked ?? e.customerRef), clean(e.reason), who, String(e.customerMessagesWhileHeld), shortTime(e.createdAt)];
}

export function inboxActions(e: Escalation | undefined, role: Role | null | undefined): ActionHint[] {
  const act = canAct(role);
  const open = !!e && (e.status === 'pending' || e.status === 'assigned');
  const hint = (key: string, label: string, ok: boolean, why: string): ActionHint => ({ key, label, enabled: act && ok, why: !act ? READ_ONLY : ok ? undefined : why });
  return [
    hint('t', 'take', open, 'this conversation is back with the bot'),
    hint('r', 'reply', open, 'this conversation is back with the bot'),
    hint('v', 'resolve', open, 'already handed back'),
    hint('n', 'remind', !!e, 'no conversation selected'),
    hint('x', 'cancel reminder', !!e, 'no conversation selected'),
  ];
}

const TIMELINE_TEXT: Record<string, string> = {
  opened: 'handed over', assigned: 'assigned', replied: 'operator replied', resolved: 'handed back to the bot',
  expired: 'queue timeout: handed back', customer_message: 'customer wrote', acknowledged: 'customer told a person will answer',
  timeout_message: 'customer told of the timeout',
};

/** The detail panel's label: who, state and assignee stay visible however far the history is scrolled. */
export function detailLabel(d: Escalation, userId: string | null): string {
  const who = d.assigneeUserId === null ? 'nobody' : d.assigneeUserId === userId ? 'me' : clean(d.assigneeUserId).slice(0, 12);
  return `${clean(d.phoneMasked ?? d.customerRef)}: ${d.status} ${d.priority}, assigned to ${who}`;
}

/** The header, the escalation's timeline and the whole conversation (oldest first), one message per block. */
export function escalationDetailText(d: EscalationDetail, userId: string | null, reminders: ScheduledMessage[] = []): string {
  const who = d.assigneeUserId === null ? 'nobody' : d.assigneeUserId === userId ? 'me' : clean(d.assigneeUserId);
  const lines = [
    `${clean(d.phoneMasked ?? d.customerRef)}  ${d.status}  priority ${d.priority}  assigned to ${who}`,
    `Reason: ${clean(d.reason)}`,
  ];
  if (d.summary) lines.push(`Summary: ${clean(d.summary)}`);
  if (d.timeoutAt && d.status === 'pending') lines.push(`Hands back to the bot at ${shortTime(d.timeoutAt)} unless someone takes it.`);
  if (d.resolutionNote) lines.push(`Resolution: ${clean(d.resolutionNote)}`);
  lines.push('', 'Timeline:');
  for (const t of d.timeline) lines.push(`  ${shortTime(t.at)}  ${TIMELINE_TEXT[t.type] ?? clean(t.type)}${t.note ? `: ${clean(t.note)}` : ''}`);
  lines.push('', `Conversation${d.historyTruncated ? ' (older messages not shown)' : ''}:`);
  if (!d.messages.length) lines.push('  (no messages)');
  for (const m of d.messages) {
    const arrow = m.direction === 'in' ? '<< customer' : '>> sent';
    const status = m.direction === 'out' ? `  [${clean(m.status)}${m.errorCode ? ` error ${m.errorCode}` : ''}]` : '';
    lines.push(`  ${shortTime(m.createdAt ?? m.sentAt)} ${arrow}${status}`);
    for (const part of clean(m.body, '(no text)').split(' ').reduce<string[]>((acc, w) => {
      // Soft wrap at 70 columns so a long message stays readable in the panel.
      if (!acc.length || (acc[acc.length - 1] + ' ' + w).length > 70) acc.push(w);
      else acc[acc.length - 1] += ` ${w}`;
      return acc;
    }, [])) lines.push(`      ${part}`);
    if (m.media.length) lines.push(`      (${m.media.length} attachment${m.media.length > 1 ? 's' : ''})`);
  }
  lines.push('', 'Reminders for this conversation:');
  if (!reminders.length) lines.push('  (none)');
  for (const r of reminders) lines.push(`  ${shortTime(r.sendAt)}  ${r.status}  ${clean(r.text)}`);
  return lines.join('\n');
}

// Scheduled messages ------------------------------------------------------------------------

export const SCHEDULED_COLUMNS: Column[] = [
  { title: 'SEND AT', width: 14 },
  { title: 'STATUS', width: 9 },
  { title: 'CUSTOMER', width: 18 },
  { title: 'TEXT', min: 10 },
  { title: 'BY', width: 8, drop: 1 },
  { title: 'NOTE', width: 18, drop: 2 },
];

export function scheduledRow(m: ScheduledMessage): string[] {
  const note = m.failureReason ?? (m.outsideWindowAtCreation ? 'template (window)' : '');
  return [shortTime(m.sendAt), m.status, clean(m.customerRef), clean(m.text), m.createdBy, clean(note, '')];
}

export function scheduledActions(m: ScheduledMessage | undefined, role: Role | null | undefined): ActionHint[] {
  const act = canAct(role);
  const cancellable = m?.status === 'scheduled';
  return [
    { key: 'n', label: 'new reminder', enabled: act, why: act ? undefined : READ_ONLY },
    { key: 'x', label: 'cancel', enabled: act && cancellable, why: !act ? READ_ONLY : cancellable ? undefined : 'only a scheduled reminder can be cancelled' },
    { key: 'f', label: 'filter', enabled: true },
  ];
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A reminder's send time from what an operator types: `30m`, `in 2h`, `1d`, or an ISO time with a
 * zone (`2026-05-01T09:00:00Z`). Returns the ISO string or an error sentence.
 */
export function parseSendAt(text: string, now: number): { sendAt: string } | { error: string } {
  const t = text.trim().toLowerCase().replace(/^in\s+/, '');
  const rel = /^(\d{1,5})\s*(m|min|mins|minutes?|h|hours?|d|days?)$/.exec(t);
  if (rel) {
    const ms = Number(rel[1]) * UNIT_MS[rel[2][0]];
    if (ms <= 0) return { error: 'the time must be in the future' };
    return { sendAt: new Date(now + ms).toISOString() };
  }
  if (/^\d{4}-\d\d-\d\dt\d\d:\d\d(:\d\d(\.\d+)?)?(z|[+-]\d\d:\d\d)$/.test(t)) {
    const ms = Date.parse(text.trim());
    if (Number.isNaN(ms)) return { error: `"${clean(text, '')}" is not a valid time` };
    return { sendAt: new Date(ms).toISOString() };
  }
  return { error: `"${clean(text, '')}" is not a time: use 30m, 2h, 1d or an ISO time with a zone (2026-05-01T09:00:00Z)` };
}
