/**
 * The console's pure views and parsers: the not-public webhook warning, the tab bar window, the
 * charts, the key / number / integration forms, the allowlist toggle, role rules of the status bar
 * and help, and where the token comes from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/app.ts';
import { normaliseSender, parseCreateNumber, publicUrlProblem } from '../../tui/views/numbers.ts';
import { helpLines, statusKeys, tabBar } from '../../tui/views/chrome.ts';
import { columnChart, compact, resample } from '../../tui/views/charts.ts';
import { parseKeyForm } from '../../tui/views/keys.ts';
import { parseIntegrationEdit, parseToolLimit, toggleTool } from '../../tui/views/installations.ts';
import { threadLines, twilioErrorText } from '../../tui/views/conversations.ts';
import { grantsMatrix } from '../../tui/views/grants.ts';
import { resolveToken } from '../../tui/token.ts';
import { screensFor, type ScreenDef } from '../../tui/screen.ts';
import { ALL_SCREENS } from '../../tui/screens/index.ts';
import { displayWidth } from '../../tui/views/text.ts';
import type { McpIntegration, Plugin, WhatsAppInstance, WhatsAppMessage } from '../../src/shared/api.ts';

test('the webhook URL warning: loopback, private, local names and plain http are not public; https on a public name is', () => {
  for (const url of ['http://127.0.0.1:8080/w', 'https://localhost/w', 'https://10.1.2.3/w', 'https://192.168.1.5/w', 'https://172.20.0.1/w', 'https://[::1]/w', 'https://[fd00::1]/w', 'https://box.local/w', 'https://plugboard/w', 'http://pb.example.com/w']) {
    assert.ok(publicUrlProblem(url), url);
  }
  assert.match(publicUrlProblem('http://pb.example.com/w')!, /plain http/);
  assert.equal(publicUrlProblem('https://pb.example.com/webhooks/twilio/whatsapp/x'), null);
  assert.equal(publicUrlProblem('https://8.8.8.8/w'), null);
  assert.equal(normaliseSender(' +1 415 555 0100'), 'whatsapp:+14155550100');
  const parsed = parseCreateNumber({ name: 'a', sender: '+1', twilioAccountSid: 'AC', twilioAuthToken: '', model: 'm', systemPrompt: '', messagingServiceSid: '', loopCap: '' });
  assert.deepEqual(parsed, { ok: false, error: 'Required: twilioAuthToken.' });
});

test('the tab bar keeps the active tab whole and fits the width, with arrows for hidden tabs and click spans', () => {
  const titles = ['Numbers', 'Grants', 'Chats', 'Jobs', 'Integrations', 'Plugins', 'Keys', 'Usage', 'Live', 'Members', 'Settings', 'Audit', 'Inbox', 'Orders'];
  for (const width of [80, 40, 160]) {
    for (let active = 0; active < titles.length; active++) {
      const bar = tabBar(titles, active, width);
      assert.ok(displayWidth(bar.text) <= width, `${width}/${active}: ${bar.text}`);
      assert.ok(bar.text.includes(`[${active < 9 ? `${active + 1} ` : ''}${titles[active]}]`), bar.text);
      const span = bar.spans.find((s) => s.index === active)!;
      assert.ok(bar.text.slice(span.start, span.end).includes(titles[active]));
    }
  }
  assert.ok(tabBar(titles, 13, 80).text.startsWith('‹ '));
  assert.ok(tabBar(titles, 0, 80).text.endsWith(' ›'));
});

test('roles: the status bar leaves out what the role cannot do; the help greys it', () => {
  const keys = [{ keys: 'n', does: 'new', needs: 'admin' as const }, { keys: 'l', does: 'reload' }];
  assert.doesNotMatch(statusKeys(keys, '', 'member'), /n new/);
  assert.match(statusKeys(keys, '', 'admin'), /n new/);
  const h = helpLines('Keys', keys, '', 'member');
  assert.equal(h.dim.length, 1);
  assert.match(h.lines[h.dim[0]], /new +\(needs admin\)/);
  assert.equal(helpLines('Keys', keys, '', null).dim.length, 0, 'operators are not limited by org roles');
});

test('charts: resampling keeps peaks, the column chart is width × height, numbers are compact', () => {
  assert.deepEqual(resample([1, 5, 2, 0], 2), [5, 2]);
  assert.equal(resample([3], 4).length, 4);
  const rows = columnChart([0, 1, 2, 4], 8, 3);
  assert.equal(rows.length, 3);
  assert.ok(rows.every((r) => [...r].length === 8));
  assert.equal(rows[0].slice(-1), '█');
  assert.equal(rows[2][0], ' ', 'zero stays empty');
  assert.notEqual(rows[2][2], ' ', 'a small value still shows');
  assert.equal(compact(1234), '1.2k');
  assert.equal(compact(2_500_000), '2.5M');
  assert.equal(compact(null), '-');
});

const plugins: Plugin[] = [
  { id: 'p1', kind: 'mcp', slug: 'crm', displayName: 'CRM', description: null, toolCount: 2 },
  { id: 'p2', kind: 'first_party', slug: 'whatsapp', displayName: 'WhatsApp', description: null, toolCount: 1 },
];

test('the key form: default or a number per minute; all, none or slugs', () => {
  assert.deepEqual(parseKeyForm({ name: ' k ', rpm: '', plugins: 'all' }, plugins), { ok: true, body: { name: 'k', rateLimitRpm: null, allowedPluginIds: null } });
  assert.deepEqual(parseKeyForm({ name: '', rpm: '30', plugins: 'crm, whatsapp' }, plugins), { ok: true, body: { rateLimitRpm: 30, allowedPluginIds: ['p1', 'p2'] } });
  assert.deepEqual(parseKeyForm({ name: '', rpm: '', plugins: 'none' }, plugins), { ok: true, body: { rateLimitRpm: null, allowedPluginIds: [] } });
  assert.equal(parseKeyForm({ name: '', rpm: '-3', plugins: '' }, plugins).ok, false);
  const unknown = parseKeyForm({ name: '', rpm: '', plugins: 'nope' }, plugins);
  assert.ok(!unknown.ok && /No plugin "nope" \(known: crm, whatsapp\)/.test(unknown.error));
});

const integration = (over: Partial<McpIntegration> = {}): McpIntegration => ({
  id: 'i1', object: 'mcp_integration', kind: 'mcp', slug: 'crm', displayName: 'CRM', description: '', url: 'https://crm.example.com/mcp', transport: 'auto',
  resolvedTransport: null, credential: null, timeoutMs: null, toolAllowlist: null, toolRateLimits: {}, status: 'active', toolCount: 2,
  tools: [{ name: 'a', prefixedName: 'crm__a', description: null, inputSchema: {}, annotations: null, allowed: true }, { name: 'b', prefixedName: 'crm__b', description: null, inputSchema: {}, annotations: null, allowed: true }],
  skippedTools: [], catalogFetchedAt: null, health: { transport: null, connected: false, lastSuccessAt: null, lastError: null, lastErrorAt: null }, createdAt: null, updatedAt: null, ...over,
});

test('integrations: toggling a tool writes the allowlist (null again when all are allowed); limits; the edit patch', () => {
  assert.deepEqual(toggleTool(integration(), 'a'), ['b']);
  assert.equal(toggleTool(integration({ toolAllowlist: ['b'] }), 'a'), null);
  assert.deepEqual(parseToolLimit(integration(), 'a', { points: '5', seconds: '' }), { ok: true, limits: { a: { points: 5, durationSeconds: 60 } } });
  assert.deepEqual(parseToolLimit(integration({ toolRateLimits: { a: { points: 1, durationSeconds: 1 } } }), 'a', { points: '', seconds: '' }), { ok: true, limits: {} });
  const edit = { displayName: 'CRM', url: 'https://crm.example.com/mcp', timeoutMs: '5000', credentialType: 'bearer', headerName: '', secret: 'tok' };
  assert.deepEqual(parseIntegrationEdit(integration(), edit, 'sse'), { ok: true, patch: { transport: 'sse', timeoutMs: 5000, credential: { type: 'bearer', token: 'tok' } } });
  assert.equal(parseIntegrationEdit(integration(), { ...edit, timeoutMs: 'x' }, 'auto').ok, false);
  assert.equal(parseIntegrationEdit(integration(), { ...edit, credentialType: 'header', secret: 'v' }, 'auto').ok, false, 'a header needs its name');
  assert.deepEqual(parseIntegrationEdit(integration({ credential: { type: 'bearer', configured: true } }), { ...edit, timeoutMs: '', credentialType: 'none', secret: '' }, 'auto'), { ok: true, patch: { credential: null } });
});

test('threads show the delivery status and what a Twilio error means; the grants matrix marks the focused cell', () => {
  const msg = (over: Partial<WhatsAppMessage>): WhatsAppMessage => ({
    id: 'm', object: 'whatsapp_message', direction: 'in', body: 'hi', media: [], contentSid: null, status: 'received', errorCode: null, twilioSid: null,
    replyToMessageId: null, partIndex: null, createdAt: '2026-12-06T01:00:00.000Z', sentAt: null, ...over,
  });
  const lines = threadLines([msg({ id: 'o', direction: 'out', body: 'yo', status: 'failed', errorCode: 63016, partIndex: 0 }), msg({})]);
  assert.match(lines[0], /← customer +\[received\]/);
  assert.match(lines[2], /→ reply part 1 +\[FAILED\]/);
  assert.match(lines[3], /Twilio error 63016: outside the 24-hour window/);
  assert.equal(twilioErrorText(99999), 'Twilio error 99999');
  const n = (id: string, name: string) => ({ id, name }) as WhatsAppInstance;
  const m = grantsMatrix(plugins, [n('a', 'Front'), n('b', 'Back')], new Map([['b', ['p1']]]), { col: 1 }, 80);
  assert.match(m.header, /\[Back\]/);
  assert.match(m.rows[0], /crm \(2\) .*\[ \] .*>\[x\]</);
});

test('the token: --token-file and --token win, then PLUGBOARD_TUI_TOKEN, then PLUGBOARD_TUI_TOKEN_FILE; errors never echo it', () => {
  const dir = tempDir('pb-token-');
  const file = path.join(dir, 't');
  fs.writeFileSync(file, 'pbc_fromfile\n');
  assert.deepEqual(resolveToken({ tokenFile: file, env: { PLUGBOARD_TUI_TOKEN: 'pbc_env' } }), { ok: true, token: 'pbc_fromfile', source: '--token-file' });
  assert.equal((resolveToken({ env: { PLUGBOARD_TUI_TOKEN: 'pbc_env', PLUGBOARD_TUI_TOKEN_FILE: file } }) as { token: string }).token, 'pbc_env');
  assert.equal((resolveToken({ env: { PLUGBOARD_TUI_TOKEN_FILE: file } }) as { token: string }).token, 'pbc_fromfile');
  const missing = resolveToken({ tokenFile: path.join(dir, 'nope'), env: {} });
  assert.ok(!missing.ok && /ENOENT/.test(missing.error));
  fs.writeFileSync(file, '\n');
  assert.equal(resolveToken({ tokenFile: file, env: {} }).ok, false);
  assert.equal(resolveToken({ env: {} }).ok, false);
});

test('the screen registry: unique ids, ordered, audiences kept apart', () => {
  const org = screensFor(ALL_SCREENS, 'org');
  assert.deepEqual(org.slice(0, 4).map((s) => s.id), ['numbers', 'grants', 'conversations', 'jobs']);
  assert.ok(org.every((s) => displayWidth(s.title) <= 12));
  const dup: ScreenDef[] = [...ALL_SCREENS, { ...ALL_SCREENS[0] }];
  assert.throws(() => screensFor(dup, 'org'), /two screens are registered as "numbers"/);
  assert.throws(() => screensFor([{ ...ALL_SCREENS[0], id: 'Bad Id' }], 'org'), /lowercase/);
  assert.deepEqual(screensFor([{ ...ALL_SCREENS[0], id: 'op', audience: 'operator' }], 'org'), []);
});
