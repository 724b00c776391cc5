/**
 * Egress judged by address (issue 11), as pure decisions: how addresses are classed (every IPv6 form that embeds an
 * IPv4 address is judged by it), which class a registry may lead the probe to, and the EgressGuard with a fake
 * resolver (no DNS, no sockets). The same rules through real connections on loopback are in hostile.test.ts.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import fc from 'fast-check';
import {
  ceilingOf, classifyAddress, EgressGuard, refusal, ruleBroken, type AddressClass, type Ceiling, type RegistryTarget,
} from '../../src/probe/egress.js';

const httpsRegistry: RegistryTarget = { scheme: 'https', hostname: 'registry.example.com' };
const loopbackHttp: RegistryTarget = { scheme: 'http', hostname: '127.0.0.1' };

describe('egress: address classes', () => {
  const cases: Array<[string, AddressClass]> = [
    ['8.8.8.8', 'public'], ['2606:4700::1111', 'public'], ['1.2.3.4', 'public'],
    ['10.0.0.1', 'private'], ['172.16.5.4', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'], ['fd12::1', 'private'], ['fc00::1', 'private'], ['198.18.0.1', 'private'],
    ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'], ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'], ['febf::1', 'link-local'],
    ['169.254.169.254', 'metadata'], ['169.254.170.2', 'metadata'], ['fd00:ec2::254', 'metadata'], ['fd20:ce::254', 'metadata'],
    ['100.100.100.200', 'metadata'], ['168.63.129.16', 'metadata'],
    ['224.0.0.1', 'reserved'], ['255.255.255.255', 'reserved'], ['ff02::1', 'reserved'],
    // IPv4-mapped, in dotted and in hex form
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:169.254.169.254', 'metadata'], ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:10.0.0.1', 'private'], ['::ffff:8.8.8.8', 'public'], ['0:0:0:0:0:FFFF:7F00:0001', 'loopback'],
    // IPv4-translated (SIIT)
    ['::ffff:0:127.0.0.1', 'loopback'], ['::ffff:0:a9fe:a9fe', 'metadata'],
    // IPv4-compatible (deprecated, still routed by some stacks)
    ['::127.0.0.1', 'loopback'], ['::a9fe:a9fe', 'metadata'], ['::10.0.0.1', 'private'], ['::c0a8:101', 'private'],
    // NAT64, well-known prefix
    ['64:ff9b::127.0.0.1', 'loopback'], ['64:ff9b::7f00:1', 'loopback'], ['64:ff9b::a9fe:a9fe', 'metadata'], ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::808:808', 'public'],
    // NAT64, local-use prefix (RFC 8215): every prefix length is read, and it is a local network (at least private)
    ['64:ff9b:1::7f00:1', 'loopback'], ['64:ff9b:1::a9fe:a9fe', 'metadata'], ['64:ff9b:1::808:808', 'private'],
    // 6to4
    ['2002:7f00:1::1', 'loopback'], ['2002:a9fe:a9fe::', 'metadata'], ['2002:a00:1::1', 'private'], ['2002:808:808::1', 'public'],
    // Teredo: the client address is stored inverted
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], ['2001:0:4136:e378:8000:63bf:5601:5601', 'metadata'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'public'],
    // zone ids are dropped
    ['fe80::1%eth0', 'link-local'],
  ];
  for (const [address, want] of cases) {
    it(`${address} is ${want}`, () => assert.equal(classifyAddress(address)?.cls, want));
  }

  it('local-use NAT64 in the /48 layout (127.0.0.1) is read as local: loopback rank, refused from a private registry', () => {
    // 64:ff9b:1:7f00:0:100:: is 127.0.0.1 in the /48 layout and 0.0.1.0 in the /56 one; both reach the host itself
    const c = classifyAddress('64:ff9b:1:7f00:0:100::')!.cls;
    assert.ok(c === 'loopback' || c === 'unspecified', c);
    assert.equal(ruleBroken(c, 'private'), 'policy: loopback only when the registry is on loopback');
  });

  it('names what an embedded address stands for', () => {
    assert.equal(classifyAddress('64:ff9b::a9fe:a9fe')?.embedded, '169.254.169.254 in NAT64 form');
    assert.equal(classifyAddress('::ffff:127.0.0.1')?.embedded, '127.0.0.1 in IPv4-mapped form');
    assert.equal(classifyAddress('2002:7f00:1::1')?.embedded, '127.0.0.1 in 6to4 form');
  });

  it('every IPv4 address classes the same in all its IPv6 encodings (property)', () => {
    const hex = (n: number): string => `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const dotted = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
        const want = classifyAddress(dotted)!.cls;
        for (const form of [`::ffff:${dotted}`, `::ffff:${hex(n)}`, `64:ff9b::${hex(n)}`, `2002:${hex(n)}::1`]) {
          assert.equal(classifyAddress(form)!.cls, want, `${form} vs ${dotted}`);
        }
        // IPv4-compatible: ::0.0.0.0 and ::0.0.0.1 are the unspecified and loopback addresses themselves
        if (n > 1) assert.equal(classifyAddress(`::${hex(n)}`)!.cls, want, `::${hex(n)}`);
      }),
      { numRuns: 3_000, seed: 11 },
    );
  });

  it('is not fooled by text that is not an address', () => {
    for (const s of ['127.1', '0x7f.0.0.1', '2130706433', '1.2.3.256', 'localhost', '', ':::1']) assert.equal(classifyAddress(s), undefined, s);
  });
});

describe('egress: no more internal than the registry', () => {
  const matrix: Array<[AddressClass, Ceiling, boolean]> = [
    ['public', 'public', true], ['private', 'public', false], ['loopback', 'public', false], ['unspecified', 'public', false],
    ['public', 'private', true], ['private', 'private', true], ['loopback', 'private', false],
    ['public', 'loopback', true], ['private', 'loopback', true], ['loopback', 'loopback', true],
  ];
  for (const [target, ceiling, allowed] of matrix) {
    it(`${target} from a ${ceiling} registry: ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(ruleBroken(target, ceiling) === undefined, allowed);
    });
  }
  it('link-local, metadata and reserved addresses never, whatever the registry', () => {
    for (const c of ['link-local', 'metadata', 'reserved'] as const) {
      for (const ceiling of ['public', 'private', 'loopback'] as const) assert.equal(ruleBroken(c, ceiling), `policy: never to ${c} addresses`);
    }
  });
  it('the rules are named', () => {
    assert.equal(ruleBroken('loopback', 'public'), 'policy: loopback only when the registry is on loopback');
    assert.equal(ruleBroken('private', 'public'), 'policy: private addresses only when the registry is in a private range');
  });
  it("a registry's ceiling is the least internal of its addresses, never-classes left out", () => {
    assert.equal(ceilingOf(['loopback', 'public']), 'public');
    assert.equal(ceilingOf(['private', 'loopback']), 'private');
    assert.equal(ceilingOf(['metadata', 'loopback']), 'loopback');
    assert.equal(ceilingOf(['unspecified']), 'loopback');
    assert.equal(ceilingOf(['metadata', 'link-local']), undefined);
  });
});

describe('egress: the guard, with a fake resolver', () => {
  const names: Record<string, string[]> = {
    'registry.example.com': ['203.0.113.10'],
    'auth.example.com': ['203.0.113.20'],
    'sneaky.example.com': ['127.0.0.1'],
    'internal.example.com': ['10.1.2.3'],
    'meta.example.com': ['169.254.169.254'],
    'mixed.example.com': ['203.0.113.30', '127.0.0.1', '169.254.169.254'],
    'nat64.example.com': ['64:ff9b::a9fe:a9fe'],
    'corp-registry.internal': ['10.0.0.5'],
    'corp-auth.internal': ['10.0.0.6'],
  };
  const lookups: string[] = [];
  const resolver = async (host: string): Promise<LookupAddress[]> => {
    lookups.push(host);
    const a = names[host];
    if (!a) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  beforeEach(() => (lookups.length = 0));

  async function answer(guard: EgressGuard, host: string): Promise<string> {
    const r = await guard.approve(host);
    return 'refused' in r ? `refused: ${r.refused.rule}` : `allowed: ${r.addresses.map((a) => a.address).join(',')}`;
  }

  it('a public registry reaches public addresses only, by name or literal alike', async () => {
    const g = new EgressGuard(httpsRegistry, resolver);
    assert.equal(await answer(g, 'auth.example.com'), 'allowed: 203.0.113.20');
    assert.equal(await answer(g, 'sneaky.example.com'), 'refused: policy: loopback only when the registry is on loopback');
    assert.equal(await answer(g, '127.0.0.1'), 'refused: policy: loopback only when the registry is on loopback');
    assert.equal(await answer(g, 'internal.example.com'), 'refused: policy: private addresses only when the registry is in a private range');
    assert.equal(await answer(g, '10.1.2.3'), 'refused: policy: private addresses only when the registry is in a private range');
    assert.equal(await answer(g, 'meta.example.com'), 'refused: policy: never to metadata addresses');
    assert.equal(await answer(g, 'nat64.example.com'), 'refused: policy: never to metadata addresses');
    assert.equal(await answer(g, '[64:ff9b::a9fe:a9fe]'), 'refused: policy: never to metadata addresses');
    assert.equal(await answer(g, '[::ffff:127.0.0.1]'), 'refused: policy: loopback only when the registry is on loopback');
  });

  it('a literal address and a name for it get the same answer (property)', async () => {
    const addresses = ['203.0.113.9', '127.0.0.1', '10.0.0.7', '169.254.169.254', '::1', 'fd00::5', '64:ff9b::7f00:1', '2002:a00:1::', '0.0.0.0', '8.8.4.4'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...addresses), fc.constantFrom<RegistryTarget>(httpsRegistry, loopbackHttp, { scheme: 'https', hostname: 'corp-registry.internal' }), async (address, registry) => {
        const byName = new EgressGuard(registry, async (h) => (h === 'alias.test' ? [{ address, family: address.includes(':') ? 6 : 4 }] : resolver(h)));
        const byLiteral = new EgressGuard(registry, resolver);
        const a = await byName.approve('alias.test');
        const b = await byLiteral.approve(address.includes(':') ? `[${address}]` : address);
        assert.equal('refused' in a, 'refused' in b, address);
        if ('refused' in a && 'refused' in b) assert.equal(a.refused.rule, b.refused.rule);
      }),
      { numRuns: 60, seed: 11 },
    );
  });

  it('a registry in a private range may use a realm on that network, not loopback', async () => {
    const g = new EgressGuard({ scheme: 'https', hostname: 'corp-registry.internal' }, resolver);
    assert.equal(await answer(g, 'corp-auth.internal'), 'allowed: 10.0.0.6');
    assert.equal(await answer(g, 'auth.example.com'), 'allowed: 203.0.113.20');
    assert.equal(await answer(g, 'sneaky.example.com'), 'refused: policy: loopback only when the registry is on loopback');
    assert.equal(await answer(g, 'meta.example.com'), 'refused: policy: never to metadata addresses');
  });

  it('a loopback registry reaches anything but the never-classes', async () => {
    const g = new EgressGuard(loopbackHttp, resolver);
    assert.equal(await answer(g, 'internal.example.com'), 'allowed: 10.1.2.3');
    assert.equal(await answer(g, '127.0.0.1'), 'allowed: 127.0.0.1');
    assert.equal(await answer(g, '169.254.10.10'), 'refused: policy: never to link-local addresses');
  });

  it('of several addresses only the allowed ones are used', async () => {
    assert.equal(await answer(new EgressGuard(httpsRegistry, resolver), 'mixed.example.com'), 'allowed: 203.0.113.30');
    assert.equal(await answer(new EgressGuard(loopbackHttp, resolver), 'mixed.example.com'), 'allowed: 203.0.113.30,127.0.0.1');
  });

  it('a registry that resolves only to metadata addresses is refused itself', async () => {
    const g = new EgressGuard({ scheme: 'https', hostname: 'meta.example.com' }, resolver);
    const r = await g.approve('meta.example.com');
    assert.ok('refused' in r);
    assert.equal(r.refused.message, 'refused connection to meta.example.com (resolves to 169.254.169.254) (policy: never to metadata addresses)');
  });

  it("the registry's ceiling is kept for the run: a name that rebinds to loopback is refused", async () => {
    let calls = 0;
    const rebinding = async (h: string): Promise<LookupAddress[]> => {
      if (h !== 'rebind.example.com') return resolver(h);
      calls++;
      return [{ address: calls === 1 ? '203.0.113.50' : '127.0.0.1', family: 4 }];
    };
    const g = new EgressGuard({ scheme: 'https', hostname: 'rebind.example.com' }, rebinding);
    assert.equal(await answer(g, 'rebind.example.com'), 'allowed: 203.0.113.50');
    assert.equal(await answer(g, 'rebind.example.com'), 'refused: policy: loopback only when the registry is on loopback');
  });

  it('metadata names are refused without a lookup; DNS failures reject (and are not kept)', async () => {
    const g = new EgressGuard(httpsRegistry, resolver);
    assert.equal(await answer(g, 'metadata.google.internal.'), 'refused: policy: never to metadata addresses');
    assert.deepEqual(lookups, []);
    await assert.rejects(g.approve('nowhere.example.com'), /ENOTFOUND/);
    const failing = new EgressGuard({ scheme: 'https', hostname: 'flaky.example.com' }, resolver);
    await assert.rejects(failing.approve('auth.example.com'), /ENOTFOUND flaky/);
    names['flaky.example.com'] = ['203.0.113.60'];
    assert.equal(await answer(failing, 'auth.example.com'), 'allowed: 203.0.113.20');
    delete names['flaky.example.com'];
  });

  it('behind a proxy, names the local resolver does not know are left to the proxy; the registry then counts as public', async () => {
    const g = new EgressGuard({ scheme: 'https', hostname: 'outside.example.com' }, resolver);
    assert.deepEqual(await g.approve('also-outside.example.com', { viaProxy: true }), { addresses: [] });
    assert.equal('refused' in (await g.approve('sneaky.example.com', { viaProxy: true })), true);
    assert.equal('refused' in (await g.approve('10.0.0.1', { viaProxy: true })), true);
  });

  it('an injected class override lets loopback addresses stand for other classes (tests only)', async () => {
    const g = new EgressGuard({ scheme: 'http', hostname: '127.0.0.2' }, resolver, (a) => (a === '127.0.0.2' ? 'public' : undefined));
    assert.equal(await answer(g, '127.0.0.2'), 'allowed: 127.0.0.2');
    assert.equal(await answer(g, '127.0.0.1'), 'refused: policy: loopback only when the registry is on loopback');
  });
});

describe('egress: what the URL alone tells', () => {
  it('allows an https realm on another host (Docker Hub: auth.docker.io)', () => {
    assert.equal(refusal(new URL('https://auth.docker.io/token'), { scheme: 'https', hostname: 'registry-1.docker.io' }, 'realm'), undefined);
  });

  it('refuses non-http schemes, naming the rule', () => {
    for (const u of ['file:///etc/passwd', 'ftp://x/', 'gopher://x/', 'data:text/plain,x']) {
      assert.match(refusal(new URL(u), httpsRegistry, 'redirect') ?? '', /policy: only http and https/);
    }
  });

  it('refuses plain http from an https registry, allows it for an insecure one', () => {
    assert.match(refusal(new URL('http://auth.example.com/token'), httpsRegistry, 'realm') ?? '', /https only/);
    assert.equal(refusal(new URL('http://127.0.0.1:9/token'), loopbackHttp, 'realm'), undefined);
  });

  it('refuses URLs with credentials, and metadata services by name', () => {
    assert.match(refusal(new URL('https://u:p@auth.example.com/'), httpsRegistry, 'realm') ?? '', /credentials/);
    assert.match(refusal(new URL('https://METADATA.GOOGLE.INTERNAL./'), loopbackHttp, 'redirect') ?? '', /refused redirect to metadata\.google\.internal \(policy: never to metadata addresses\)/);
  });
});
