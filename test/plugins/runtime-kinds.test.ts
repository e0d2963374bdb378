/**
 * The plugin runtime drives installations through the kinds map it is built from: an installation
 * of a kind the map lacks (a row written straight into SQLite) is skipped and logged once, never
 * handed to the MCP kind; registering that kind is all it takes for the same row to become a plugin.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createConfigVersion } from '../../src/storage/config-version.ts';
import { createInstallationsRepo, type Installation, type InstallationKind } from '../../src/storage/repos/plugin-installations.ts';
import { createPluginRuntime, pluginKinds } from '../../src/plugins/runtime.ts';
import { createArgumentValidator } from '../../src/plugins/schema.ts';
import { createToolLimiter } from '../../src/plugins/limits.ts';
import type { PluginHandle, PluginKind } from '../../src/plugins/types.ts';

const CATALOG = (name: string) => JSON.stringify([{ name, prefixedName: `x__${name}`, description: name, inputSchema: { type: 'object' } }]);

/** A kind that records every installation it is asked to drive. */
function recordingKind(kind: InstallationKind) {
  const handled: string[] = [];
  const impl: PluginKind = {
    kind,
    handle(inst: Installation): PluginHandle {
      handled.push(inst.id);
      return {
        id: inst.id, kind, slug: inst.slug, displayName: inst.displayName, description: inst.description,
        tools: () => inst.catalog.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
        call: async () => ({ isError: false, text: `${kind} answered` }),
      };
    },
    refresh: async (inst) => inst,
    health: (inst) => ({ connected: false, lastSuccessAt: inst.lastSuccessAt, lastError: inst.lastError, lastErrorAt: inst.lastErrorAt }),
    drop: async () => undefined,
    closeAll: async () => undefined,
  };
  return { impl, handled };
}

function setup(kinds: PluginKind[]) {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'A', 0)").run();
  const insert = db.prepare("INSERT INTO plugin_installations (id, org_id, kind, slug, display_name, catalog, created_at, updated_at) VALUES (?, 'org_a', ?, ?, ?, ?, 0, 0)");
  insert.run('inst-mcp', 'mcp', 'crm', 'CRM', CATALOG('find'));
  // Written past every API, as a newer Plugboard (or a hand edit) could have.
  insert.run('inst-custom', 'custom', 'shop', 'Shop', CATALOG('buy'));
  const warnings: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, new Writable({ write(line: Buffer, _enc, done) { warnings.push(JSON.parse(line.toString('utf8')) as Record<string, unknown>); done(); } }));
  const configVersion = createConfigVersion(db);
  const runtime = createPluginRuntime({
    installations: createInstallationsRepo(db), kinds: pluginKinds(...kinds), firstParty: [], validator: createArgumentValidator(), limiter: createToolLimiter(),
    toolTimeoutMs: 1_000, maxResultBytes: 10_000, configVersion, log,
  });
  return { db, runtime, warnings };
}

describe('plugin runtime over a map of kinds', () => {
  it('skips an installation of a kind it was not built with, logs it once, and never hands it to the MCP kind', async () => {
    const mcp = recordingKind('mcp');
    const { db, runtime, warnings } = setup([mcp.impl]);
    assert.deepEqual(runtime.listPlugins('org_a').map((p) => p.handle.id), ['inst-mcp']);
    assert.deepEqual(runtime.usablePlugins('org_a', {}).map((p) => p.handle.id), ['inst-mcp']);
    const set = runtime.buildToolSet(runtime.usablePlugins('org_a', {}));
    assert.deepEqual(set.tools.map((t) => t.function.name), ['crm__find']);
    const call = await runtime.callTool(set, { name: 'shop__buy', arguments: '{}' }, {
      orgId: 'org_a', requestId: 'r1', keyId: null, instanceId: null, customerRef: null, signal: new AbortController().signal, timeoutMs: 1_000,
    });
    assert.equal(call.errorClass, 'unknown_tool', 'no tool of the skipped installation is callable');

    // The configuration moves (the plugin list is rebuilt): still skipped, not logged again.
    db.prepare("UPDATE plugin_installations SET display_name = 'CRM 2' WHERE id = 'inst-mcp'").run();
    assert.deepEqual(runtime.listPlugins('org_a').map((p) => p.handle.displayName), ['CRM 2']);
    assert.deepEqual([...new Set(mcp.handled)], ['inst-mcp'], 'the MCP kind only ever saw its own row');
    assert.equal(mcp.handled.length, 2, 'built once per configuration version');
    assert.equal(warnings.length, 1);
    assert.deepEqual([warnings[0].installationId, warnings[0].kind], ['inst-custom', 'custom']);
  });

  it('drives the same row once its kind is in the map: a new kind is one more entry, nothing else', async () => {
    const mcp = recordingKind('mcp');
    const custom = recordingKind('custom');
    const { runtime, warnings } = setup([mcp.impl, custom.impl]);
    const plugins = runtime.listPlugins('org_a');
    assert.deepEqual(plugins.map((p) => [p.handle.id, p.handle.kind]), [['inst-mcp', 'mcp'], ['inst-custom', 'custom']], 'by slug: crm, shop');
    assert.deepEqual([mcp.handled, custom.handled], [['inst-mcp'], ['inst-custom']]);
    const set = runtime.buildToolSet(plugins);
    const out = await runtime.callTool(set, { name: 'shop__buy', arguments: '{}' }, {
      orgId: 'org_a', requestId: 'r2', keyId: null, instanceId: null, customerRef: null, signal: new AbortController().signal, timeoutMs: 1_000,
    });
    assert.deepEqual([out.isError, out.text], [false, 'custom answered']);
    assert.equal(runtime.kind('custom'), custom.impl);
    assert.equal(warnings.length, 0);
  });

  it('refuses a kind registered twice', () => {
    assert.throws(() => pluginKinds(recordingKind('mcp').impl, recordingKind('mcp').impl), /registered twice/);
  });
});
