/**
 * Migration 0006 (custom plugins) as the database enforces it, whatever path a write takes: a
 * stored version's manifest never changes, an operator's pause cannot be switched off by setting
 * the status, custom settings go with their installation (and the installation with its settings),
 * and the configuration version moves for what changes tools or signing — not for health counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createSecretBox } from '../../src/storage/secret-box.ts';
import { createConfigVersion } from '../../src/storage/config-version.ts';
import { createInstallationsRepo } from '../../src/storage/repos/plugin-installations.ts';
import { createInstallationPausesRepo } from '../../src/storage/repos/installation-pauses.ts';
import { createPluginStore } from '../../src/plugins/kinds/custom/plugin-store.ts';
import { createCustomInstallationsRepo } from '../../src/plugins/kinds/custom/installation-store.ts';
import { validateManifest, type PluginManifest } from '../../src/plugins/kinds/custom/manifest.ts';
import { catalogOf } from '../../src/plugins/kinds/custom/prepared.ts';
import { testManifest } from '../plugins/custom/helpers.ts';

function setup() {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_a', 'A', 0)").run();
  const box = createSecretBox(crypto.randomBytes(32));
  const installations = createInstallationsRepo(db);
  const store = createPluginStore(db, box);
  const installs = createCustomInstallationsRepo(db, box, installations);
  const pauses = createInstallationPausesRepo(db, installations);
  const r = validateManifest(testManifest('https://orders.example.com'));
  assert.ok(r.ok);
  const manifest: PluginManifest = r.manifest;
  const { plugin, version } = store.create('org_a', manifest, null);
  const inst = installs.create('org_a', {
    pluginId: plugin.id, versionId: version.id, slug: 'orders', displayName: 'Orders', description: '', mode: 'sandbox',
    config: { values: { region: 'eu' }, setSecrets: { api_key: 'secret-value-123456' }, dropSecrets: [] }, acceptedPermissions: ['orders:orders:read'],
    toolAllowlist: null, toolRateLimits: {}, catalog: catalogOf(manifest),
  });
  return { db, store, installs, installations, pauses, plugin, version, inst };
}

test('a stored version never changes; its status does', () => {
  const { db, store, version } = setup();
  assert.throws(() => db.prepare('UPDATE custom_plugin_versions SET manifest = ? WHERE id = ?').run('{}', version.id), /immutable/);
  assert.throws(() => db.prepare("UPDATE custom_plugin_versions SET version = '9.9.9' WHERE id = ?").run(version.id), /immutable/);
  assert.equal(store.setStatus(version.id, ['private'], 'submitted', { submittedAt: 1 })?.status, 'submitted');
  assert.equal(store.setStatus(version.id, ['private'], 'submitted'), null, 'a status move is compare-and-set');
});

test('an operator pause holds against any write of the status; resuming restores it', () => {
  const { db, pauses, installations, inst } = setup();
  pauses.pause(inst.id, 'checking', 'ops');
  assert.equal(installations.get('org_a', inst.id)!.status, 'disabled');
  assert.throws(() => db.prepare("UPDATE plugin_installations SET status = 'active' WHERE id = ?").run(inst.id), /paused by the operator/);
  pauses.resume(inst.id);
  assert.equal(installations.get('org_a', inst.id)!.status, 'active');
});

test('settings and secrets go with their installation, and the installation with its settings', () => {
  const { db, installs, installations, inst } = setup();
  const sealed = db.prepare('SELECT config_secrets FROM custom_installations').pluck().get() as string;
  assert.ok(!sealed.includes('secret-value-123456'), 'secret config values are sealed');
  assert.deepEqual(installs.openSecrets('org_a', inst.id), { api_key: 'secret-value-123456' });
  assert.deepEqual(installs.get('org_a', inst.id)!.config, { values: { region: 'eu' }, secretKeys: ['api_key'] });
  installations.delete('org_a', inst.id);
  assert.equal(db.prepare('SELECT COUNT(*) FROM custom_installations').pluck().get(), 0);
  // The other way round: a plugin deleted (its organisation went) takes its installations' shared rows too.
  const again = setup();
  again.db.prepare('DELETE FROM custom_plugins WHERE id = ?').run(again.plugin.id);
  assert.equal(again.installations.list('org_a').length, 0);
  assert.equal(again.db.prepare('PRAGMA foreign_key_check').all().length, 0);
});

test('the configuration version moves for tools and signing, not for health counters', () => {
  const { db, store, installs, plugin, version, inst } = setup();
  const cv = createConfigVersion(db);
  const moved = (fn: () => void): boolean => {
    cv.refresh();
    const before = cv.current();
    fn();
    cv.refresh();
    return cv.current() !== before;
  };
  assert.equal(moved(() => installs.recordFailures('org_a', inst.id, 3)), false);
  assert.equal(moved(() => installs.recordHealth('org_a', inst.id, { error: 'x', errorAt: 1 })), false);
  assert.equal(moved(() => store.rotateSecret(plugin, 1000)), true);
  assert.equal(moved(() => store.setStatus(version.id, ['private'], 'withdrawn')), true);
  assert.equal(moved(() => installs.update('org_a', inst.id, { enabled: false })), true);
});
