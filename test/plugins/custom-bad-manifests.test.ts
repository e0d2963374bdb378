/**
 * Bad manifests through the developer API: every row of the defect table (test/plugins/
 * custom-manifest-defects.ts, far more than 30 distinct defects) registered as an upload is a 400
 * `invalid_manifest` whose `error.problems` lists every problem with its JSON Pointer path, and
 * nothing is stored; manifests fetched from a URL are held to the same rules, plus the fetch's own
 * (no redirects, size cap, https or an allowed network, no metadata address).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startApp } from '../helpers/app.ts';
import { assertWireError, snapshotTables } from '../helpers/factories.ts';
import { DEFECTS } from './custom-manifest-defects.ts';
import { assertProblems, testManifest } from './custom/helpers.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/delivery-plugin/plugboard-plugin.json');
const IGNORE_TOUCH = { ignoreColumns: { control_tokens: ['last_used_at'] } };

test(`${DEFECTS.length} defective manifests: each a 400 with its whole problem list at the right paths, nothing stored`, { timeout: 60_000 }, async () => {
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  const rows = DEFECTS.filter((d) => d.opts === undefined);
  assert.ok(rows.length >= 30, `${rows.length} rows`);
  const before = snapshotTables(t.app.db, IGNORE_TOUCH);
  for (const d of rows) {
    const m = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
    const replaced = d.mutate(m);
    const manifest = replaced === undefined ? m : replaced;
    const res = await t.api('POST', `/organizations/${a.orgId}/developer/plugins`, { token: a.ownerToken, body: { manifest } });
    const paths = assertProblems(res, 400, 'invalid_manifest', 'manifest');
    assert.deepEqual([...new Set(paths)].sort(), [...d.paths].sort(), `${d.name}: ${res.text.slice(0, 600)}`);
    if (d.message) assert.ok(res.json.error.problems.some((p: { message: string }) => d.message!.test(p.message)), `${d.name}: ${res.text.slice(0, 600)}`);
    assert.match(res.json.error.message, /^The manifest has \d+ problems?: /, d.name);
  }
  // Many defects at once: all of them listed in one answer.
  const many = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  many.slug = 'Bad Slug';
  many.version = '1.0';
  many.tools[0].name = 'Bad-Name';
  many.permissions[0].key = 'toolkit:PAYMENTS:refund_manage';
  many.extra = true;
  const res = await t.api('POST', `/organizations/${a.orgId}/developer/plugins`, { token: a.ownerToken, body: { manifest: many } });
  const paths = assertProblems(res, 400, 'invalid_manifest', 'manifest');
  for (const p of ['/slug', '/version', '/tools/0/name', '/permissions/0/key', '/extra']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
  assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before, 'no refused manifest stored anything');
});

test('the request itself: both or neither of manifest and manifestUrl, unknown fields, a second plugin with a taken slug, a version with another slug', async () => {
  await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant();
  const o = `/organizations/${a.orgId}/developer/plugins`;
  const m = testManifest('http://127.0.0.1:9');
  assertWireError(await t.api('POST', o, { token: a.ownerToken, body: {} }), 400, 'invalid_request', 'manifest');
  assertWireError(await t.api('POST', o, { token: a.ownerToken, body: { manifest: m, manifestUrl: 'https://x.example/p.json' } }), 400, 'invalid_request');
  assertWireError(await t.api('POST', o, { token: a.ownerToken, body: { manifest: m, extra: 1 } }), 400, 'unknown_parameter');
  const ok = await t.api('POST', o, { token: a.ownerToken, body: { manifest: m } });
  assert.equal(ok.status, 201, ok.text);
  assertWireError(await t.api('POST', o, { token: a.ownerToken, body: { manifest: { ...m, version: '2.0.0' } } }), 409, 'plugin_exists', 'manifest');
  const other = await t.api('POST', `${o}/${ok.json.id}/versions`, { token: a.ownerToken, body: { manifest: { ...m, slug: 'other-slug', version: '1.0.1' } } });
  assert.deepEqual(assertProblems(other, 400, 'invalid_manifest'), ['/slug']);
  // The schema editors use, served without credentials.
  const schema = await t.api('GET', '/schemas/plugboard-plugin.schema.json');
  assert.equal(schema.status, 200);
  assert.match(schema.headers.get('content-type') ?? '', /application\/schema\+json/);
  assert.equal(schema.json.$id, 'urn:plugboard:schema:plugboard-plugin:1');
  // http is refused for a base URL outside the allowed networks.
  const pub = await t.api('POST', o, { token: a.ownerToken, body: { manifest: { ...m, slug: 'public-http', baseUrl: 'http://93.184.216.34' } } });
  assert.deepEqual(assertProblems(pub, 400, 'invalid_manifest'), ['/baseUrl']);
});

test('manifests from a URL: fetched through the guard, no redirects, capped, https or an allowed network only', async () => {
  const served = new Map<string, (res: http.ServerResponse) => void>();
  const server = http.createServer((req, res) => (served.get(req.url ?? '') ?? ((r) => r.writeHead(404).end()))(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const a = t.tenant();
    const o = `/organizations/${a.orgId}/developer/plugins`;
    const reg = (manifestUrl: string) => t.api('POST', o, { token: a.ownerToken, body: { manifestUrl } });
    served.set('/good.json', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(testManifest(origin))));
    served.set('/moved.json', (res) => res.writeHead(301, { location: `${origin}/good.json` }).end());
    served.set('/page.html', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
    served.set('/huge.json', (res) => res.writeHead(200).end('{"x":"' + 'y'.repeat(200_000) + '"}'));
    const before = snapshotTables(t.app.db, IGNORE_TOUCH);
    assertWireError(await reg(`${origin}/moved.json`), 422, 'manifest_fetch_failed', 'manifestUrl');
    assert.match((await reg(`${origin}/moved.json`)).json.error.message, /HTTP 301.*redirects are not followed/);
    assertWireError(await reg(`${origin}/missing.json`), 422, 'manifest_fetch_failed');
    assert.match((await reg(`${origin}/huge.json`)).json.error.message, /larger than 65536 bytes/);
    assert.match(assertProblems(await reg(`${origin}/page.html`), 400, 'invalid_manifest', 'manifestUrl').join(), /^$/);
    assert.match((await reg('http://169.254.169.254/latest/manifest.json')).json.error.message, /https/);
    assert.match((await reg('https://169.254.169.254/latest/manifest.json')).json.error.message, /not allowed/);
    assertWireError(await reg('not a url'), 422, 'manifest_fetch_failed');
    assert.deepEqual(snapshotTables(t.app.db, IGNORE_TOUCH), before);
    const ok = await reg(`${origin}/good.json`);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.versions[0].manifestUrl, `${origin}/good.json`);
  } finally {
    server.close();
  }
});
