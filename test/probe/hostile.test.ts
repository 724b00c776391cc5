import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome, type ProberOptions } from '../../src/probe/index.js';
import { forbiddenResolved } from '../../src/probe/egress.js';
import { parseReference } from '../../src/reference/parse.js';
import { bearerChallenge, ok, redirect, registryThat, startMisbehaving, type Handler, type Misbehaving } from '../support/misbehaving.js';

/**
 * A hostile registry (on loopback) points its Bearer realm or its redirects at cloud metadata, link-local
 * and private addresses, or other schemes. Every connection attempt is recorded by an injected hook that
 * refuses anything off loopback, so even a broken policy sends nothing beyond 127.0.0.1; the tests then
 * assert that the probe never even tried.
 */
describe('probe: hostile registries', function () {
  this.timeout(20_000);
  const servers: Misbehaving[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  const attempts: string[] = [];
  const lookedUp: string[] = [];
  beforeEach(() => {
    attempts.length = 0;
    lookedUp.length = 0;
  });
  const options: ProberOptions = {
    env: {},
    onConnect: ({ hostname, port }) => {
      attempts.push(`${hostname}:${port}`);
      if (hostname !== '127.0.0.1' && hostname !== 'reg.test') throw new Error(`test guard: refused to connect to ${hostname}`);
    },
    // only the test's own names resolve, and only to loopback; nothing is resolved for real
    lookup: (hostname: string, _o: { all: true }, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
      lookedUp.push(hostname);
      if (hostname === 'reg.test') return cb(null, [{ address: '127.0.0.1', family: 4 }]);
      const e = new Error(`test lookup refuses ${hostname}`) as NodeJS.ErrnoException;
      e.code = 'ENOTFOUND';
      cb(e, []);
    },
    clock: { now: () => Date.now(), sleep: async () => {} },
  };

  async function probe(handler: Handler, hostOf: (s: Misbehaving) => string = (s) => s.host): Promise<{ o: ProbeOutcome; s: Misbehaving }> {
    const s = await startMisbehaving(handler);
    servers.push(s);
    const host = hostOf(s);
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, retries: 1, insecureRegistries: [host] }, options);
    try {
      const out = await prober.probeAll([parseReference(`${host}/org/app:1`)]);
      return { o: [...out.values()][0]!, s };
    } finally {
      await prober.close();
    }
  }

  function assertOnlyLoopback(s: Misbehaving): void {
    for (const a of attempts) assert.ok(a === `127.0.0.1:${s.port}` || a === `reg.test:${s.port}`, `unexpected connection attempt to ${a}`);
    assert.deepEqual(lookedUp.filter((n) => n !== 'reg.test'), [], 'no hostile name was looked up');
  }

  const hostileRealms: Array<[string, RegExp]> = [
    ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', /refused Bearer realm to 169\.254\.169\.254 \(policy: never to metadata addresses\)/],
    ['http://[fd00:ec2::254]/token', /refused Bearer realm to fd00:ec2::254 \(policy: never to metadata addresses\)/],
    ['http://metadata.google.internal/computeMetadata/v1/', /refused Bearer realm to metadata\.google\.internal \(policy: never to metadata addresses\)/],
    ['http://169.254.1.1/token', /policy: never to link-local addresses/],
    ['http://10.0.0.1/token', /refused Bearer realm to 10\.0\.0\.1 \(policy: private addresses only when the registry is in a private range\)/],
    ['http://[::ffff:10.0.0.1]/token', /policy: private addresses only/],
    ['file:///etc/passwd', /refused Bearer realm to a file: URL \(policy: only http and https\)/],
    ['gopher://127.0.0.1:70/', /policy: only http and https/],
    ['http://user:pw@127.0.0.1:9/token', /policy: the probe sends no credentials/],
    ['not a url', /Bearer realm "not a url" is not a URL/],
  ];
  for (const [realm, want] of hostileRealms) {
    it(`refuses the realm ${realm} → inconclusive naming the rule`, async () => {
      const { o, s } = await probe(registryThat(ok, { ping: bearerChallenge(realm) }));
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, want);
      assertOnlyLoopback(s);
    });
  }

  it('refuses the realm on a manifest challenge too (not only on /v2/)', async () => {
    const { o, s } = await probe(registryThat(bearerChallenge('http://169.254.169.254/token')));
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /policy: never to metadata addresses/);
    assertOnlyLoopback(s);
  });

  const hostileRedirects: Array<[string, RegExp]> = [
    ['http://169.254.169.254/latest/meta-data/', /refused redirect to 169\.254\.169\.254 \(policy: never to metadata addresses\)/],
    ['http://[::ffff:169.254.169.254]/', /policy: never to metadata addresses/],
    ['http://metadata.google.internal/', /policy: never to metadata addresses/],
    ['http://10.0.0.1:5000/v2/org/app/manifests/1', /refused redirect to 10\.0\.0\.1 \(policy: private addresses only/],
    ['http://192.168.1.1/', /policy: private addresses only/],
    ['file:///etc/passwd', /refused redirect to a file: URL \(policy: only http and https\)/],
    ['ftp://127.0.0.1/x', /policy: only http and https/],
  ];
  for (const [target, want] of hostileRedirects) {
    it(`refuses a redirect to ${target} → inconclusive naming the rule`, async () => {
      const { o, s } = await probe(registryThat(redirect(target)));
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, want);
      assertOnlyLoopback(s);
    });
  }

  it('refuses a redirect from /v2/ as well', async () => {
    const { o, s } = await probe(registryThat(ok, { ping: redirect('http://169.254.169.254/') }));
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /GET http:\/\/127\.0\.0\.1:\d+\/v2\/: refused redirect to 169\.254\.169\.254/);
    assertOnlyLoopback(s);
  });

  it('a registry known by name may not send the probe to loopback (realm or redirect)', async () => {
    const viaRealm = await probe(
      registryThat(ok, { ping: (q, r, srv) => bearerChallenge(`http://127.0.0.1:${srv.port}/token`)(q, r, srv) }),
      (s) => `reg.test:${s.port}`,
    );
    assert.equal(viaRealm.o.verdict, 'inconclusive');
    assert.match(viaRealm.o.reason, /refused Bearer realm to 127\.0\.0\.1 \(policy: loopback only when the registry is on loopback\)/);
    const viaRedirect = await probe(
      registryThat((q, r, srv) => redirect(`http://127.0.0.1:${srv.port}/v2/x/manifests/1`)(q, r, srv)),
      (s) => `reg.test:${s.port}`,
    );
    assert.equal(viaRedirect.o.verdict, 'inconclusive');
    assert.match(viaRedirect.o.reason, /policy: loopback only when the registry is on loopback/);
    assert.ok(attempts.every((a) => a.startsWith('reg.test:')), `attempts: ${attempts}`);
  });

  it('refuses host names that resolve to link-local or metadata addresses', () => {
    for (const a of ['169.254.169.254', 'fd00:ec2::254', '169.254.3.4', 'fe80::1', '::ffff:169.254.169.254']) assert.equal(forbiddenResolved(a), true, a);
    for (const a of ['127.0.0.1', '10.0.0.1', '8.8.8.8', '::1']) assert.equal(forbiddenResolved(a), false, a);
  });
});
