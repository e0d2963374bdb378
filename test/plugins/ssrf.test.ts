import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SsrfError, assertUrlAllowed, checkAddress, createGuardedFetch } from '../../src/plugins/ssrf.ts';
import type { Resolver } from '../../src/plugins/ssrf.ts';

const NONE = { allowedNetworks: [] };
const EVERYTHING = { allowedNetworks: ['0.0.0.0/0', '::/0'] };
const LOOPBACK = { allowedNetworks: ['127.0.0.0/8'] };

/** A resolver with fixed answers; any other name fails like NXDOMAIN. */
function fixedResolver(table: Record<string, string[]>, seen: string[] = []): Resolver {
  return async (host) => {
    seen.push(host);
    const answers = table[host];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/** A loopback server counting hits per path; `/redirect?to=` answers 302. */
async function startTarget() {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    hits.push(url.pathname);
    if (url.pathname === '/redirect') res.writeHead(302, { location: url.searchParams.get('to') ?? '/ok' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hits,
    origin: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('checkAddress', () => {
  it('never allows link-local, metadata, unspecified, multicast, broadcast or reserved addresses', () => {
    const never = ['169.254.169.254', '169.254.1.1', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '0.0.0.0', '0.1.2.3', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '240.0.0.1', '192.0.2.10', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe'];
    for (const ip of never) {
      const verdict = checkAddress(ip, EVERYTHING);
      assert.equal(verdict.ok, false, ip);
    }
    const meta = checkAddress('169.254.169.254', EVERYTHING);
    assert.ok(!meta.ok && /link-local \/ cloud metadata/.test(meta.reason));
  });

  it('refuses loopback, private, CGNAT and unique-local unless allowlisted', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1', '127.0.0.0/8'],
      ['10.1.2.3', '10.0.0.0/8'],
      ['172.16.5.4', '172.16.0.0/12'],
      ['192.168.1.1', '192.168.0.0/16'],
      ['100.64.1.1', '100.64.0.0/10'],
      ['fd12:3456::1', 'fc00::/7'],
      ['::1', '::1/128'],
    ];
    for (const [ip, cidr] of cases) {
      assert.equal(checkAddress(ip, NONE).ok, false, `${ip} without allowlist`);
      assert.equal(checkAddress(ip, { allowedNetworks: [cidr] }).ok, true, `${ip} with ${cidr}`);
    }
    assert.equal(checkAddress('10.1.2.3', { allowedNetworks: ['192.168.0.0/16'] }).ok, false, 'other private ranges stay closed');
    const loop = checkAddress('127.0.0.1', NONE);
    assert.ok(!loop.ok && /loopback/.test(loop.reason) && /PLUGBOARD_MCP_ALLOWED_NETWORKS/.test(loop.reason));
  });

  it('unwraps IPv4-mapped IPv6 before checking', () => {
    assert.equal(checkAddress('::ffff:127.0.0.1', NONE).ok, false);
    assert.equal(checkAddress('::ffff:127.0.0.1', LOOPBACK).ok, true);
    assert.equal(checkAddress('::ffff:10.0.0.1', LOOPBACK).ok, false);
  });

  it('allows public unicast and refuses what is not an address', () => {
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) assert.equal(checkAddress(ip, NONE).ok, true, ip);
    assert.equal(checkAddress('example.com', NONE).ok, false);
  });
});

describe('assertUrlAllowed', () => {
  it('refuses metadata host names by name, without resolving them', async () => {
    const seen: string[] = [];
    for (const url of ['http://metadata.google.internal/computeMetadata/v1/', 'http://METADATA.GOOGLE.INTERNAL./', 'http://metadata/', 'http://instance-data/latest']) {
      await assert.rejects(assertUrlAllowed(url, EVERYTHING, { resolve: fixedResolver({}, seen) }), (e: unknown) => e instanceof SsrfError && /cloud metadata/.test(e.message), url);
    }
    assert.deepEqual(seen, []);
  });

  it('refuses non-http schemes and user:pass@ URLs', async () => {
    for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'ws://example.com/', 'javascript:alert(1)', 'not a url', 'http://user:pass@example.com/', 'http://user@example.com/']) {
      await assert.rejects(assertUrlAllowed(url, EVERYTHING, { resolve: fixedResolver({ 'example.com': ['93.184.216.34'] }) }), SsrfError, url);
    }
  });

  it('checks literal addresses in every spelling the URL parser accepts', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[::ffff:a9fe:a9fe]/', 'http://0x7f.1/', 'http://2130706433/', 'http://[::1]:8080/']) {
      await assert.rejects(assertUrlAllowed(url, NONE), SsrfError, url);
    }
    await assert.rejects(assertUrlAllowed('http://169.254.169.254/', EVERYTHING), /169\.254\.169\.254 is not allowed \(link-local \/ cloud metadata\)/);
    await assertUrlAllowed('http://127.0.0.1:9/', LOOPBACK);
  });

  it('resolves host names and checks what they resolve to', async () => {
    await assert.rejects(assertUrlAllowed('http://localhost:1234/mcp', NONE), /loopback/);
    await assertUrlAllowed('http://localhost:1234/mcp', LOOPBACK);

    const resolve = fixedResolver({ 'intranet.example': ['10.0.0.5'], 'mixed.example': ['93.184.216.34', '169.254.169.254'], 'public.example': ['93.184.216.34'] });
    await assert.rejects(assertUrlAllowed('https://intranet.example/mcp', NONE, { resolve }), /resolves to 10\.0\.0\.5.*private network/);
    await assertUrlAllowed('https://intranet.example/mcp', { allowedNetworks: ['10.0.0.0/8'] }, { resolve });
    await assert.rejects(assertUrlAllowed('https://mixed.example/', EVERYTHING, { resolve }), /169\.254\.169\.254/, 'one metadata answer poisons the host');
    await assertUrlAllowed('https://public.example/', NONE, { resolve });
    await assert.rejects(assertUrlAllowed('https://nxdomain.example/', NONE, { resolve }), (e: unknown) => e instanceof SsrfError && /could not be resolved/.test(e.message));
  });
});

describe('createGuardedFetch', () => {
  it('fetches from an allowed loopback server', async () => {
    await using target = await startTarget();
    const res = await createGuardedFetch(LOOPBACK)(`${target.origin}/ok`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  });

  it('refuses a literal loopback address at connect time when not allowlisted', async () => {
    await using target = await startTarget();
    const guarded = createGuardedFetch(NONE);
    await assert.rejects(guarded(`${target.origin}/ok`), (e: unknown) => e instanceof SsrfError && /127\.0\.0\.1 is not allowed \(loopback/.test(e.message));
    await assert.rejects(guarded(`http://[::1]:${target.port}/ok`), SsrfError);
    assert.deepEqual(target.hits, []);
  });

  it('refuses every redirect, even to an allowed address and even when the caller asks to follow', async () => {
    await using target = await startTarget();
    const guarded = createGuardedFetch(LOOPBACK);
    for (const to of [`${target.origin}/ok`, 'http://169.254.169.254/latest/meta-data/']) {
      await assert.rejects(guarded(`${target.origin}/redirect?to=${encodeURIComponent(to)}`, { redirect: 'follow' }));
    }
    assert.deepEqual(target.hits, ['/redirect', '/redirect'], 'the redirect target was never requested');
  });

  it('checks the addresses a name resolves to when connecting (DNS rebinding)', async () => {
    await using target = await startTarget();
    // First answer public (what a pre-check would see), then loopback (what a rebinding attacker serves).
    let calls = 0;
    const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
    await assertUrlAllowed(`http://rebind.example:${target.port}/ok`, NONE, { resolve: rebinding });
    await assert.rejects(createGuardedFetch(NONE, { resolve: rebinding })(`http://rebind.example:${target.port}/ok`), /resolves to 127\.0\.0\.1/);
    assert.deepEqual(target.hits, []);

    const named = createGuardedFetch(LOOPBACK, { resolve: fixedResolver({ 'mcp.example': ['127.0.0.1'] }) });
    const res = await named(`http://mcp.example:${target.port}/ok`);
    assert.equal(res.status, 200, 'the checked address is the one connected to');
    await res.body?.cancel();
  });

  it('refuses localhost without an allowlist, through the system resolver', async () => {
    await using target = await startTarget();
    await assert.rejects(createGuardedFetch(NONE)(`http://localhost:${target.port}/ok`), (e: unknown) => e instanceof SsrfError && /loopback/.test(e.message));
    assert.deepEqual(target.hits, []);
  });

  it('refuses bad schemes, credentials in URLs and metadata names before connecting', async () => {
    const guarded = createGuardedFetch(EVERYTHING);
    for (const url of ['file:///etc/passwd', 'http://u:p@127.0.0.1/', 'http://metadata.google.internal/']) await assert.rejects(guarded(url), SsrfError, url);
  });

  it("never reaches the appliance's own ports on this machine, even with loopback allowed, by address or by name", async () => {
    await using own = await startTarget();
    await using other = await startTarget();
    const policy = { allowedNetworks: ['127.0.0.0/8', '::1/128'], selfPorts: [own.port] };
    const guarded = createGuardedFetch(policy);
    for (const url of [`http://127.0.0.1:${own.port}/ok`, `http://127.0.0.2:${own.port}/ok`, `http://localhost:${own.port}/ok`]) {
      await assert.rejects(guarded(url), (e: unknown) => e instanceof SsrfError && /is Plugboard itself/.test(e.message), url);
      await assert.rejects(guarded.request(new URL(url), { method: 'GET', headers: {} }), SsrfError, url);
      await assert.rejects(assertUrlAllowed(url, policy), /is Plugboard itself/, url);
    }
    const named = createGuardedFetch(policy, { resolve: fixedResolver({ 'looks-remote.example': ['127.0.0.1'] }) });
    await assert.rejects(named(`http://looks-remote.example:${own.port}/ok`), /resolves to 127\.0\.0\.1.*Plugboard itself/);
    assert.deepEqual(own.hits, [], 'the own port was never connected to');
    const res = await guarded(`http://127.0.0.1:${other.port}/ok`);
    assert.equal(res.status, 200, 'another loopback port stays reachable');
    await res.body?.cancel();
  });

  it('fails fast on an allowlist entry that is not a CIDR', () => {
    assert.throws(() => createGuardedFetch({ allowedNetworks: ['10.0.0.0/99'] }), /not a CIDR/);
  });
});
