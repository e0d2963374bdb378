-- Configuration read on the request path (organisations, gateway keys, plugin installations,
-- WhatsApp instances and grants) is cached in memory. These triggers tell the writing connection
-- that it changed: plugboard_config_changed() is registered by openDb() on every connection
-- Plugboard opens, and bumps that connection's configuration epoch (writes by other processes are
-- seen through PRAGMA data_version). Columns written on every request (last-used times, health)
-- do not fire them. A tool writing these tables without Plugboard's openDb() must define the
-- function (a no-op is enough).

CREATE TRIGGER cv_org_ins AFTER INSERT ON organizations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_org_upd AFTER UPDATE OF name, settings ON organizations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_org_del AFTER DELETE ON organizations BEGIN SELECT plugboard_config_changed(); END;

CREATE TRIGGER cv_key_ins AFTER INSERT ON gateway_keys BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_key_upd AFTER UPDATE OF name, rate_limit_rpm, allowed_plugin_ids, revoked_at, key_hash, org_id ON gateway_keys BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_key_del AFTER DELETE ON gateway_keys BEGIN SELECT plugboard_config_changed(); END;

CREATE TRIGGER cv_inst_ins AFTER INSERT ON plugin_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_inst_upd AFTER UPDATE OF slug, display_name, description, url, transport, credential_type, credential_header_name, credential_sealed, timeout_ms, tool_allowlist, tool_rate_limits, status, catalog, skipped_tools ON plugin_installations BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_inst_del AFTER DELETE ON plugin_installations BEGIN SELECT plugboard_config_changed(); END;

CREATE TRIGGER cv_wa_ins AFTER INSERT ON whatsapp_instances BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_wa_upd AFTER UPDATE ON whatsapp_instances BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_wa_del AFTER DELETE ON whatsapp_instances BEGIN SELECT plugboard_config_changed(); END;

CREATE TRIGGER cv_grant_ins AFTER INSERT ON whatsapp_grants BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_grant_upd AFTER UPDATE ON whatsapp_grants BEGIN SELECT plugboard_config_changed(); END;
CREATE TRIGGER cv_grant_del AFTER DELETE ON whatsapp_grants BEGIN SELECT plugboard_config_changed(); END;
