/**
 * X-Twilio-Signature through the SDK: raw form parsing that keeps keys flat, valid and forged
 * signatures, repeated keys, ports and query strings as the SDK treats them.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { computeTwilioSignature, parseTwilioForm, validateTwilioSignature } from '../../src/toolkits/whatsapp/twilio.ts';
import { deliverTwilioWebhook, inboundParams, statusParams } from '../fakes/twilio-webhooks.ts';

const TOKEN = '12345678901234567890123456789012';
const URL_ = 'https://plugboard.example.com/webhooks/twilio/whatsapp/6f1c2d3e-inst';

/** A WhatsApp inbound webhook body as Twilio sends it (two media items, emoji, newline). */
function inboundBody(): string {
  return new URLSearchParams([
    ['SmsMessageSid', 'SM0123456789abcdef0123456789abcdef'],
    ['NumMedia', '2'],
    ['ProfileName', 'Ana María'],
    ['MessageType', 'image'],
    ['SmsSid', 'SM0123456789abcdef0123456789abcdef'],
    ['WaId', '14155550123'],
    ['SmsStatus', 'received'],
    ['Body', 'Hola 👋\nsee photos & price: 10+5'],
    ['To', 'whatsapp:+14155550100'],
    ['MediaContentType0', 'image/jpeg'],
    ['MediaUrl0', 'https://api.twilio.com/2010-04-01/Accounts/ACx/Messages/MMx/Media/ME0'],
    ['MediaContentType1', 'image/png'],
    ['MediaUrl1', 'https://api.twilio.com/2010-04-01/Accounts/ACx/Messages/MMx/Media/ME1'],
    ['NumSegments', '1'],
    ['MessageSid', 'SM0123456789abcdef0123456789abcdef'],
    ['AccountSid', 'AC0123456789abcdef0123456789abcdef'],
    ['From', 'whatsapp:+14155550123'],
    ['ApiVersion', '2010-04-01'],
  ]).toString();
}

describe('parseTwilioForm', () => {
  it('decodes form encoding and keeps keys flat', () => {
    const p = parseTwilioForm('Body=10%2B5+apples&a%5Bb%5D=1&Empty=&MediaUrl0=https%3A%2F%2Fx.test%2F1');
    assert.deepEqual({ ...p }, { Body: '10+5 apples', 'a[b]': '1', Empty: '', MediaUrl0: 'https://x.test/1' });
  });

  it('turns repeated keys into arrays in arrival order', () => {
    const p = parseTwilioForm('Foo=1&Bar=x&Foo=2&Foo=3');
    assert.deepEqual(p.Foo, ['1', '2', '3']);
    assert.equal(p.Bar, 'x');
  });

  it('treats __proto__ and constructor as plain keys', () => {
    const p = parseTwilioForm('__proto__=x&constructor=y&toString=z');
    assert.equal(Object.getPrototypeOf(p), null);
    assert.deepEqual(Object.keys(p), ['__proto__', 'constructor', 'toString']);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('returns an empty object for an empty body', () => {
    assert.deepEqual(Object.keys(parseTwilioForm('')), []);
  });
});

describe('validateTwilioSignature', () => {
  it('accepts a signature computed by the SDK over the parsed raw body', () => {
    const params = parseTwilioForm(inboundBody());
    const signature = computeTwilioSignature(TOKEN, URL_, params);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature, url: URL_, params }), true);
  });

  it('rejects a forged signature, another token, a tampered param, an extra param', () => {
    const params = parseTwilioForm(inboundBody());
    const signature = computeTwilioSignature(TOKEN, URL_, params);
    const v = (over: Partial<Parameters<typeof validateTwilioSignature>[0]>) =>
      validateTwilioSignature({ authToken: TOKEN, signature, url: URL_, params, ...over });
    assert.equal(v({ signature: signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }), false);
    assert.equal(v({ signature: computeTwilioSignature('another-token-another-token-12345', URL_, params) }), false);
    assert.equal(v({ params: { ...params, Body: 'Hola 👋\nsee photos & price: 10+6' } }), false);
    assert.equal(v({ params: { ...params, Extra: '1' } }), false);
    assert.equal(v({ url: URL_.replace('6f1c2d3e-inst', 'other-inst') }), false, 'signed for another instance');
  });

  it('treats a missing or empty signature, empty token or malformed URL as invalid (no throw)', () => {
    const params = parseTwilioForm(inboundBody());
    const signature = computeTwilioSignature(TOKEN, URL_, params);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: undefined, url: URL_, params }), false);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: '', url: URL_, params }), false);
    assert.equal(validateTwilioSignature({ authToken: '', signature, url: URL_, params }), false);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature, url: 'not a url', params }), false);
  });

  it('signs repeated keys as Twilio does: values deduped and sorted, so order does not matter', () => {
    const params = parseTwilioForm('MediaUrl=https%3A%2F%2Fx.test%2Fb&MediaUrl=https%3A%2F%2Fx.test%2Fa&To=x');
    const signature = computeTwilioSignature(TOKEN, URL_, params);
    const reordered = parseTwilioForm('To=x&MediaUrl=https%3A%2F%2Fx.test%2Fa&MediaUrl=https%3A%2F%2Fx.test%2Fb');
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature, url: URL_, params: reordered }), true);
    // qs-style nesting ({MediaUrl: {0: …}}) or the first value only would not verify.
    const firstOnly = { ...params, MediaUrl: 'https://x.test/b' };
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature, url: URL_, params: firstOnly }), false);
  });

  it('follows the SDK on ports: the default port may be added or left out, other ports must match', () => {
    const params = { MessageSid: 'SM1', Body: 'hi' };
    const sigNoPort = computeTwilioSignature(TOKEN, 'https://h.example.com/wh?x=1', params);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: sigNoPort, url: 'https://h.example.com:443/wh?x=1', params }), true);
    const sigWithPort = computeTwilioSignature(TOKEN, 'https://h.example.com:443/wh?x=1', params);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: sigWithPort, url: 'https://h.example.com/wh?x=1', params }), true);
    const sigHttp = computeTwilioSignature(TOKEN, 'http://h.example.com:80/wh', params);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: sigHttp, url: 'http://h.example.com/wh', params }), true);
    const sig8443 = computeTwilioSignature(TOKEN, 'https://h.example.com:8443/wh', params);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: sig8443, url: 'https://h.example.com:8443/wh', params }), true);
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: sig8443, url: 'https://h.example.com/wh', params }), false);
    // The query string is part of what Twilio signs.
    assert.equal(validateTwilioSignature({ authToken: TOKEN, signature: sigNoPort, url: 'https://h.example.com/wh?x=2', params }), false);
  });
});

describe('the test-side webhook sender (test/fakes/twilio-webhooks.ts)', () => {
  it('signs what it posts so that parseTwilioForm + validateTwilioSignature accept it, over the public URL', async () => {
    const seen: Array<{ ok: boolean; params: Record<string, unknown> }> = [];
    const server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const params = parseTwilioForm(raw);
        const signature = req.headers['x-twilio-signature'] as string | undefined;
        const ok = validateTwilioSignature({ authToken: TOKEN, signature, url: 'https://public.example.com' + req.url, params });
        seen.push({ ok, params: { ...params } });
        res.writeHead(ok ? 200 : 403, { 'content-type': 'text/xml' }).end('<Response/>');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const params = inboundParams({
        accountSid: 'AC' + '0'.repeat(32), from: 'whatsapp:+14155550123', to: 'whatsapp:+14155550100', body: 'Hi & bye 👋',
        media: [{ url: 'https://x.test/a', contentType: 'image/png' }],
      });
      const signedUrl = 'https://public.example.com/webhooks/twilio/whatsapp/i1';
      const ok = await deliverTwilioWebhook({ url: `http://127.0.0.1:${port}/webhooks/twilio/whatsapp/i1`, signedUrl, authToken: TOKEN, params });
      assert.deepEqual([ok.status, ok.text], [200, '<Response/>']);
      assert.equal(seen[0].params.MediaUrl0, 'https://x.test/a');
      assert.equal(seen[0].params.Body, 'Hi & bye 👋');
      const forged = await deliverTwilioWebhook({ url: `http://127.0.0.1:${port}/x`, authToken: TOKEN, params, signature: 'AAAA' });
      assert.equal(forged.status, 403);
      const status = statusParams({ accountSid: 'AC' + '0'.repeat(32), messageSid: 'SM1', status: 'delivered', from: 'a', to: 'b', errorCode: 0 });
      const cb = await deliverTwilioWebhook({ url: `http://127.0.0.1:${port}/s`, signedUrl: 'https://public.example.com/s', authToken: TOKEN, params: status });
      assert.equal(cb.status, 200);
      assert.equal(seen[2].params.MessageStatus, 'delivered');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
