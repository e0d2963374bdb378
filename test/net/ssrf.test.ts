import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SsrfError, assertUrlAllowed, checkAddress, createGuardedFetch } from '../../src/net/ssrf.ts';
import type { Resolver } from '../../src/net/ssrf.ts';

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

describe('IPv6 forms that embed an IPv4 address', () => {
  // [address, what it embeds, verdict without allowlist, verdict with 10/8 + 127/8 allowlisted]
  const table: Array<[ip: string, embeds: string, none: boolean, allowlisted: boolean]> = [
    // IPv4-compatible ::/96 (RFC 4291, deprecated): judged as the IPv4 inside.
    ['::a9fe:a9fe', '169.254.169.254 (metadata)', false, false],
    ['::169.254.169.254', '169.254.169.254 (metadata)', false, false],
    ['::7f00:1', '127.0.0.1 (loopback)', false, true],
    ['::a00:1', '10.0.0.1 (private)', false, true],
    ['::c0a8:101', '192.168.1.1 (private)', false, false],
    ['::e000:1', '224.0.0.1 (multicast)', false, false],
    ['::808:808', '8.8.8.8 (public)', true, true],
    // IPv4-translated ::ffff:0:0/96 (RFC 6145).
    ['::ffff:0:a9fe:a9fe', '169.254.169.254 (metadata)', false, false],
    ['::ffff:0:7f00:1', '127.0.0.1 (loopback)', false, true],
    ['::ffff:0:808:808', '8.8.8.8 (public)', true, true],
    // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): a NAT64 gateway connects to the IPv4 inside.
    ['64:ff9b::a9fe:a9fe', '169.254.169.254 (metadata)', false, false],
    ['64:ff9b::169.254.169.254', '169.254.169.254 (metadata)', false, false],
    ['64:ff9b::7f00:1', '127.0.0.1 (loopback)', false, true],
    ['64:ff9b::a00:5', '10.0.0.5 (private)', false, true],
    ['64:ff9b::808:808', '8.8.8.8 (public)', true, true],
    // NAT64 local-use 64:ff9b:1::/48 (RFC 8215): where the IPv4 sits is the network's choice, so refused.
    ['64:ff9b:1::a9fe:a9fe', 'unknowable', false, false],
    ['64:ff9b:1:a9fe:a9:fe00::', 'unknowable', false, false],
    ['64:ff9b:1::808:808', 'unknowable', false, false],
    // 6to4 2002::/16 (RFC 3056): the relay delivers to the IPv4 in bits 16–47.
    ['2002:a9fe:a9fe::1', '169.254.169.254 (metadata)', false, false],
    ['2002:7f00:1::1', '127.0.0.1 (loopback)', false, true],
    ['2002:a00:1::', '10.0.0.1 (private)', false, true],
    ['2002:808:808::1', '8.8.8.8 (public)', true, true],
    // Teredo 2001::/32: server and (obfuscated) client IPv4 inside, a tunnel: refused.
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'unknowable', false, false],
    ['2001::a9fe:a9fe', 'unknowable', false, false],
    // Not embedding forms: the unspecified and loopback addresses keep their own verdicts.
    ['::', 'nothing (unspecified)', false, false],
    ['::1', 'nothing (loopback)', false, false],
    ['2606:4700:4700::1111', 'nothing (public)', true, true],
  ];
  const ALLOW = { allowedNetworks: ['10.0.0.0/8', '127.0.0.0/8'] };

  it('judges each as the IPv4 address it routes to, or refuses it when that cannot be read', () => {
    for (const [ip, embeds, none, allowlisted] of table) {
      assert.equal(checkAddress(ip, NONE).ok, none, `${ip} (${embeds}) without allowlist`);
      assert.equal(checkAddress(ip, ALLOW).ok, allowlisted, `${ip} (${embeds}) with 10/8 and 127/8 allowlisted`);
      if (embeds.includes('metadata') || embeds === 'unknowable') assert.equal(checkAddress(ip, EVERYTHING).ok, false, `${ip}: never, whatever the allowlist`);
    }
    const meta = checkAddress('::a9fe:a9fe', EVERYTHING);
    assert.ok(!meta.ok && /IPv4-compatible IPv6 of 169\.254\.169\.254: link-local \/ cloud metadata/.test(meta.reason), JSON.stringify(meta));
    const teredo = checkAddress('2001::1', EVERYTHING);
    assert.ok(!teredo.ok && /Teredo/.test(teredo.reason));
  });

  it('is applied to URLs at install time and to addresses at connect time', async () => {
    for (const ip of ['::a9fe:a9fe', '::7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', '2002:a9fe:a9fe::1', '2001::1']) {
      await assert.rejects(assertUrlAllowed(`http://[${ip}]/mcp`, NONE), SsrfError, `literal ${ip}`);
      await assert.rejects(assertUrlAllowed('http://sneaky.example/mcp', NONE, { resolve: fixedResolver({ 'sneaky.example': [ip] }) }), SsrfError, `resolved ${ip}`);
      await assert.rejects(createGuardedFetch(NONE)(`http://[${ip}]:80/mcp`), SsrfError, `connect to literal ${ip}`);
      await assert.rejects(createGuardedFetch(NONE, { resolve: fixedResolver({ 'sneaky.example': [ip] }) })('http://sneaky.example/mcp'), SsrfError, `connect to resolved ${ip}`);
    }
    await assertUrlAllowed('http://[64:ff9b::808:808]/mcp', NONE);
  });

  it('counts an IPv4-compatible address of this machine as this machine for the own-port rule', async () => {
    await using own = await startTarget();
    const policy = { allowedNetworks: ['127.0.0.0/8'], selfPorts: [own.port] };
    await assert.rejects(assertUrlAllowed(`http://[::7f00:1]:${own.port}/`, policy), /is Plugboard itself/);
    await assert.rejects(assertUrlAllowed(`http://[64:ff9b::7f00:1]:${own.port}/`, policy), /is Plugboard itself/);
  });
});
