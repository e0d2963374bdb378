/**
 * Keys, members and organisation settings in the real TUI (tmux) against a real server, at 160×48
 * and 80×24: a limited key (requests/min and one allowed plugin) is created and its secret shown
 * once beside the gateway base URL; a member is added and promoted; plugin injection is switched off in the settings; a member's session shows the
 * admin actions greyed in the help and refuses them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { fitsWidth, gotoScreen, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

for (const { cols, rows } of SIZES) {
  test(`access: a limited key with the base URL, members and roles, greyed actions for a member — ${cols}x${rows}`, { skip }, async () => {
    await using mcp = await startMcpTestServer();
    await using t = await startApp({ PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const { orgId, ownerToken } = t.tenant('Acme');
    const installed = await t.api('POST', `/organizations/${orgId}/mcp-integrations`, { token: ownerToken, orgId, body: { slug: 'crm', displayName: 'Support CRM', url: mcp.url } });
    assert.equal(installed.status, 201, installed.text);
    const plugins = (await t.api('GET', `/organizations/${orgId}/plugins`, { token: ownerToken, orgId })).json.data as Array<{ id: string; slug: string }>;
    const slug = 'crm';
    const crm = plugins.find((p) => p.slug === slug)!;

    await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
    await gotoScreen(tui, 'Keys');
    await tui.waitFor('the keys loaded', 'press n to create one');
    tui.keys('n');
    await tui.waitFor('the key form', 'Requests/min:');
    tui.type('limited');
    tui.keys('Enter');
    tui.type('30');
    tui.keys('Enter', 'C-u');
    tui.type(slug);
    tui.keys('Enter');
    const secret = await tui.waitFor('the secret with the base URL', (s) => /pb_live_[A-Za-z0-9_-]{20,}/.test(s) && s.includes(`Gateway base URL: ${t.url}/v1`));
    assert.match(secret, new RegExp(`Limits: 30 requests/min; plugins: ${slug}`));
    const keys = (await t.api('GET', `/organizations/${orgId}/keys`, { token: ownerToken, orgId })).json.data;
    const k = keys.find((x: { name: string }) => x.name === 'limited');
    assert.equal(k.rateLimitRpm, 30);
    assert.deepEqual(k.allowedPluginIds, [crm.id]);
    tui.keys('Enter');
    await tui.waitFor('the key row', (s) => /limited +pb_live_\S+ +active/.test(s) && !s.includes('shown only this once'));

    await gotoScreen(tui, 'Members');
    await tui.waitFor('the members', (s) => s.includes('owner'));
    tui.keys('n');
    await tui.waitFor('the member form', 'Role:');
    tui.type('Bea');
    tui.keys('Enter', 'Enter');
    const created = await tui.waitFor('the new member token', (s) => /pbc_[A-Za-z0-9_-]{20,}/.test(s));
    const memberToken = /pbc_[A-Za-z0-9_-]{20,}/.exec(created)![0];
    tui.keys('Enter');
    await tui.waitFor('Bea listed as member', /Bea +member/);
    tui.keys('Down');
    tui.keys('r');
    await tui.waitFor('the role picker', 'Role of Bea');
    tui.keys('Down', 'Enter'); // member → admin
    await tui.waitFor('Bea promoted', /Bea +admin/);
    tui.keys('r');
    await tui.waitFor('the role picker again', 'Role of Bea');
    tui.keys('Enter'); // the list starts at member
    await tui.waitFor('Bea back to member', /Bea +member/);
    const members = (await t.api('GET', `/organizations/${orgId}/members`, { token: ownerToken, orgId })).json.data;
    assert.equal(members.find((m: { name: string }) => m.name === 'Bea').role, 'member');
    assert.ok(fitsWidth(tui.capture(), cols));

    await gotoScreen(tui, 'Settings');
    await tui.waitFor('the settings', /Plugin injection: +on/);
    tui.keys('i');
    await tui.waitFor('plugin injection off', (s) => /Plugin injection: +off/.test(s) && s.includes('Plugin injection is off.'));
    const org = await t.api('GET', `/organizations/${orgId}`, { token: ownerToken, orgId });
    assert.equal(org.json.settings.pluginInjection, false);
    await tui.quit();

    // Bea (member): the actions are greyed in the help and not offered on the status bar; pressing one says why.
    await using bea = await startTui({ url: t.url, token: memberToken, cols, rows });
    await bea.waitFor('the member session', 'Acme (member)');
    await gotoScreen(bea, 'Keys');
    const keyScreen = await bea.waitFor('the keys list', /limited +pb_live_/);
    assert.doesNotMatch(keyScreen.split('\n').at(-2) ?? '', /n new key/);
    bea.keys('?');
    await bea.waitFor('the help', (s) => s.includes('Keys of Keys') && /n +new key +\(needs admin\)/.test(s));
    bea.keys('Escape');
    await bea.waitForGone('the help closed', 'Keys of Keys');
    bea.keys('n');
    await bea.waitFor('the refusal', 'Creating a key needs the admin role (you are member).');
    await bea.quit();
  });
}
