/**
 * Migration 0005 (plugin kinds and general grants) on a database built at schema version 4 with
 * MCP installations (sealed credentials included), WhatsApp instances and grants: every row
 * survives, the credentials still open, grants still go with their instance and installation,
 * tenant integrity holds, and the configuration-version triggers fire for the rebuilt and new
 * tables exactly where 0004's did.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { openDb, type Db } from '../../src/storage/db.ts';
import { loadMigrations, migrate } from '../../src/storage/migrate.ts';
import { createSecretBox, type SecretBox } from '../../src/storage/secret-box.ts';
import { createConfigVersion } from '../../src/storage/config-version.ts';
import { createInstallationsRepo } from '../../src/storage/repos/plugin-installations.ts';
import { createGrantsRepo, whatsappInstanceSubject as sub } from '../../src/storage/repos/grants.ts';
import { createWhatsAppInstancesRepo } from '../../src/storage/repos/whatsapp-instances.ts';
import { createMcpInstallationsRepo } from '../../src/plugins/kinds/mcp/settings.ts';

const AT_0004 = loadMigrations().slice(0, 4);
const MCP_COLUMNS = ['url', 'transport', 'resolved_transport', 'credential_type', 'credential_header_name', 'credential_sealed', 'timeout_ms'];
type Row = Record<string, unknown>;

const BEARER = { type: 'bearer', token: 'bearer-secret-0005-abcdef' } as const;
const HEADER = { type: 'header', name: 'X-Api-Key', value: 'header-secret-0005-123456' } as const;

/** Inserts an installation the way version 4 stored it (one row, MCP columns included). */
function insertV4Installation(db: Db, box: SecretBox, row: Row & { id: string; org_id: string }, credential: object | null): void {
  const full: Row = {
    kind: 'mcp', description: '', transport: 'auto', resolved_transport: null, credential_type: null, credential_header_name: null, timeout_ms: null,
    tool_allowlist: null, tool_rate_limits: '{}', status: 'active', catalog: '[]', skipped_tools: '[]', catalog_fetched_at: null,
    last_success_at: null, last_error: null, last_error_at: null, created_at: 1_000, updated_at: 2_000, ...row,
    credential_sealed: credential ? box.seal(JSON.stringify(credential), `plugin_installations|credential_sealed|${row.org_id}|${row.id}`) : null,
  };
  const cols = Object.keys(full);
  db.prepare(`INSERT INTO plugin_installations (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run(full);
}

function buildV4() {
  const db = openDb({ file: ':memory:' });
  migrate(db, AT_0004);
  assert.equal(db.pragma('user_version', { simple: true }), 4);
  for (const id of ['org_a', 'org_b']) db.prepare('INSERT INTO organizations (id, name, created_at) VALUES (?, ?, 0)').run(id, id);
  const box = createSecretBox(crypto.randomBytes(32));
  const catalog = JSON.stringify([{ name: 'find', prefixedName: 'crm__find', description: 'Find', inputSchema: { type: 'object' } }]);
  insertV4Installation(db, box, {
    id: 'inst-crm', org_id: 'org_a', slug: 'crm', display_name: 'CRM', description: 'Customers', url: 'https://crm.example.com/mcp', transport: 'auto',
    resolved_transport: 'streamable_http', credential_type: 'bearer', timeout_ms: 4_000, tool_allowlist: '["find"]',
    tool_rate_limits: '{"find":{"points":5,"durationSeconds":60}}', catalog, skipped_tools: '[{"name":"bad name","reason":"invalid"}]',
    catalog_fetched_at: 1_500, last_success_at: 1_600, last_error: 'once failed', last_error_at: 1_400,
  }, BEARER);
  insertV4Installation(db, box, {
    id: 'inst-billing', org_id: 'org_a', slug: 'billing', display_name: 'Billing', url: 'https://billing.example.com/sse', transport: 'sse',
    credential_type: 'header', credential_header_name: 'X-Api-Key', status: 'disabled',
  }, HEADER);
  insertV4Installation(db, box, { id: 'inst-b', org_id: 'org_b', slug: 'crm', display_name: 'CRM of B', url: 'https://b.example.com/mcp' }, null);

  const instances = createWhatsAppInstancesRepo(db, box);
  const mk = (orgId: string, name: string, n: number) => instances.create(orgId, {
    name, sender: `whatsapp:+1415555${1000 + n}`, twilioAccountSid: 'AC' + 'a'.repeat(32), twilioAuthToken: `token-${n}-0123456789`, model: 'gpt-test',
  });
  const support = mk('org_a', 'Support', 1);
  const sales = mk('org_a', 'Sales', 2);
  const other = mk('org_b', 'Support', 3);
  const grant = db.prepare('INSERT INTO whatsapp_grants (instance_id, org_id, plugin_id, created_at) VALUES (?, ?, ?, ?)');
  grant.run(support.id, 'org_a', 'first_party:whatsapp', 10);
  grant.run(support.id, 'org_a', 'inst-crm', 11);
  grant.run(sales.id, 'org_a', 'inst-crm', 12);
  grant.run(other.id, 'org_b', 'inst-b', 13);
  return { db, box, instances, ids: { support: support.id, sales: sales.id, other: other.id } };
}

const all = (db: Db, sql: string): Row[] => db.prepare(sql).all() as Row[];
const pick = (row: Row, cols: string[]): Row => Object.fromEntries(cols.map((c) => [c, row[c]]));

describe('migration 0005: plugin kinds and general grants', () => {
  it('keeps every installation, endpoint, sealed credential, instance and grant', () => {
    const { db, box, ids } = buildV4();
    const installationsBefore = all(db, 'SELECT * FROM plugin_installations ORDER BY id');
    const grantsBefore = all(db, 'SELECT * FROM whatsapp_grants ORDER BY instance_id, plugin_id');
    const instancesBefore = all(db, 'SELECT * FROM whatsapp_instances ORDER BY id');

    assert.deepEqual(migrate(db, loadMigrations().slice(0, 5)).applied, ['0005_plugin_kinds_and_grants']);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');

    const generic = Object.keys(installationsBefore[0]).filter((c) => !MCP_COLUMNS.includes(c));
    assert.deepEqual(all(db, 'SELECT * FROM plugin_installations ORDER BY id'), installationsBefore.map((r) => pick(r, generic)));
    assert.deepEqual(
      all(db, 'SELECT * FROM mcp_endpoints ORDER BY installation_id'),
      installationsBefore.map((r) => ({ installation_id: r.id, org_id: r.org_id, ...pick(r, MCP_COLUMNS) })),
      'every endpoint setting, the sealed credential byte for byte',
    );
    assert.deepEqual(all(db, 'SELECT * FROM whatsapp_instances ORDER BY id'), instancesBefore);
    assert.deepEqual(
      all(db, 'SELECT * FROM grants ORDER BY subject_id, plugin_id'),
      grantsBefore.map((g) => ({ org_id: g.org_id, subject_type: 'whatsapp_instance', subject_id: g.instance_id, plugin_id: g.plugin_id, created_at: g.created_at })),
    );
    assert.equal(all(db, "SELECT name FROM sqlite_master WHERE name = 'whatsapp_grants'").length, 0, 'the old table is gone');

    // Through the repositories: the credentials still open, the joined view reads as before.
    const installations = createInstallationsRepo(db);
    const mcp = createMcpInstallationsRepo(db, box, installations);
    assert.deepEqual(mcp.credential('org_a', 'inst-crm'), BEARER);
    assert.deepEqual(mcp.credential('org_a', 'inst-billing'), HEADER);
    assert.equal(mcp.credential('org_b', 'inst-b'), null);
    assert.equal(mcp.credential('org_b', 'inst-crm'), null, 'scoped by organisation');
    const crm = mcp.get('org_a', 'inst-crm')!;
    assert.deepEqual(
      [crm.kind, crm.url, crm.transport, crm.resolvedTransport, crm.credentialType, crm.timeoutMs, crm.toolAllowlist, crm.toolRateLimits, crm.catalog.length, crm.lastError],
      ['mcp', 'https://crm.example.com/mcp', 'auto', 'streamable_http', 'bearer', 4_000, ['find'], { find: { points: 5, durationSeconds: 60 } }, 1, 'once failed'],
    );
    assert.equal(mcp.get('org_a', 'inst-billing')?.credentialHeaderName, 'X-Api-Key');
    assert.deepEqual(mcp.list('org_a').map((i) => i.slug), ['billing', 'crm']);
    const grants = createGrantsRepo(db);
    assert.deepEqual(grants.pluginIds('org_a', sub(ids.support)), ['first_party:whatsapp', 'inst-crm']);
    assert.deepEqual(grants.pluginIds('org_b', sub(ids.other)), ['inst-b']);
  });

  it('still deletes grants with their instance or installation, and endpoints with their installation', () => {
    const { db, instances, ids } = buildV4();
    migrate(db);
    const grants = createGrantsRepo(db);
    instances.delete('org_a', ids.support);
    assert.deepEqual(grants.listForOrg('org_a').map((g) => [g.subject.id, g.pluginId]), [[ids.sales, 'inst-crm']], 'the instance took its grants');
    db.prepare("DELETE FROM plugin_installations WHERE id = 'inst-crm'").run();
    assert.deepEqual(grants.listForOrg('org_a'), [], 'the installation took its grants');
    assert.equal(all(db, "SELECT 1 FROM mcp_endpoints WHERE installation_id = 'inst-crm'").length, 0, 'and its endpoint');
    db.prepare("DELETE FROM organizations WHERE id = 'org_b'").run();
    for (const table of ['grants', 'plugin_installations', 'mcp_endpoints']) {
      assert.equal(all(db, `SELECT 1 FROM ${table} WHERE org_id = 'org_b'`).length, 0, `${table} of a deleted organisation`);
    }
  });

  it('accepts kind custom, refuses other kinds, and refuses an endpoint or grant across organisations', () => {
    const { db, ids } = buildV4();
    migrate(db);
    const insert = db.prepare("INSERT INTO plugin_installations (id, org_id, kind, slug, display_name, created_at, updated_at) VALUES (?, 'org_a', ?, ?, 'x', 0, 0)");
    insert.run('inst-custom', 'custom', 'shop');
    assert.throws(() => insert.run('inst-http', 'http', 'web'), /CHECK constraint failed/);
    assert.throws(
      () => db.prepare("INSERT INTO mcp_endpoints (installation_id, org_id, url, transport) VALUES ('inst-custom', 'org_b', 'https://x.example.com', 'auto')").run(),
      /FOREIGN KEY/,
    );
    assert.throws(
      () => db.prepare("INSERT INTO grants (org_id, subject_type, subject_id, plugin_id, created_at) VALUES ('org_b', 'whatsapp_instance', ?, 'p', 0)").run(ids.support),
      /not a whatsapp instance of this organization/,
    );
  });

  it('rolls back as a whole on a row the new schema refuses (a hand-made kind "http"), leaving version 4 as it was', () => {
    const { db, box } = buildV4();
    insertV4Installation(db, box, { id: 'inst-web', org_id: 'org_a', kind: 'http', slug: 'web', display_name: 'Web', url: 'https://web.example.com' }, null);
    const before = all(db, "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");
    const rows = all(db, 'SELECT * FROM plugin_installations ORDER BY id');
    assert.throws(() => migrate(db), /CHECK constraint failed/);
    assert.equal(db.pragma('user_version', { simple: true }), 4);
    assert.deepEqual(all(db, "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"), before);
    assert.deepEqual(all(db, 'SELECT * FROM plugin_installations ORDER BY id'), rows);
  });

  it('moves the configuration version for the rebuilt and new tables where 0004 did, and not for health or resolved transport', () => {
    const { db, ids } = buildV4();
    migrate(db);
    const version = createConfigVersion(db);
    const moves = (sql: string, ...args: unknown[]): boolean => {
      const before = version.current();
      db.prepare(sql).run(...args);
      return version.current() !== before;
    };
    const expectations: Array<[string, boolean, string, ...unknown[]]> = [
      ['installation insert', true, "INSERT INTO plugin_installations (id, org_id, kind, slug, display_name, created_at, updated_at) VALUES ('inst-new', 'org_a', 'mcp', 'new', 'New', 0, 0)"],
      ['endpoint insert', true, "INSERT INTO mcp_endpoints (installation_id, org_id, url, transport) VALUES ('inst-new', 'org_a', 'https://new.example.com', 'auto')"],
      ['catalog', true, "UPDATE plugin_installations SET catalog = '[]' WHERE id = 'inst-crm'"],
      ['status', true, "UPDATE plugin_installations SET status = 'disabled' WHERE id = 'inst-crm'"],
      ['allowlist', true, "UPDATE plugin_installations SET tool_allowlist = NULL WHERE id = 'inst-crm'"],
      ['health', false, "UPDATE plugin_installations SET last_success_at = 5, last_error = 'x', last_error_at = 6 WHERE id = 'inst-crm'"],
      ['endpoint url', true, "UPDATE mcp_endpoints SET url = 'https://moved.example.com' WHERE installation_id = 'inst-crm'"],
      ['endpoint credential', true, "UPDATE mcp_endpoints SET credential_sealed = NULL, credential_type = NULL WHERE installation_id = 'inst-crm'"],
      ['endpoint timeout', true, "UPDATE mcp_endpoints SET timeout_ms = 9 WHERE installation_id = 'inst-crm'"],
      ['resolved transport', false, "UPDATE mcp_endpoints SET resolved_transport = 'sse' WHERE installation_id = 'inst-crm'"],
      ['grant insert', true, "INSERT INTO grants (org_id, subject_type, subject_id, plugin_id, created_at) VALUES ('org_a', 'whatsapp_instance', ?, 'inst-new', 0)", ids.sales],
      ['grant update', true, "UPDATE grants SET created_at = 1 WHERE plugin_id = 'inst-new'"],
      ['grant delete', true, "DELETE FROM grants WHERE plugin_id = 'inst-new'"],
      ['endpoint delete', true, "DELETE FROM mcp_endpoints WHERE installation_id = 'inst-new'"],
      ['installation delete', true, "DELETE FROM plugin_installations WHERE id = 'inst-new'"],
    ];
    for (const [what, expected, sql, ...args] of expectations) assert.equal(moves(sql, ...args), expected, what);
  });
});
