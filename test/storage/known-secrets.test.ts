/**
 * The known-secrets registry and redactor as a class: every form a registered value takes in text
 * (plain, trimmed, after an auth scheme, URL-encoded, JSON-escaped, base64/base64url at every byte
 * alignment, e.g. inside `Basic base64(user:secret)`) is removed, with few secrets and with
 * thousands (the indexed path gives the same answers), text without secrets comes back as the very
 * same string, memory is bounded, and the secret box registers every credential it seals or opens
 * — and only credentials — so a new kind of sealed secret is covered without registering it.
 * The logger redacts every line, children and the access logger included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { createKnownSecrets, MIN_SECRET_LENGTH, secretVariants } from '../../src/storage/known-secrets.ts';
import { createSecretBox } from '../../src/storage/secret-box.ts';
import { createLogger } from '../../src/log.ts';
import { createAccessLog } from '../../src/http/request-context.ts';

const SECRET = 'Zq8-secret+value/with"odd\\chars';

/** Sentences that each carry SECRET in one of the forms it can leak in. */
function leakingTexts(secret: string): string[] {
  const out = [
    `plain: ${secret} trailing`,
    `Authorization: Bearer ${secret}`,
    `url: https://x.example/cb?k=${encodeURIComponent(secret)}&z=1`,
    `json: ${JSON.stringify({ quoted: `says ${secret}` })}`,
    `b64: ${Buffer.from(secret).toString('base64')}`,
    `b64url: ${Buffer.from(secret).toString('base64url')}`,
  ];
  // Inside a Basic credential, whatever the length of the user name (every byte alignment).
  for (const user of ['a', 'ab', 'abc', 'AC0123456789abcdef0123456789abcdef']) {
    out.push(`Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`);
    out.push(`Basic ${Buffer.from(`${user}:${secret}`).toString('base64url')}`);
  }
  return out;
}

describe('known secrets', () => {
  it('removes every form of a registered value, with few and with thousands of secrets registered', () => {
    for (const extra of [0, 3000]) {
      const s = createKnownSecrets();
      for (let i = 0; i < extra; i++) s.add(crypto.randomBytes(18).toString('base64url'));
      s.add(SECRET);
      for (const text of leakingTexts(SECRET)) {
        const out = s.redact(text);
        assert.notEqual(out, text, `${extra} extra: nothing removed from ${text}`);
        for (const form of [SECRET, encodeURIComponent(SECRET), Buffer.from(SECRET).toString('base64'), JSON.stringify(SECRET).slice(1, -1)]) {
          assert.ok(!out.includes(form), `${extra} extra: ${form} survived in ${out}`);
        }
        assert.match(out, /\[redacted\]/);
      }
    }
  });

  it('a stored "Bearer x" value is also removed as x; values shorter than the minimum are not searched for', () => {
    const s = createKnownSecrets();
    s.add('Bearer abcdefgh12345');
    s.add('short');
    assert.equal(s.redact('x abcdefgh12345 y'), 'x [redacted] y');
    assert.equal(s.redact('a short text'), 'a short text');
    assert.ok(MIN_SECRET_LENGTH >= 8);
  });

  it('returns the very same string when there is nothing to remove, and finds every planted one among thousands', () => {
    const s = createKnownSecrets();
    const values = Array.from({ length: 2000 }, () => crypto.randomBytes(24).toString('base64url'));
    for (const v of values) s.add(v);
    const clean = JSON.stringify({ level: 'info', requestId: 'req_0190a1b2c3d4', path: '/v1/chat/completions', status: 200, ms: 1.2 });
    assert.equal(s.redact(clean), clean);
    const planted = values.filter((_, i) => i % 97 === 0);
    const text = planted.map((v, i) => `field${i}=${v};`).join(' ');
    const out = s.redact(text);
    for (const v of planted) assert.ok(!out.includes(v), v);
    assert.equal((out.match(/\[redacted\]/g) ?? []).length, planted.length);
  });

  it('is bounded: the oldest values make room beyond 10,000', () => {
    const s = createKnownSecrets();
    for (let i = 0; i < 12_000; i++) s.add(`value-number-${i}-padding`);
    assert.equal(s.size, 10_000);
    assert.equal(s.redact('value-number-11999-padding'), '[redacted]');
    assert.equal(s.redact('value-number-0-padding'), 'value-number-0-padding');
  });

  it('addSealed registers a JSON credential by its values, not by the fields that only describe it', () => {
    const s = createKnownSecrets();
    s.addSealed(JSON.stringify({ type: 'header', name: 'X-Api-Key', value: 'hdr-credential-value-1' }));
    s.addSealed(JSON.stringify({ type: 'bearer', token: 'bearer-credential-value-2', nested: { refresh: 'refresh-credential-3' } }));
    assert.equal(s.redact('X-Api-Key: hdr-credential-value-1'), 'X-Api-Key: [redacted]');
    assert.equal(s.redact('bearer-credential-value-2 / refresh-credential-3'), '[redacted] / [redacted]');
  });

  it('secretVariants covers the three base64 alignments', () => {
    const v = secretVariants('0123456789abcdef');
    for (const prefix of ['', 'x', 'xy']) {
      const enc = Buffer.from(`${prefix}0123456789abcdef!`).toString('base64');
      assert.ok(v.some((n) => enc.includes(n)), `alignment ${prefix.length}`);
    }
  });
});

describe('the secret box registers what it seals and opens', () => {
  it('a credential sealed or opened is known at once; personal data is not', () => {
    const key = crypto.randomBytes(32);
    const secrets = createKnownSecrets();
    const box = createSecretBox(key, { secrets });
    const sealed = box.seal('sealed-credential-one', 'a|b|c|d');
    assert.equal(secrets.redact('x sealed-credential-one'), 'x [redacted]');
    // Another process (no registry entry yet) learns it when it opens the value.
    const fresh = createKnownSecrets();
    assert.equal(createSecretBox(key, { secrets: fresh }).open(sealed, 'a|b|c|d'), 'sealed-credential-one');
    assert.equal(fresh.redact('sealed-credential-one'), '[redacted]');
    // A kind nobody registered explicitly: covered by default.
    box.seal(JSON.stringify({ apiSecret: 'future-plugin-secret-9' }), 'plugin|secret|o|i');
    assert.equal(secrets.redact('future-plugin-secret-9'), '[redacted]');
    box.seal('+14155550123', 'whatsapp_customers|phone_sealed|o|i', { credential: false });
    assert.equal(secrets.redact('+14155550123'), '+14155550123');
  });
});

describe('the logger redacts every line', () => {
  it('in any field, in messages, stacks, child loggers and the access logger', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const secrets = createKnownSecrets();
    secrets.add('log-secret-value-123');
    const log = createLogger({ level: 'debug', destination: sink, secrets });
    log.info({ detail: 'got log-secret-value-123' }, 'plain field');
    log.warn({ nested: { deeper: ['log-secret-value-123'] } }, 'message log-secret-value-123');
    log.error({ err: { message: 'x', stack: 'Error: log-secret-value-123\n    at f (file.ts:1:1)' } }, 'stack');
    log.child({ requestId: 'r' }).debug({ v: encodeURIComponent('log-secret-value-123') }, 'child');
    createAccessLog(log)({ requestId: 'log-secret-value-123', method: 'GET', path: '/x', status: 200, ms: 1 });
    assert.equal(lines.length, 5);
    for (const line of lines) {
      assert.ok(!line.includes('log-secret-value-123'), line);
      assert.match(line, /\[redacted\]/);
    }
  });
});
