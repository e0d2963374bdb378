/**
 * Credentials recognised by their shape, for text a caller chose and Plugboard writes down (a
 * request path in the access log, a path or user agent in the audit log): Plugboard's own gateway
 * keys and control/operator tokens — stored hashed, so the known-secrets redactor never holds them —
 * and common provider key prefixes. Cheap: one regular expression, tested before any replacement.
 */
const SHAPES = /(?:pb_live_|pbc_|pbo_|sk-|sk_live_|sk_test_|rk_live_|whsec_)[A-Za-z0-9_\-%]{6,}/g;
const ANY = /pb_live_|pbc_|pbo_|sk-|sk_live_|sk_test_|rk_live_|whsec_/;

export function scrubCredentialShapes(text: string): string {
  return ANY.test(text) ? text.replace(SHAPES, '[redacted]') : text;
}

/**
 * Whether a whole caller-chosen id (an `x-request-id`) carries a credential: one of the shapes
 * above starting the text or after a character that is not a letter or digit, so ordinary ids
 * such as `task-1234567` are not taken for an `sk-` key (review: such an id is echoed, logged,
 * stored on usage rows members read and sent on the live stream).
 */
const BOUNDED = /(?:^|[^A-Za-z0-9])(?:pb_live_|pbc_|pbo_|sk-|sk_live_|sk_test_|rk_live_|whsec_)[A-Za-z0-9_\-%]{6,}/;

export function looksLikeCredential(text: string): boolean {
  return ANY.test(text) && BOUNDED.test(text);
}
