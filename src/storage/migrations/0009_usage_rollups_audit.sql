-- Usage rollups (issue 13): per organisation × time bucket × dimension, maintained in the same
-- transaction as the raw usage events they summarise (storage/repos/usage-rollups.ts), so the usage
-- summary reads them only and costs the same at 10M raw events as at 10K. Retention may prune raw
-- events (PLUGBOARD_USAGE_RETENTION_DAYS); rollups stay (minute rollups for 8 days, hour ones always).
--
-- grain: bucket width in ms (60000 = minute, 3600000 = hour); bucket: its start (Unix ms, a multiple
-- of grain); kind: usage_events.kind (never mixed: a completion's turns and tool calls are rows of
-- their own); dim: 'all' (value '') or the column grouped by — key, model, tool, instance, plugin —
-- with value '' for events without one. Latencies are the stored (rounded) latency_ms; h0…h13 count
-- them per histogram bucket with upper bounds 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 ms (h13: above).
CREATE TABLE usage_rollups (
  org_id            TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  grain             INTEGER NOT NULL,
  kind              TEXT NOT NULL,
  dim               TEXT NOT NULL CHECK (dim IN ('all', 'key', 'model', 'tool', 'instance', 'plugin')),
  bucket            INTEGER NOT NULL,
  value             TEXT NOT NULL,
  requests          INTEGER NOT NULL DEFAULT 0,
  errors            INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  latency_sum       INTEGER NOT NULL DEFAULT 0,
  latency_max       INTEGER NOT NULL DEFAULT 0,
  h0 INTEGER NOT NULL DEFAULT 0,
  h1 INTEGER NOT NULL DEFAULT 0,
  h2 INTEGER NOT NULL DEFAULT 0,
  h3 INTEGER NOT NULL DEFAULT 0,
  h4 INTEGER NOT NULL DEFAULT 0,
  h5 INTEGER NOT NULL DEFAULT 0,
  h6 INTEGER NOT NULL DEFAULT 0,
  h7 INTEGER NOT NULL DEFAULT 0,
  h8 INTEGER NOT NULL DEFAULT 0,
  h9 INTEGER NOT NULL DEFAULT 0,
  h10 INTEGER NOT NULL DEFAULT 0,
  h11 INTEGER NOT NULL DEFAULT 0,
  h12 INTEGER NOT NULL DEFAULT 0,
  h13 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, grain, kind, dim, bucket, value)
) WITHOUT ROWID;
-- Pruning minute rollups past their keep time.
CREATE INDEX usage_rollups_grain_bucket ON usage_rollups(grain, bucket);

-- Backfill from the events already recorded: one pass over usage_events into minute cells per
-- (kind, key, model, tool, instance, plugin), then every rollup from those cells.
CREATE TEMP TABLE usage_rollup_cells AS
SELECT org_id, kind, (created_at / 60000) * 60000 AS minute,
  COALESCE(key_id, '') AS key_id, COALESCE(model, '') AS model, COALESCE(tool, '') AS tool,
  COALESCE(instance_id, '') AS instance_id, COALESCE(plugin_id, '') AS plugin_id,
  COUNT(*) AS requests, SUM(status = 'error') AS errors,
  SUM(COALESCE(prompt_tokens, 0)) AS prompt_tokens, SUM(COALESCE(completion_tokens, 0)) AS completion_tokens,
  SUM(latency_ms) AS latency_sum, MAX(latency_ms) AS latency_max,
  SUM(latency_ms <= 5) AS h0, SUM(latency_ms > 5 AND latency_ms <= 10) AS h1, SUM(latency_ms > 10 AND latency_ms <= 25) AS h2, SUM(latency_ms > 25 AND latency_ms <= 50) AS h3, SUM(latency_ms > 50 AND latency_ms <= 100) AS h4, SUM(latency_ms > 100 AND latency_ms <= 250) AS h5, SUM(latency_ms > 250 AND latency_ms <= 500) AS h6, SUM(latency_ms > 500 AND latency_ms <= 1000) AS h7, SUM(latency_ms > 1000 AND latency_ms <= 2500) AS h8, SUM(latency_ms > 2500 AND latency_ms <= 5000) AS h9, SUM(latency_ms > 5000 AND latency_ms <= 10000) AS h10, SUM(latency_ms > 10000 AND latency_ms <= 30000) AS h11, SUM(latency_ms > 30000 AND latency_ms <= 60000) AS h12, SUM(latency_ms > 60000) AS h13
FROM usage_events
GROUP BY org_id, kind, minute, key_id, model, tool, instance_id, plugin_id;

INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 60000, kind, 'all', (minute / 60000) * 60000 AS b, '' AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 60000, kind, 'key', (minute / 60000) * 60000 AS b, key_id AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 60000, kind, 'model', (minute / 60000) * 60000 AS b, model AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 60000, kind, 'tool', (minute / 60000) * 60000 AS b, tool AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 60000, kind, 'instance', (minute / 60000) * 60000 AS b, instance_id AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 60000, kind, 'plugin', (minute / 60000) * 60000 AS b, plugin_id AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 3600000, kind, 'all', (minute / 3600000) * 3600000 AS b, '' AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 3600000, kind, 'key', (minute / 3600000) * 3600000 AS b, key_id AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 3600000, kind, 'model', (minute / 3600000) * 3600000 AS b, model AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 3600000, kind, 'tool', (minute / 3600000) * 3600000 AS b, tool AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 3600000, kind, 'instance', (minute / 3600000) * 3600000 AS b, instance_id AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;
INSERT INTO usage_rollups (org_id, grain, kind, dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, latency_sum, latency_max, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13)
SELECT org_id, 3600000, kind, 'plugin', (minute / 3600000) * 3600000 AS b, plugin_id AS v, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(latency_sum), MAX(latency_max), SUM(h0), SUM(h1), SUM(h2), SUM(h3), SUM(h4), SUM(h5), SUM(h6), SUM(h7), SUM(h8), SUM(h9), SUM(h10), SUM(h11), SUM(h12), SUM(h13)
FROM usage_rollup_cells GROUP BY org_id, kind, b, v;

DROP TABLE usage_rollup_cells;

-- Audit log of control-panel writes (issue 13): who (a member's user and token, or the appliance
-- operator's token), what (method, route template, path with ids only, policy action, target id),
-- when, from where (client address, user agent), the request id and the answer's status. Never
-- bodies. org_id NULL: an operator action outside any organisation. Kept when the user or token is
-- deleted (ids are text, not references); deleted with the organisation.
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id      TEXT REFERENCES organizations(id) ON DELETE CASCADE,
  actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'operator')),
  actor_id    TEXT NOT NULL,
  token_id    TEXT NOT NULL,
  actor_role  TEXT,
  actor_name  TEXT,
  method      TEXT NOT NULL,
  route       TEXT NOT NULL,
  path        TEXT NOT NULL,
  action      TEXT,
  target_id   TEXT,
  status      INTEGER NOT NULL,
  error_code  TEXT,
  request_id  TEXT NOT NULL,
  ip          TEXT,
  user_agent  TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
