-- A counter that moves whenever configuration read on the request path changes (organisations,
-- gateway keys, plugin installations, WhatsApp instances and grants), by this connection or any
-- other (the CLI, a second process). Request-path caches compare it instead of re-reading tables.
-- Columns written on every request (last-used times, health, catalog fetch times) do not move it.

CREATE TABLE config_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n  INTEGER NOT NULL
);
INSERT INTO config_version (id, n) VALUES (1, 0);

CREATE TRIGGER cv_org_ins AFTER INSERT ON organizations BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_org_upd AFTER UPDATE OF name, settings ON organizations BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_org_del AFTER DELETE ON organizations BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER cv_key_ins AFTER INSERT ON gateway_keys BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_key_upd AFTER UPDATE OF name, rate_limit_rpm, allowed_plugin_ids, revoked_at, key_hash, org_id ON gateway_keys BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_key_del AFTER DELETE ON gateway_keys BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER cv_inst_ins AFTER INSERT ON plugin_installations BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_inst_upd AFTER UPDATE OF slug, display_name, description, url, transport, credential_type, credential_header_name, credential_sealed, timeout_ms, tool_allowlist, tool_rate_limits, status, catalog, skipped_tools ON plugin_installations BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_inst_del AFTER DELETE ON plugin_installations BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER cv_wa_ins AFTER INSERT ON whatsapp_instances BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_wa_upd AFTER UPDATE ON whatsapp_instances BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_wa_del AFTER DELETE ON whatsapp_instances BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER cv_grant_ins AFTER INSERT ON whatsapp_grants BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_grant_upd AFTER UPDATE ON whatsapp_grants BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cv_grant_del AFTER DELETE ON whatsapp_grants BEGIN UPDATE config_version SET n = n + 1 WHERE id = 1; END;
