/**
 * Usage in the real TUI (tmux) against a real server, at 160×48 and 80×24: after three requests
 * (one with a tool call, one failed upstream) the usage screen shows totals and a chart from the
 * summary endpoint, bars by model, the event list filtered to errors, and the drill-down of one
 * request, reached from the live log. The audit log lists the key created through the API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { startMcpTestServer } from '../fakes/mcp/test-server.ts';
import { fitsWidth, gotoScreen, SIZES, startTui, tmuxSkip } from './tmux.ts';

const skip = tmuxSkip();

for (const { cols, rows } of SIZES) {
  test(`usage: totals and a chart, bars by model, errors filter, drill-down from the live log, audit log — ${cols}x${rows}`, { skip }, async () => {
    await using upstream = await startFakeUpstream();
    await using mcp = await startMcpTestServer();
    await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_MCP_ALLOWED_NETWORKS: '127.0.0.0/8' });
    const { orgId, ownerToken } = t.tenant('Acme');
    const installed = await t.api('POST', `/organizations/${orgId}/mcp-integrations`, { token: ownerToken, orgId, body: { slug: 'crm', displayName: 'Support CRM', url: mcp.url } });
    assert.equal(installed.status, 201, installed.text);
    const created = await t.api('POST', `/organizations/${orgId}/keys`, { token: ownerToken, orgId, body: { name: 'shop' } });
    assert.equal(created.status, 201, created.text);
    const openai = t.openai(created.json.key);

    await using tui = await startTui({ url: t.url, token: ownerToken, cols, rows });
    await gotoScreen(tui, 'Live');
    await tui.waitFor('the live stream', 'Live events: connected');

    upstream.script(
      { json: chatCompletion({ toolCalls: [{ id: 'call_1', name: 'crm__echo', arguments: { text: 'ping' } }] }) },
      { json: chatCompletion({ content: 'pong', usage: { prompt_tokens: 3, completion_tokens: 2 } }) },
      { json: chatCompletion({ content: 'plain', usage: { prompt_tokens: 5, completion_tokens: 1 } }) },
      { status: 500, json: { error: { message: 'upstream broke', type: 'server_error' } } },
    );
    const first = await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping the crm' }] });
    assert.equal(first.choices[0].message.content, 'pong');
    await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello' }] });
    await assert.rejects(openai.withOptions({ maxRetries: 0 }).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'fail' }] }));
    await tui.waitFor('the tool call in the live log', /tool_call_finished +crm__echo +ok/);

    // Drill-down from the live log: pick the request with the tool call.
    tui.keys('d');
    const picker = await tui.waitFor('the request picker', 'Request in detail');
    const lines = picker.split('\n').filter((l) => /(final_answer|request_failed).*req_/.test(l));
    assert.equal(lines.length, 3, picker);
    assert.match(lines.at(-1)!, /final_answer/);
    for (let i = 1; i < lines.length; i++) tui.keys('Down'); // the oldest (first) request is listed last
    tui.keys('Enter');
    const detail = await tui.waitFor('the request in detail', (s) => /Request req_\S+: \d+ events/.test(s) && s.includes('tool echo'));
    assert.match(detail, /model turn gpt-test/);
    assert.match(detail, /completion gpt-test +ok 200/);
    tui.keys('Enter');
    await tui.waitForGone('the detail closed', /Request req_\S+: \d+ events/);
    assert.match(tui.capture(), /\[8 Usage\]/);

    // The summary: totals over the last hour and a chart.
    tui.keys('c');
    const chart = await tui.waitFor('totals and a chart', (s) => /1h of completions by 1m/.test(s) && /requests 3 +errors 1/.test(s) && /[▁▂▃▄▅▆▇█]/.test(s));
    assert.ok(fitsWidth(chart, cols));
    tui.keys('b', 'b'); // bars by model
    await tui.waitFor('bars by model', (s) => s.includes('by model') && /gpt-test +█+ +3/.test(s));
    tui.keys('m'); // chart: errors
    await tui.waitFor('the errors chart', 'chart: errors (peak 1)');

    // The event list filtered to errors.
    tui.keys('/');
    await tui.waitFor('the filter form', 'Filter usage events');
    tui.keys('Right', 'Right'); // status: '' → ok → error
    for (let i = 0; i < 5; i++) tui.keys('Enter');
    await tui.waitFor('only errors', (s) => s.includes('filter status=error') && /completion +(req_\S+ +)?gpt-test.* error/.test(s) && !/ ok +200/.test(s));

    await gotoScreen(tui, 'Audit');
    await tui.waitFor('the key creation in the audit log', /owner \S+ +POST +201 +keys:write/);
    await tui.quit();
  });
}
