/**
 * Failed authentication is throttled per client address: after PLUGBOARD_AUTH_FAILURES_PER_MINUTE
 * wrong gateway keys or control tokens the address gets 429 with an integer Retry-After in the
 * OpenAI error shape, on every authenticated route and for valid credentials too (a right guess
 * during the block teaches nothing); before that, valid credentials are never counted or slowed.
 * With PLUGBOARD_TRUST_PROXY the address is the last X-Forwarded-For entry; memory stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import OpenAI from 'openai';
import { startApp, type TestApp } from '../helpers/app.ts';
import { assertWireError } from '../helpers/factories.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { BLOCK_SECONDS, clientAddress, createAuthThrottle } from '../../src/http/auth-throttle.ts';

const LIMIT = 5;
const BODY = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
const WRONG_KEY = 'pb_live_' + 'x'.repeat(40);
const WRONG_TOKEN = 'pbc_' + 'y'.repeat(40);

function chat(t: TestApp, key: string, headers: Record<string, string> = {}) {
  return t.api('POST', '/v1/chat/completions', { headers: { authorization: `Bearer ${key}`, ...headers }, rawBody: BODY });
}

function assertThrottled(res: { status: number; json: any; text: string; headers: Headers }, label: string): void {
  assertWireError(res, 429, 'too_many_failed_authentications', null, label);
  assert.equal(res.json.error.type, 'requests', label);
  const retryAfter = res.headers.get('retry-after') ?? '';
  assert.match(retryAfter, /^\d+$/, `${label}: Retry-After is whole seconds`);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= BLOCK_SECONDS, `${label}: Retry-After ${retryAfter}`);
  assert.match(res.headers.get('x-request-id') ?? '', /^req_/, label);
}

test('wrong gateway keys: 401 up to the limit, then 429 for the address on every authenticated route, valid keys included; probes still answer', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);

  // Valid keys are never counted: many successes between failures change nothing.
  for (let i = 0; i < LIMIT - 1; i++) {
    assertWireError(await chat(t, WRONG_KEY), 401, 'invalid_api_key', undefined, `failure ${i + 1}`);
    for (let j = 0; j < 10; j++) assert.equal((await chat(t, key.secret)).status, 200, 'a valid key is served while under the limit');
  }
  // Missing and malformed credentials count as failures too.
  assertWireError(await t.api('POST', '/v1/chat/completions', { rawBody: BODY }), 401, 'missing_api_key', undefined, `failure ${LIMIT}`);
  assertThrottled(await chat(t, WRONG_KEY), 'the failure over the limit');
  assertThrottled(await chat(t, 'pb_live_another-guess'), 'further guesses');
  assertThrottled(await chat(t, key.secret), 'a valid key from the blocked address (a right guess teaches nothing)');
  assertThrottled(await t.api('GET', '/v1/models', { headers: { authorization: `Bearer ${key.secret}` } }), '/v1/models');
  assertThrottled(await t.api('GET', '/me', { token: tenant.ownerToken }), 'the control panel');
  const sdkErr = await t.openai(key.secret).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }).then(() => null, (e: unknown) => e);
  assert.ok(sdkErr instanceof OpenAI.RateLimitError, String(sdkErr));
  assert.equal(sdkErr.code, 'too_many_failed_authentications');
  assert.equal((await t.api('GET', '/healthz')).status, 200, 'health probes are not authenticated routes');
  assert.equal((await t.api('GET', '/readyz')).status, 200);
  assert.equal(upstream.requests.length, (LIMIT - 1) * 10, 'nothing refused reached the upstream');
  assert.ok(t.logs.every((l) => !l.includes(WRONG_KEY) && !l.includes(key.secret)), 'no presented key in the log');
});

test('wrong control tokens: 401 up to the limit, then 429 for the address, valid tokens and gateway keys included', async () => {
  await using t = await startApp({ PLUGBOARD_AUTH_FAILURES_PER_MINUTE: String(LIMIT) });
  const tenant = t.tenant();
  const key = t.key(tenant.orgId);
  const o = `/organizations/${tenant.orgId}`;
  const probes: Array<[string, string]> = [['GET', '/me'], ['GET', o], ['GET', `${o}/keys`], ['POST', `${o}/keys`], ['GET', '/organizations']];
  for (let i = 0; i < LIMIT; i++) {
    const [method, path] = probes[i % probes.length];
    assertWireError(await t.api(method, path, { token: WRONG_TOKEN, body: method === 'POST' ? {} : undefined }), 401, 'invalid_token', undefined, `${method} ${path}`);
    assert.equal((await t.api('GET', '/me', { token: tenant.ownerToken })).status, 200, 'a valid token is served while under the limit');
  }
  for (const [method, path] of probes) assertThrottled(await t.api(method, path, { token: WRONG_TOKEN, body: method === 'POST' ? {} : undefined }), `${method} ${path}`);
  assertThrottled(await t.api('GET', '/me', { token: tenant.ownerToken }), 'a valid token from the blocked address');
  assertThrottled(await chat(t, key.secret), 'the gateway from the blocked address');
  assert.equal(t.app.db.prepare('SELECT COUNT(*) FROM gateway_keys').pluck().get(), 1, 'nothing was created');
});

test('PLUGBOARD_TRUST_PROXY: the last X-Forwarded-For entry is the address; without it the header is ignored', async () => {
  await using upstream = await startFakeUpstream();
  upstream.setFallback(() => ({ json: chatCompletion({ content: 'ok' }) }));
  for (const trustProxy of [true, false]) {
    await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: upstream.url, PLUGBOARD_AUTH_FAILURES_PER_MINUTE: String(LIMIT), PLUGBOARD_TRUST_PROXY: String(trustProxy) });
    const key = t.key(t.tenant().orgId);
    // A guesser varying the leftmost entries (what it sends itself; the proxy appends the real one).
    for (let i = 0; i < LIMIT; i++) assert.equal((await chat(t, WRONG_KEY, { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.7` })).status, 401);
    assertThrottled(await chat(t, WRONG_KEY, { 'x-forwarded-for': '10.9.9.99, 203.0.113.7' }), `trustProxy=${trustProxy}: spoofed leftmost entries do not help`);
    const other = await chat(t, key.secret, { 'x-forwarded-for': '198.51.100.4' });
    if (trustProxy) assert.equal(other.status, 200, 'another client behind the same proxy is not blocked');
    else assertThrottled(other, 'without trustProxy, X-Forwarded-For cannot move a client out of its block');
  }
});

test('memory stays bounded under failures from random addresses, and IPv6 clients are grouped by /64', async () => {
  const throttle = createAuthThrottle({ failuresPerMinute: 3, maxTracked: 100 });
  for (let i = 0; i < 5_000; i++) await throttle.failed(`198.18.${(i >> 8) & 255}.${i & 255}`);
  assert.ok(throttle.size <= 100, `tracked ${throttle.size}`);
  // The address that keeps failing is kept (least recently failing ones go first) and stays blocked.
  for (let i = 0; i < 4; i++) await throttle.failed('203.0.113.9');
  for (let i = 0; i < 99; i++) await throttle.failed(`198.19.0.${i}`);
  assert.throws(() => throttle.assertAllowed('203.0.113.9'), (e: any) => e.status === 429 && /^\d+$/.test(e.headers['retry-after']));
  assert.doesNotThrow(() => throttle.assertAllowed('198.19.0.1'), 'under the limit');

  const req = (remoteAddress: string, xff?: string) => ({ socket: { remoteAddress }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as IncomingMessage;
  assert.equal(clientAddress(req('2001:db8:1:2:aaaa::1'), false), clientAddress(req('2001:db8:1:2:bbbb:cccc:dddd:eeee'), false), 'one /64');
  assert.notEqual(clientAddress(req('2001:db8:1:2::1'), false), clientAddress(req('2001:db8:1:3::1'), false));
  assert.equal(clientAddress(req('::ffff:192.0.2.1'), false), '192.0.2.1', 'IPv4-mapped is IPv4');
  assert.equal(clientAddress(req('127.0.0.1', '192.0.2.1, 192.0.2.2'), true), '192.0.2.2');
  assert.equal(clientAddress(req('127.0.0.1', 'garbage'), true), '127.0.0.1', 'a header that is no address is ignored');
  assert.equal(clientAddress(req('127.0.0.1', '192.0.2.1'), false), '127.0.0.1');

  const off = createAuthThrottle({ failuresPerMinute: 0 });
  for (let i = 0; i < 50; i++) assert.equal(await off.failed('192.0.2.1'), null);
  assert.doesNotThrow(() => off.assertAllowed('192.0.2.1'), '0 turns the throttle off');
});
