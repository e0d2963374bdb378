/**
 * The TUI's pure view functions: API data in, table rows and strings out (no screen, no server).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CreatedGatewayKey, GatewayKey, LiveEvent, McpIntegration, Plugin, UsageEvent } from '../../src/shared/api.ts';
import { clean, describeError, displayWidth, fit, formatTable, shortTime, truncate } from '../../tui/views/text.ts';
import { healthLabel, integrationDetail, integrationRow, parseIntegrationForm } from '../../tui/views/installations.ts';
import { keyRow, maskedKey, secretMessage } from '../../tui/views/keys.ts';
import { usageRow, usageSummary } from '../../tui/views/usage.ts';
import { appendBounded, liveEventLine, streamStatusLabel } from '../../tui/views/live-log.ts';
import { grantLine, toggleGrant, WHATSAPP_UNAVAILABLE } from '../../tui/views/grants.ts';
import { signature, toolLines } from '../../tui/views/plugins.ts';
import { ApiError } from '../../tui/client.ts';

function integration(over: Partial<McpIntegration> = {}): McpIntegration {
  return {
    id: 'inst_1', object: 'mcp_integration', kind: 'mcp', slug: 'crm', displayName: 'Support CRM', description: 'Customer records.',
    url: 'http://127.0.0.1:9/mcp', transport: 'auto', resolvedTransport: 'streamable_http', credential: null, timeoutMs: null, toolAllowlist: null,
    toolRateLimits: {}, status: 'active', toolCount: 1,
    tools: [
      { name: 'echo', prefixedName: 'crm__echo', description: 'Echoes text back.\nSecond line.', inputSchema: {}, annotations: null, allowed: true },
      { name: 'wipe', prefixedName: 'crm__wipe', description: null, inputSchema: {}, annotations: null, allowed: false },
    ],
    skippedTools: [{ name: 'bad name!', reason: 'invalid name' }], catalogFetchedAt: '2026-05-01T12:34:56.789Z',
    health: { transport: 'streamable_http', connected: true, lastSuccessAt: '2026-05-01T12:34:56.789Z', lastError: null, lastErrorAt: null },
    createdAt: '2026-05-01T12:00:00.000Z', updatedAt: '2026-05-01T12:00:00.000Z', ...over,
  };
}

const key: GatewayKey = {
  id: 'key_1', object: 'gateway_key', name: 'shop', prefix: 'pb_live_AbCd', last4: 'wxyz', rateLimitRpm: null, allowedPluginIds: null, createdBy: null,
  createdAt: '2026-05-01T12:00:00.000Z', lastUsedAt: null, revokedAt: null, status: 'active',
};

test('clean strips terminal control sequences from server strings and fills blanks', () => {
  assert.equal(clean('evil\u001b[2Jname\u009b\r\n'), 'evil [2Jname   ');
  assert.equal(clean(null), '-');
  assert.equal(clean('', '(none)'), '(none)');
  assert.equal(clean(42), '42');
});

test('widths count wide characters twice, truncate and fit respect them', () => {
  assert.equal(displayWidth('abc'), 3);
  assert.equal(displayWidth('日本'), 4);
  assert.equal(displayWidth('e\u0301'), 1);
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('日本語', 5), '日本…');
  assert.equal(truncate('abc', 3), 'abc');
  assert.equal(fit('ab', 4), 'ab  ');
  assert.equal(fit('7', 3, 'right'), '  7');
  assert.equal(fit('日本語', 4), '日… ');
});

test('formatTable gives the flexible column the rest and drops columns that do not fit, highest drop first', () => {
  const cols = [{ title: 'A', width: 3 }, { title: 'NAME', min: 4 }, { title: 'N', width: 2, align: 'right' as const, drop: 1 }, { title: 'X', width: 5, drop: 2 }];
  const wide = formatTable(cols, [['a', 'long name here', '7', 'xx']], 30);
  assert.equal(wide.header, `A   ${'NAME'.padEnd(17)}  N X`);
  assert.equal(wide.lines[0], `a   ${'long name here'.padEnd(17)}  7 xx`);
  const narrow = formatTable(cols, [['a', 'long name here', '7', 'xx']], 12);
  assert.equal(narrow.header, 'A   NAME   N');
  assert.equal(narrow.lines[0], 'a   long…  7');
  for (const l of [narrow.header, ...narrow.lines]) assert.ok(displayWidth(l) <= 12);
});

test('times are shown in UTC without the date noise', () => {
  assert.equal(shortTime('2026-05-01T12:34:56.789Z'), '05-01 12:34:56');
  assert.equal(shortTime(null), '-');
});

test('integration rows and details show health, tool counts and the catalog', () => {
  const i = integration();
  assert.deepEqual(integrationRow(i), ['crm', 'Support CRM', 'active', 'connected', '1', 'streamable_http']);
  assert.equal(healthLabel(integration({ status: 'disabled' })), 'off');
  assert.equal(healthLabel(integration({ health: { transport: null, connected: false, lastSuccessAt: null, lastError: 'boom', lastErrorAt: '2026-05-01T12:00:00.000Z' } })), 'error');
  assert.equal(healthLabel(integration({ health: { transport: null, connected: false, lastSuccessAt: null, lastError: null, lastErrorAt: null } })), 'idle');
  const text = integrationDetail(i).join('\n');
  assert.match(text, /✓ crm__echo {2}Echoes text back\.$/m);
  assert.match(text, /✗ crm__wipe/);
  assert.match(text, /! bad name! skipped: invalid name/);
  assert.match(text, /1 of 2 tools allowed/);
});

test('the add-integration form becomes a request body, with a bearer credential only when a token is given', () => {
  assert.deepEqual(parseIntegrationForm({ slug: ' crm ', displayName: 'CRM', url: 'https://mcp.example.com/mcp', transport: '', token: '' }), {
    ok: true, body: { slug: 'crm', displayName: 'CRM', url: 'https://mcp.example.com/mcp', transport: 'auto' },
  });
  const withToken = parseIntegrationForm({ slug: 'crm', displayName: 'CRM', url: 'http://h/mcp', transport: 'sse', token: 's3cret' });
  assert.ok(withToken.ok);
  assert.deepEqual(withToken.body.credential, { type: 'bearer', token: 's3cret' });
  assert.equal(withToken.body.transport, 'sse');
  assert.deepEqual(parseIntegrationForm({ slug: '', displayName: 'x', url: 'http://h', transport: '', token: '' }), { ok: false, error: 'The slug is required.' });
  assert.equal(parseIntegrationForm({ slug: 's', displayName: 'x', url: 'ftp://h', transport: '', token: '' }).ok, false);
  assert.equal(parseIntegrationForm({ slug: 's', displayName: 'x', url: 'not a url', transport: '', token: '' }).ok, false);
  assert.equal(parseIntegrationForm({ slug: 's', displayName: 'x', url: 'http://h', transport: 'websocket', token: '' }).ok, false);
});

test('key rows never show more than prefix and last four; the secret message carries the secret once', () => {
  assert.equal(maskedKey(key), 'pb_live_AbCd…wxyz');
  assert.deepEqual(keyRow(key), ['shop', 'pb_live_AbCd…wxyz', 'active', '05-01 12:00:00', '-', 'default', 'all']);
  assert.equal(keyRow({ ...key, name: null, rateLimitRpm: 60 })[0], '(unnamed)');
  const created: CreatedGatewayKey = { ...key, key: 'pb_live_SECRETsecretSECRET' };
  assert.equal(secretMessage(created).split('pb_live_SECRETsecretSECRET').length, 2);
  assert.match(secretMessage(created), /shown only this once/);
});

test('usage rows show tool names for tool calls and models otherwise; the summary counts errors', () => {
  const base: UsageEvent = {
    id: '1', object: 'usage_event', kind: 'completion', requestId: 'req_1', keyId: 'key_1', instanceId: null, pluginId: null, tool: null, model: 'gpt-test',
    status: 'ok', httpStatus: 200, errorClass: null, promptTokens: 10, completionTokens: 5, latencyMs: 48.2, stream: false, createdAt: '2026-05-01T12:34:56.000Z',
  };
  assert.deepEqual(usageRow(base), ['05-01 12:34:56', 'completion', 'req_1', 'gpt-test', 'ok', '200', '10/5', '48ms']);
  const tool = usageRow({ ...base, kind: 'tool_call', tool: 'echo', status: 'error', errorClass: 'timeout', httpStatus: null, promptTokens: null, completionTokens: null, latencyMs: 12_345 });
  assert.deepEqual(tool, ['05-01 12:34:56', 'tool_call', 'req_1', 'echo (timeout)', 'error', '-', '-', '12.3s']);
  assert.equal(usageSummary({ data: [base, { ...base, status: 'error' }], hasMore: true, nextCursor: '1' }), '2 latest events (more on the server), 1 errors');
});

test('live event lines carry request id, type, tool, status and latency; the buffer keeps the newest lines', () => {
  const e: LiveEvent = { type: 'tool_call_finished', orgId: 'o', requestId: 'req_abc', at: Date.UTC(2026, 4, 1, 12, 0, 1, 23), tool: 'crm__echo', status: 'ok', errorClass: null, latencyMs: 12 };
  const line = liveEventLine(e);
  assert.match(line, /^12:00:01\.023 req_abc +tool_call_finished +crm__echo +ok +12ms$/);
  assert.match(liveEventLine({ type: 'request_failed', orgId: 'o', requestId: 'r', at: 0, errorClass: 'upstream_error' }), /request_failed +upstream_error +error +upstream_error$/);
  assert.match(liveEventLine({ type: 'request_started', orgId: 'o', requestId: 'r', at: 0, tools: 3, stream: true }), /3 tools stream/);
  assert.deepEqual(appendBounded(['a', 'b'], ['c', 'd'], 3), ['b', 'c', 'd']);
  assert.equal(appendBounded([], Array.from({ length: 1500 }, (_, i) => String(i))).length, 1000);
  assert.equal(streamStatusLabel({ state: 'connected' }), 'connected');
  assert.equal(streamStatusLabel({ state: 'retrying', attempt: 2, inMs: 1500, error: 'ECONNRESET' }), 'disconnected (ECONNRESET); retrying in 2s');
  assert.equal(streamStatusLabel({ state: 'stopped', error: null }), 'stopped');
});

test('grants toggle in plugin order and keep ids the TUI does not know', () => {
  const plugins: Plugin[] = [
    { id: 'p1', kind: 'mcp', slug: 'crm', displayName: 'CRM', description: null, toolCount: 2 },
    { id: 'p2', kind: 'first_party', slug: 'whatsapp', displayName: 'WhatsApp', description: null, toolCount: 1 },
  ];
  assert.deepEqual(toggleGrant([], 'p2', plugins), ['p2']);
  assert.deepEqual(toggleGrant(['p2'], 'p1', plugins), ['p1', 'p2']);
  assert.deepEqual(toggleGrant(['p1', 'zz'], 'p1', plugins), ['zz']);
  assert.equal(grantLine(plugins[0], ['p1']), '[x] crm  CRM (2 tools)');
  assert.equal(grantLine(plugins[1], ['p1']), '[ ] whatsapp  WhatsApp (1 tools)');
  assert.equal(WHATSAPP_UNAVAILABLE, 'WhatsApp channel not available on this server');
});

test('tool views show parameters with required ones starred', () => {
  assert.equal(signature('crm__add', { type: 'object', properties: { a: {}, b: {} }, required: ['a'] }), 'crm__add(a*, b)');
  assert.equal(signature('x', undefined), 'x()');
  assert.deepEqual(toolLines([{ name: 'crm__echo', description: 'Echo.\nMore.', parameters: {} }]), ['crm__echo()', '    Echo.']);
  assert.deepEqual(toolLines([]), ['(no tools)']);
});

test('describeError names API errors by status and code and network errors by cause', () => {
  assert.equal(describeError(new ApiError(403, { message: 'Nope.', code: 'insufficient_permissions' }, 'x')), 'Nope. (HTTP 403, insufficient_permissions)');
  assert.equal(describeError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })), 'cannot reach the server: ECONNREFUSED');
  assert.equal(describeError(new DOMException('t', 'TimeoutError')), 'the server did not answer in time');
});
