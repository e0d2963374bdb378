/**
 * SSRF guard for every outbound request to an owner-supplied URL (MCP servers, later HTTP plugins).
 *
 * Public unicast addresses are allowed; loopback, private, CGNAT and unique-local ranges only when
 * an owner allowlisted them (PLUGBOARD_MCP_ALLOWED_NETWORKS); link-local, cloud metadata,
 * multicast, broadcast, unspecified and reserved ranges never. An IPv6 address that routes to an
 * IPv4 one (IPv4-compatible, NAT64, 6to4, …) is judged as that IPv4 address, or refused when it cannot
 * be read (NAT64 local-use, Teredo). The guarded fetch checks addresses
 * at connect time (DNS rebinding) and refuses redirects. This module must never follow a redirect,
 * connect to an address it has not checked, or put anything but the given URL's host in an error.
 */
import dns from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher } from 'undici';
import { embeddedIPv4, parseCidr, type ParsedCidr } from './cidr.ts';

/** A `fetch` as the MCP SDK transports take it. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** One guarded HTTP request on undici's request API: no fetch layers, no web streams, never a redirect followed. */
export interface GuardedRequestOptions {
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}
export type GuardedRequest = (url: URL, opts: GuardedRequestOptions) => Promise<Dispatcher.ResponseData>;

/** The guarded fetch, with the same guard's request function beside it (same agent, same checks). */
export type GuardedFetch = FetchLike & { request: GuardedRequest };

/** Resolves a host name to every address (tests inject one; the default is `dns.lookup` with `all`). */
export type Resolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/** A refused destination; the message is safe to show to an organisation owner. */
export class SsrfError extends Error {
  override name = 'SsrfError';
}

/** Where requests may go besides public addresses. */
export interface NetworkPolicy {
  /** CIDRs (e.g. `127.0.0.0/8`) where otherwise refused private ranges are allowed. */
  allowedNetworks: readonly string[];
  /**
   * The appliance's own listening ports: never reached on this machine (loopback, unspecified or one
   * of its interfaces' addresses), whatever the allowlist says, so an endpoint cannot point the
   * gateway at itself.
   */
  selfPorts?: readonly number[];
}

export interface GuardOptions {
  /** Injected resolver (tests); default `dns.lookup(host, { all: true })`. */
  resolve?: Resolver;
  /** What the URL is, for messages; default `MCP endpoint`. */
  label?: string;
  /** TCP/TLS connect timeout of the guarded fetch; default 10 s. */
  connectTimeoutMs?: number;
}

/** Refused even when an allowlist covers them. */
const METADATA_ADDRESSES = ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '169.254.170.2'].map((a) => ipaddr.parse(a).toNormalizedString());
/** Cloud metadata host names, refused by name before any DNS lookup (suffixes match too). */
const METADATA_HOSTNAMES = ['metadata.google.internal', 'metadata.goog', 'metadata', 'metadata.azure.com', 'metadata.azure.internal', 'instance-data', 'instance-data.ec2.internal', 'metadata.tencentyun.com', 'metadata.oraclecloud.com'];
/** Ranges an owner may open with the allowlist; every other non-`unicast` range stays closed. */
const ALLOWLISTABLE: Record<string, string> = {
  loopback: 'loopback',
  private: 'private network',
  carrierGradeNat: 'carrier-grade NAT',
  uniqueLocal: 'unique-local IPv6',
};
const ALWAYS_REFUSED: Record<string, string> = {
  linkLocal: 'link-local / cloud metadata',
  unspecified: 'unspecified address',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved range',
};

const cidrCache = new Map<string, ParsedCidr>();

/** The allowlist's parser is the configuration's (src/net/cidr.ts): a value that passed start-up parses here too. */
function cachedCidr(cidr: string): ParsedCidr {
  let parsed = cidrCache.get(cidr);
  if (!parsed) {
    try {
      parsed = parseCidr(cidr);
    } catch (err) {
      throw new Error(`Allowed network ${(err as Error).message}`);
    }
    cidrCache.set(cidr, parsed);
  }
  return parsed;
}

function isAllowlisted(addr: ipaddr.IPv4 | ipaddr.IPv6, policy: NetworkPolicy): boolean {
  for (const cidr of policy.allowedNetworks) {
    const [net, bits] = cachedCidr(cidr);
    if (net.kind() === addr.kind() && addr.match(net as never, bits)) return true;
  }
  return false;
}

/**
 * Checks one IP address against the policy. IPv4-mapped IPv6 is unwrapped first; an IPv6 address
 * that routes to an IPv4 one (IPv4-compatible, IPv4-translated, NAT64, 6to4) is judged as that
 * IPv4 address, and one whose IPv4 cannot be read (NAT64 local-use, Teredo) is refused; metadata,
 * link-local and other special ranges are refused whatever the allowlist says.
 */
export function checkAddress(ip: string, policy: NetworkPolicy): { ok: true } | { ok: false; reason: string } {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(stripBrackets(ip).replace(/%.*$/, ''));
  } catch {
    return { ok: false, reason: 'not an IP address' };
  }
  if (METADATA_ADDRESSES.includes(addr.toNormalizedString())) return { ok: false, reason: 'link-local / cloud metadata' };
  if (addr.kind() === 'ipv6') {
    const embedded = embeddedIPv4(addr as ipaddr.IPv6);
    if (embedded && !embedded.ipv4) return { ok: false, reason: `${embedded.form}: ${embedded.why}` };
    if (embedded?.ipv4) {
      const inner = checkAddress(embedded.ipv4.toString(), policy);
      return inner.ok ? inner : { ok: false, reason: `${embedded.form} of ${embedded.ipv4.toString()}: ${inner.reason}` };
    }
  }
  const range = addr.range();
  if (range === 'unicast') return { ok: true };
  const opened = ALLOWLISTABLE[range];
  if (opened) {
    return isAllowlisted(addr, policy) ? { ok: true } : { ok: false, reason: `${opened}; allow it with PLUGBOARD_MCP_ALLOWED_NETWORKS` };
  }
  return { ok: false, reason: ALWAYS_REFUSED[range] ?? `special-purpose range (${range})` };
}

/** This machine's own addresses: loopback, unspecified, and every interface's. */
function isThisMachine(ip: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(stripBrackets(ip).replace(/%.*$/, ''));
  } catch {
    return false;
  }
  const embedded = addr.kind() === 'ipv6' ? embeddedIPv4(addr as ipaddr.IPv6) : null;
  if (embedded?.ipv4) addr = embedded.ipv4;
  const range = addr.range();
  if (range === 'loopback' || range === 'unspecified') return true;
  const normal = addr.toNormalizedString();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      try {
        if (ipaddr.process(i.address.replace(/%.*$/, '')).toNormalizedString() === normal) return true;
      } catch {
        // an address Node lists but ipaddr cannot read is not ours to match
      }
    }
  }
  return false;
}

/** Why `ip:port` is the appliance itself, or null. */
function selfReason(ip: string, port: number, policy: NetworkPolicy): string | null {
  return policy.selfPorts?.includes(port) && isThisMachine(ip) ? `port ${port} on this machine is Plugboard itself` : null;
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function normaliseHost(hostname: string): string {
  return stripBrackets(hostname).replace(/\.$/, '').toLowerCase();
}

function isMetadataName(host: string): boolean {
  return METADATA_HOSTNAMES.some((name) => host === name || host.endsWith(`.${name}`));
}

const defaultResolve: Resolver = async (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** Checks what can be checked without DNS: scheme, credentials, metadata names and literal IPs. */
function checkUrlStatic(raw: string | URL, policy: NetworkPolicy, label: string): { url: URL; host: string; literal: boolean } {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new SsrfError(`${label} URL is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SsrfError(`${label} URL must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw new SsrfError(`${label} URL must not carry user:password@; store the credential as a header instead`);
  const host = normaliseHost(url.hostname);
  if (!host) throw new SsrfError(`${label} URL has no host`);
  if (isMetadataName(host)) throw new SsrfError(`${label} host ${host} is not allowed (cloud metadata)`);
  const literal = net.isIP(host) !== 0;
  if (literal) {
    const verdict = checkAddress(host, policy);
    if (!verdict.ok) throw new SsrfError(`${label} address ${host} is not allowed (${verdict.reason})`);
    const self = selfReason(host, portOf(url), policy);
    if (self) throw new SsrfError(`${label} address ${host} is not allowed (${self})`);
  }
  return { url, host, literal };
}

/**
 * Keeps the addresses that pass, or throws when none does — or when any is link-local, metadata
 * or otherwise never allowed, since DNS pointing there is an attack, not a configuration.
 */
function filterAddresses<T extends { address: string }>(host: string, port: number, addresses: T[], policy: NetworkPolicy, label: string): T[] {
  if (!addresses.length) throw new SsrfError(`${label} host ${host} did not resolve to any address`);
  const allowed: T[] = [];
  let firstRefusal: string | undefined;
  for (const entry of addresses) {
    const self = selfReason(entry.address, port, policy);
    if (self) throw new SsrfError(`${label} host ${host} resolves to ${entry.address}, which is not allowed (${self})`);
    const verdict = checkAddress(entry.address, policy);
    if (verdict.ok) {
      allowed.push(entry);
      continue;
    }
    const message = `${label} host ${host} resolves to ${entry.address}, which is not allowed (${verdict.reason})`;
    if (!verdict.reason.includes('PLUGBOARD_MCP_ALLOWED_NETWORKS')) throw new SsrfError(message);
    firstRefusal ??= message;
  }
  if (!allowed.length) throw new SsrfError(firstRefusal ?? `${label} host ${host} is not allowed`);
  return allowed;
}

/**
 * Validates a URL before it is stored or used: http(s) only, no userinfo, no metadata names,
 * and every resolved address checked (DNS failures are reported as SsrfError too).
 */
export async function assertUrlAllowed(url: string, policy: NetworkPolicy, opts: GuardOptions = {}): Promise<void> {
  const label = opts.label ?? 'MCP endpoint';
  const { url: parsed, host, literal } = checkUrlStatic(url, policy, label);
  if (literal) return;
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = await (opts.resolve ?? defaultResolve)(host);
  } catch {
    throw new SsrfError(`${label} host ${host} could not be resolved`);
  }
  filterAddresses(host, portOf(parsed), addresses, policy, label);
}

type LookupCallback = (err: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;

/**
 * A fetch that only ever connects to checked addresses: an undici Agent whose `lookup` resolves
 * the host and drops or refuses disallowed addresses at connect time, a connector that checks
 * IP-literal hosts (which never reach `lookup`), and `redirect: 'error'` on every request.
 */
export function createGuardedFetch(policy: NetworkPolicy, opts: GuardOptions = {}): GuardedFetch {
  const label = opts.label ?? 'MCP endpoint';
  const resolve = opts.resolve ?? defaultResolve;
  for (const cidr of policy.allowedNetworks) cachedCidr(cidr); // fail fast on a bad allowlist

  // The lookup of each connection checks addresses for that connection's port (own ports are refused on this machine).
  const lookupFor = (port: number) => (hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback): void => {
    const host = normaliseHost(hostname);
    Promise.resolve()
      .then(async () => {
        if (isMetadataName(host)) throw new SsrfError(`${label} host ${host} is not allowed (cloud metadata)`);
        let resolved: Array<{ address: string; family: number }>;
        try {
          resolved = await resolve(host);
        } catch {
          throw new SsrfError(`${label} host ${host} could not be resolved`);
        }
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family) || 0;
        const wanted = family ? resolved.filter((a) => a.family === family) : resolved;
        return filterAddresses(host, port, wanted, policy, label);
      })
      .then(
        (addresses) => {
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0].address, addresses[0].family);
        },
        (err: Error) => callback(err, ''),
      );
  };

  const connectors = new Map<number, buildConnector.connector>();
  const connectorFor = (port: number): buildConnector.connector => {
    let c = connectors.get(port);
    if (!c) {
      c = buildConnector({ lookup: lookupFor(port), timeout: opts.connectTimeoutMs ?? 10_000 } as buildConnector.BuildOptions);
      connectors.set(port, c);
    }
    return c;
  };
  const connect: buildConnector.connector = (options, callback) => {
    const host = normaliseHost(options.hostname);
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    if (net.isIP(host)) {
      const verdict = checkAddress(host, policy);
      const self = verdict.ok ? selfReason(host, port, policy) : null;
      if (!verdict.ok || self) {
        callback(new SsrfError(`${label} address ${host} is not allowed (${verdict.ok ? self : verdict.reason})`), null);
        return;
      }
    }
    connectorFor(port)(options, callback);
  };
  const agent = new Agent({ connect });

  const guardedFetch: FetchLike = async (input, init) => {
    const { url } = checkUrlStatic(input, policy, label);
    try {
      const response = await undiciFetch(url, { ...(init as object), redirect: 'error', dispatcher: agent } as Parameters<typeof undiciFetch>[1]);
      return response as unknown as Response;
    } catch (err) {
      throw findSsrfError(err) ?? err;
    }
  };
  // The static check is a pure function of the URL: remember the last few that passed (the
  // request path calls the same endpoint over and over). Addresses are still checked per connect.
  const checked = new Set<string>();
  const request: GuardedRequest = async (url, init) => {
    if (!checked.has(url.href)) {
      checkUrlStatic(url, policy, label);
      if (checked.size >= 256) checked.clear();
      checked.add(url.href);
    }
    try {
      // undici's request API never follows redirects (no redirect interceptor here): a 3xx comes back as is.
      return await agent.request({ origin: url.origin, path: url.pathname + url.search, method: init.method, headers: init.headers, body: init.body, signal: init.signal });
    } catch (err) {
      throw findSsrfError(err) ?? err;
    }
  };
  return Object.assign(guardedFetch, { request });
}

/** undici wraps connect errors as `TypeError('fetch failed', { cause })`: surface our refusal. */
function findSsrfError(err: unknown): SsrfError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof SsrfError) return current;
    if (current instanceof AggregateError) {
      const inner = current.errors.find((e) => e instanceof SsrfError);
      if (inner) return inner as SsrfError;
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return undefined;
}
