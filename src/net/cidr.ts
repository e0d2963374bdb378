/**
 * Parsing of the CIDRs an operator allowlists (PLUGBOARD_MCP_ALLOWED_NETWORKS) and of the IPv4
 * address an IPv6 address carries inside it (IPv4-compatible, SIIT, NAT64, 6to4).
 *
 * The configuration validates the allowlist with `parseCidr` and the SSRF guard matches with the
 * same function, so a value that starts the server can never fail later. Nothing here resolves
 * names or touches the network.
 */
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;
export type ParsedCidr = [IpAddress, number];

/** A CIDR that is not one; the message names the value and what is wrong with it. */
export class CidrError extends Error {
  override name = 'CidrError';
}

/**
 * `10.0.0.0/8` or `fd00::/8` → [network, prefix length]. IPv4-mapped IPv6 networks
 * (`::ffff:10.0.0.0/104`) become their IPv4 form, since addresses are unwrapped the same way before
 * matching. Throws a CidrError for anything else, including a prefix length past 32 (IPv4) or 128 (IPv6).
 */
export function parseCidr(text: string): ParsedCidr {
  const value = text.trim();
  const slash = value.indexOf('/');
  if (slash < 0) throw new CidrError(`${JSON.stringify(value)} is not a CIDR like 10.0.0.0/8 (no /prefix length)`);
  const addrText = value.slice(0, slash);
  const bitsText = value.slice(slash + 1);
  let addr: IpAddress;
  try {
    // Dotted quads only: ipaddr also reads `10` or `0x0a.0` as IPv4, which no operator means.
    if (!addrText.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addrText)) throw new Error('not a dotted quad');
    addr = ipaddr.parse(addrText);
  } catch {
    throw new CidrError(`${JSON.stringify(value)} is not a CIDR like 10.0.0.0/8 (${JSON.stringify(addrText)} is not an IP address)`);
  }
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) {
    throw new CidrError(`${JSON.stringify(value)} is not a CIDR like 10.0.0.0/8 (the prefix length must be a whole number from 0 to ${max} for ${addr.kind() === 'ipv4' ? 'IPv4' : 'IPv6'})`);
  }
  const bits = Number(bitsText);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [addr, bits];
}

/** Where an IPv6 address carries an IPv4 one, and whether that IPv4 can be read from it. */
export type Embedded =
  | { form: string; ipv4: ipaddr.IPv4 }
  | { form: string; ipv4: null; why: string };

const v4At = (bytes: number[], offset: number): ipaddr.IPv4 => new ipaddr.IPv4(bytes.slice(offset, offset + 4));

/**
 * The IPv4 address an IPv6 address stands for, by the forms that route to it: IPv4-compatible
 * (`::a.b.c.d`, RFC 4291, deprecated), IPv4-translated (`::ffff:0:a.b.c.d`, RFC 6145), NAT64's
 * well-known prefix (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002:aabb:ccdd::/48`, RFC 3056).
 * NAT64's local-use prefix (`64:ff9b:1::/48`, RFC 8215) and Teredo (`2001::/32`, client address
 * obfuscated, server elsewhere) carry an IPv4 address that cannot be read reliably: `ipv4: null`.
 * IPv4-mapped (`::ffff:a.b.c.d`) is not listed: ipaddr's `process()` already unwraps it.
 * Null when the address embeds nothing.
 */
export function embeddedIPv4(addr: ipaddr.IPv6): Embedded | null {
  const b = addr.toByteArray();
  const zeros = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 12)) {
    // :: and ::1 are the unspecified and loopback addresses, judged as such.
    if (zeros(12, 15) && b[15] <= 1) return null;
    return { form: 'IPv4-compatible IPv6', ipv4: v4At(b, 12) };
  }
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) return { form: 'IPv4-translated IPv6', ipv4: v4At(b, 12) };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zeros(4, 12)) return { form: 'NAT64', ipv4: v4At(b, 12) };
    if (b[4] === 0x00 && b[5] === 0x01) return { form: 'NAT64 local-use prefix', ipv4: null, why: 'where it embeds an IPv4 address depends on the local network' };
  }
  if (b[0] === 0x20 && b[1] === 0x02) return { form: '6to4', ipv4: v4At(b, 2) };
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return { form: 'Teredo', ipv4: null, why: 'a tunnel whose endpoints cannot be checked' };
  return null;
}
