/**
 * Customer privacy helpers: keyed, per-organisation customer refs and masked phone numbers.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import {
  customerRef, deriveCustomerRefKey, maskPhone, maskPhonesIn, toE164, toWhatsAppAddress,
} from '../../src/toolkits/whatsapp/customer-ref.ts';

const key = crypto.randomBytes(32);

describe('customerRef', () => {
  it('is stable, opaque, and the same for whatsapp:+… and bare E.164', () => {
    const a = customerRef(key, 'org_a', '+14155550123');
    assert.equal(customerRef(key, 'org_a', 'whatsapp:+14155550123'), a);
    assert.match(a, /^wcr_[A-Za-z0-9_-]{22}$/);
    assert.doesNotMatch(a, /4155550123|0123/);
  });

  it('differs per organisation, per key and per number', () => {
    const a = customerRef(key, 'org_a', '+14155550123');
    assert.notEqual(customerRef(key, 'org_b', '+14155550123'), a);
    assert.notEqual(customerRef(crypto.randomBytes(32), 'org_a', '+14155550123'), a);
    assert.notEqual(customerRef(key, 'org_a', '+14155550124'), a);
    // The field separator prevents ('org_a1', '+4…') from colliding with ('org_a', '+14…').
    assert.notEqual(customerRef(key, 'org_a1', '+4155550123'), a);
  });

  it('refuses non-E.164 input, a missing org and a short key', () => {
    assert.throws(() => customerRef(key, 'org_a', '4155550123'), TypeError);
    assert.throws(() => customerRef(key, 'org_a', 'sms:+14155550123'), TypeError);
    assert.throws(() => customerRef(key, '', '+14155550123'), TypeError);
    assert.throws(() => customerRef(Buffer.alloc(8), 'org_a', '+14155550123'), RangeError);
  });

  it('derives its key from the master key with HKDF (deterministic, not the master key)', () => {
    const master = crypto.randomBytes(32);
    const k = deriveCustomerRefKey(master);
    assert.equal(k.length, 32);
    assert.deepEqual(deriveCustomerRefKey(master), k);
    assert.notDeepEqual(k, master);
    assert.throws(() => deriveCustomerRefKey(Buffer.alloc(16)), RangeError);
  });
});

describe('phone helpers', () => {
  it('masks numbers for logs', () => {
    assert.equal(maskPhone('+14155550123'), '+1415•••0123');
    assert.equal(maskPhone('whatsapp:+447911123456'), '+4479•••3456');
    assert.equal(maskPhone('+3312345'), '+33•••45');
    assert.equal(maskPhone('not a number'), '•••');
  });

  it('masks every number inside free text, leaving error codes alone', () => {
    const out = maskPhonesIn("The 'To' number whatsapp:+14155550123 is not valid (21211); from +44 7911 123456.");
    assert.equal(out, "The 'To' number +1415•••0123 is not valid (21211); from +4479•••3456.");
  });

  it('converts between Twilio addresses and E.164', () => {
    assert.equal(toE164('whatsapp:+14155550123'), '+14155550123');
    assert.equal(toE164('+14155550123'), '+14155550123');
    assert.equal(toE164('whatsapp:14155550123'), null);
    assert.equal(toE164('messenger:+14155550123'), null);
    assert.equal(toWhatsAppAddress('+14155550123'), 'whatsapp:+14155550123');
    assert.throws(() => toWhatsAppAddress('whatsapp:+1'), TypeError);
  });
});
