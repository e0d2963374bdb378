/**
 * The pure views of issue 11's screens: wire data in, rows and lines out (no screen, no server).
 * Register input, refused manifests' problem lists, version actions, the generated config form and
 * its checks, consent rules, upgrade reasons, plugin log bodies (sandbox only), the review detail,
 * and that server strings cannot drive the terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CustomPlugin, CustomPluginVersion, DirectoryPluginDetail, PluginConfigField, PluginConsentReason, PluginInstallation, PluginLogEntry, PluginPermission, PluginReview,
} from '../../src/shared/api.ts';
import {
  devPluginDetail, devPluginRow, parseManifestSource, parseManifestText, problemLines, problemsFromMessage, refusalProblems, signingSecretMessage,
  versionActions, versionRow, versionsNewestFirst,
} from '../../tui/views/dev-plugins.ts';
import {
  configFormFields, consentLine, consentProblem, directoryDetail, directoryRow, initialConsent, parseConfigForm, wrapLine,
} from '../../tui/views/plugin-directory.ts';
import { consentReasonText, customInstallDetail, customInstallRow, pendingLines, stateLabel, upgradeOutcome } from '../../tui/views/plugin-installs.ts';
import { bodyLines, pluginLogDetail, pluginLogRow } from '../../tui/views/plugin-logs.ts';
import { operatorInstallRow, reviewDetail, reviewRow } from '../../tui/views/plugin-review.ts';
import { displayWidth } from '../../tui/views/text.ts';

const T = '2026-05-01T12:34:56.789Z';

function version(over: Partial<CustomPluginVersion> = {}): CustomPluginVersion {
  return {
    id: 'ver_1', object: 'custom_plugin_version', pluginId: 'plg_1', version: '1.0.0', status: 'private', name: 'Order Desk', description: 'Orders.',
    baseUrl: 'https://orders.example.com', manifestUrl: null, manifestSha256: 'a'.repeat(64), toolCount: 2, reviewNote: null, submittedAt: null,
    reviewedAt: null, publishedAt: null, deprecatedAt: null, withdrawnAt: null, createdAt: T, ...over,
  };
}

function plugin(over: Partial<CustomPlugin> = {}): CustomPlugin {
  return {
    id: 'plg_1', object: 'custom_plugin', slug: 'orders', name: 'Order Desk', description: 'Looks up orders.', latestVersion: '1.1.0',
    latestPublishedVersion: null, versions: [version(), version({ id: 'ver_2', version: '1.1.0', createdAt: '2026-05-02T00:00:00.000Z' })],
    secretRotation: { rotatedAt: null, previousSecretExpiresAt: null }, createdAt: T, updatedAt: T, ...over,
  };
}

const perms: PluginPermission[] = [
  { key: 'orders:orders:read', label: 'Read orders', description: 'Look up the status of customer orders.', default: true },
  { key: 'orders:notes:write', label: 'Write order notes', description: 'Add a note to a customer order.', default: false },
];

function field(over: Partial<PluginConfigField> & Pick<PluginConfigField, 'key' | 'type'>): PluginConfigField {
  return { label: over.key, description: null, required: false, default: null, pattern: null, maxLength: null, minimum: null, maximum: null, options: null, ...over };
}

const fields: PluginConfigField[] = [
  field({ key: 'api_key', label: 'API key', type: 'secret', required: true }),
  field({ key: 'region', label: 'Region', type: 'select', required: true, default: 'eu', options: [{ value: 'eu', label: 'Europe' }, { value: 'us', label: 'United States' }] }),
  field({ key: 'shop', label: 'Shop name', type: 'string', maxLength: 10, pattern: '^[A-Za-z ]+$' }),
  field({ key: 'express', label: 'Express', type: 'boolean', default: false }),
  field({ key: 'days', label: 'Days', type: 'integer', minimum: 1, maximum: 30 }),
  field({ key: 'ratio', label: 'Ratio', type: 'number' }),
];

function installation(over: Partial<PluginInstallation> = {}): PluginInstallation {
  return {
    id: 'pin_1', object: 'plugin_installation', kind: 'custom', pluginId: 'plg_1', slug: 'orders', displayName: 'Order Desk', description: 'Orders.',
    version: '1.0.0', versionStatus: 'published', mode: 'live', status: 'active', state: 'active', enabled: true, pausedByOperator: null, pendingVersion: null,
    config: { api_key: '••••••••', region: 'us' }, acceptedPermissions: ['orders:orders:read'], permissions: perms, requires: { toolkits: [] },
    toolAllowlist: null, toolRateLimits: {}, toolCount: 1, tools: [{ name: 'lookup', prefixedName: 'orders__lookup', description: 'Look up.\nMore.', allowed: true }],
    health: { connected: false, lastSuccessAt: T, lastError: null, lastErrorAt: null, consecutiveFailures: 0 }, createdAt: T, updatedAt: T, ...over,
  };
}

function logEntry(over: Partial<PluginLogEntry> = {}): PluginLogEntry {
  return {
    id: '7', object: 'plugin_log_entry', pluginId: 'plg_1', version: '1.0.0', installationId: 'pin_1', organizationId: 'org_1', instanceId: null,
    requestId: 'req_1', webhookId: 'call_1', tool: 'lookup', mode: 'sandbox', status: 'ok', httpStatus: 200, errorClass: null, error: null,
    latencyMs: 42, attempts: 1, requestBody: '{"tool":"lookup","input":{"orderNumber":"A-1"}}', responseBody: '{"status":"found"}', createdAt: T, ...over,
  };
}

test('the register field takes a URL or a file path; manifest files must hold a JSON object', () => {
  assert.deepEqual(parseManifestSource(' https://x.example/p.json '), { kind: 'url', url: 'https://x.example/p.json' });
  assert.deepEqual(parseManifestSource('http://127.0.0.1:8/p.json'), { kind: 'url', url: 'http://127.0.0.1:8/p.json' });
  assert.deepEqual(parseManifestSource('./plugboard-plugin.json'), { kind: 'file', path: './plugboard-plugin.json' });
  assert.deepEqual(parseManifestSource('~/p/plugboard-plugin.json'), { kind: 'file', path: '~/p/plugboard-plugin.json' });
  assert.equal(parseManifestSource('ftp://x.example/p.json').kind, 'error');
  assert.equal(parseManifestSource('   ').kind, 'error');
  assert.deepEqual(parseManifestText('{"slug":"x"}', 'm.json'), { ok: true, manifest: { slug: 'x' } });
  assert.match((parseManifestText('{"slug":', 'm.json') as { message: string }).message, /m\.json is not JSON/);
  assert.match((parseManifestText('[1]', 'm.json') as { message: string }).message, /does not hold a JSON object/);
});

test('a refusal lists every problem: from error.problems, else from the message (first five and how many more)', () => {
  const withList = Object.assign(new Error('The manifest has 2 problems: …'), { problems: [{ path: '/slug', message: 'is reserved' }, { path: '', message: 'too big' }] });
  assert.deepEqual(problemLines(withList, 'x'), ['2 problems:', '/slug  is reserved', '(whole)  too big']);
  const msg = 'The manifest has 7 problems: /colour is not a known field (known here: a; b); /slug "whatsapp" is reserved; /tools/0/name must match ^[a-z]+$; (whole) is 70000 bytes; /version must be SemVer; and 2 more (see error.problems).';
  const parsed = problemsFromMessage(msg)!;
  assert.equal(parsed.more, 2);
  assert.deepEqual(parsed.problems.map((p) => p.path), ['/colour', '/slug', '/tools/0/name', '', '/version']);
  assert.equal(parsed.problems[0].message, 'is not a known field (known here: a; b)', 'a "; " inside a message does not split it');
  const lines = problemLines(new Error(msg), 'x');
  assert.equal(lines[0], '7 problems:');
  assert.match(lines.at(-1)!, /and 2 more/);
  assert.equal(refusalProblems(new Error('The config has 1 problem: /config/region must be one of eu, us.')).length, 1);
  assert.deepEqual(problemLines(new Error('HTTP 500'), 'Something failed'), ['Something failed']);
});

test('developer rows, newest version first, the actions each status allows, and the one-time secret', () => {
  const p = plugin();
  assert.deepEqual(devPluginRow(p), ['orders', 'Order Desk', '1.1.0', '-', '2']);
  assert.deepEqual(versionsNewestFirst(p).map((v) => v.version), ['1.1.0', '1.0.0']);
  assert.deepEqual(versionRow(version({ status: 'rejected', reviewNote: 'Say what add_note writes.', submittedAt: T })), ['1.0.0', 'rejected', '2', '05-01 12:34:56', 'Say what add_note writes.']);
  assert.deepEqual(versionActions('private'), ['submit', 'withdraw']);
  assert.deepEqual(versionActions('published'), ['deprecate', 'withdraw']);
  assert.deepEqual(versionActions('submitted'), ['withdraw']);
  assert.deepEqual(versionActions('withdrawn'), []);
  const text = devPluginDetail(p, version({ status: 'rejected', reviewNote: 'Too vague.' })).join('\n');
  assert.match(text, /Rejected: Too vague\./);
  assert.match(signingSecretMessage('orders', 'whsec_abc'), /whsec_abc[\s\S]*shown only this once/);
  assert.match(signingSecretMessage('orders', 'whsec_abc', '2026-05-02T00:00:00.000Z'), /previous secret keeps signing until 05-02 00:00:00/);
  assert.match(signingSecretMessage('orders', 'whsec_abc', null), /previous secret stopped signing/);
});

test('the config form starts from defaults (secrets empty) or the installation, and checks every field at once', () => {
  const start = configFormFields(fields);
  assert.deepEqual(start.map((f) => [f.name, f.value, f.secret]), [['api_key', '', true], ['region', 'eu', false], ['shop', '', false], ['express', 'no', false], ['days', '', false], ['ratio', '', false]]);
  assert.equal(start[1].label, 'Region* [eu|us]');
  assert.equal(configFormFields(fields, { api_key: '••••••••', region: 'us', express: true })[0].value, '', 'a masked secret is never put back into the form');
  assert.equal(configFormFields(fields, { region: 'us', express: true })[3].value, 'yes');

  const bad = parseConfigForm(fields, { api_key: '', region: 'mars', shop: 'Far too long name', express: 'maybe', days: '2.5', ratio: 'x' });
  assert.equal(bad.ok, false);
  assert.deepEqual((bad as { problems: string[] }).problems, [
    'API key is required.', 'Region must be one of eu, us.', 'Shop name must be at most 10 characters.', 'Express must be yes or no.', 'Days must be a whole number.', 'Ratio must be a number.',
  ]);
  assert.deepEqual((parseConfigForm(fields, { api_key: 'k', shop: 'Shop 1', days: '31' }) as { problems: string[] }).problems, ['Shop name does not match ^[A-Za-z ]+$.', 'Days must be at most 30.']);
  assert.deepEqual(parseConfigForm(fields, { api_key: ' k ', region: 'us', shop: 'Acme', express: 'Yes', days: '3', ratio: '0.5' }), { ok: true, config: { api_key: 'k', region: 'us', shop: 'Acme', express: true, days: 3, ratio: 0.5 } });
  // Editing: an empty secret keeps the stored one, "-" clears an optional value.
  assert.deepEqual(parseConfigForm(fields, { api_key: '', region: 'eu', shop: '-' }, { keepSecrets: true, current: { api_key: '••••••••' } }), { ok: true, config: { region: 'eu', shop: null } });
});

test('consent: defaults pre-ticked, every permission needed, each line with label and description', () => {
  const ticked = initialConsent(perms);
  assert.deepEqual([...ticked], ['orders:orders:read']);
  assert.match(consentProblem(perms, ticked)!, /missing: Write order notes/);
  assert.equal(consentProblem(perms, new Set(perms.map((p) => p.key))), null);
  assert.equal(consentLine(perms[1], false), '[ ] Write order notes — Add a note to a customer order.  (orders:notes:write)');
});

test('wrapLine keeps every line within the width, cutting words longer than a line', () => {
  for (const width of [20, 37, 76]) {
    const out = wrapLine(`[x] ${'Look up the status of customer orders '.repeat(4)} ${'x'.repeat(90)} 日本語の説明`, width, '    ');
    for (const l of out) assert.ok(displayWidth(l) <= width, `${JSON.stringify(l)} fits ${width}`);
    assert.ok(out.slice(1).every((l) => l.startsWith('    ')));
  }
  assert.deepEqual(wrapLine('', 20), ['']);
});

test('directory rows and the installer’s detail: mode, permissions, tools with effects, config, toolkits', () => {
  const d: DirectoryPluginDetail = {
    id: 'plg_1', object: 'directory_plugin', slug: 'orders', name: 'Order Desk', description: 'Orders.', contact: { email: 'dev@x.example', name: 'Devs', url: null, privacyPolicyUrl: null, termsUrl: null },
    latestVersion: '1.0.0', versions: [{ version: '1.0.0', status: 'private', publishedAt: null, createdAt: T }], ownPlugin: true, installation: null,
    version: {
      version: '1.0.0', status: 'private', baseUrl: 'https://orders.example.com', mode: 'sandbox', installable: true, permissions: perms,
      tools: [{ name: 'lookup', prefixedName: 'orders__lookup', description: 'Look up an order.', effect: 'read', confirmation: 'none', idempotent: true, timeoutMs: 3000, permissions: ['orders:orders:read'], inputSchema: {}, outputSchema: null }],
      config: fields.slice(0, 2), requires: { toolkits: [{ any: ['payments', 'ecommerce'], reason: 'Paid orders only.' }] },
    },
  };
  assert.deepEqual(directoryRow(d), ['orders', 'Order Desk', '1.0.0', 'own', '-']);
  const text = directoryDetail(d).join('\n');
  assert.match(text, /Installs as sandbox; calls go to https:\/\/orders\.example\.com/);
  assert.match(text, /• Read orders \(orders:orders:read\): Look up the status of customer orders\./);
  assert.match(text, /orders__lookup \[read, idempotent\]/);
  assert.match(text, /• Region \(region; select, required, default eu, one of eu\|us\)/);
  assert.match(text, /one of payments \| ecommerce: Paid orders only\./);
});

test('installations: state with the pending version, why consent is needed, masked config, upgrade outcomes', () => {
  const pending = installation({
    state: 'needs_consent',
    pendingVersion: {
      version: '1.1.0', needsConsent: true, permissions: perms,
      reasons: [{ kind: 'permission_added', key: 'orders:notes:write' }, { kind: 'base_url_origin_changed', from: 'https://a.example', to: 'https://b.example' }],
      notes: [{ kind: 'tool_removed', name: 'old' }],
    },
  });
  assert.equal(stateLabel(pending), 'needs_consent→1.1.0');
  assert.deepEqual(customInstallRow(pending), ['orders', 'Order Desk', '1.0.0', 'live', 'needs_consent→1.1.0', 'ok', '1']);
  assert.deepEqual(pendingLines(pending), [
    "Version 1.1.0 waits for an owner's consent (A): it", '  • asks for a new permission orders:notes:write',
    "  • moves its calls (and your config's secrets) from https://a.example to https://b.example", '  • removes the tool old', '  Until then this installation keeps using 1.0.0.',
  ]);
  const text = customInstallDetail(pending).join('\n');
  assert.match(text, /api_key = ••••••••/);
  assert.match(text, /Accepted permissions:\n• Read orders/);
  assert.doesNotMatch(text, /• Write order notes/, 'only accepted permissions are listed as accepted');
  const reasons: PluginConsentReason[] = [{ kind: 'permission_changed', key: 'k' }, { kind: 'toolkit_requirement_added', any: ['payments'] }, { kind: 'tool_added', name: 't' }, { kind: 'tool_changed', name: 't' }, { kind: 'required_config_added', key: 'k' }];
  for (const r of reasons) {
    assert.ok(consentReasonText(r).length > 5);
  }
  assert.equal(upgradeOutcome(installation(), installation({ version: '1.1.0' })), 'orders moved to 1.1.0.');
  assert.match(upgradeOutcome(installation(), pending), /1\.1\.0 needs an owner's consent \(A\); it keeps using 1\.0\.0/);
  assert.match(customInstallDetail(installation({ pausedByOperator: { reason: 'abuse', pausedAt: T } })).join('\n'), /PAUSED by the operator 05-01 12:34:56: abuse/);
});

test('plugin log: bodies pretty-printed for sandbox calls only, the answer first; capped and cleaned', () => {
  assert.deepEqual(pluginLogRow(logEntry({ status: 'error', httpStatus: 502, errorClass: 'http_status', error: 'HTTP 502' })), ['05-01 12:34:56', 'lookup', 'sandbox', 'error', '502', '42ms', 'http_status: HTTP 502']);
  const sandbox = pluginLogDetail(logEntry()).join('\n');
  assert.ok(sandbox.indexOf('Response body:') < sandbox.indexOf('Request body:'));
  assert.match(sandbox, /"orderNumber": "A-1"/);
  const live = pluginLogDetail(logEntry({ mode: 'live', requestBody: null, responseBody: null })).join('\n');
  assert.match(live, /Bodies are kept only for sandbox installations/);
  assert.doesNotMatch(live, /Request body/);
  assert.deepEqual(bodyLines('<html>\u001b[2Jboom</html>'), ['<html> [2Jboom</html>']);
  const many = bodyLines(JSON.stringify(Array.from({ length: 300 }, (_, i) => i)), 50);
  assert.equal(many.length, 51);
  assert.match(many[50], /more lines/);
});

test('review queue rows and the reviewer’s detail with the changes against the published version', () => {
  const r: PluginReview = {
    id: 'ver_2', object: 'plugin_review', pluginId: 'plg_1', slug: 'orders', version: '1.1.0', name: 'Order Desk', description: 'Orders.', organizationId: 'org_1',
    organizationName: 'Acme', baseUrl: 'https://orders.example.com', contact: { email: 'dev@x.example', name: null, url: null, privacyPolicyUrl: 'https://x.example/privacy', termsUrl: null },
    permissions: perms, tools: [{ name: 'lookup', prefixedName: 'orders__lookup', description: 'Look up.', effect: 'read', confirmation: 'human', idempotent: false, timeoutMs: 3000, permissions: ['orders:orders:read'], inputSchema: {}, outputSchema: null }],
    requires: { toolkits: [] }, previousPublishedVersion: '1.0.0', changes: { needsConsent: true, reasons: [{ kind: 'tool_changed', name: 'lookup' }], notes: [] }, submittedAt: T, manifest: {},
  };
  assert.deepEqual(reviewRow(r), ['orders', '1.1.0', 'Acme', '05-01 12:34:56', '1.0.0']);
  const text = reviewDetail(r).join('\n');
  assert.match(text, /Against the published 1\.0\.0: installations will need consent\n {2}• changes the tool lookup/);
  assert.match(text, /orders__lookup \[read, asks a human\] {2}Look up\.\n {4}uses orders:orders:read/);
  assert.match(text, /Privacy +https:\/\/x\.example\/privacy/);
  assert.deepEqual(operatorInstallRow({ id: 'i', object: 'operator_installation', organizationId: 'org_1', kind: 'custom', slug: 'orders', displayName: 'Order Desk', status: 'disabled', pluginId: 'plg_1', version: '1.0.0', mode: 'live', pausedByOperator: { reason: '', pausedAt: T, pausedBy: 'rita' }, health: { lastSuccessAt: null, lastError: null, lastErrorAt: null } }),
    ['org_1', 'custom', 'orders', '1.0.0', 'live', 'disabled', 'PAUSED']);
});

test('server strings cannot drive the terminal from any of these views', () => {
  const evil = 'x\u001b]52;c;AAAA\u0007\u009b2J';
  const all = [
    ...devPluginRow(plugin({ name: evil, slug: evil })), ...devPluginDetail(plugin({ description: evil }), version({ reviewNote: evil, status: 'rejected' })),
    ...customInstallDetail(installation({ displayName: evil, config: { k: evil }, health: { connected: false, lastSuccessAt: null, lastError: evil, lastErrorAt: T, consecutiveFailures: 3 } })),
    ...pluginLogDetail(logEntry({ tool: evil, error: evil, responseBody: evil })),
    ...problemLines(Object.assign(new Error(''), { problems: [{ path: evil, message: evil }] }), ''),
  ];
  for (const line of all) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f]/, JSON.stringify(line));
});

test('the screens of issue 11 are registered within their range: short titles, operator screens only for operator tokens', async () => {
  const { DEV_SCREENS } = await import('../../tui/screens/dev.ts');
  const { ALL_SCREENS } = await import('../../tui/screens/index.ts');
  const { screensFor } = await import('../../tui/screen.ts');
  for (const s of DEV_SCREENS) {
    assert.ok(s.order >= 300 && s.order <= 399, s.id);
    assert.ok(displayWidth(s.title) <= 12, s.title);
    assert.equal(s.group, s.audience === 'operator' ? 'Operator' : 'Developer', s.id);
  }
  assert.deepEqual(screensFor(ALL_SCREENS, 'operator').map((s) => s.id), ['reviews', 'operator-installs', 'operator-logs']);
  const org = screensFor(ALL_SCREENS, 'org').map((s) => s.id);
  for (const id of ['directory', 'plugin-installs', 'plugin-logs', 'dev-area']) assert.ok(org.includes(id), id);
});
