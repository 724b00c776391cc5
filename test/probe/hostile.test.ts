import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome, type ProberOptions } from '../../src/probe/index.js';
import type { AddressClass } from '../../src/probe/egress.js';
import { parseReference } from '../../src/reference/parse.js';
import { bearerChallenge, ok, redirect, registryThat, startMisbehaving, type Handler, type Misbehaving } from '../support/misbehaving.js';

/**
 * A hostile registry points its Bearer realm or its redirects at cloud metadata, link-local, private and loopback
 * addresses, in every spelling, literal or by a name that resolves there. Egress is judged by address in the
 * connector, so these run through real connections, all on loopback:
 *
 * - Servers listen on 127.0.0.1, 127.0.0.2 and 127.0.0.3. The prober's injected class override calls 127.0.0.2
 *   public and 127.0.0.3 private, so a "public registry" and a "registry in a private range" exist on this machine.
 *   Everything else is classed as it really is (127.0.0.1 loopback, 10.0.0.1 private, ...).
 * - The lookup hook answers only the test's own names, and only with loopback or never-connected addresses;
 *   nothing is resolved for real.
 * - The connect hook sees every connection after the policy approved it, with the addresses the socket may use, and
 *   refuses anything off loopback. So even a broken policy sends nothing beyond 127.0.0.0/8; the tests then assert
 *   the probe never even tried.
 */
const PUBLIC = '127.0.0.2';
const PRIVATE = '127.0.0.3';
const CLASSES: Record<string, AddressClass> = { [PUBLIC]: 'public', [PRIVATE]: 'private' };

const NAMES: Record<string, string[]> = {
  'public-reg.test': [PUBLIC],
  'private-reg.test': [PRIVATE],
  'public-auth.test': [PUBLIC],
  'sneaky.test': ['127.0.0.1'],
  'sneaky6.test': ['::1'],
  'meta.test': ['169.254.169.254'],
  'nat64-meta.test': ['64:ff9b::a9fe:a9fe'],
  'internal.test': ['10.0.0.1'],
  'mixed.test': [PUBLIC, '127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
};

function isLoopback(a: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(a) || a === '::1';
}

describe('probe: hostile registries', function () {
  this.timeout(20_000);
  const servers: Misbehaving[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  const attempts: string[] = [];
  const lookedUp: string[] = [];
  let lookup: (hostname: string) => string[] | undefined = (h) => NAMES[h];
  beforeEach(() => {
    attempts.length = 0;
    lookedUp.length = 0;
    lookup = (h) => NAMES[h];
  });
  const options: ProberOptions = {
    env: {},
    onConnect: (t) => {
      const addresses = (t as { addresses?: readonly string[] }).addresses ?? [t.hostname];
      attempts.push(...addresses.map((a) => `${a}:${t.port}`));
      const off = addresses.find((a) => !isLoopback(a));
      if (off !== undefined) throw new Error(`test guard: refused to connect to ${off}`);
    },
    lookup: (hostname: string, _o: { all: true }, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
      lookedUp.push(hostname);
      const a = lookup(hostname);
      if (a) return cb(null, a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
      const e = new Error(`test lookup refuses ${hostname}`) as NodeJS.ErrnoException;
      e.code = 'ENOTFOUND';
      cb(e, []);
    },
    classifyAddress: (a) => CLASSES[a],
    clock: { now: () => Date.now(), sleep: async () => {} },
  };

  async function serve(handler: Handler, bind = PUBLIC): Promise<Misbehaving> {
    const s = await startMisbehaving(handler, { bind });
    servers.push(s);
    return s;
  }

  async function probeAt(host: string): Promise<ProbeOutcome> {
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, retries: 1, insecureRegistries: [host] }, options);
    try {
      const out = await prober.probeAll([parseReference(`${host}/org/app:1`)]);
      return [...out.values()][0]!;
    } finally {
      await prober.close();
    }
  }

  /** A registry on `bind` (by default the one classed public), reached by its address. */
  async function probe(handler: Handler, bind = PUBLIC): Promise<{ o: ProbeOutcome; s: Misbehaving }> {
    const s = await serve(handler, bind);
    return { o: await probeAt(s.host), s };
  }

  function assertOnlyLoopback(): void {
    for (const a of attempts) assert.ok(isLoopback(a.replace(/:\d+$/, '')), `unexpected connection attempt to ${a}`);
  }

  /** Realms a public registry hands out, each on this test's own port: [realm, the refusal]. */
  const fromPublic: Array<[(port: number) => string, RegExp]> = [
    [(p) => `http://127.0.0.1:${p}/token`, /refused Bearer realm to 127\.0\.0\.1 \(policy: loopback only when the registry is on loopback\)/],
    [(p) => `http://sneaky.test:${p}/token`, /refused Bearer realm to sneaky\.test \(resolves to 127\.0\.0\.1\) \(policy: loopback only when the registry is on loopback\)/],
    [(p) => `http://sneaky6.test:${p}/token`, /refused Bearer realm to sneaky6\.test \(resolves to ::1\) \(policy: loopback only/],
    [(p) => `http://localhost.:${p}/token`, /refused Bearer realm to localhost \(resolves to .*\) \(policy: loopback only/],
    [(p) => `http://0.0.0.0:${p}/token`, /refused Bearer realm to 0\.0\.0\.0 \(policy: loopback only/],
    [(p) => `http://[::ffff:127.0.0.1]:${p}/token`, /refused Bearer realm to ::ffff:7f00:1 \(127\.0\.0\.1 in IPv4-mapped form\) \(policy: loopback only/],
    [(p) => `http://[::127.0.0.1]:${p}/token`, /\(127\.0\.0\.1 in IPv4-compatible form\) \(policy: loopback only/],
    [(p) => `http://[64:ff9b::7f00:1]:${p}/token`, /refused Bearer realm to 64:ff9b::7f00:1 \(127\.0\.0\.1 in NAT64 form\) \(policy: loopback only/],
    [(p) => `http://[64:ff9b:1::7f00:1]:${p}/token`, /in local-use NAT64 form\) \(policy: loopback only/],
    [(p) => `http://[2002:7f00:1::1]:${p}/token`, /\(127\.0\.0\.1 in 6to4 form\) \(policy: loopback only/],
    [() => 'http://10.0.0.1/token', /refused Bearer realm to 10\.0\.0\.1 \(policy: private addresses only when the registry is in a private range\)/],
    [() => 'http://internal.test/token', /refused Bearer realm to internal\.test \(resolves to 10\.0\.0\.1\) \(policy: private addresses only/],
    [() => 'http://[::ffff:10.0.0.1]/token', /\(10\.0\.0\.1 in IPv4-mapped form\) \(policy: private addresses only/],
    [() => 'http://[64:ff9b::a00:1]/token', /\(10\.0\.0\.1 in NAT64 form\) \(policy: private addresses only/],
    [() => 'http://[fd12::1]/token', /refused Bearer realm to fd12::1 \(policy: private addresses only/],
    [() => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', /refused Bearer realm to 169\.254\.169\.254 \(policy: never to metadata addresses\)/],
    [() => 'http://[fd00:ec2::254]/token', /refused Bearer realm to fd00:ec2::254 \(policy: never to metadata addresses\)/],
    [() => 'http://[64:ff9b::a9fe:a9fe]/token', /\(169\.254\.169\.254 in NAT64 form\) \(policy: never to metadata addresses\)/],
    [() => 'http://[2002:a9fe:a9fe::]/token', /\(169\.254\.169\.254 in 6to4 form\) \(policy: never to metadata addresses\)/],
    [() => 'http://[::ffff:a9fe:a9fe]/token', /\(169\.254\.169\.254 in IPv4-mapped form\) \(policy: never to metadata addresses\)/],
    [() => 'http://meta.test/token', /refused Bearer realm to meta\.test \(resolves to 169\.254\.169\.254\) \(policy: never to metadata addresses\)/],
    [() => 'http://nat64-meta.test/token', /\(resolves to 64:ff9b::a9fe:a9fe, 169\.254\.169\.254 in NAT64 form\) \(policy: never to metadata/],
    [() => 'http://metadata.google.internal/computeMetadata/v1/', /refused Bearer realm to metadata\.google\.internal \(policy: never to metadata addresses\)/],
    [() => 'http://169.254.1.1/token', /policy: never to link-local addresses/],
    [() => 'http://[fe80::1]/token', /policy: never to link-local addresses/],
    [() => 'http://224.0.0.1/token', /policy: never to reserved addresses/],
    [() => 'file:///etc/passwd', /refused Bearer realm to a file: URL \(policy: only http and https\)/],
    [(p) => `gopher://127.0.0.1:${p}/`, /policy: only http and https/],
    [(p) => `http://user:pw@127.0.0.2:${p}/token`, /policy: the probe sends no credentials/],
    [() => 'not a url', /Bearer realm "not a url" is not a URL/],
  ];
  for (const [realm, want] of fromPublic) {
    it(`a public registry's realm ${realm(0).replace(':0/', ':PORT/')} → inconclusive naming the rule`, async () => {
      const { o } = await probe(registryThat(ok, { ping: (q, r, srv) => bearerChallenge(realm(srv.port))(q, r, srv) }));
      assert.equal(o.verdict, 'inconclusive', o.reason);
      assert.match(o.reason, want);
      assertOnlyLoopback();
      assert.ok(attempts.every((a) => a.startsWith(`${PUBLIC}:`)), `the probe tried ${attempts.join(', ')}`);
      assert.ok(!lookedUp.includes('metadata.google.internal'), 'a metadata name was looked up');
    });
  }

  it("a public registry's realm on a public address is followed (and decides)", async () => {
    const auth = await serve((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t0k"}'));
    const { o } = await probe(
      registryThat(
        (req, res, srv) => (req.headers.authorization === 'Bearer t0k' ? ok(req, res, srv) : bearerChallenge(`http://public-auth.test:${auth.port}/token`)(req, res, srv)),
        { ping: bearerChallenge(`http://public-auth.test:${auth.port}/token`) },
      ),
    );
    assert.equal(o.verdict, 'public', o.reason);
    assert.ok(auth.count('/token') >= 1);
  });

  it('a registry in a private range may use a realm on that network, never loopback', async () => {
    const auth = await serve((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t0k"}'), PRIVATE);
    const onNetwork = await probe(
      registryThat((req, res, srv) => (req.headers.authorization === 'Bearer t0k' ? ok(req, res, srv) : res.writeHead(401).end()), {
        ping: bearerChallenge(`http://${PRIVATE}:${auth.port}/token`),
      }),
      PRIVATE,
    );
    assert.equal(onNetwork.o.verdict, 'public', onNetwork.o.reason);
    const toLoopback = await probe(registryThat(ok, { ping: (q, r, srv) => bearerChallenge(`http://sneaky.test:${srv.port}/token`)(q, r, srv) }), PRIVATE);
    assert.equal(toLoopback.o.verdict, 'inconclusive');
    assert.match(toLoopback.o.reason, /refused Bearer realm to sneaky\.test \(resolves to 127\.0\.0\.1\) \(policy: loopback only when the registry is on loopback\)/);
    assertOnlyLoopback();
  });

  it('a registry on loopback may use a realm in a private range, never metadata', async () => {
    const auth = await serve((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t0k"}'), PRIVATE);
    const ok1 = await probe(
      registryThat((req, res, srv) => (req.headers.authorization === 'Bearer t0k' ? ok(req, res, srv) : res.writeHead(401).end()), {
        ping: bearerChallenge(`http://${PRIVATE}:${auth.port}/token`),
      }),
      '127.0.0.1',
    );
    assert.equal(ok1.o.verdict, 'public', ok1.o.reason);
    const meta = await probe(registryThat(ok, { ping: bearerChallenge('http://[::ffff:169.254.169.254]/token') }), '127.0.0.1');
    assert.match(meta.o.reason, /policy: never to metadata addresses/);
    assertOnlyLoopback();
  });

  it('a registry known by name is classed by its address: public-reg.test may not lead to sneaky.test or 127.0.0.1', async () => {
    const s = await serve(registryThat(ok, { ping: (q, r, srv) => bearerChallenge(`http://sneaky.test:${srv.port}/token`)(q, r, srv) }));
    const o = await probeAt(`public-reg.test:${s.port}`);
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /refused Bearer realm to sneaky\.test \(resolves to 127\.0\.0\.1\) \(policy: loopback only when the registry is on loopback\)/);
    const viaRedirect = await serve(registryThat((q, r, srv) => redirect(`http://127.0.0.1:${srv.port}/v2/x/manifests/1`)(q, r, srv)));
    const o2 = await probeAt(`public-reg.test:${viaRedirect.port}`);
    assert.match(o2.reason, /: refused redirect to 127\.0\.0\.1 \(policy: loopback only when the registry is on loopback\)/);
    assertOnlyLoopback();
  });

  it('the realm on a manifest challenge is judged too (not only on /v2/)', async () => {
    const { o } = await probe(registryThat((q, r, srv) => bearerChallenge(`http://sneaky.test:${srv.port}/token`)(q, r, srv)));
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /refused Bearer realm to sneaky\.test \(resolves to 127\.0\.0\.1\)/);
    assertOnlyLoopback();
  });

  const hostileRedirects: Array<[(port: number) => string, RegExp]> = [
    [(p) => `http://127.0.0.1:${p}/v2/org/app/manifests/1`, /: refused redirect to 127\.0\.0\.1 \(policy: loopback only when the registry is on loopback\)/],
    [(p) => `http://sneaky.test:${p}/v2/org/app/manifests/1`, /: refused redirect to sneaky\.test \(resolves to 127\.0\.0\.1\) \(policy: loopback only/],
    [(p) => `http://[64:ff9b::7f00:1]:${p}/`, /: refused redirect to 64:ff9b::7f00:1 \(127\.0\.0\.1 in NAT64 form\)/],
    [() => 'http://169.254.169.254/latest/meta-data/', /refused redirect to 169\.254\.169\.254 \(policy: never to metadata addresses\)/],
    [() => 'http://[::ffff:169.254.169.254]/', /policy: never to metadata addresses/],
    [() => 'http://metadata.google.internal/', /refused redirect to metadata\.google\.internal \(policy: never to metadata addresses\)/],
    [() => 'http://10.0.0.1:5000/v2/org/app/manifests/1', /refused redirect to 10\.0\.0\.1 \(policy: private addresses only/],
    [() => 'http://192.168.1.1/', /policy: private addresses only/],
    [() => 'file:///etc/passwd', /refused redirect to a file: URL \(policy: only http and https\)/],
    [(p) => `ftp://127.0.0.2:${p}/x`, /policy: only http and https/],
  ];
  for (const [target, want] of hostileRedirects) {
    it(`a public registry's redirect to ${target(0).replace(':0/', ':PORT/')} → inconclusive naming the rule`, async () => {
      const { o } = await probe(registryThat((q, r, srv) => redirect(target(srv.port))(q, r, srv)));
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, want);
      assertOnlyLoopback();
      assert.ok(attempts.every((a) => a.startsWith(`${PUBLIC}:`)), `the probe tried ${attempts.join(', ')}`);
    });
  }

  it('a redirect from /v2/ is judged as well, naming the URL that redirected', async () => {
    const { o } = await probe(registryThat(ok, { ping: redirect('http://169.254.169.254/') }));
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /^GET http:\/\/127\.0\.0\.2:\d+\/v2\/: refused redirect to 169\.254\.169\.254 \(policy: never to metadata addresses\)$/);
    assertOnlyLoopback();
  });

  it('of a name with a public and a loopback address, a public registry connects to the public one only', async () => {
    const s = await serve(registryThat(ok));
    const o = await probeAt(`mixed.test:${s.port}`);
    assert.equal(o.verdict, 'public', o.reason);
    assert.ok(attempts.length > 0);
    assert.deepEqual([...new Set(attempts)], [`${PUBLIC}:${s.port}`]);
  });

  it('DNS rebinding: a registry name that answered public first and loopback later is refused on the next connection', async () => {
    let calls = 0;
    lookup = (h) => (h === 'rebind.test' ? [calls++ === 0 ? PUBLIC : '127.0.0.1'] : NAMES[h]);
    // closes every connection, so the manifest request needs a new one (and a new lookup)
    const s = await serve((req, res, srv) => {
      res.setHeader('connection', 'close');
      registryThat(ok)(req, res, srv);
    });
    const o = await probeAt(`rebind.test:${s.port}`);
    assert.equal(o.verdict, 'inconclusive', o.reason);
    assert.match(o.reason, /refused connection to rebind\.test \(resolves to 127\.0\.0\.1\) \(policy: loopback only when the registry is on loopback\)/);
    assert.ok(calls >= 2, `looked up ${calls} times`);
    assertOnlyLoopback();
  });

  it('a registry whose name resolves only to metadata addresses is never connected to', async () => {
    const o = await probeAt('meta.test:80');
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /refused connection to meta\.test \(resolves to 169\.254\.169\.254\) \(policy: never to metadata addresses\)/);
    assert.deepEqual(attempts, []);
  });
});
