/**
 * Our Standard Webhooks signatures, checked by the published verifiers: `standardwebhooks` (the
 * reference JS library of the spec) and `svix` (its commercial sibling), through their real
 * `Webhook.verify` APIs. Those read the system clock, so timestamps here are relative to now.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook as StandardWebhook, WebhookVerificationError } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { createWebhookSigner, decodeSigningSecret, generateSigningSecret, webhookHeaders, type WebhookHeaders } from '../../src/net/standard-webhooks.ts';

const now = () => Math.floor(Date.now() / 1000);
const body = JSON.stringify({ tool: 'lookup_delivery', input: { orderNumber: 'MAT-2026-0510-0041', note: 'café ✓' }, mode: 'live' });

/** Both published verifiers' verdicts on one request: 'ok' or the error's message. */
function verdicts(secret: string, headers: WebhookHeaders, payload: string | Buffer): { standardwebhooks: string; svix: string } {
  const run = (fn: () => unknown): string => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof WebhookVerificationError, `unexpected ${String(err)}`);
      return err.message;
    }
  };
  return {
    standardwebhooks: run(() => new StandardWebhook(secret).verify(payload, { ...headers })),
    svix: run(() => new SvixWebhook(secret).verify(payload, { ...headers })),
  };
}

describe('Standard Webhooks signing (producer side)', () => {
  it('generates whsec_ secrets of 32 random bytes, different every time', () => {
    const a = generateSigningSecret();
    const b = generateSigningSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(decodeSigningSecret(a).length, 32);
    assert.notEqual(a, b);
  });

  it('produces the three headers, and both standardwebhooks and svix verify them (text and raw bytes)', () => {
    const secret = generateSigningSecret();
    const ts = now();
    const headers = webhookHeaders({ id: 'call_01JABCDEF', timestampSeconds: ts, body, secrets: secret });
    assert.deepEqual(Object.keys(headers).sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    assert.equal(headers['webhook-id'], 'call_01JABCDEF');
    assert.equal(headers['webhook-timestamp'], String(ts));
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(verdicts(secret, headers, body), { standardwebhooks: 'ok', svix: 'ok' });
    assert.deepEqual(verdicts(secret, headers, Buffer.from(body)), { standardwebhooks: 'ok', svix: 'ok' });
    assert.deepEqual(new StandardWebhook(secret).verify(body, { ...headers }), JSON.parse(body));
    // svix also accepts its branded header names for the same signature.
    assert.doesNotThrow(() => new SvixWebhook(secret).verify(body, { 'svix-id': headers['webhook-id'], 'svix-timestamp': headers['webhook-timestamp'], 'svix-signature': headers['webhook-signature'] }));
  });

  it('signs the bytes it is given: a Uint8Array body and its UTF-8 text sign alike, and match the library\'s own sign()', () => {
    const secret = generateSigningSecret();
    const ts = now();
    const signer = createWebhookSigner(secret);
    const fromText = signer.sign('msg_1', ts, body);
    assert.equal(signer.sign('msg_1', ts, new TextEncoder().encode(body)), fromText);
    assert.equal(fromText, new StandardWebhook(secret).sign('msg_1', new Date(ts * 1000), body));
  });

  it('rotation: signed with two secrets, the header carries two v1 entries and a receiver holding either one verifies', () => {
    const [oldSecret, newSecret, otherSecret] = [generateSigningSecret(), generateSigningSecret(), generateSigningSecret()];
    const headers = createWebhookSigner([newSecret, oldSecret]).headers('call_rot', now(), body);
    const entries = headers['webhook-signature'].split(' ');
    assert.equal(entries.length, 2);
    for (const e of entries) assert.match(e, /^v1,/);
    assert.deepEqual(verdicts(oldSecret, headers, body), { standardwebhooks: 'ok', svix: 'ok' });
    assert.deepEqual(verdicts(newSecret, headers, body), { standardwebhooks: 'ok', svix: 'ok' });
    const other = verdicts(otherSecret, headers, body);
    assert.equal(other.standardwebhooks, 'No matching signature found');
    assert.equal(other.svix, 'No matching signature found');
  });

  it('a wrong secret, an altered body, id or timestamp are refused by both verifiers', () => {
    const secret = generateSigningSecret();
    const ts = now();
    const headers = webhookHeaders({ id: 'call_x', timestampSeconds: ts, body, secrets: secret });
    const refused = { standardwebhooks: 'No matching signature found', svix: 'No matching signature found' };
    assert.deepEqual(verdicts(generateSigningSecret(), headers, body), refused);
    assert.deepEqual(verdicts(secret, headers, body.replace('0041', '0042')), refused);
    assert.deepEqual(verdicts(secret, headers, `${body} `), refused);
    assert.deepEqual(verdicts(secret, { ...headers, 'webhook-id': 'call_y' }, body), refused);
    assert.deepEqual(verdicts(secret, { ...headers, 'webhook-timestamp': String(ts - 1) }, body), refused);
  });

  it('timestamps more than 5 minutes old or ahead are refused; within 5 minutes they verify', () => {
    const secret = generateSigningSecret();
    const at = (offset: number) => webhookHeaders({ id: 'call_t', timestampSeconds: now() + offset, body, secrets: secret });
    assert.deepEqual(verdicts(secret, at(-330), body), { standardwebhooks: 'Message timestamp too old', svix: 'Message timestamp too old' });
    assert.deepEqual(verdicts(secret, at(330), body), { standardwebhooks: 'Message timestamp too new', svix: 'Message timestamp too new' });
    assert.deepEqual(verdicts(secret, at(-270), body), { standardwebhooks: 'ok', svix: 'ok' });
    assert.deepEqual(verdicts(secret, at(270), body), { standardwebhooks: 'ok', svix: 'ok' });
  });

  it('refuses what it cannot sign correctly, without echoing the secret', () => {
    const secret = generateSigningSecret();
    const signer = createWebhookSigner(secret);
    assert.throws(() => signer.sign('call.1', now(), body), /without "\."/);
    assert.throws(() => signer.sign('', now(), body), TypeError);
    assert.throws(() => signer.sign('call_1', Date.now(), body), /not milliseconds/);
    assert.throws(() => signer.sign('call_1', 1.5, body), TypeError);
    const short = `whsec_${Buffer.alloc(16, 7).toString('base64')}`;
    for (const bad of ['whsec_not base64!', short, 'whsec_', '']) {
      assert.throws(() => createWebhookSigner(bad), (err: Error) => err instanceof TypeError && !(bad.length > 8 && err.message.includes(bad.slice(6))));
    }
    assert.throws(() => createWebhookSigner([]), TypeError);
    assert.throws(() => createWebhookSigner([1, 2, 3, 4, 5].map(() => generateSigningSecret())), TypeError);
    // The same secret twice signs once.
    assert.equal(createWebhookSigner([secret, secret]).sign('a', 1, 'b').split(' ').length, 1);
  });
});
