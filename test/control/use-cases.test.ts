/**
 * The control use cases called directly (no HTTP), for what the route tests cannot reach or do
 * not look at: the install's compensating delete leaves no row and no connection, an update keeps
 * working when the new endpoint fails, disabling drops the connection, a unique-index race is a
 * 409, the Twilio client is dropped on change, grants collapse duplicates and refuse unknown ids
 * before writing. Real SQLite, a real MCP SDK server on 127.0.0.1, the real MCP manager.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { AppError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { openDb } from '../../src/storage/db.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createSecretBox } from '../../src/storage/secret-box.ts';
import { createOrganizationsRepo } from '../../src/storage/repos/organizations.ts';
import { createInstallationsRepo } from '../../src/storage/repos/plugin-installations.ts';
import { createWhatsAppInstancesRepo } from '../../src/storage/repos/whatsapp-instances.ts';
import { createGrantsRepo } from '../../src/storage/repos/grants.ts';
import { createMcpInstallationsRepo } from '../../src/plugins/kinds/mcp/settings.ts';
import { createMcpManager } from '../../src/plugins/kinds/mcp/manager.ts';
import { installMcpIntegration, updateMcpIntegration, type McpIntegrationDeps } from '../../src/control/mcp-integrations.ts';
import { createWhatsAppInstance, deleteWhatsAppInstance, updateWhatsAppInstance, type WhatsAppInstanceDeps } from '../../src/control/whatsapp-instances.ts';
import { grantedPluginIds, replaceGrants } from '../../src/control/grants.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';

const TOKEN = 'use-case-bearer-0123456789';

function storage() {
  const db = openDb({ file: ':memory:' });
  migrate(db);
  const box = createSecretBox(crypto.randomBytes(32));
  const orgId = createOrganizationsRepo(db).create({ name: 'Acme' }).id;
  return { db, box, orgId };
}

function mcpDeps() {
  const { db, box, orgId } = storage();
  const installations = createMcpInstallationsRepo(db, box, createInstallationsRepo(db));
  const policy = { allowedNetworks: ['127.0.0.0/8'] };
  const log = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const mcp = createMcpManager({ installations, policy, log, defaultTimeoutMs: 5_000, maxResultBytes: 32_768 });
  let changes = 0;
  const deps: McpIntegrationDeps = { installations, mcp, policy, onChange: () => void changes++ };
  return { db, orgId, deps, mcp, changes: () => changes };
}

/** The AppError `fn` rejects or throws with. */
async function appError(fn: () => unknown): Promise<AppError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an AppError');
}

test('install: a server that refuses the listing leaves no row and no connection (compensation); a good one is stored with its catalog', async () => {
  await using server = await startMcpTestServer({ requireBearer: TOKEN });
  const { orgId, deps, mcp, changes } = mcpDeps();
  await using _close = { [Symbol.asyncDispose]: () => mcp.closeAll() };

  const err = await appError(() => installMcpIntegration(deps, orgId, { slug: 'crm', displayName: 'CRM', url: server.url, credential: { type: 'bearer', token: 'wrong-token-000' } }));
  assert.equal(err.status, 422);
  assert.equal(err.code, 'mcp_connect_failed');
  assert.deepEqual(deps.installations.list(orgId), [], 'the stored row was deleted again');
  assert.equal(changes(), 0, 'nothing changed, so no change was announced');

  const inst = await installMcpIntegration(deps, orgId, { slug: 'crm', displayName: 'CRM', url: server.url, credential: { type: 'bearer', token: TOKEN } });
  assert.ok(inst.catalog.length > 0, 'the catalog was listed and stored');
  assert.equal(deps.installations.get(orgId, inst.id)?.catalogFetchedAt !== null, true);
  assert.equal(changes(), 1);
  assert.equal(mcp.health(inst).connected, true);

  const taken = await appError(() => installMcpIntegration(deps, orgId, { slug: 'crm', displayName: 'Again', url: server.url }));
  assert.equal(taken.code, 'slug_taken');
  const refused = await appError(() => installMcpIntegration(deps, orgId, { slug: 'meta', displayName: 'Meta', url: 'http://169.254.169.254/' }));
  assert.equal(refused.code, 'url_not_allowed');
  assert.equal(deps.installations.list(orgId).length, 1);
});

test('update: a failing new endpoint keeps the update (health shows the error); disabling drops the connection', async () => {
  await using server = await startMcpTestServer({ requireBearer: TOKEN });
  const { orgId, deps, mcp, changes } = mcpDeps();
  await using _close = { [Symbol.asyncDispose]: () => mcp.closeAll() };
  const inst = await installMcpIntegration(deps, orgId, { slug: 'crm', displayName: 'CRM', url: server.url, credential: { type: 'bearer', token: TOKEN } });
  const toolsBefore = inst.catalog.map((t) => t.name);

  const broken = await updateMcpIntegration(deps, inst, { credential: { type: 'bearer', token: 'rotated-wrong-000' } });
  assert.equal(broken.credentialType, 'bearer');
  assert.notEqual(broken.credentialVersion, inst.credentialVersion, 'the new credential is stored');
  assert.deepEqual(broken.catalog.map((t) => t.name), toolsBefore, 'the last good catalog stays');
  assert.ok(broken.lastError, 'the failed refresh is recorded for the operator');

  const fixed = await updateMcpIntegration(deps, broken, { credential: { type: 'bearer', token: TOKEN } });
  assert.equal(mcp.health(fixed).connected, true);
  const disabled = await updateMcpIntegration(deps, fixed, { status: 'disabled' });
  assert.equal(disabled.status, 'disabled');
  assert.equal(mcp.health(disabled).connected, false, 'a disabled integration keeps no connection');
  assert.equal(changes(), 4);
});

test('WhatsApp instances: a unique-index race is a 409; updates and deletes drop the Twilio client, an empty update does not', () => {
  const { db, box, orgId } = storage();
  const instances = createWhatsAppInstancesRepo(db, box);
  const dropped: string[] = [];
  const deps: WhatsAppInstanceDeps = { instances, dropClient: (id) => dropped.push(id) };
  const input = { name: 'Support', sender: 'whatsapp:+14155550100', twilioAccountSid: 'AC' + 'a'.repeat(32), twilioAuthToken: 'token-0123456789', model: 'gpt-test' };
  const inst = createWhatsAppInstance(deps, orgId, input);

  // A concurrent writer won between the uniqueness check and the insert: the check saw nothing.
  const racing: WhatsAppInstanceDeps = { instances: { ...instances, list: () => [] }, dropClient: deps.dropClient };
  const race = (() => {
    try {
      createWhatsAppInstance(racing, orgId, { ...input, name: 'Other' });
    } catch (err) {
      return err;
    }
    return null;
  })();
  assert.ok(race instanceof AppError);
  assert.equal(race.status, 409);
  assert.equal(race.code, 'instance_conflict');
  assert.equal(instances.list(orgId).length, 1);

  assert.equal(updateWhatsAppInstance(deps, inst, {}), inst);
  assert.deepEqual(dropped, [], 'an empty update changes nothing');
  const renamed = updateWhatsAppInstance(deps, inst, { name: 'Front desk' });
  assert.equal(renamed.name, 'Front desk');
  assert.deepEqual(dropped, [inst.id]);
  deleteWhatsAppInstance(deps, renamed);
  assert.deepEqual(dropped, [inst.id, inst.id]);
  assert.equal(instances.get(orgId, inst.id), null);
});

test('grants: duplicates collapse, an unknown id is refused before anything is written', () => {
  const { db, box, orgId } = storage();
  const inst = createWhatsAppInstancesRepo(db, box).create(orgId, {
    name: 'Support', sender: 'whatsapp:+14155550100', twilioAccountSid: 'AC' + 'a'.repeat(32), twilioAuthToken: 'token-0123456789', model: 'm',
  });
  const deps = { grants: createGrantsRepo(db), pluginIds: () => ['first_party:whatsapp'] };
  assert.deepEqual(replaceGrants(deps, inst, ['first_party:whatsapp', 'first_party:whatsapp']), ['first_party:whatsapp']);
  assert.throws(() => replaceGrants(deps, inst, ['first_party:slack']), (err: unknown) => err instanceof AppError && err.code === 'unknown_plugin' && err.param === 'enabledPluginIds.0');
  assert.deepEqual(grantedPluginIds(deps, inst), ['first_party:whatsapp'], 'the refused replace wrote nothing');
  assert.deepEqual(replaceGrants(deps, inst, []), []);
  assert.throws(() => replaceGrants(deps, { orgId, id: crypto.randomUUID() }, []), (err: unknown) => err instanceof AppError && err.code === 'whatsapp_instance_not_found');
});
