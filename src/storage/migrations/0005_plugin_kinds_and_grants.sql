-- Plugin kinds and general grants.
--
-- 1. plugin_installations keeps only what every plugin kind has (identity, slug, status, tool
--    allowlist and rate limits, cached catalog, health); kind is 'mcp' or 'custom'. The MCP
--    endpoint settings move to mcp_endpoints, one row per MCP installation, deleted with it.
--    credential_sealed is copied as it is: its AAD stays 'plugin_installations|credential_sealed|
--    <org_id>|<id>' (the repository keeps that string), because re-sealing needs the master key,
--    which a migration does not have.
-- 2. whatsapp_grants becomes grants (subject → plugin), with WhatsApp number instances as the first
--    subject type. The subject has no foreign key (it may live in any table): triggers check that it
--    is in the grant's organisation and delete its grants with it, as the composite foreign key and
--    its cascade did; a plugin's grants still go with its installation.
-- Every row is copied. Plugboard never wrote kind 'http' (the only value besides 'mcp' 0002 allowed),
-- so such a row can only be hand-made: it fails the new CHECK and the whole migration rolls back,
-- leaving the database as it was.

-- Grants ------------------------------------------------------------------------------------------

CREATE TABLE grants (
  org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  subject_type TEXT NOT NULL CHECK (subject_type IN ('whatsapp_instance')),
  subject_id   TEXT NOT NULL,
  -- An installation id or 'first_party:<slug>': no foreign key (the trigger below drops grants of
  -- deleted installations).
  plugin_id    TEXT NOT NULL CHECK (plugin_id <> ''),
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (subject_type, subject_id, plugin_id)
);
CREATE INDEX grants_org_plugin ON grants(org_id, plugin_id);
CREATE INDEX grants_org_subject ON grants(org_id, subject_type, subject_id);

INSERT INTO grants (org_id, subject_type, subject_id, plugin_id, created_at)
  SELECT org_id, 'whatsapp_instance', instance_id, plugin_id, created_at FROM whatsapp_grants;

-- Its cv_grant_* triggers and index go with it.
DROP TABLE whatsapp_grants;

-- Tenant integrity: a grant's subject is in the grant's organisation, even for raw SQL.
CREATE TRIGGER grants_subject_in_org BEFORE INSERT ON grants
WHEN NEW.subject_type = 'whatsapp_instance'
  AND NOT EXISTS (SELECT 1 FROM whatsapp_instances WHERE id = NEW.subject_id AND org_id = NEW.org_id)
BEGIN
  SELECT RAISE(ABORT, 'grant subject is not a whatsapp instance of this organization');
END;
CREATE TRIGGER grants_subject_in_org_upd BEFORE UPDATE OF org_id, subject_type, subject_id ON grants
WHEN NEW.subject_type = 'whatsapp_instance'
  AND NOT EXISTS (SELECT 1 FROM whatsapp_instances WHERE id = NEW.subject_id AND org_id = NEW.org_id)
BEGIN
  SELECT RAISE(ABORT, 'grant subject is not a whatsapp instance of this organization');
END;

CREATE TRIGGER whatsapp_instances_drop_grants AFTER DELETE ON whatsapp_instances
BEGIN
  DELETE FROM grants WHERE subject_type = 'whatsapp_instance' AND subject_id = OLD.id;
END;

-- Installations -----------------------------------------------------------------------------------

CREATE TEMP TABLE mcp_endpoints_0005 AS
  SELECT id AS installation_id, org_id, url, transport, resolved_transport, credential_type, credential_header_name,
         credential_sealed, timeout_ms
  FROM plugin_installations;

CREATE TABLE plugin_installations_0005 (
  id                 TEXT PRIMARY KEY,
  org_id             TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  kind               TEXT NOT NULL CHECK (kind IN ('mcp', 'custom')),
  slug               TEXT NOT NULL,
  display_name       TEXT NOT NULL,
  description        TEXT NOT NULL DEFAULT '',
  status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  tool_allowlist     TEXT,
  tool_rate_limits   TEXT NOT NULL DEFAULT '{}',
  catalog            TEXT NOT NULL DEFAULT '[]',
  skipped_tools      TEXT NOT NULL DEFAULT '[]',
  catalog_fetched_at INTEGER,
  last_success_at    INTEGER,
  last_error         TEXT,
  last_error_at      INTEGER,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  UNIQUE (org_id, slug),
  -- Target of the kinds' (installation_id, org_id) foreign keys.
  UNIQUE (id, org_id)
);

INSERT INTO plugin_installations_0005 (id, org_id, kind, slug, display_name, description, status, tool_allowlist, tool_rate_limits,
    catalog, skipped_tools, catalog_fetched_at, last_success_at, last_error, last_error_at, created_at, updated_at)
  SELECT id, org_id, kind, slug, display_name, description, status, tool_allowlist, tool_rate_limits,
    catalog, skipped_tools, catalog_fetched_at, last_success_at, last_error, last_error_at, created_at, updated_at
  FROM plugin_installations;

-- Nothing references the old table, so dropping it deletes no other row; its triggers
-- (cv_inst_*, plugin_installations_drop_grants) and index go with it.
DROP TABLE plugin_installations;
ALTER TABLE plugin_installations_0005 RENAME TO plugin_installations;
CREATE INDEX plugin_installations_org ON plugin_installations(org_id, status);

CREATE TRIGGER plugin_installations_drop_grants AFTER DELETE ON plugin_installations
BEGIN
  DELETE FROM grants WHERE org_id = OLD.org_id AND plugin_id = OLD.id;
END;

-- One MCP installation's endpoint. credential_sealed: see the note at the top.
CREATE TABLE mcp_endpoints (
  installation_id        TEXT PRIMARY KEY,
  org_id                 TEXT NOT NULL,
  url                    TEXT NOT NULL,
  transport              TEXT NOT NULL CHECK (transport IN ('streamable_http', 'sse', 'auto')),
  resolved_transport     TEXT CHECK (resolved_transport IN ('streamable_http', 'sse')),
  credential_type        TEXT CHECK (credential_type IN ('bearer', 'header')),
  credential_header_name TEXT,
  credential_sealed      TEXT,
  timeout_ms             INTEGER,
  FOREIGN KEY (installation_id, org_id) REFERENCES plugin_installations(id, org_id) ON DELETE CASCADE
);

INSERT INTO mcp_endpoints (installation_id, org_id, url, transport, resolved_transport, credential_type, credential_header_name, credential_sealed, timeout_ms)
  SELECT installation_id, org_id, url, transport, resolved_transport, credential_type, credential_header_name, credential_sealed, timeout_ms
  FROM mcp_endpoints_0005;
DROP TABLE mcp_endpoints_0005;

-- Configuration version (see 0004): the same columns fire as before, wherever they live now.

CREATE TRIGGER cv_inst_ins AFTER INSERT ON plugin_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_inst_upd AFTER UPDATE OF kind, slug, display_name, description, tool_allowlist, tool_rate_limits, status, catalog, skipped_tools ON plugin_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_inst_del AFTER DELETE ON plugin_installations BEGIN SELECT plugboard_config_changed(); END;

CREATE TRIGGER cv_mcp_ins AFTER INSERT ON mcp_endpoints BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_mcp_upd AFTER UPDATE OF url, transport, credential_type, credential_header_name, credential_sealed, timeout_ms ON mcp_endpoints BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_mcp_del AFTER DELETE ON mcp_endpoints BEGIN SELECT plugboard_config_changed(); END;

CREATE TRIGGER cv_grant_ins AFTER INSERT ON grants BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_grant_upd AFTER UPDATE ON grants BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_grant_del AFTER DELETE ON grants BEGIN SELECT plugboard_config_changed(); END;
