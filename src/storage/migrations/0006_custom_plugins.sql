-- Custom plugins (issue 11): plugins authored by an organisation and their immutable versions, the
-- plugin signing secret (sealed; the previous one kept with an expiry during a rotation), the
-- settings of custom installations (the kind's own table beside plugin_installations), plugin call
-- logs, operator pauses of installations (any kind) and operator tokens.
--
-- A version's manifest never changes once stored (a trigger refuses it): a fix is a new version.
-- Installations pin one version; a pending version waits for its owner's consent.

-- Authored plugins ---------------------------------------------------------------------------------

CREATE TABLE custom_plugins (
  id                         TEXT PRIMARY KEY,
  -- The authoring organisation.
  org_id                     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  slug                       TEXT NOT NULL,
  -- Sealed with the AAD 'custom_plugins|signing_secret|<org_id>|<id>'.
  signing_secret_sealed      TEXT NOT NULL,
  -- During a rotation: the previous secret ('custom_plugins|previous_secret|<org_id>|<id>'), signing until it expires.
  previous_secret_sealed     TEXT,
  previous_secret_expires_at INTEGER,
  secret_rotated_at          INTEGER,
  created_at                 INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL,
  UNIQUE (org_id, slug)
);

CREATE TABLE custom_plugin_versions (
  id              TEXT PRIMARY KEY,
  plugin_id       TEXT NOT NULL REFERENCES custom_plugins(id) ON DELETE CASCADE,
  org_id          TEXT NOT NULL,
  version         TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('private', 'submitted', 'published', 'rejected', 'deprecated', 'withdrawn')),
  -- The validated manifest (defaults applied), as JSON text.
  manifest        TEXT NOT NULL,
  manifest_sha256 TEXT NOT NULL,
  manifest_url    TEXT,
  name            TEXT NOT NULL,
  description     TEXT NOT NULL,
  review_note     TEXT,
  reviewed_by     TEXT,
  submitted_at    INTEGER,
  reviewed_at     INTEGER,
  published_at    INTEGER,
  deprecated_at   INTEGER,
  withdrawn_at    INTEGER,
  created_at      INTEGER NOT NULL,
  UNIQUE (plugin_id, version)
);
CREATE INDEX custom_plugin_versions_status ON custom_plugin_versions(status, submitted_at);

CREATE TRIGGER custom_plugin_versions_immutable BEFORE UPDATE OF plugin_id, org_id, version, manifest, manifest_sha256 ON custom_plugin_versions
BEGIN
  SELECT RAISE(ABORT, 'a plugin version is immutable; create a new version');
END;

-- Custom installations: the kind's settings beside the shared plugin_installations row --------------

CREATE TABLE custom_installations (
  installation_id      TEXT PRIMARY KEY,
  org_id               TEXT NOT NULL,
  plugin_id            TEXT NOT NULL REFERENCES custom_plugins(id) ON DELETE CASCADE,
  version_id           TEXT NOT NULL REFERENCES custom_plugin_versions(id),
  -- A newer version waiting for an upgrade (and, when it asks for more, an owner's consent).
  pending_version_id   TEXT REFERENCES custom_plugin_versions(id),
  mode                 TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
  -- The organisation's own switch (PATCH status); operator pauses and withdrawn versions are apart.
  enabled              INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  -- Config values that are not secrets, as a JSON object.
  config_values        TEXT NOT NULL DEFAULT '{}',
  -- Secret config values: a JSON object of key → value sealed with 'custom_installations|config|<org_id>|<id>|<key>'.
  config_secrets       TEXT NOT NULL DEFAULT '{}',
  accepted_permissions TEXT NOT NULL DEFAULT '[]',
  -- Keys the per-installation customer and conversation pseudonyms ('custom_installations|customer_key|<org_id>|<id>').
  customer_key_sealed  TEXT NOT NULL,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  FOREIGN KEY (installation_id, org_id) REFERENCES plugin_installations(id, org_id) ON DELETE CASCADE
);
CREATE INDEX custom_installations_plugin ON custom_installations(plugin_id);
CREATE INDEX custom_installations_org ON custom_installations(org_id);

-- Settings gone (their plugin deleted with its organisation): the shared row and its grants go too.
CREATE TRIGGER custom_installations_drop_shared AFTER DELETE ON custom_installations
BEGIN
  DELETE FROM plugin_installations WHERE id = OLD.installation_id AND org_id = OLD.org_id;
END;

-- Operator pauses (any installation kind) ---------------------------------------------------------

CREATE TABLE installation_pauses (
  installation_id TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL,
  reason          TEXT NOT NULL DEFAULT '',
  -- The status the installation had when paused; restored on resume.
  previous_status TEXT NOT NULL CHECK (previous_status IN ('active', 'disabled')),
  paused_by       TEXT NOT NULL,
  paused_at       INTEGER NOT NULL,
  FOREIGN KEY (installation_id, org_id) REFERENCES plugin_installations(id, org_id) ON DELETE CASCADE
);

-- An owner cannot switch on what the operator paused, whatever path the write takes.
CREATE TRIGGER installation_pauses_hold BEFORE UPDATE OF status ON plugin_installations
WHEN NEW.status = 'active' AND EXISTS (SELECT 1 FROM installation_pauses WHERE installation_id = NEW.id)
BEGIN
  SELECT RAISE(ABORT, 'installation paused by the operator');
END;

-- Plugin call logs (bounded: see plugins/kinds/custom/plugin-log.ts) -------------------------------

CREATE TABLE custom_plugin_logs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  plugin_id       TEXT NOT NULL,
  author_org_id   TEXT NOT NULL,
  version         TEXT NOT NULL,
  installation_id TEXT NOT NULL,
  org_id          TEXT NOT NULL,
  instance_id     TEXT,
  request_id      TEXT NOT NULL,
  webhook_id      TEXT NOT NULL,
  tool            TEXT NOT NULL,
  mode            TEXT NOT NULL CHECK (mode IN ('sandbox', 'live')),
  status          TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  http_status     INTEGER,
  error_class     TEXT,
  error           TEXT,
  latency_ms      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL,
  -- Sandbox installations only, secret values redacted.
  request_body    TEXT,
  response_body   TEXT,
  created_at      INTEGER NOT NULL
);
CREATE INDEX custom_plugin_logs_installation ON custom_plugin_logs(installation_id, id);
CREATE INDEX custom_plugin_logs_plugin ON custom_plugin_logs(plugin_id, id);
CREATE INDEX custom_plugin_logs_created ON custom_plugin_logs(created_at);

-- Operator tokens: the appliance operator's bearer secrets (pbo_…), stored hashed -----------------

CREATE TABLE operator_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);

-- Configuration version (see 0004): what changes the tools offered or how a call is signed.

CREATE TRIGGER cv_cplug_upd AFTER UPDATE OF signing_secret_sealed, previous_secret_sealed, previous_secret_expires_at ON custom_plugins BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_cplug_del AFTER DELETE ON custom_plugins BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_cver_upd AFTER UPDATE OF status ON custom_plugin_versions BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_cinst_ins AFTER INSERT ON custom_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_cinst_upd AFTER UPDATE OF version_id, mode, enabled, config_values, config_secrets, accepted_permissions, customer_key_sealed ON custom_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_cinst_del AFTER DELETE ON custom_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_pause_ins AFTER INSERT ON installation_pauses BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_pause_del AFTER DELETE ON installation_pauses BEGIN SELECT plugboard_config_changed(); END;
