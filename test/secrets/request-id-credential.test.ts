/**
 * Review finding: a caller's `x-request-id` is kept when it is a sane id — and a gateway key or a
 * control token is one by that test (letters, digits, `_` and `-`). Such an id was echoed, written
 * to the access log, stored on the usage rows every member reads and published on the live stream;
 * Plugboard's own keys are stored hashed, so the known-secrets redactor cannot recognise them. An id
 * carrying a credential is now replaced by a new one; an ordinary id (also one containing `sk-`
 * inside a word, like `task-…`) is still kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../helpers/app.ts';
import { chatCompletion, startFakeUpstream } from '../fakes/openai-upstream.ts';
import { resolveRequestId } from '../../src/http/request-context.ts';

test('resolveRequestId: credentials are replaced, ordinary ids kept', () => {
  const fresh = () => 'req_generated';
  for (const id of ['pb_live_AbCdEf0123456789-_xyz', 'pbc_AbCdEf0123456789', 'pbo_AbCdEf0123456789', 'sk-proj-AbCdEf012345', 'trace:sk_live_AbCdEf012345', 'x.whsec_AbCdEf012345']) {
    assert.equal(resolveRequestId(id, fresh), 'req_generated', id);
  }
  for (const id of ['task-1234567890', 'req_0123456789abcdef', 'desk-7f3a9c2b1d', 'client.trace:42-abcdef']) {
    assert.equal(resolveRequestId(id, fresh), id, id);
  }
});

test('an x-request-id carrying a gateway key or a control token is never echoed, logged or stored', async () => {
  await using up = await startFakeUpstream();
  up.setFallback(() => ({ json: chatCompletion({ content: 'hi' }) }));
  await using t = await startApp({ PLUGBOARD_UPSTREAM_BASE_URL: up.url });
  const a = t.tenant();
  const key = t.key(a.orgId);
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json', 'x-request-id': key.secret },
    body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(res.status, 200, await res.text());
  assert.notEqual(res.headers.get('x-request-id'), key.secret);
  const ctl = await t.api('GET', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, headers: { 'x-request-id': a.ownerToken } });
  assert.equal(ctl.status, 200, ctl.text);
  assert.notEqual(ctl.headers.get('x-request-id'), a.ownerToken);
  // An ordinary id is still the caller's.
  const plain = await t.api('GET', `/organizations/${a.orgId}/keys`, { token: a.ownerToken, headers: { 'x-request-id': 'task-1234567890' } });
  assert.equal(plain.headers.get('x-request-id'), 'task-1234567890');

  t.app.recorder.flush();
  const rows = await t.api('GET', `/organizations/${a.orgId}/usage-events`, { token: a.ownerToken });
  assert.equal(rows.status, 200, rows.text);
  assert.ok(rows.json.data.length >= 1);
  assert.ok(!rows.text.includes(key.secret), 'usage rows');
  await t.close();
  for (const line of t.logs) {
    assert.ok(!line.includes(key.secret), `log line carries the gateway key: ${line.slice(0, 200)}`);
    assert.ok(!line.includes(a.ownerToken), `log line carries the owner token: ${line.slice(0, 200)}`);
  }
});
