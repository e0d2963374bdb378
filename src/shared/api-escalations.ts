/**
 * Wire types of the Escalations (human handoff) and Scheduling (reminders) toolkits' control-panel
 * API and their live events. Types only: never runtime code, never an import but other
 * shared/api*.ts files. Times are ISO strings; ids are opaque strings.
 *
 * A WhatsApp conversation (instance + customer ref) is handled by the bot, or by a person while it
 * has an active escalation (`pending` or `assigned`). While a person holds it, the reply worker
 * never calls the model for it; resolving it (or the queue timeout) hands it back to the bot.
 */

/** A newest-first page (the same shape as api.ts's PageResponse; not imported, so shared/ has no import cycle). */
interface Page<T> {
  object?: 'list';
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}

/** One message of a conversation's history (the same shape as api.ts's WhatsAppMessage). */
export interface EscalationHistoryMessage {
  id: string;
  object: 'whatsapp_message';
  direction: 'in' | 'out';
  body: string;
  media: Array<{ url: string; contentType: string | null }>;
  contentSid: string | null;
  status: string;
  errorCode: number | null;
  twilioSid: string | null;
  replyToMessageId: string | null;
  partIndex: number | null;
  createdAt: string | null;
  sentAt: string | null;
}

export type EscalationPriority = 'low' | 'normal' | 'high' | 'urgent';
/**
 * `pending`: in the inbox, nobody assigned (the queue timeout runs); `assigned`: a person has it;
 * `resolved`: handed back to the bot by an operator; `expired`: handed back by the queue timeout.
 * Forward only: pending → assigned → resolved, pending → resolved | expired.
 */
export type EscalationStatus = 'pending' | 'assigned' | 'resolved' | 'expired';

export interface Escalation {
  id: string;
  object: 'escalation';
  instanceId: string;
  customerRef: string;
  /** Masked number of the customer (never the raw one). */
  phoneMasked: string | null;
  status: EscalationStatus;
  priority: EscalationPriority;
  /** Why the agent (or an operator) handed over, and its summary of the conversation so far. */
  reason: string;
  summary: string;
  /** `agent`: the hand_over tool; `operator`: `POST …/escalations`. */
  openedBy: 'agent' | 'operator';
  assigneeUserId: string | null;
  /** When a still-`pending` escalation is handed back automatically (null once assigned or closed). */
  timeoutAt: string | null;
  /** Customer messages received while a person held the conversation. */
  customerMessagesWhileHeld: number;
  /** Operator replies sent through WhatsApp. */
  replyCount: number;
  resolutionNote: string | null;
  resolvedByUserId: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  assignedAt: string | null;
  closedAt: string | null;
}

export type EscalationPage = Page<Escalation>;

export type EscalationTimelineType = 'opened' | 'assigned' | 'replied' | 'resolved' | 'expired' | 'customer_message' | 'acknowledged' | 'timeout_message';

export interface EscalationTimelineEntry {
  type: EscalationTimelineType;
  at: string | null;
  userId: string | null;
  /** The WhatsApp message (operator reply, customer message) the entry is about, if any. */
  messageId: string | null;
  note: string | null;
}

/** `GET /organizations/{orgId}/escalations/{id}`: the escalation, its timeline and the conversation's history. */
export interface EscalationDetail extends Escalation {
  timeline: EscalationTimelineEntry[];
  /** The conversation's messages, OLDEST first: the last `historyLimit` (default 200) of the whole history. */
  messages: EscalationHistoryMessage[];
  /** True when older messages exist than those in `messages` (page them with the conversation messages API). */
  historyTruncated: boolean;
}

/** `POST /organizations/{orgId}/escalations` (owners and admins): a person takes a conversation over without the agent. */
export interface CreateEscalationRequest {
  instanceId: string;
  customerRef: string;
  reason: string;
  summary?: string;
  priority?: EscalationPriority;
}

/** `POST …/escalations/{id}/assign`: to `userId` (an owner or admin of the organisation), or to the caller when left out. */
export interface AssignEscalationRequest {
  userId?: string;
}

/** An approved WhatsApp template (Twilio Content API, `HX…`) and its variables. */
export interface MessageTemplate {
  contentSid: string;
  variables?: Record<string, string>;
}

/**
 * `POST …/escalations/{id}/reply`: sent through WhatsApp. Inside the customer's 24-hour window the
 * text is sent; outside it only `template` (without one: 409 `outside_window`, nothing sent).
 * `clientMessageId` makes a retry safe: the same id never sends twice (default: a fresh one).
 * Replying to a `pending` escalation assigns it to the caller.
 */
export interface EscalationReplyRequest {
  text: string;
  template?: MessageTemplate;
  clientMessageId?: string;
}

export interface EscalationReplyResponse {
  object: 'escalation_reply';
  escalationId: string;
  clientMessageId: string;
  /** `sent`: at Twilio; `duplicate` is true when this clientMessageId had already sent it. */
  status: 'sent';
  usedTemplate: boolean;
  duplicate: boolean;
  messageSids: string[];
  escalation: Escalation;
}

/** `POST …/escalations/{id}/resolve`: hands the conversation back to the bot. */
export interface ResolveEscalationRequest {
  note?: string;
}

/** `GET`/`PUT /organizations/{orgId}/escalation-settings` (PUT: owners and admins; fields left out keep their value). */
export interface EscalationSettings {
  object: 'escalation_settings';
  /** A `pending` escalation nobody assigned within this many seconds is handed back (1 … 604800; default 1800). */
  queueTimeoutSeconds: number;
  /** Sent once when the agent hands over. */
  acknowledgementText: string;
  /** Sent when the queue timeout hands back, inside the window. */
  timeoutText: string;
  /** Sent instead of `timeoutText` when the window has closed (none: the message is skipped, recorded on the timeline). */
  timeoutTemplate: MessageTemplate | null;
}
export type UpdateEscalationSettingsRequest = Partial<Omit<EscalationSettings, 'object'>>;

/** Escalation list query: `status` (one of EscalationStatus or `active` = pending+assigned), `instanceId`, `customerRef`, `assignee` (user id or `me`), `limit`, `cursor`. Newest first. */
export interface EscalationListQuery {
  status?: EscalationStatus | 'active';
  instanceId?: string;
  customerRef?: string;
  assignee?: string;
  limit?: number;
  cursor?: string;
}

// Scheduling ----------------------------------------------------------------------------------

/**
 * `scheduled`: waiting for `sendAt` (cancellable); `sending`: its job has started (no longer
 * cancellable; sent exactly once even across a crash); `sent`; `failed` (refused: window without
 * template, customer unknown, instance paused…); `cancelled`.
 */
export type ScheduledMessageStatus = 'scheduled' | 'sending' | 'sent' | 'failed' | 'cancelled';

export interface ScheduledMessage {
  id: string;
  object: 'scheduled_message';
  instanceId: string;
  customerRef: string;
  text: string;
  /** Used when the message goes out after the customer's 24-hour window closed. */
  template: MessageTemplate | null;
  sendAt: string | null;
  status: ScheduledMessageStatus;
  createdBy: 'agent' | 'operator';
  createdByUserId: string | null;
  /** When it was created, would `sendAt` fall outside the customer's window (so the template is needed)? */
  outsideWindowAtCreation: boolean;
  usedTemplate: boolean | null;
  messageSids: string[];
  failureReason: string | null;
  createdAt: string | null;
  updatedAt: string | null;
  sentAt: string | null;
  cancelledAt: string | null;
}

export type ScheduledMessagePage = Page<ScheduledMessage>;

/**
 * `POST /organizations/{orgId}/scheduled-messages` (owners and admins). `sendAt`: ISO time with a
 * zone, from now to 90 days ahead. When `sendAt` falls outside the customer's 24-hour window a
 * template is required (given here, or the scheduling settings' `reminderTemplate`), else 409
 * `outside_window`.
 */
export interface CreateScheduledMessageRequest {
  instanceId: string;
  customerRef: string;
  text: string;
  sendAt: string;
  template?: MessageTemplate;
}

/** `POST …/scheduled-messages/{id}/cancel`: only while `scheduled` (else 409 `not_cancellable`). */
export interface CancelScheduledMessageRequest {
  reason?: string;
}

/** `GET`/`PUT /organizations/{orgId}/scheduling-settings`. */
export interface SchedulingSettings {
  object: 'scheduling_settings';
  /** The template for reminders sent outside the window; `{text}` in a variable is the reminder's text. */
  reminderTemplate: MessageTemplate | null;
}
export type UpdateSchedulingSettingsRequest = Partial<Omit<SchedulingSettings, 'object'>>;

/** Scheduled-message list query: `instanceId`, `customerRef` (needs instanceId), `status`, `limit`, `cursor`. By `sendAt`, latest first. */
export interface ScheduledMessageListQuery {
  instanceId?: string;
  customerRef?: string;
  status?: ScheduledMessageStatus;
  limit?: number;
  cursor?: string;
}

// Live events (on GET /organizations/{orgId}/events) ----------------------------------------------

export type EscalationLiveEventType =
  | 'escalation.created' | 'escalation.assigned' | 'escalation.replied' | 'escalation.resolved' | 'escalation.expired'
  | 'escalation.customer_message'
  | 'scheduled_message.created' | 'scheduled_message.sent' | 'scheduled_message.failed' | 'scheduled_message.cancelled';

/** The `data:` JSON of an escalation or scheduling live event: ids only, never message text. */
export interface EscalationLiveEvent {
  type: EscalationLiveEventType;
  orgId: string;
  requestId: string;
  at: number;
  instanceId: string;
  customerRef: string;
  escalationId?: string;
  scheduledMessageId?: string;
  status?: EscalationStatus | ScheduledMessageStatus;
  priority?: EscalationPriority;
  assigneeUserId?: string | null;
}
