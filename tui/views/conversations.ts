/**
 * Pure views of WhatsApp conversations, their messages (delivery status and Twilio error code with
 * what it means) and jobs (the dead letter's reason). Never import blessed or do I/O.
 */
import type { Job, JobStats, WhatsAppConversation, WhatsAppMessage } from '../../src/shared/api.ts';
import { clean, shortTime, type Column } from './text.ts';

export const CONVERSATION_COLUMNS: Column[] = [
  { title: 'CUSTOMER', min: 14 },
  { title: 'MSGS', width: 5, align: 'right' },
  { title: 'LAST MESSAGE', width: 14, drop: 1 },
];

export function conversationRow(c: WhatsAppConversation): string[] {
  return [clean(c.phoneMasked), String(c.messageCount), shortTime(c.lastMessageAt)];
}

/** What the usual Twilio error codes of WhatsApp sends mean (the number alone tells an operator little). */
const TWILIO_ERRORS: Record<number, string> = {
  21211: 'invalid "To" number',
  21408: 'permission to send to this region is not enabled',
  21610: 'the customer unsubscribed (STOP)',
  21614: '"To" is not a valid mobile number',
  63003: 'the channel could not find the "To" address',
  63007: 'the sender is not a WhatsApp sender of this account',
  63016: 'outside the 24-hour window: only an approved template may be sent',
  63018: 'rate limit of the WhatsApp sender exceeded',
  63024: 'invalid message recipient',
  63032: 'the customer cannot receive this message (user limit)',
};

export function twilioErrorText(code: number | null): string {
  if (code === null) return '';
  const what = TWILIO_ERRORS[code];
  return what ? `Twilio error ${code}: ${what}` : `Twilio error ${code}`;
}

const FAILED = new Set(['failed', 'undelivered']);
export const isFailed = (m: WhatsAppMessage): boolean => FAILED.has(m.status) || m.errorCode !== null;

/** The thread oldest first: one head line per message (time, who, status, error) and its body indented. */
export function threadLines(messages: readonly WhatsAppMessage[]): string[] {
  const out: string[] = [];
  for (const m of [...messages].reverse()) {
    const who = m.direction === 'in' ? '← customer' : `→ reply${m.partIndex !== null ? ` part ${m.partIndex + 1}` : ''}`;
    const status = isFailed(m) ? `${m.status.toUpperCase()}` : m.status;
    const err = twilioErrorText(m.errorCode);
    out.push(`${shortTime(m.sentAt ?? m.createdAt)}  ${who}  [${clean(status)}]`);
    if (err) out.push(`    ${err}`);
    const body = clean(m.body.replace(/\r?\n/g, ' / '), '(no text)');
    out.push(`    ${body}${m.media.length ? `  (+${m.media.length} media)` : ''}`);
  }
  return out;
}

export const JOB_COLUMNS: Column[] = [
  { title: 'ID', width: 6 },
  { title: 'STATUS', width: 7 },
  { title: 'TRIES', width: 5, align: 'right' },
  { title: 'KIND', width: 15, drop: 2 },
  { title: 'UPDATED', width: 14, drop: 1 },
  { title: 'REASON', min: 12 },
];

export function jobRow(j: Job): string[] {
  return [j.id, j.status, `${j.attempts}/${j.maxAttempts}`, clean(j.kind), shortTime(j.updatedAt), clean(j.lastError, '')];
}

export function jobDetail(j: Job): string[] {
  return [
    `Job ${j.id}  ${clean(j.kind)}  ${j.status}  attempts ${j.attempts}/${j.maxAttempts}`,
    `Number: ${clean(j.instanceId)}   Message: ${clean(j.messageId)}   Next run: ${shortTime(j.runAt)}`,
    `Reason: ${clean(j.lastError, '(none)')}`,
    j.status === 'dead' ? 'Dead letter: press r to requeue (fix the cause first: a paused number, a template, credentials).' : '',
  ].filter(Boolean);
}

export function jobStatsLabel(s: JobStats): string {
  return `queued ${s.queued}  running ${s.running}  done ${s.done}  dead ${s.dead}`;
}
