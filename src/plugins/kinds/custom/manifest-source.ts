/**
 * Where manifests come from besides an upload: a URL, fetched through the SSRF guard (addresses
 * checked at connect time, redirects never followed), `https` only unless the host is an address
 * literal on a network the operator allows (PLUGBOARD_MCP_ALLOWED_NETWORKS, e.g. loopback in
 * tests), within a timeout, and read to at most MAX_MANIFEST_BYTES. The same rule decides whether a
 * manifest's `http:` base URL is acceptable. Must never follow a redirect, read past the cap, or
 * resolve a host name to decide about plain http.
 */
import net from 'node:net';
import { checkAddress, createGuardedFetch, type NetworkPolicy } from '../../../net/ssrf.ts';
import { MAX_MANIFEST_BYTES } from './manifest.ts';

const FETCH_TIMEOUT_MS = 10_000;

/**
 * Whether plain `http:` may be used for `url`: only for an IP literal (or `localhost`) in a private
 * range the operator opened — never for a public address or a name whose address could change.
 */
export function httpAllowedBy(policy: NetworkPolicy): (url: URL) => boolean {
  return (url) => {
    let host = url.hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost') host = '127.0.0.1';
    if (net.isIP(host) === 0) return false;
    return checkAddress(host, policy).ok && !checkAddress(host, { allowedNetworks: [] }).ok;
  };
}

export type FetchedManifest = { ok: true; bytes: Buffer } | { ok: false; message: string };

export function createManifestFetcher(policy: NetworkPolicy) {
  const guarded = createGuardedFetch(policy, { label: 'Manifest URL' });
  const httpAllowed = httpAllowedBy(policy);
  return async function fetchManifest(raw: string): Promise<FetchedManifest> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { ok: false, message: 'manifestUrl is not a valid URL' };
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed(url))) {
      return { ok: false, message: 'manifestUrl must use https (plain http only for an address on a network the operator allows)' };
    }
    const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
    try {
      const res = await guarded.request(url, { method: 'GET', headers: { accept: 'application/json', 'user-agent': 'Plugboard' }, signal });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        const redirect = res.statusCode >= 300 && res.statusCode < 400 ? ' (redirects are not followed: give the final URL)' : '';
        return { ok: false, message: `fetching the manifest answered HTTP ${res.statusCode}${redirect}` };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_MANIFEST_BYTES) {
          res.body.destroy();
          return { ok: false, message: `the manifest at that URL is larger than ${MAX_MANIFEST_BYTES} bytes` };
        }
        chunks.push(chunk as Buffer);
      }
      return { ok: true, bytes: Buffer.concat(chunks, size) };
    } catch (err) {
      const e = err as { name?: string; message?: string; code?: string };
      if (e?.name === 'SsrfError') return { ok: false, message: e.message ?? 'the manifest URL is not allowed' };
      if (signal.aborted) return { ok: false, message: `fetching the manifest took longer than ${FETCH_TIMEOUT_MS / 1000} s` };
      return { ok: false, message: `the manifest could not be fetched (${e?.code ?? e?.name ?? 'network error'})` };
    }
  };
}
export type ManifestFetcher = ReturnType<typeof createManifestFetcher>;
