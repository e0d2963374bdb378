-- WhatsApp channel: number instances, plugin grants, customers, the conversation log, and the
-- durable job table the reply worker claims from. Every row carries org_id; times are Unix ms.
--
-- Tenant integrity: child tables reference (instance_id, org_id) as a pair, so a row can never
-- point at another organisation's instance even if a caller passes the wrong org.
-- Exactly-once replies: the inbound row (UNIQUE per instance + MessageSid) and its job (UNIQUE
-- per org + dedupe_key) are written in one transaction; outbound parts are written as intents
-- (UNIQUE reply_to_message_id + part_index) before the send, send_attempted_at is committed just
-- before the Twilio call, and twilio_sid right after it. A part with send_attempted_at but no
-- twilio_sid has an unknown outcome: the worker reconciles against Twilio's Messages list
-- before sending it again.

CREATE TABLE jobs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL,
  dedupe_key      TEXT NOT NULL,
  -- Jobs sharing a key never run at the same time (e.g. instance + customer: replies in order).
  concurrency_key TEXT,
  payload         TEXT NOT NULL DEFAULT '{}',
  status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts    INTEGER NOT NULL CHECK (max_attempts >= 1),
  run_at          INTEGER NOT NULL,
  lease_until     INTEGER,
  locked_by       TEXT,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  -- Scoped by org so one tenant's key can never suppress another tenant's job.
  UNIQUE (org_id, dedupe_key),
  CHECK (status <> 'running' OR (lease_until IS NOT NULL AND locked_by IS NOT NULL))
);
-- Claim: queued jobs due by run_at, and running jobs whose lease expired.
CREATE INDEX jobs_due ON jobs(status, run_at, id);
CREATE INDEX jobs_lease ON jobs(status, lease_until);
-- "Is another job with this concurrency key running?"
CREATE INDEX jobs_concurrency ON jobs(concurrency_key, status) WHERE concurrency_key IS NOT NULL;
-- Operator views (dead letter, stats) per organisation.
CREATE INDEX jobs_org_status ON jobs(org_id, status, updated_at);

CREATE TABLE whatsapp_instances (
  id                       TEXT PRIMARY KEY,
  org_id                   TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name                     TEXT NOT NULL,
  -- The WhatsApp sender as Twilio writes it: 'whatsapp:+E164'.
  sender                   TEXT NOT NULL,
  messaging_service_sid    TEXT,
  twilio_account_sid       TEXT NOT NULL,
  twilio_auth_token_sealed TEXT NOT NULL,
  system_prompt            TEXT NOT NULL DEFAULT '',
  model                    TEXT NOT NULL,
  -- NULL: use PLUGBOARD_TOOL_LOOP_CAP.
  loop_cap                 INTEGER CHECK (loop_cap IS NULL OR loop_cap BETWEEN 1 AND 64),
  status                   TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
  created_at               INTEGER NOT NULL,
  updated_at               INTEGER NOT NULL,
  UNIQUE (org_id, name),
  UNIQUE (org_id, sender),
  -- Target of the (instance_id, org_id) foreign keys below.
  UNIQUE (id, org_id)
);

-- Which plugins an instance's agent may use. plugin_id is an installation id or
-- 'first_party:<slug>', so it has no foreign key; the trigger below drops grants of deleted
-- installations.
CREATE TABLE whatsapp_grants (
  instance_id TEXT NOT NULL,
  org_id      TEXT NOT NULL,
  plugin_id   TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (instance_id, plugin_id),
  FOREIGN KEY (instance_id, org_id) REFERENCES whatsapp_instances(id, org_id) ON DELETE CASCADE
);
CREATE INDEX whatsapp_grants_org_plugin ON whatsapp_grants(org_id, plugin_id);

CREATE TRIGGER plugin_installations_drop_grants AFTER DELETE ON plugin_installations
BEGIN
  DELETE FROM whatsapp_grants WHERE org_id = OLD.org_id AND plugin_id = OLD.id;
END;

CREATE TABLE whatsapp_customers (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL,
  instance_id     TEXT NOT NULL,
  -- Keyed HMAC of (org, E.164): what plugins, logs and usage events see.
  customer_ref    TEXT NOT NULL,
  -- E.164 sealed with AAD 'whatsapp_customers|phone_sealed|<org_id>|<id>'; needed to reply.
  phone_sealed    TEXT NOT NULL,
  phone_masked    TEXT NOT NULL,
  -- Start of WhatsApp's 24-hour free-form window.
  last_inbound_at INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  UNIQUE (instance_id, customer_ref),
  FOREIGN KEY (instance_id, org_id) REFERENCES whatsapp_instances(id, org_id) ON DELETE CASCADE
);
CREATE INDEX whatsapp_customers_org ON whatsapp_customers(org_id, instance_id, last_inbound_at);

CREATE TABLE whatsapp_messages (
  id                  TEXT PRIMARY KEY,
  org_id              TEXT NOT NULL,
  instance_id         TEXT NOT NULL,
  customer_ref        TEXT NOT NULL,
  direction           TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  -- Twilio's MessageSid; NULL while an outbound intent has not been sent.
  twilio_sid          TEXT,
  body                TEXT NOT NULL DEFAULT '',
  num_media           INTEGER NOT NULL DEFAULT 0 CHECK (num_media >= 0),
  -- JSON array of {url, contentType}.
  media               TEXT NOT NULL DEFAULT '[]',
  -- Outbound templates.
  content_sid         TEXT,
  content_variables   TEXT,
  -- 'received' (in); 'pending' (intent) then Twilio's statuses (out), only ever moved forward.
  status              TEXT NOT NULL,
  error_code          INTEGER,
  -- Outbound reply: the inbound message it answers.
  reply_to_message_id TEXT REFERENCES whatsapp_messages(id) ON DELETE CASCADE,
  -- Outbound: which part of a split text this row is (0 for a single part); NULL for inbound.
  part_index          INTEGER CHECK (part_index IS NULL OR part_index >= 0),
  -- Outbound sends outside a reply (plugin tool, bridge): the caller's idempotency key.
  idempotency_key     TEXT,
  intent_recorded_at  INTEGER,
  send_attempted_at   INTEGER,
  sent_at             INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  -- Scoped by instance: a SID claimed by one tenant's webhook cannot shadow another's.
  UNIQUE (instance_id, twilio_sid),
  UNIQUE (reply_to_message_id, part_index),
  UNIQUE (instance_id, idempotency_key, part_index),
  CHECK (direction = 'out' OR twilio_sid IS NOT NULL),
  CHECK (direction = 'out' OR (reply_to_message_id IS NULL AND idempotency_key IS NULL)),
  CHECK ((direction = 'out') = (part_index IS NOT NULL)),
  FOREIGN KEY (instance_id, org_id) REFERENCES whatsapp_instances(id, org_id) ON DELETE CASCADE,
  FOREIGN KEY (instance_id, customer_ref) REFERENCES whatsapp_customers(instance_id, customer_ref) ON DELETE CASCADE
);
CREATE INDEX whatsapp_messages_conversation ON whatsapp_messages(instance_id, customer_ref, created_at);
-- Status callbacks arrive with only the MessageSid.
CREATE INDEX whatsapp_messages_sid ON whatsapp_messages(twilio_sid) WHERE twilio_sid IS NOT NULL;
CREATE INDEX whatsapp_messages_org ON whatsapp_messages(org_id, created_at);
