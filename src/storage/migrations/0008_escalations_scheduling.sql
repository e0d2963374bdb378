-- Escalations (human handoff) and Scheduling (reminders) toolkits (issue 12). Every row carries
-- org_id; times are Unix ms. A conversation is (instance_id, customer_ref); rows keep the instance
-- id without a foreign key so the inbox history outlives a deleted number (like orders do).
--
-- A conversation is held by a person while it has an escalation in `pending` or `assigned`; the
-- partial unique index makes that "at most one" for every writer. States move forward only
-- (triggers), so no writer can reopen a closed escalation or resend a sent reminder by raw SQL.

CREATE TABLE escalations (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  instance_id        TEXT NOT NULL,
  customer_ref       TEXT NOT NULL,
  status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'assigned', 'resolved', 'expired')),
  priority           TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  reason             TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  summary            TEXT NOT NULL DEFAULT '' CHECK (length(summary) <= 4000),
  opened_by          TEXT NOT NULL CHECK (opened_by IN ('agent', 'operator')),
  opened_by_user_id  TEXT,
  -- The request (reply turn) whose agent handed over: that turn's own message is not "received while held".
  opened_request_id  TEXT,
  idempotency_key    TEXT,
  assignee_user_id   TEXT,
  timeout_at         INTEGER,
  held_messages      INTEGER NOT NULL DEFAULT 0 CHECK (held_messages >= 0),
  reply_count        INTEGER NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
  resolution_note    TEXT,
  resolved_by        TEXT,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  assigned_at        INTEGER,
  closed_at          INTEGER,
  UNIQUE (org_id, idempotency_key),
  CHECK (status <> 'assigned' OR assignee_user_id IS NOT NULL)
);
CREATE UNIQUE INDEX escalations_one_active ON escalations(org_id, instance_id, customer_ref) WHERE status IN ('pending', 'assigned');
CREATE INDEX escalations_org ON escalations(org_id, created_at, id);
CREATE INDEX escalations_status ON escalations(org_id, status, created_at);

CREATE TRIGGER escalations_forward_only BEFORE UPDATE OF status ON escalations
WHEN NOT (OLD.status = NEW.status AND OLD.status = 'assigned')
  AND NOT (OLD.status = 'pending' AND NEW.status IN ('assigned', 'resolved', 'expired'))
  AND NOT (OLD.status = 'assigned' AND NEW.status = 'resolved')
BEGIN
  SELECT RAISE(ABORT, 'escalation status moves forward only');
END;

CREATE TABLE escalation_events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  escalation_id TEXT NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
  org_id        TEXT NOT NULL,
  type          TEXT NOT NULL CHECK (type IN ('opened', 'assigned', 'replied', 'resolved', 'expired', 'customer_message', 'acknowledged', 'timeout_message')),
  user_id       TEXT,
  message_id    TEXT,
  note          TEXT,
  at            INTEGER NOT NULL
);
-- A customer message or an operator reply is on the timeline once, whatever re-runs.
CREATE UNIQUE INDEX escalation_events_message ON escalation_events(escalation_id, type, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX escalation_events_escalation ON escalation_events(escalation_id, id);

CREATE TABLE escalation_settings (
  org_id                TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
  queue_timeout_s       INTEGER NOT NULL CHECK (queue_timeout_s BETWEEN 1 AND 604800),
  acknowledgement_text  TEXT NOT NULL,
  timeout_text          TEXT NOT NULL,
  timeout_template      TEXT,
  updated_at            INTEGER NOT NULL
);

CREATE TABLE scheduled_messages (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  instance_id        TEXT NOT NULL,
  customer_ref       TEXT NOT NULL,
  text               TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 1500),
  template           TEXT,
  send_at            INTEGER NOT NULL,
  status             TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'cancelled')),
  created_by         TEXT NOT NULL CHECK (created_by IN ('agent', 'operator')),
  created_by_user_id TEXT,
  idempotency_key    TEXT,
  outside_window     INTEGER NOT NULL DEFAULT 0 CHECK (outside_window IN (0, 1)),
  used_template      INTEGER CHECK (used_template IN (0, 1)),
  message_sids       TEXT NOT NULL DEFAULT '[]',
  failure_reason     TEXT,
  cancel_reason      TEXT,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  sent_at            INTEGER,
  cancelled_at       INTEGER,
  UNIQUE (org_id, idempotency_key)
);
CREATE INDEX scheduled_messages_org ON scheduled_messages(org_id, send_at, id);
CREATE INDEX scheduled_messages_conversation ON scheduled_messages(org_id, instance_id, customer_ref, send_at);

CREATE TRIGGER scheduled_messages_forward_only BEFORE UPDATE OF status ON scheduled_messages
WHEN NOT (OLD.status = NEW.status AND OLD.status = 'sending')
  AND NOT (OLD.status = 'scheduled' AND NEW.status IN ('sending', 'cancelled'))
  AND NOT (OLD.status = 'sending' AND NEW.status IN ('sent', 'failed'))
BEGIN
  SELECT RAISE(ABORT, 'scheduled message status moves forward only');
END;

CREATE TABLE scheduling_settings (
  org_id            TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
  reminder_template TEXT,
  updated_at        INTEGER NOT NULL
);
