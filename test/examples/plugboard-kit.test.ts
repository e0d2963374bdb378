/**
 * The plugin kit's verifier (examples/delivery-plugin/plugboard-kit.ts): what it refuses and why,
 * and a table of cases on which it and the published `standardwebhooks` verifier must agree.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { PlugboardRequestError, verifyPlugboardRequest, type HeadersLike, type PlugboardRequestErrorCode } from '../../examples/delivery-plugin/plugboard-kit.ts';
import { createWebhookSigner, generateSigningSecret } from '../../src/net/standard-webhooks.ts';

const now = () => Math.floor(Date.now() / 1000);
const secret = generateSigningSecret();
const body = JSON.stringify({
  tool: 'lookup_delivery',
  input: { orderNumber: 'MAT-2026-0510-0041' },
  mode: 'sandbox',
  context: { organizationId: 'org_1', installationId: 'inst_1', instanceId: null, customerId: 'wcr_1', conversationId: null, requestId: 'req_1' },
  config: { api_key: 'ak_0123456789abcdef' },
  bridge: null,
  deadline: '2026-01-01T00:00:00Z',
});
const sign = (b = body, id = 'call_1', ts = now(), secrets: string | string[] = secret) => createWebhookSigner(secrets).headers(id, ts, b);

/** The kit's error code, or 'ok'. */
function kitVerdict(headers: HeadersLike, raw: string | Uint8Array, s: string | string[] = secret, nowSeconds?: number): PlugboardRequestErrorCode | 'ok' {
  try {
    verifyPlugboardRequest(s, headers, raw, nowSeconds === undefined ? {} : { nowSeconds: () => nowSeconds });
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof PlugboardRequestError, String(err));
    for (const leak of [...(typeof s === 'string' ? [s] : s)].map((x) => x.slice(6))) assert.ok(!err.message.includes(leak), 'the secret is not in the message');
    return err.code;
  }
}

describe('plugin kit: verifyPlugboardRequest', () => {
  it('returns the parsed call: tool, input, mode, every context field, config, bridge and the webhook id', () => {
    const call = verifyPlugboardRequest(secret, sign(body, 'call_ok', 1_767_225_600), Buffer.from(body), { nowSeconds: () => 1_767_225_650 });
    assert.equal(call.webhookId, 'call_ok');
    assert.equal(call.timestamp, 1_767_225_600);
    assert.equal(call.tool, 'lookup_delivery');
    assert.deepEqual(call.input, { orderNumber: 'MAT-2026-0510-0041' });
    assert.equal(call.mode, 'sandbox');
    assert.deepEqual(call.context, { organizationId: 'org_1', installationId: 'inst_1', instanceId: null, customerId: 'wcr_1', conversationId: null, requestId: 'req_1' });
    assert.deepEqual(call.config, { api_key: 'ak_0123456789abcdef' });
    assert.equal(call.bridge, null);
    assert.equal(call.body.deadline, '2026-01-01T00:00:00Z', 'fields newer than the kit are kept');
  });

  it('takes raw bytes or text, and Node header records or fetch Headers (any case)', () => {
    const h = sign();
    assert.equal(kitVerdict(h, body), 'ok');
    assert.equal(kitVerdict(h, new TextEncoder().encode(body)), 'ok');
    assert.equal(kitVerdict(new Headers(h), body), 'ok');
    assert.equal(kitVerdict({ 'Webhook-Id': h['webhook-id'], 'WEBHOOK-TIMESTAMP': h['webhook-timestamp'], 'webhook-signature': h['webhook-signature'] }, body), 'ok');
  });

  it('tolerance is 300 s both ways, in seconds', () => {
    const ts = 1_767_225_600;
    const h = sign(body, 'call_t', ts);
    assert.equal(kitVerdict(h, body, secret, ts + 300), 'ok');
    assert.equal(kitVerdict(h, body, secret, ts + 301), 'timestamp_too_old');
    assert.equal(kitVerdict(h, body, secret, ts - 300), 'ok');
    assert.equal(kitVerdict(h, body, secret, ts - 301), 'timestamp_too_new');
    assert.equal(kitVerdict({ ...h, 'webhook-timestamp': `${ts}000` }, body, secret, ts), 'timestamp_too_new', 'milliseconds are refused');
    assert.equal(kitVerdict({ ...h, 'webhook-timestamp': `${ts}abc` }, body, secret, ts), 'invalid_timestamp');
    assert.throws(() => verifyPlugboardRequest(secret, h, body, { nowSeconds: () => ts + 301, toleranceSeconds: 60 }), { code: 'timestamp_too_old' });
  });

  it('refuses altered bodies, wrong secrets, missing or repeated headers, and reports a bad secret as misconfiguration', () => {
    const h = sign();
    assert.equal(kitVerdict(h, body.replace('0041', '0042')), 'invalid_signature');
    assert.equal(kitVerdict(h, body, generateSigningSecret()), 'invalid_signature');
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _dropped, ...rest } = h;
      assert.equal(kitVerdict(rest, body), 'missing_headers', name);
    }
    assert.equal(kitVerdict({ ...h, 'webhook-signature': [h['webhook-signature'], h['webhook-signature']] }, body), 'missing_headers');
    const err = (() => { try { verifyPlugboardRequest('whsec_short', h, body); } catch (e) { return e; } })();
    assert.ok(err instanceof PlugboardRequestError);
    assert.deepEqual([err.code, err.status], ['invalid_secret', 500]);
    assert.equal(new PlugboardRequestError('invalid_signature', 'x').status, 401);
    assert.equal(new PlugboardRequestError('invalid_body', 'x').status, 400);
  });

  it('a signed body that is not a tool call is a 400, checked only after the signature', () => {
    const shapes = ['[]', '{"tool":"x"}', JSON.stringify({ ...JSON.parse(body), context: { organizationId: 'o' } }), JSON.stringify({ ...JSON.parse(body), config: 'x' }), JSON.stringify({ ...JSON.parse(body), bridge: 'x' })];
    for (const b of shapes) {
      assert.equal(kitVerdict(sign(b), b), 'invalid_body', b);
      assert.equal(kitVerdict(sign(b, 'call_1', now(), generateSigningSecret()), b), 'invalid_signature', 'unsigned garbage is never parsed');
    }
  });
});

describe('plugin kit and the standardwebhooks package agree', () => {
  const other = generateSigningSecret();
  const good = () => sign();
  const cases: Array<{ name: string; headers: () => Record<string, string>; payload?: string; verifyWith?: string; accept: boolean }> = [
    { name: 'a valid call', headers: good, accept: true },
    { name: 'another secret', headers: good, verifyWith: other, accept: false },
    { name: 'altered body', headers: good, payload: `${body} `, accept: false },
    { name: 'altered id', headers: () => ({ ...good(), 'webhook-id': 'call_2' }), accept: false },
    { name: 'altered timestamp', headers: () => { const h = good(); return { ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) - 1) }; }, accept: false },
    { name: '330 s old', headers: () => sign(body, 'call_1', now() - 330), accept: false },
    { name: '330 s ahead', headers: () => sign(body, 'call_1', now() + 330), accept: false },
    { name: '270 s old', headers: () => sign(body, 'call_1', now() - 270), accept: true },
    { name: '270 s ahead', headers: () => sign(body, 'call_1', now() + 270), accept: true },
    { name: 'rotation: two signatures, one ours', headers: () => sign(body, 'call_1', now(), [other, secret]), accept: true },
    { name: 'two signatures, neither ours', headers: () => sign(body, 'call_1', now(), [other, generateSigningSecret()]), accept: false },
    { name: 'a v1a entry before our v1 entry', headers: () => { const h = good(); return { ...h, 'webhook-signature': `v1a,${'A'.repeat(86)}== ${h['webhook-signature']}` }; }, accept: true },
    { name: 'signature without the v1, prefix', headers: () => { const h = good(); return { ...h, 'webhook-signature': h['webhook-signature'].slice(3) }; }, accept: false },
    { name: 'signature under v2', headers: () => { const h = good(); return { ...h, 'webhook-signature': h['webhook-signature'].replace('v1,', 'v2,') }; }, accept: false },
    { name: 'signature with trailing garbage', headers: () => { const h = good(); return { ...h, 'webhook-signature': `${h['webhook-signature']}!!` }; }, accept: false },
    { name: 'signature padding removed', headers: () => { const h = good(); return { ...h, 'webhook-signature': h['webhook-signature'].replace(/=+$/, '') }; }, accept: false },
    { name: 'empty signature header', headers: () => ({ ...good(), 'webhook-signature': '' }), accept: false },
    { name: 'no webhook-id', headers: () => { const { 'webhook-id': _id, ...rest } = good(); return rest; }, accept: false },
    { name: 'no webhook-timestamp', headers: () => { const { 'webhook-timestamp': _ts, ...rest } = good(); return rest; }, accept: false },
    { name: 'non-numeric timestamp', headers: () => ({ ...good(), 'webhook-timestamp': 'yesterday' }), accept: false },
    { name: 'header names in capitals', headers: () => Object.fromEntries(Object.entries(good()).map(([k, v]) => [k.toUpperCase(), v])), accept: true },
  ];
  for (const c of cases) {
    it(`${c.accept ? 'both accept' : 'both refuse'}: ${c.name}`, () => {
      const headers = c.headers();
      const payload = c.payload ?? body;
      const key = c.verifyWith ?? secret;
      const kit = kitVerdict(headers, payload, key) === 'ok';
      let library = true;
      try {
        new StandardWebhook(key).verify(payload, headers);
      } catch {
        library = false;
      }
      assert.deepEqual({ kit, library }, { kit: c.accept, library: c.accept });
    });
  }
});
