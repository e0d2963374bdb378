/**
 * End to end: a real Plugboard server (with a real MCP server and the scripted upstream) and the
 * real TUI process (`node tui/main-cli.ts`) inside tmux on a private socket. The test reads the
 * screen with `capture-pane` (bounded polls, no fixed sleeps), types keys, resizes, quits with q
 * and checks the process exited 0 and the server lost its live-event subscriber. The grants pane
 * runs against a loopback stand-in until the server's WhatsApp endpoints land.
 * Skips only when tmux is not installed and CI is not set (CI installs it: `apt-get install -y tmux`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/factories.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { WHATSAPP_UNAVAILABLE } from '../../tui/views/grants.ts';
import { fitsWidth, lines, SCREEN_TIMEOUT_MS, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

test('the TUI attaches, follows live events, creates and revokes a key, survives a resize, switches organisation and quits with q', { skip }, async () => {
  await using upstream = await startFakeUpstream();
  await using mcp = await startMcpTestServer();
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const { orgId, ownerToken } = t.tenant('Acme');
  const installed = await t.api('POST', `/organizations/${orgId}/mcp-integrations`, { token: ownerToken, orgId, body: { slug: 'crm', displayName: 'Support CRM', url: mcp.url } });
  assert.equal(installed.status, 201, installed.text);
  const appKey = t.key(orgId, { name: 'shop' });

  await using tmux = await startTui({ url: t.url, token: ownerToken, cols: 120, rows: 40 });
  {
    tmux.keys('5');
    await tmux.waitFor('the integrations pane', (s) => s.includes('Plugboard') && /crm +Support CRM +active +connected/.test(s));
    await waitFor('the live-event subscription', () => t.app.bus.listenerCount(orgId) === 1, SCREEN_TIMEOUT_MS);

    tmux.keys('9');
    await tmux.waitFor('the live pane connected', (s) => s.includes('Live events: connected'));
    upstream.script(
      { json: chatCompletion({ toolCalls: [{ id: 'call_1', name: 'crm__echo', arguments: { text: 'ping' } }] }) },
      { json: chatCompletion({ content: 'pong', usage: { prompt_tokens: 3, completion_tokens: 2 } }) },
    );
    const answer = await t.openai(appKey.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping the crm' }] });
    assert.equal(answer.choices[0].message.content, 'pong');
    await tmux.waitFor('the tool call in the live log', (s) => /req_\S+ +tool_call_finished +crm__echo +ok +\d+ms/.test(s) && s.includes('final_answer'));

    tmux.keys('8');
    tmux.keys('u');
    await tmux.waitFor('usage rows', (s) => /tool_call +req_\S+ +echo +ok/.test(s) && /completion +req_\S+ +gpt-test +ok +200/.test(s));

    tmux.keys('7');
    await tmux.waitFor('the keys pane', (s) => s.includes('Gateway keys') && s.includes('shop'));
    tmux.keys('n');
    await tmux.waitFor('the new-key form', (s) => s.includes('Name (optional):'));
    tmux.type('quick key'); // a `q` typed into a form is text, not quit
    tmux.keys('Enter', 'Enter', 'Enter');
    const secretScreen = await tmux.waitFor('the one-time secret', (s) => /pb_live_[A-Za-z0-9_-]{40,}/.test(s) && s.includes('shown only this once'));
    const secret = /pb_live_[A-Za-z0-9_-]{40,}/.exec(secretScreen)![0];
    const keys = await t.api('GET', `/organizations/${orgId}/keys`, { token: ownerToken, orgId });
    const created = keys.json.data.find((k: { name: string }) => k.name === 'quick key');
    assert.ok(created, keys.text);
    assert.equal(created.last4, secret.slice(-4));

    tmux.keys('Enter');
    await tmux.waitFor('the secret dialog closed', (s) => !s.includes('shown only this once') && /quick key +pb_live_\S+ +active/.test(s));
    tmux.keys('Down', 'x');
    await tmux.waitFor('the revoke confirmation', (s) => s.includes('Revoke the key "quick key"'));
    tmux.keys('y');
    await tmux.waitFor('the revoked key', (s) => /quick key +pb_live_\S+ +revoked/.test(s));
    const after = await t.api('GET', `/organizations/${orgId}/keys/${created.id}`, { token: ownerToken, orgId });
    assert.equal(after.json.status, 'revoked');

    tmux.keys('2');
    const whatsapp = await t.api('GET', `/organizations/${orgId}/whatsapp-instances`, { token: ownerToken, orgId });
    if (whatsapp.status === 404) await tmux.waitFor('the WhatsApp notice', (s) => s.includes(WHATSAPP_UNAVAILABLE));
    else await tmux.waitFor('the grants pane', (s) => s.includes('Grants: plugins × numbers'));

    tmux.keys('5');
    await tmux.waitFor('the integrations pane again', (s) => s.includes('[5 Integrations]'));
    tmux.resize(80, 24);
    await tmux.waitFor('the layout at 80x24', (s) => {
      const ls = lines(s);
      return ls.length === 24 && ls[0].includes('Plugboard') && /crm +Support CRM/.test(s) && ls[23].startsWith(' t/enter tools') && fitsWidth(s, 80);
    });

    // Switching organisation cancels the old organisation's scope: its live stream closes, the new one opens.
    const second = await t.api('POST', '/organizations', { token: ownerToken, body: { name: 'Second Org' } });
    assert.equal(second.status, 201, second.text);
    const me = await t.api('GET', '/me', { token: ownerToken });
    const index = me.json.organizations.findIndex((o: { id: string }) => o.id === second.json.id);
    tmux.keys('o');
    await tmux.waitFor('the organisation picker', (s) => s.includes('Second Org (owner)'));
    tmux.keys(...Array.from({ length: index }, () => 'Down'), 'Enter');
    await tmux.waitFor('the second organisation', (s) => s.startsWith(' Plugboard: Second Org (owner)') && s.includes('Switched to Second Org.'));
    await waitFor('the first stream to close and the second to open', () => t.app.bus.listenerCount(orgId) === 0 && t.app.bus.listenerCount(second.json.id) === 1, SCREEN_TIMEOUT_MS);

    await tmux.quit();
    await waitFor('the server to drop the live-event subscriber', () => t.app.bus.listenerCount(second.json.id) === 0, SCREEN_TIMEOUT_MS);
  }
});
