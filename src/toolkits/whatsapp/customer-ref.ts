/**
 * Privacy for WhatsApp customers: a keyed, stable, opaque customer id and masked phone numbers.
 *
 * Plugins, logs and usage events see `customerRef` (HMAC-SHA256 under an appliance key, scoped by
 * organisation) instead of the phone number, and people see `maskPhone()` output. The raw number is
 * only kept sealed (SecretBox) because replies need it. This module must never log, return or
 * embed a raw number in a ref, and must never use an unkeyed hash (phone numbers are
 * enumerable, so a plain SHA-256 would be reversible by brute force).
 */
import crypto from 'node:crypto';

/** E.164: '+', a non-zero country digit, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{1,14}$/;
const WHATSAPP_PREFIX = 'whatsapp:';
const REF_PREFIX = 'wcr_';
/** Domain separation for the HKDF-derived key, so the master key is never used for two purposes. */
const REF_KEY_INFO = 'plugboard/whatsapp-customer-ref/v1';

/** True for a bare E.164 number such as `+14155550123`. */
export function isE164(value: string): boolean {
  return E164.test(value);
}

/**
 * Turns a Twilio address (`whatsapp:+14155550123`) or a bare number into E.164, or returns null
 * when it is neither. Other channel prefixes are refused: this channel only speaks WhatsApp.
 */
export function toE164(address: string): string | null {
  const v = address.trim();
  const bare = v.startsWith(WHATSAPP_PREFIX) ? v.slice(WHATSAPP_PREFIX.length) : v;
  return E164.test(bare) ? bare : null;
}

/** The Twilio channel address of an E.164 number: `whatsapp:+14155550123`. */
export function toWhatsAppAddress(e164: string): string {
  if (!E164.test(e164)) throw new TypeError('Not an E.164 phone number.');
  return WHATSAPP_PREFIX + e164;
}

/**
 * Derives the 32-byte key for customer refs from the appliance master key (HKDF-SHA256), so the
 * composition root needs no second secret. Rotating the master key changes every ref.
 */
export function deriveCustomerRefKey(masterKey: Buffer): Buffer {
  if (masterKey.length < 32) throw new RangeError('The master key must be at least 32 bytes.');
  return Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), REF_KEY_INFO, 32));
}

/**
 * Stable opaque id of one customer within one organisation: `wcr_` + base64url(HMAC-SHA256(key,
 * orgId NUL e164)) truncated to 128 bits. The same number gets different refs in different
 * organisations, so refs cannot be joined across tenants. Accepts `whatsapp:+…` or bare E.164.
 */
export function customerRef(key: Buffer | string, orgId: string, phone: string): string {
  const e164 = toE164(phone);
  if (e164 === null) throw new TypeError('customerRef needs an E.164 phone number.');
  if (!orgId) throw new TypeError('customerRef needs an organisation id.');
  if ((typeof key === 'string' ? Buffer.byteLength(key) : key.length) < 16) {
    throw new RangeError('The customer-ref key must be at least 16 bytes.');
  }
  // NUL separates the fields, so ('ab', '+1…') and ('a', 'b+1…') cannot collide.
  const mac = crypto.createHmac('sha256', key).update(`${orgId}\u0000${e164}`, 'utf8').digest();
  return REF_PREFIX + mac.subarray(0, 16).toString('base64url');
}

/**
 * Masks a phone number for logs and screens: country code and area (first 4 digits after '+')
 * and the last 4 digits stay, the middle becomes bullets: `+14155550123` → `+1415•••0123`.
 * Short or malformed input is masked completely rather than shown.
 */
export function maskPhone(phone: string): string {
  const e164 = toE164(phone);
  if (e164 === null) return '•••';
  const digits = e164.slice(1);
  if (digits.length < 9) return `+${digits.slice(0, 2)}•••${digits.slice(-2)}`;
  return `+${digits.slice(0, 4)}•••${digits.slice(-4)}`;
}

/**
 * Replaces every phone-number-looking run (7–15 digits, optional '+' and `whatsapp:` prefix) in
 * free text with its masked form. For error texts from Twilio, which quote numbers.
 */
export function maskPhonesIn(text: string): string {
  return text.replace(/(?:whatsapp:)?\+?\d[\d\s().-]{5,18}\d/g, (m) => {
    const digits = m.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) return m;
    return maskPhone('+' + digits);
  });
}
