/**
 * End to end, issue 11's screens: the real TUI (`node tui/main-cli.ts` in tmux, test/tui/tmux.ts)
 * against a real Plugboard server and a real plugin HTTP server on 127.0.0.1 whose signature checks
 * use the published `standardwebhooks` package (test/plugins/custom/helpers.ts), at 160×48 and
 * 80×24. Developer area: a refused manifest shows every problem, register from a file and from a
 * URL (the signing secret read off the screen is the one the plugin verifies with), a new version,
 * submit, rotate. Directory → config form → consent → sandbox install → a real tool call → plugin
 * log with bodies → upgrade with re-consent. Operator (pbo_ token): reject with a reason, approve,
 * pause; another organisation installs the published plugin live and its log has no bodies.
 * Every wait is a bounded poll for text on the screen (no fixed sleeps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startApp, tempDir, type TestApp, type Tenant } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../fakes/openai-upstream.ts';
import { install, operatorToken, register, startPluginServer, testManifest, type PluginServer } from '../plugins/custom/helpers.ts';
import { fitsWidth, gotoScreen, SIZES, startTui, tmuxSkip, type TuiSession } from './tmux.ts';

const skip = tmuxSkip();
const API_KEY = 'odk-tui-canary-9c2f7q1x';

interface World extends AsyncDisposable {
  t: TestApp;
  a: Tenant;
  plugin: PluginServer;
  upstream: FakeUpstream;
  dir: string;
}

async function world(): Promise<World> {
  const upstream = await startFakeUpstream();
  const plugin = await startPluginServer((call) => {
    const body = call.verified as { tool: string; input: { orderNumber?: string } } | null;
    return { json: body?.tool === 'lookup_order' ? { status: 'found', eta: `tomorrow for ${body.input.orderNumber}` } : { ok: true } };
  });
  const t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const a = t.tenant('Acme');
  return {
    t, a, plugin, upstream, dir: tempDir('pb-dev-'), // short: the path must fit the form's field at 80 columns
    async [Symbol.asyncDispose]() {
      await t.close();
      await plugin.close();
      await upstream.close();
    },
  };
}

/** One API request whose scripted model calls `orders__lookup_order` once; returns what the model read back. */
async function callLookup(w: World, key: string, orderNumber: string): Promise<string> {
  let read = '';
  w.upstream.script(
    { json: chatCompletion({ toolCalls: [{ name: 'orders__lookup_order', arguments: { orderNumber } }] }) },
    { expect: (req) => void (read = (req.body!.messages as Array<{ role: string; content: string }>).find((x) => x.role === 'tool')!.content), json: chatCompletion({ content: 'answered' }) },
  );
  const r = await w.t.openai(key).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'where is my order?' }] });
  assert.equal(r.choices[0].message.content, 'answered');
  return read;
}

/** How long one arrow key may take to show (the list may also be at its end: then nothing changes). */
const STEP_MS = 5_000;

/**
 * Selects the row for which `selected(screen)` holds (the detail panel tells: capture has no inverse
 * video): Up to the top first, then Down one row at a time. Bounded by `max` rows each way.
 */
async function selectRow(tui: TuiSession, what: string, selected: (screen: string) => boolean, max = 20): Promise<string> {
  const step = async (key: string): Promise<boolean> => {
    const before = tui.capture();
    tui.keys(key);
    return tui.waitFor(`the selection to move (${what})`, (x) => x !== before, STEP_MS).then(() => true, () => false);
  };
  for (let i = 0; i < max && !selected(tui.capture()); i++) if (!(await step('Up'))) break;
  for (let i = 0; i < max; i++) {
    const s = tui.capture();
    if (selected(s)) return s;
    if (!(await step('Down'))) break;
  }
  throw new Error(`Could not select ${what}.\n${tui.capture()}`);
}

/** Presses Down (in a focused scrollable panel) until `done` holds; returns every screen seen. Bounded by `max` presses. */
async function scrollUntil(tui: TuiSession, what: string, done: (screen: string) => boolean, max = 80): Promise<string[]> {
  const seen = [tui.capture()];
  for (let i = 0; i < max && !done(seen.at(-1)!); i++) {
    const before = seen.at(-1)!;
    tui.keys('Down');
    seen.push(await tui.waitFor(`the panel to scroll (${what})`, (x) => x !== before, STEP_MS).catch(() => tui.capture()));
  }
  if (!done(seen.at(-1)!)) throw new Error(`Never saw ${what}.\n${seen.at(-1)}`);
  return seen;
}

for (const { cols, rows } of SIZES) {
  test(`developer area at ${cols}x${rows}: every problem of a refused manifest, register from a file and a URL (the secret shown is the one that signs), new version, submit, rotate, withdraw`, { skip }, async () => {
    await using w = await world();
    const { t, a, plugin, dir } = w;
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify(testManifest(plugin.origin, { slug: 'whatsapp', version: 'one', colour: 'blue' })));
    const good = path.join(dir, 'plugboard-plugin.json');
    fs.writeFileSync(good, JSON.stringify(testManifest(plugin.origin)));
    // A second plugin served over HTTP (loopback is an allowed network here) for the URL path.
    const served = http.createServer((req, res) => {
      if (req.url === '/tracker.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(testManifest(plugin.origin, { slug: 'tracker', name: 'Parcel Tracker' })));
      else res.writeHead(404).end();
    });
    served.listen(0, '127.0.0.1');
    await once(served, 'listening');
    const manifestUrl = `http://127.0.0.1:${(served.address() as AddressInfo).port}/tracker.json`;
    try {
      await using tui = await startTui({ url: t.url, token: a.ownerToken, cols, rows });
      await gotoScreen(tui, 'Develop');
      await tui.waitFor('the empty developer area', 'no plugins yet');

      tui.keys('n');
      await tui.waitFor('the register form', 'Manifest URL or file:');
      tui.type(bad);
      tui.keys('Enter');
      const refused = await tui.waitFor('every problem of the refused manifest', (s) => s.includes('Registering the plugin refused') && s.includes('[Enter/Esc] close') && s.includes('/slug') && s.includes('/version') && s.includes('/colour'));
      assert.match(refused, /│ *3 problems: *│/);
      tui.keys('Enter');
      await tui.waitForGone('the problem list closed', '[Enter/Esc] close');
      const untouched = await t.api('GET', `/organizations/${a.orgId}/developer/plugins`, { token: a.ownerToken });
      assert.deepEqual(untouched.json.data, [], 'nothing was stored');

      tui.keys('n');
      await tui.waitFor('the register form, keeping the last path', (s) => s.includes(`Manifest URL or file:`) && s.includes('bad.json'));
      tui.keys('C-u');
      await tui.waitForGone('the field cleared', 'bad.json');
      tui.type(good);
      tui.keys('Enter');
      const shown = await tui.waitFor('the one-time signing secret', /whsec_[A-Za-z0-9+/=]{20,}/);
      const secret = /whsec_[A-Za-z0-9+/=]{20,}/.exec(shown)![0];
      assert.ok(shown.includes('shown only this once'));
      tui.keys('Enter');
      const after = await tui.waitFor('the registered plugin', (s) => !s.includes('shown only this once') && /orders +Order Desk +1\.0\.0/.test(s) && /1\.0\.0 +private/.test(s));
      assert.ok(!after.includes(secret), 'once closed, the secret is nowhere on the screen (not in the log pane either)');

      // The secret on the screen is the plugin's: a call signed by Plugboard verifies with it.
      const list = await t.api('GET', `/organizations/${a.orgId}/developer/plugins`, { token: a.ownerToken });
      const orders = list.json.data[0];
      plugin.secrets = [secret];
      await install(t, a, { pluginId: orders.id, config: { api_key: API_KEY }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
      const read = await callLookup(w, t.key(a.orgId).secret, 'A-1001');
      assert.match(read, /tomorrow for A-1001/, read);
      assert.deepEqual(plugin.calls.at(-1)!.verifiedBy, [0], 'the secret shown on the screen verifies the call');

      // Register from a URL.
      tui.keys('n');
      await tui.waitFor('the register form', 'Manifest URL or file:');
      tui.keys('C-u');
      tui.type(manifestUrl);
      tui.keys('Enter');
      await tui.waitFor('the second secret', (s) => s.includes('Signing secret of tracker'));
      tui.keys('Enter');
      await tui.waitFor('both plugins listed', (s) => /tracker +Parcel Tracker/.test(s) && /orders +Order Desk/.test(s) && !s.includes('shown only this once'));

      // A new version of orders from an updated file, then submit it.
      await selectRow(tui, 'orders', (s) => s.includes('Order Desk (orders)'));
      fs.writeFileSync(good, JSON.stringify(testManifest(plugin.origin, { version: '1.1.0' })));
      tui.keys('v');
      await tui.waitFor('the new-version form', 'New version of orders');
      tui.keys('C-u');
      tui.type(good);
      tui.keys('Enter');
      await tui.waitFor('the new version', (s) => /1\.1\.0 +private/.test(s) && s.includes('orders 1.1.0 added'));
      tui.keys('Enter'); // into the versions, newest first: 1.1.0 is selected
      await tui.waitFor('version 1.1.0 in the detail', 'Version 1.1.0 — private');
      tui.keys('s');
      await tui.waitFor('the submit confirmation', 'Submit orders 1.1.0 for review?');
      tui.keys('y');
      await tui.waitFor('1.1.0 submitted', (s) => /1\.1\.0 +submitted/.test(s));
      const v = await t.api('GET', `/organizations/${a.orgId}/developer/plugins/${orders.id}/versions/1.1.0`, { token: a.ownerToken });
      assert.equal(v.json.status, 'submitted');

      // Rotate with no overlap: the new secret (shown once) signs alone from now on.
      tui.keys('Escape');
      await tui.waitFor('back on the plugins', (s) => s.includes('Order Desk (orders)'));
      tui.keys('k');
      await tui.waitFor('the rotate form', 'Old one signs for (s):');
      tui.keys('C-u');
      tui.type('0');
      tui.keys('Enter');
      const rotated = await tui.waitFor('the new secret', (s) => s.includes('New signing secret') && /whsec_[A-Za-z0-9+/=]{20,}/.test(s));
      const next = /whsec_[A-Za-z0-9+/=]{20,}/.exec(rotated)![0];
      assert.notEqual(next, secret);
      assert.ok(rotated.includes('The previous secret stopped signing.'));
      tui.keys('Enter');
      assert.ok(!(await tui.waitForGone('the secret closed', 'shown only this once')).includes(next));
      plugin.secrets = [next, secret];
      await callLookup(w, t.key(a.orgId).secret, 'A-1002');
      assert.deepEqual(plugin.calls.at(-1)!.verifiedBy, [0], 'only the rotated secret signs');

      // Withdraw the URL-registered plugin's only version.
      await selectRow(tui, 'tracker', (s) => s.includes('Parcel Tracker (tracker)'));
      tui.keys('w');
      await tui.waitFor('the withdraw confirmation', 'Withdraw tracker 1.0.0?');
      tui.keys('y');
      await tui.waitFor('withdrawn', (s) => s.includes('tracker 1.0.0 withdrawn') && /1\.0\.0 +withdrawn/.test(s));

      assert.ok(fitsWidth(tui.capture(), cols), 'nothing drawn past the edge');
      assert.ok(!tui.capture().includes(API_KEY));
      await tui.quit();
    } finally {
      served.close();
    }
  });

  test(`directory → config form → consent → sandbox install → call → plugin log with bodies → upgrade with re-consent → configure keeping the secret at ${cols}x${rows}`, { skip }, async () => {
    await using w = await world();
    const { t, a, plugin } = w;
    const reg = await register(t, a, testManifest(plugin.origin));
    plugin.secrets = [reg.signingSecret];

    await using tui = await startTui({ url: t.url, token: a.ownerToken, cols, rows });
    await gotoScreen(tui, 'Directory');
    await tui.waitFor('the own plugin and what installing it means', (s) => /orders +Order Desk +1\.0\.0 +own/.test(s) && s.includes('Installs as sandbox'));

    tui.keys('i');
    await tui.waitFor('the generated config form', (s) => s.includes('Configure orders 1.0.0') && s.includes('Order Desk API key*') && s.includes('< Europe >'));
    tui.keys('Down', 'Down'); // skip the required key: our own check refuses it first
    tui.type('Very long shop name that is over forty chars');
    tui.keys('Enter');
    await tui.waitFor('the form refused with its problems, values kept', (s) => s.includes('Not saved:') && s.includes('Order Desk API key is required') && s.includes('Shop name must be at most 40') && s.includes('Very long shop'));
    // Up to the key, type it (masked), choose the US region, shorten the shop name.
    tui.keys('Up', 'Up');
    tui.type(API_KEY);
    await tui.waitFor('the secret masked', (s) => s.includes('*'.repeat(API_KEY.length)) && !s.includes(API_KEY));
    tui.keys('Enter', 'Right');
    await tui.waitFor('the region switched', '< United States >');
    tui.keys('Enter', 'C-u');
    tui.type('Acme Shop');
    tui.keys('Enter');
    await tui.waitFor('the consent screen with every permission', (s) => s.includes('Permissions of orders 1.0.0') && s.includes('[x] Read orders') && s.includes('[ ] Write order notes') && s.includes('Add a note to a customer order.'));
    tui.keys('Enter');
    await tui.waitFor('the refusal to go on without every permission', 'Tick every permission to install');
    tui.keys('Down', 'Space');
    await tui.waitFor('the second permission ticked', '[x] Write order notes');
    tui.keys('Enter');
    await tui.waitFor('installed in sandbox mode', (s) => s.includes('Installed orders 1.0.0 in sandbox mode'));
    const insts = await t.api('GET', `/organizations/${a.orgId}/plugin-installations`, { token: a.ownerToken });
    assert.equal(insts.json.data.length, 1, insts.text);
    const inst = insts.json.data[0];
    assert.equal(inst.mode, 'sandbox');
    assert.deepEqual(inst.config, { api_key: '••••••••', region: 'us', shop_name: 'Acme Shop' });
    assert.deepEqual([...inst.acceptedPermissions].sort(), ['orders:notes:write', 'orders:orders:read']);

    // A real call through the gateway reaches the plugin with the typed config.
    const read = await callLookup(w, t.key(a.orgId).secret, 'A-2002');
    assert.match(read, /tomorrow for A-2002/);
    assert.equal(plugin.calls.at(-1)!.verified!.config.api_key, API_KEY);

    await gotoScreen(tui, 'Installed');
    await tui.waitFor('the installation', (s) => /orders +(Order Desk +)?1\.0\.0 +sandbox +active/.test(s) && s.includes('Order Desk (orders) 1.0.0 — active, sandbox'));
    tui.keys('Enter');
    const config = await scrollUntil(tui, 'the configuration, secrets masked', (s) => s.includes('region = us') && s.includes('api_key = ••••••••'));
    assert.ok(config.every((s) => !s.includes(API_KEY)));
    tui.keys('Escape');
    await tui.waitFor('the detail back at its top', 'Order Desk (orders) 1.0.0 — active, sandbox');
    tui.keys('l');
    await tui.waitFor('the plugin log with the call and its answer', (s) => /lookup_order +sandbox +ok +200/.test(s) && s.includes('Response body:') && s.includes('tomorrow for A-2002'));
    // Into the detail, scrolling down through the request body: the input, then the config with the secret redacted.
    tui.keys('Enter');
    const seen = await scrollUntil(tui, 'the request body down to its config', (s) => s.includes('"api_key"'));
    assert.ok(seen.some((s) => s.includes('"orderNumber": "A-2002"')), 'the request body shows the input');
    assert.ok(seen.every((s) => !s.includes(API_KEY)), 'the secret config value is redacted in the logged body');
    tui.keys('Escape');
    await tui.waitFor('back on the list', (s) => s.includes('Response body:'));

    // 1.1.0 adds a permission: upgrading only marks it pending; the owner's consent moves it.
    const m2 = testManifest(plugin.origin, { version: '1.1.0' });
    m2.permissions.push({ key: 'orders:refunds:read', label: 'Read refunds', description: 'See whether an order was refunded.' });
    m2.tools[0].permissions.push('orders:refunds:read');
    const added = await t.api('POST', `/organizations/${a.orgId}/developer/plugins/${reg.id}/versions`, { token: a.ownerToken, body: { manifest: m2 } });
    assert.equal(added.status, 201, added.text);
    await gotoScreen(tui, 'Installed');
    tui.keys('r');
    tui.keys('u');
    await tui.waitFor('the pending version waiting for consent', (s) => s.includes("needs an owner's consent") && s.includes('asks for a new permission orders:refunds:read') && s.includes('keeps using 1.0.0'));
    const pending = await t.api('GET', `/organizations/${a.orgId}/plugin-installations/${inst.id}`, { token: a.ownerToken });
    assert.equal(pending.json.version, '1.0.0');
    assert.equal(pending.json.state, 'needs_consent');
    tui.keys('A');
    await tui.waitFor('the upgrade consent', (s) => s.includes('Upgrade orders 1.0.0 → 1.1.0') && s.includes('[ ] Read refunds') && s.includes('[x] Read orders') && s.includes('[x] Write order notes'));
    tui.keys('a'); // tick all
    await tui.waitFor('all ticked', '[x] Read refunds');
    tui.keys('Enter');
    await tui.waitFor('moved with consent', 'moved to 1.1.0 with your consent');
    const moved = await t.api('GET', `/organizations/${a.orgId}/plugin-installations/${inst.id}`, { token: a.ownerToken });
    assert.equal(moved.json.version, '1.1.0');
    assert.ok(moved.json.acceptedPermissions.includes('orders:refunds:read'));

    // Configure: the stored secret is never shown and is kept when its field stays empty.
    tui.keys('c');
    await tui.waitFor('the config form of 1.1.0', (s) => s.includes('Configure orders') && s.includes('(stored; type to replace)') && s.includes('< United States >'));
    tui.keys('Down', 'Down', 'C-u');
    tui.type('New Shop');
    tui.keys('Enter');
    await tui.waitFor('saved', 'Saved the configuration of orders');
    await callLookup(w, t.key(a.orgId).secret, 'A-2003');
    const sent = plugin.calls.at(-1)!.verified!;
    assert.deepEqual([sent.config.api_key, sent.config.region, sent.config.shop_name], [API_KEY, 'us', 'New Shop']);
    assert.ok(fitsWidth(tui.capture(), cols));
    await tui.quit();
  });

  test(`operator review queue (pbo_ token) at ${cols}x${rows}: reject with a reason, approve; another organisation installs the published plugin live and its log keeps no bodies; pause, read its log, resume`, { skip }, async () => {
    await using w = await world();
    const { t, a, plugin } = w;
    const reg = await register(t, a, testManifest(plugin.origin));
    plugin.secrets = [reg.signingSecret];
    const dev = `/organizations/${a.orgId}/developer/plugins/${reg.id}`;
    const sub1 = await t.api('POST', `${dev}/versions/1.0.0/submit`, { token: a.ownerToken });
    assert.equal(sub1.status, 200, sub1.text);
    const op = operatorToken(t, 'Rita Reviewer');

    {
      await using tui = await startTui({ url: t.url, token: op, cols, rows });
      await tui.waitFor('the operator session on the review queue', (s) => s.includes('operator Rita Reviewer') && /orders +1\.0\.0 +Acme/.test(s) && s.includes('First publication of this plugin.'));
      tui.keys('Enter');
      const read = await scrollUntil(tui, 'the permissions and tools under review', (s) => s.includes('orders__add_note'));
      assert.ok(read.some((s) => s.includes('Read orders (orders:orders:read): Look up the status of customer orders.')));
      tui.keys('Escape');
      await tui.waitFor('the detail back at its top', 'Order Desk (orders) 1.0.0 — submitted');
      tui.keys('x');
      await tui.waitFor('the reject form', 'Reason (required):');
      tui.keys('Enter');
      await tui.waitFor('a reason is required', (s) => s.includes('A rejection needs a reason') && s.includes('Reason (required):'));
      tui.type('Describe what add_note writes and where.');
      tui.keys('Enter');
      await tui.waitFor('rejected', (s) => s.includes('orders 1.0.0 rejected') && s.includes('nothing waits for review'));
      const rejected = await t.api('GET', `${dev}/versions/1.0.0`, { token: a.ownerToken });
      assert.equal(rejected.json.status, 'rejected');
      assert.equal(rejected.json.reviewNote, 'Describe what add_note writes and where.');

      // The developer fixes it in 1.0.1 and submits; the operator approves it.
      const added = await t.api('POST', `${dev}/versions`, { token: a.ownerToken, body: { manifest: testManifest(plugin.origin, { version: '1.0.1' }) } });
      assert.equal(added.status, 201, added.text);
      assert.equal((await t.api('POST', `${dev}/versions/1.0.1/submit`, { token: a.ownerToken })).status, 200);
      tui.keys('r');
      await tui.waitFor('1.0.1 in the queue', /orders +1\.0\.1 +Acme/);
      tui.keys('a');
      await tui.waitFor('the approve form', 'Note (optional):');
      tui.type('Thanks!');
      tui.keys('Enter');
      await tui.waitFor('published', (s) => s.includes('orders 1.0.1 is published'));
      const published = await t.api('GET', `${dev}/versions/1.0.1`, { token: a.ownerToken });
      assert.equal(published.json.status, 'published');
      assert.equal(published.json.reviewNote, 'Thanks!');
      assert.ok(fitsWidth(tui.capture(), cols));
      await tui.quit();
    }

    // Another organisation: the directory shows the published plugin; it installs live.
    const b = t.tenant('Bolt');
    {
      await using tui = await startTui({ url: t.url, token: b.ownerToken, cols, rows });
      await gotoScreen(tui, 'Directory');
      await tui.waitFor('the public plugin', (s) => /orders +Order Desk +1\.0\.1 +public/.test(s) && s.includes('Installs as live'));
      tui.keys('i');
      await tui.waitFor('the config form', 'Configure orders 1.0.1');
      tui.type('odk-bolt-key-1');
      tui.keys('Enter', 'Enter', 'Enter');
      await tui.waitFor('the consent screen', 'Permissions of orders 1.0.1');
      tui.keys('a', 'Enter');
      await tui.waitFor('installed live', 'Installed orders 1.0.1 in live mode');
      await callLookup(w, t.key(b.orgId).secret, 'A-3003');
      await gotoScreen(tui, 'Plugin logs');
      tui.keys('p');
      await tui.waitFor('the source picker', 'Plugin log of');
      tui.keys('Enter');
      await tui.waitFor('the live call without bodies', (s) => /lookup_order +live +ok/.test(s) && s.includes('Bodies are kept only for sandbox installations') && !s.includes('A-3003'));
      await tui.quit();
    }

    // The operator pauses Bolt's installation: it is offered nowhere, and Bolt cannot switch it back on.
    const bInst = (await t.api('GET', `/organizations/${b.orgId}/plugin-installations`, { token: b.ownerToken })).json.data[0];
    {
      await using tui = await startTui({ url: t.url, token: op, cols, rows });
      await gotoScreen(tui, 'Installs');
      await tui.waitFor('every organisation\'s installations', (s) => s.includes(b.orgId.slice(0, 10)) || /custom +orders/.test(s));
      await selectRow(tui, "Bolt's installation", (s) => s.includes(`Id ${bInst.id}`));
      tui.keys('p');
      await tui.waitFor('the pause form', 'Reason:');
      tui.type('Answers with customer data of other shops');
      tui.keys('Enter');
      await tui.waitFor('paused', (s) => s.includes('paused: offered nowhere') && s.includes('PAUSED by Rita Reviewer'));
      const paused = await t.api('GET', `/organizations/${b.orgId}/plugin-installations/${bInst.id}`, { token: b.ownerToken });
      assert.equal(paused.json.state, 'paused');
      assert.equal(paused.json.pausedByOperator.reason, 'Answers with customer data of other shops');
      const refused = await t.api('PATCH', `/organizations/${b.orgId}/plugin-installations/${bInst.id}`, { token: b.ownerToken, body: { status: 'active' } });
      assert.equal(refused.json.error?.code, 'paused_by_operator', refused.text);

      // The operator reads the installation's calls, then resumes it.
      tui.keys('l');
      await tui.waitFor("Bolt's calls in the operator's log", (s) => /\[(\d )?Logs\]/.test(s) && /lookup_order +live +ok/.test(s) && s.includes('Bodies are kept only for sandbox installations'));
      await gotoScreen(tui, 'Installs');
      await selectRow(tui, "Bolt's installation", (s) => s.includes(`Id ${bInst.id}`));
      tui.keys('u');
      await tui.waitFor('the resume confirmation', 'Resume orders in');
      tui.keys('y');
      await tui.waitFor('resumed', (s) => s.includes('orders resumed.') && s.includes('Not paused'));
      await tui.quit();
    }
    const resumed = await t.api('GET', `/organizations/${b.orgId}/plugin-installations/${bInst.id}`, { token: b.ownerToken });
    assert.equal(resumed.json.state, 'active');
  });

  test(`a member at ${cols}x${rows}: reads the directory, installations and logs; acting is refused on the screen, the developer area is closed`, { skip }, async () => {
    await using w = await world();
    const { t, a, plugin } = w;
    const reg = await register(t, a, testManifest(plugin.origin));
    plugin.secrets = [reg.signingSecret];
    await install(t, a, { pluginId: reg.id, config: { api_key: API_KEY }, acceptedPermissions: ['orders:orders:read', 'orders:notes:write'] });
    const member = t.member(a.orgId, 'member', 'Mo');
    await using tui = await startTui({ url: t.url, token: member.token, cols, rows });
    await gotoScreen(tui, 'Directory');
    await tui.waitFor('the directory', /orders +Order Desk +1\.0\.0 +own/);
    tui.keys('i');
    await tui.waitFor('install refused for a member', 'Installing needs the admin role (you are member)');
    await gotoScreen(tui, 'Installed');
    await tui.waitFor('the installation, readable', /orders +(Order Desk +)?1\.0\.0 +sandbox +active/);
    tui.keys('u');
    await tui.waitFor('upgrade refused for a member', 'Upgrading needs the admin role (you are member)');
    tui.keys('l');
    await tui.waitFor("the installation's (empty) log", (s) => s.includes('Plugin log: orders 1.0.0 (sandbox)') && s.includes('(no calls yet)'));
    await gotoScreen(tui, 'Develop');
    await tui.waitFor('the closed developer area', 'the developer area is for owners and admins');
    const insts = await t.api('GET', `/organizations/${a.orgId}/plugin-installations`, { token: a.ownerToken });
    assert.equal(insts.json.data[0].version, '1.0.0');
    await tui.quit();
  });
}
