-- Foundation: organisations, users and roles, control-panel tokens, gateway keys, usage events.
-- Every tenant table carries org_id; times are Unix milliseconds.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE organizations (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  settings   TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);

CREATE TABLE users (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
  org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE control_tokens (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL DEFAULT '',
  token_hash   TEXT NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
CREATE INDEX control_tokens_user ON control_tokens(user_id);

CREATE TABLE gateway_keys (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name               TEXT NOT NULL DEFAULT '',
  key_hash           TEXT NOT NULL UNIQUE,
  prefix             TEXT NOT NULL,
  last4              TEXT NOT NULL,
  rate_limit_rpm     INTEGER,
  allowed_plugin_ids TEXT,
  created_by         TEXT,
  created_at         INTEGER NOT NULL,
  last_used_at       INTEGER,
  revoked_at         INTEGER
);
CREATE INDEX gateway_keys_org ON gateway_keys(org_id, created_at);

CREATE TABLE usage_events (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id            TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  request_id        TEXT NOT NULL,
  kind              TEXT NOT NULL CHECK (kind IN ('completion', 'model_turn', 'tool_call', 'loop_cap')),
  key_id            TEXT,
  instance_id       TEXT,
  plugin_id         TEXT,
  tool              TEXT,
  model             TEXT,
  status            TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  http_status       INTEGER,
  error_class       TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  latency_ms        INTEGER NOT NULL,
  stream            INTEGER NOT NULL DEFAULT 0,
  created_at        INTEGER NOT NULL
);
CREATE INDEX usage_events_org_id ON usage_events(org_id, id);
CREATE INDEX usage_events_org_request ON usage_events(org_id, request_id);
