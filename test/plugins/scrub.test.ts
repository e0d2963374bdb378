import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SCRUB_MAX_LENGTH, redactSecrets, scrubError, scrubText } from '../../src/plugins/scrub.ts';

const STORED = 'tw1l10-st0red-cr3dential';

/** Values that must never survive scrubbing, each planted in a realistic sentence. */
const PLANTED: Array<[string, string]> = [
  [STORED, `upstream said: invalid key ${STORED}`],
  [encodeURIComponent(`${STORED}/x+y`), `GET /cb?key=${encodeURIComponent(`${STORED}/x+y`)} failed`],
  [Buffer.from(STORED).toString('base64'), `header x-enc: ${Buffer.from(STORED).toString('base64')}`],
  ['abcDEF123ghiJKL456', 'Authorization: Bearer abcDEF123ghiJKL456'],
  ['dXNlcjpwYXNzd29yZA==', 'sent Basic dXNlcjpwYXNzd29yZA== to proxy'],
  ['s3cretpw', 'connect to https://admin:s3cretpw@db.example.com/app'],
  ['sk-proj-Abc123Def456Ghi789', 'OpenAI error for sk-proj-Abc123Def456Ghi789'],
  ['pb_live_9f8e7d6c5b4a39281706', 'gateway key pb_live_9f8e7d6c5b4a39281706 revoked'],
  ['pbc_Qm9vbXNoYWth12', 'control token pbc_Qm9vbXNoYWth12'],
  ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV', 'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV expired'],
  ['0123456789abcdef0123456789abcdef', 'twilio auth token 0123456789abcdef0123456789abcdef rejected'],
  ['AC0123456789abcdef0123456789abcdef', 'account AC0123456789abcdef0123456789abcdef suspended'],
  ['Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFCQ0RFRkdI', 'blob Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFCQ0RFRkdI'],
  ['hunter2hunter2', '{"password": "hunter2hunter2", "user": "ana"}'],
  ['AKIAIOSFODNN7EXAMPLE', 'aws AKIAIOSFODNN7EXAMPLE denied'],
  ['ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'git token ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
];

describe('scrubText', () => {
  it('removes every planted secret, alone and all together', () => {
    for (const [secret, sentence] of PLANTED) {
      const out = scrubText(sentence, { secrets: [STORED] });
      assert.ok(!out.includes(secret), `${secret} survived in ${out}`);
      assert.match(out, /\[redacted\]/, sentence);
    }
    const all = scrubText(PLANTED.map(([, s]) => s).join('\n'), { secrets: [STORED], maxLength: 10_000 });
    for (const [secret] of PLANTED) assert.ok(!all.includes(secret), secret);
  });

  it('treats a stored "Bearer x" header value as the secret x too', () => {
    const out = scrubText('token=abc plain-secret-token-value reflected', { secrets: ['Bearer plain-secret-token-value'] });
    assert.ok(!out.includes('plain-secret-token-value'));
  });

  it('drops stack frames and file paths but keeps the message', () => {
    const err = 'TypeError: Cannot read properties of undefined\n    at handler (/srv/app/tools/crm.js:41:17)\n    at async Server.run (file:///opt/mcp/node_modules/sdk/dist/index.js:9:3)\n    at C:\\Users\\ana\\app\\index.js:3:1\n    at new Promise (<anonymous>)';
    const out = scrubText(err);
    assert.equal(out, 'TypeError: Cannot read properties of undefined');
    assert.equal(scrubText('failed reading /home/ana/.ssh/id_rsa and C:\\secrets\\key.pem'), 'failed reading [path] and [path]');
  });

  it('hides internal hosts and addresses, keeps public ones', () => {
    const out = scrubText(
      'connect ECONNREFUSED 10.0.3.7:8080; tried http://mcp-crm:3000/mcp, https://db.prod.internal/x, http://api.svc.cluster.local, ' +
        'http://[fd00::5]:80/ and redis.local, ::1, 192.168.1.20, localhost:5432; getaddrinfo ENOTFOUND billing; public https://api.example.com/v1 8.8.8.8',
    );
    for (const leak of ['10.0.3.7', 'mcp-crm', 'db.prod.internal', 'api.svc.cluster.local', 'fd00::5', 'redis.local', '192.168.1.20', 'localhost', 'billing', ' ::1']) {
      assert.ok(!out.includes(leak), `${leak} survived in ${out}`);
    }
    assert.match(out, /https:\/\/api\.example\.com\/v1/);
    assert.match(out, /8\.8\.8\.8/);
    assert.match(out, /\[internal-host\]/);
  });

  it('collapses whitespace and caps the length with an ellipsis', () => {
    assert.equal(scrubText('  a \n\n\t b  '), 'a b');
    const long = scrubText('word '.repeat(1_000));
    assert.equal(long.length, DEFAULT_SCRUB_MAX_LENGTH);
    assert.ok(long.endsWith('…'));
    assert.equal(scrubText('x'.repeat(50), { maxLength: 10 }), `${'x'.repeat(9)}…`);
    assert.ok(!scrubText('😀'.repeat(10), { maxLength: 4 }).includes('\uD83D…'), 'no half surrogate');
  });

  it('leaves ordinary text and identifiers alone', () => {
    const plain = 'Tool crm__lookup_customer_by_email_address failed: customer 42 not found (request 3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8).';
    assert.equal(scrubText(plain), plain);
  });

  it('is quick on multi-megabyte input and never leaves half a token at the cut', () => {
    const huge = `${'lorem ipsum '.repeat(600_000)}sk-live-ABCDEFGHIJKLMNOP1234`;
    const started = Date.now();
    const out = scrubText(huge, { maxLength: 100_000 });
    assert.ok(Date.now() - started < 2_000);
    assert.ok(!out.includes('sk-live'));
  });
});

describe('redactSecrets', () => {
  it('removes only the known values and keeps the rest of the text as it is', () => {
    const text = `line1\n  {"auth":"${STORED}","hex":"0123456789abcdef0123456789abcdef"}`;
    assert.equal(redactSecrets(text, [STORED]), 'line1\n  {"auth":"[redacted]","hex":"0123456789abcdef0123456789abcdef"}');
    assert.equal(redactSecrets('abc', ['ab']), 'abc', 'too-short secrets are not searched');
  });
});

describe('scrubError', () => {
  it('gives one safe line for any thrown value, with causes and without stacks', () => {
    const cause = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:4000 using ${STORED}`), { code: 'ECONNREFUSED' });
    const err = new TypeError('fetch failed', { cause });
    assert.equal(scrubError(err, [STORED]), 'TypeError: fetch failed (connect ECONNREFUSED [internal-host]:4000 using [redacted])');
    assert.equal(scrubError('plain string with sk-live-abcdefghijkl'), 'plain string with [redacted]');
    assert.equal(scrubError({ message: 'x', token: 'abcdefgh' }), '{"message":"x","token":"[redacted]"}');
    assert.equal(scrubError(undefined), 'Unknown error');
    assert.equal(scrubError(42), '42');
    assert.equal(scrubError(''), 'Unknown error');
    const cyclic = new Error('outer');
    (cyclic as { cause?: unknown }).cause = cyclic;
    assert.equal(scrubError(cyclic), 'outer');
    assert.match(scrubError(new AggregateError([new Error('a at 10.0.0.1'), new Error('b')], 'all failed')), /^AggregateError: all failed: a at \[internal-host\]; b$/);
  });
});
