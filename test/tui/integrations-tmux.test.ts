/**
 * Integrations in the real TUI (tmux) against a real server and a real MCP server, at 160×48 and
 * 80×24: the tools list scrolls past the ninth tool, a tool toggled off is no longer offered to
 * the model (the upstream's request shows it) nor listed on the Plugins screen, a per-tool limit is
 * set, and the edit form changes the timeout and transport (a choice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { offeredTools } from '../channels/whatsapp-setup.ts';
import { fitsWidth, gotoScreen, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

/** The lines of the Plugins screen's tools box (the log below may mention echo). */
const toolsBox = (screen: string): string => {
  const ls = screen.split('\n');
  const start = ls.findIndex((l) => /─ Tools/.test(l));
  if (start === -1) return '';
  const end = ls.findIndex((l, i) => i > start && l.startsWith('└'));
  return ls.slice(start, end).join('\n');
};

for (const { cols, rows } of SIZES) {
  test(`integrations: scroll tools, toggle one off (no longer offered), per-tool limit, edit timeout/transport — ${cols}x${rows}`, { skip }, async () => {
    await using upstream = await startFakeUpstream();
    await using mcp = await startMcpTestServer({ extraTools: 6 });
    await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const { orgId, ownerToken } = t.tenant('Acme');
    const installed = await t.api('POST', `/organizations/${orgId}/mcp-integrations`, { token: ownerToken, orgId, body: { slug: 'crm', displayName: 'Support CRM', url: mcp.url } });
    assert.equal(installed.status, 201, installed.text);
    const appKey = t.key(orgId, { name: 'shop' });
    const offered = async (): Promise<string[]> => {
      upstream.script({ json: chatCompletion({ content: 'ok' }) });
      await t.openai(appKey.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
      return offeredTools(upstream.requests.at(-1)!.body as Record<string, unknown>);
    };
    assert.ok((await offered()).includes('crm__echo'));

    await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
    await gotoScreen(tui, 'Integrations');
    await tui.waitFor('the integration', /crm +Support CRM +active/);
    tui.keys('t');
    await tui.waitFor('the tools list', (s) => s.includes('Tools of crm') && s.includes('[x] echo'));
    for (let i = 0; i < 14; i++) tui.keys('Down');
    await tui.waitFor('the 15th tool, scrolled into view', /\[x\] dummy_06/);
    tui.keys('Home');
    for (let i = 0; i < 14; i++) tui.keys('Up');
    await tui.waitFor('back at the top', /\[x\] echo/);
    tui.keys('Space');
    await tui.waitFor('echo denied', (s) => /\[ \] echo/.test(s) && s.includes('crm__echo is no longer offered'));
    const tools = await offered();
    assert.ok(!tools.includes('crm__echo'), `echo is no longer offered: ${tools.join(', ')}`);
    assert.ok(tools.includes('crm__add'));

    tui.keys('Down', 'L');
    await tui.waitFor('the limit form', 'Calls (empty: none):');
    tui.type('5');
    tui.keys('Enter', 'C-u');
    tui.type('60');
    tui.keys('Enter');
    await tui.waitFor('the limit shown', /\[x\] add +\(5\/60s\)/);
    const after = await t.api('GET', `/organizations/${orgId}/mcp-integrations/${installed.json.id}`, { token: ownerToken, orgId });
    assert.deepEqual(after.json.toolRateLimits, { add: { points: 5, durationSeconds: 60 } });
    assert.deepEqual(after.json.toolAllowlist.includes('echo'), false);

    tui.keys('Escape'); // alone: ESC followed at once by a key reads as Meta-key
    await tui.waitFor('the detail again', (s) => s.includes('─ Detail ') && !s.includes('Tools of crm'));
    tui.keys('e');
    await tui.waitFor('the edit form', (s) => s.includes('Timeout ms:') && s.includes('‹ auto ›'));
    tui.keys('Down', 'Down', 'Right', 'Down'); // transport: auto → streamable_http
    tui.type('abc'); // refused locally: the form comes back with the values
    for (let i = 0; i < 4; i++) tui.keys('Enter');
    await tui.waitFor('the refusal in the form', (s) => s.includes('Timeout must be milliseconds') && s.includes('‹ streamable_http ›'));
    tui.keys('Down', 'Down', 'Down', 'C-u');
    tui.type('5000');
    for (let i = 0; i < 4; i++) tui.keys('Enter');
    await tui.waitFor('the saved integration', (s) => s.includes('Saved crm.') && s.includes('Timeout    5000 ms'));
    const edited = await t.api('GET', `/organizations/${orgId}/mcp-integrations/${installed.json.id}`, { token: ownerToken, orgId });
    assert.equal(edited.json.timeoutMs, 5000);
    assert.equal(edited.json.transport, 'streamable_http');

    await gotoScreen(tui, 'Plugins');
    const plugins = await tui.waitFor('the plugin tools', (s) => toolsBox(s).includes('crm__add'));
    assert.doesNotMatch(toolsBox(plugins), /crm__echo/);
    assert.ok(fitsWidth(plugins, cols));
    await tui.quit();
  });
}
