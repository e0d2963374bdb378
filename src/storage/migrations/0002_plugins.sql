-- Plugin installations (MCP now, HTTP manifest plugins later) with their cached tool catalogs.

CREATE TABLE plugin_installations (
  id                     TEXT PRIMARY KEY,
  org_id                 TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  kind                   TEXT NOT NULL CHECK (kind IN ('mcp', 'http')),
  slug                   TEXT NOT NULL,
  display_name           TEXT NOT NULL,
  description            TEXT NOT NULL DEFAULT '',
  url                    TEXT NOT NULL,
  transport              TEXT NOT NULL CHECK (transport IN ('streamable_http', 'sse', 'auto')),
  resolved_transport     TEXT,
  credential_type        TEXT CHECK (credential_type IN ('bearer', 'header')),
  credential_header_name TEXT,
  credential_sealed      TEXT,
  timeout_ms             INTEGER,
  tool_allowlist         TEXT,
  tool_rate_limits       TEXT NOT NULL DEFAULT '{}',
  status                 TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  catalog                TEXT NOT NULL DEFAULT '[]',
  skipped_tools          TEXT NOT NULL DEFAULT '[]',
  catalog_fetched_at     INTEGER,
  last_success_at        INTEGER,
  last_error             TEXT,
  last_error_at          INTEGER,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL,
  UNIQUE (org_id, slug)
);
CREATE INDEX plugin_installations_org ON plugin_installations(org_id, status);
