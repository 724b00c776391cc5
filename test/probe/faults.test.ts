import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome, type ProbeSettings, type ProberOptions } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';
import {
  bearerChallenge, closedPort, endlessBody, flaky, hang, makeTestCA, ok, redirect, registryThat, startConnectProxy, startMisbehaving,
  status, truncatedBody, type Handler, type Misbehaving,
} from '../support/misbehaving.js';

/** Registries that fail on purpose; every server listens on 127.0.0.1 and is stopped after its test. */
describe('probe: failing and misbehaving registries', function () {
  this.timeout(30_000);
  const servers: Misbehaving[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  async function serve(handler: Handler, options: Parameters<typeof startMisbehaving>[1] = {}): Promise<Misbehaving> {
    const s = await startMisbehaving(handler, options);
    servers.push(s);
    return s;
  }

  /** A clock whose sleeps return at once and are recorded: retries without waiting. */
  function fastClock() {
    const slept: number[] = [];
    return { slept, clock: { now: () => Date.now(), sleep: async (ms: number) => void slept.push(ms) } };
  }

  async function probeOne(image: string, extra: Partial<ProbeSettings> = {}, options: ProberOptions = {}): Promise<ProbeOutcome> {
    const host = parseReference(image).domain;
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, insecureRegistries: [host], ...extra }, { env: {}, clock: fastClock().clock, ...options });
    try {
      const out = await prober.probeAll([parseReference(image)]);
      return [...out.values()][0]!;
    } finally {
      await prober.close();
    }
  }

  it('404 → private (404) with the warning reason', async () => {
    const s = await serve(registryThat(status(404)));
    const o = await probeOne(`${s.host}/org/app:1`);
    assert.equal(o.verdict, 'private-404');
    assert.match(o.reason, /HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/org\/app\/manifests\/1 answered 404/);
  });

  it('403 → private', async () => {
    const s = await serve(registryThat(status(403)));
    assert.equal((await probeOne(`${s.host}/org/app:1`)).verdict, 'private');
  });

  it('429 then 200 → public, honouring Retry-After in seconds and as an HTTP date', async () => {
    const date = new Date(Date.now() + 4000).toUTCString();
    for (const retryAfter of ['2', date]) {
      const s = await serve(registryThat(flaky(2, status(429, { 'retry-after': retryAfter }))));
      const { slept, clock } = fastClock();
      const o = await probeOne(`${s.host}/org/app:1`, {}, { clock });
      assert.equal(o.verdict, 'public');
      assert.equal(s.count('/v2/org/app/manifests/1'), 3);
      assert.equal(slept.length, 2);
      for (const ms of slept) assert.ok(retryAfter === '2' ? ms === 2000 : ms > 2000 && ms <= 4000, `slept ${ms} for Retry-After ${retryAfter}`);
    }
  });

  it('429 without Retry-After and 503 then recovery → public after backoff', async () => {
    for (const code of [429, 503]) {
      const s = await serve(registryThat(flaky(2, status(code))));
      const { slept, clock } = fastClock();
      const o = await probeOne(`${s.host}/org/app:1`, {}, { clock, backoffBaseMs: 100 });
      assert.equal(o.verdict, 'public', `${code}`);
      assert.equal(slept.length, 2);
      assert.ok(slept[1]! > slept[0]! / 2 && slept[0]! >= 50 && slept[1]! >= 100, `exponential backoff: ${slept}`);
    }
  });

  it('a Retry-After beyond the deadline gives up at once → inconclusive', async () => {
    const s = await serve(registryThat(status(429, { 'retry-after': '3600' })));
    const o = await probeOne(`${s.host}/org/app:1`, { deadlineSeconds: 30 });
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /answered 429; Retry-After 3600 s goes past the deadline/);
    assert.equal(s.count('/v2/org/app'), 1);
  });

  it('a 5xx storm → inconclusive after the configured retries, never private', async () => {
    const s = await serve(registryThat(status(502)));
    const o = await probeOne(`${s.host}/org/app:1`, { retries: 3 });
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/org\/app\/manifests\/1 answered 502 \(after 3 retries\)/);
    assert.equal(s.count('/v2/org/app'), 4);
  });

  it('a 5xx on /v2/ makes every image of that registry inconclusive with one ping', async () => {
    const s = await serve(registryThat(ok, { ping: status(500) }));
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, retries: 1, insecureRegistries: [s.host] }, { env: {}, clock: fastClock().clock });
    const out = await prober.probeAll([`${s.host}/a:1`, `${s.host}/b:1`, `${s.host}/c:1`].map(parseReference));
    await prober.close();
    for (const o of out.values()) {
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, /^GET http:\/\/127\.0\.0\.1:\d+\/v2\/ answered 500 \(after 1 retry\)$/, 'the ping decides, though the HEADs answered 200');
    }
    assert.equal(s.hits.filter((h) => h.path === '/v2/').length, 2); // one ping, one retry
    // the HEADs went out beside the ping and are never retried or repeated while it fails
    for (const n of ['a', 'b', 'c']) assert.equal(s.count(`/v2/${n}/`), 1, n);
  });

  it('a registry that never answers hits the per-request timeout → inconclusive', async () => {
    const s = await serve(registryThat(hang));
    const o = await probeOne(`${s.host}/org/app:1`, { timeoutSeconds: 0.3, retries: 1 });
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/org\/app\/manifests\/1 failed: timed out after 0\.3 s \(after 1 retry\)/);
  });

  it('the overall deadline ends all probing: unfinished images are inconclusive "deadline exceeded"', async () => {
    const s = await serve(registryThat((req, res, srv) => (req.url?.includes('/slow/') ? hang(req, res, srv) : ok(req, res, srv))));
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, timeoutSeconds: 30, deadlineSeconds: 0.5, insecureRegistries: [s.host] }, { env: {} });
    const out = await prober.probeAll([`${s.host}/slow/a:1`, `${s.host}/slow/b:1`, `${s.host}/fast/c:1`].map(parseReference));
    await prober.close();
    assert.equal(out.get(`${s.host}/fast/c:1`)?.verdict, 'public');
    for (const k of [`${s.host}/slow/a:1`, `${s.host}/slow/b:1`]) {
      assert.equal(out.get(k)?.verdict, 'inconclusive');
      assert.match(out.get(k)!.reason, /^deadline exceeded \(0\.5 s for all probes\)/);
    }
  });

  it('keeps to the concurrency bounds', async () => {
    let inFlight = 0;
    let most = 0;
    const s = await serve(
      registryThat((req, res, srv) => {
        inFlight++;
        most = Math.max(most, inFlight);
        setTimeout(() => {
          inFlight--;
          ok(req, res, srv);
        }, 20);
      }),
    );
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, concurrency: 16, concurrencyPerRegistry: 3, insecureRegistries: [s.host] }, { env: {} });
    const out = await prober.probeAll(Array.from({ length: 20 }, (_, i) => parseReference(`${s.host}/app:${i}`)));
    await prober.close();
    assert.equal([...out.values()].filter((o) => o.verdict === 'public').length, 20);
    assert.ok(most <= 3 && most >= 1, `at most 3 at once, saw ${most}`);
  });

  it('falls back to GET when HEAD answers 405, and stops reading an endless body', async () => {
    const s = await serve(registryThat((req, res, srv) => (req.method === 'HEAD' ? status(405)(req, res, srv) : endlessBody(req, res, srv))));
    const o = await probeOne(`${s.host}/org/app:1`);
    assert.equal(o.verdict, 'public');
    assert.match(o.reason, /^GET http:\/\/.* answered 200/);
  });

  it('malformed WWW-Authenticate on 401 → inconclusive naming the problem', async () => {
    const s = await serve(registryThat((_q, res) => void res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://127.0.0.1:1/token' }).end()));
    const o = await probeOne(`${s.host}/org/app:1`);
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /answered 401 with a malformed WWW-Authenticate \(unterminated quoted value for "realm"\)/);
  });

  describe('token endpoint trouble', () => {
    async function tokenRegistry(issuer: Handler): Promise<Misbehaving> {
      const s = await serve((req, res, srv) => {
        if (req.url?.startsWith('/token')) return issuer(req, res, srv);
        if (req.headers.authorization === 'Bearer good') return ok(req, res, srv);
        return bearerChallenge(`${srv.origin}/token`)(req, res, srv);
      });
      return s;
    }

    it('reads "token" and "access_token"', async () => {
      for (const field of ['token', 'access_token']) {
        const s = await tokenRegistry((_q, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ [field]: 'good' })));
        const o = await probeOne(`${s.host}/org/app:1`);
        assert.equal(o.verdict, 'public', field);
        assert.ok(s.hits.some((h) => h.path.startsWith('/token?') && h.path.includes('scope=repository%3Aorg%2Fapp%3Apull') && h.path.includes('service=misbehaving')));
      }
    });

    it('a token endpoint that is down → inconclusive', async () => {
      const port = await closedPort();
      const s = await serve(registryThat(ok, { ping: bearerChallenge(`http://127.0.0.1:${port}/token`) }));
      const o = await probeOne(`${s.host}/org/app:1`, { retries: 1 });
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, new RegExp(`token request: GET http://127.0.0.1:${port}/token failed: connection refused`));
    });

    it('garbage, empty, oversized or truncated token answers → inconclusive with a clear reason', async () => {
      const cases: Array<[Handler, RegExp]> = [
        [(_q, res) => void res.writeHead(200).end('<html>hello</html>'), /with a body that is not JSON/],
        [(_q, res) => void res.writeHead(200).end('{"token":""}'), /without a usable "token" or "access_token"/],
        [(_q, res) => void res.writeHead(200).end('[1,2]'), /without a usable/],
        [endlessBody, /larger than 64 KiB/],
        [truncatedBody, /token request: GET http:\/\/127\.0\.0\.1:\d+\/token failed: .*while reading the body/],
        [status(500), /token request: GET .* answered 500/],
      ];
      for (const [issuer, want] of cases) {
        const s = await tokenRegistry(issuer);
        const o = await probeOne(`${s.host}/org/app:1`, { retries: 1 });
        assert.equal(o.verdict, 'inconclusive', String(want));
        assert.match(o.reason, want);
        assert.doesNotMatch(o.reason, /scope=|service=/, 'no query string in reasons');
      }
    });

    it('a token endpoint that refuses anonymous users → private', async () => {
      const s = await tokenRegistry(status(401));
      const o = await probeOne(`${s.host}/org/app:1`);
      assert.equal(o.verdict, 'private');
      assert.match(o.reason, /refused an anonymous token \(401\)/);
    });
  });

  describe('redirects', () => {
    it('follows a same-origin redirect', async () => {
      const s = await serve(registryThat((req, res, srv) => (req.url?.endsWith('/moved') ? ok(req, res, srv) : redirect(`/v2/org/app/manifests/moved`, 307)(req, res, srv))));
      assert.equal((await probeOne(`${s.host}/org/app:1`)).verdict, 'public');
    });

    it('gives up after 3 redirects', async () => {
      let n = 0;
      const s = await serve(registryThat((_q, res) => void res.writeHead(302, { location: `/v2/loop/${n++}` }).end()));
      const o = await probeOne(`${s.host}/org/app:1`);
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, /more than 3 redirects \(policy: at most 3\)/);
      assert.equal(s.count('/v2/org/app') + s.count('/v2/loop'), 4);
    });

    it('sends the token to the registry only, not to another origin it redirects to', async () => {
      const elsewhere = await serve(ok);
      const s = await serve((req, res, srv) => {
        if (req.url?.startsWith('/token')) return void res.writeHead(200).end('{"token":"secret-token"}');
        if (req.url === '/v2/') return bearerChallenge(`${srv.origin}/token`)(req, res, srv);
        if (req.headers.authorization === 'Bearer secret-token') return redirect(`${elsewhere.origin}/blob`)(req, res, srv);
        return bearerChallenge(`${srv.origin}/token`)(req, res, srv);
      });
      const o = await probeOne(`${s.host}/org/app:1`);
      assert.equal(o.verdict, 'public');
      assert.equal(elsewhere.hits.length, 1);
      assert.equal(elsewhere.hits[0]!.authorization, undefined);
      assert.ok(s.hits.some((h) => h.authorization === 'Bearer secret-token'));
      assert.ok(s.hits.filter((h) => h.path.startsWith('/token')).every((h) => h.authorization === undefined), 'the probe sends no credentials to the realm');
    });
  });

  describe('TLS', () => {
    it('trusts a private CA only through caFile, and checks the host name', async () => {
      const good = makeTestCA();
      const wrong = makeTestCA(['DNS:wrong.example']);
      try {
        const s = await serve(registryThat(ok), { tls: good });
        const image = `${s.host}/org/app:1`;
        const without = await probeOne(image, { insecureRegistries: [], retries: 0 });
        assert.equal(without.verdict, 'inconclusive');
        assert.match(without.reason, /GET https:\/\/127\.0\.0\.1:\d+\/v2\/ failed: TLS error: .*(self-signed|unable to|certificate)/i);
        const withCa = await probeOne(image, { insecureRegistries: [], caFile: good.caFile });
        assert.equal(withCa.verdict, 'public');
        assert.match(withCa.reason, /^HEAD https:/);

        const w = await serve(registryThat(ok), { tls: wrong });
        const mismatch = await probeOne(`${w.host}/org/app:1`, { insecureRegistries: [], caFile: wrong.caFile, retries: 0 });
        assert.equal(mismatch.verdict, 'inconclusive');
        assert.match(mismatch.reason, /TLS error: .*(altnames|does not match|ERR_TLS_CERT_ALTNAME_INVALID)/i);
      } finally {
        good.cleanup();
        wrong.cleanup();
      }
    });

    it('plain http to a TLS port is inconclusive', async () => {
      const ca = makeTestCA();
      try {
        const s = await serve(registryThat(ok), { tls: ca });
        const o = await probeOne(`${s.host}/org/app:1`, { retries: 0 });
        assert.equal(o.verdict, 'inconclusive');
      } finally {
        ca.cleanup();
      }
    });
  });

  it('a DNS failure is inconclusive, and the name is never resolved for real', async () => {
    const looked: string[] = [];
    const lookup = (hostname: string, _o: { all: true }, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
      looked.push(hostname);
      const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as NodeJS.ErrnoException;
      e.code = 'ENOTFOUND';
      cb(e, []);
    };
    const o = await probeOne('registry.invalid/org/app:1', { retries: 1 }, { lookup });
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /GET http:\/\/registry\.invalid\/v2\/ failed: DNS lookup of registry\.invalid failed \(ENOTFOUND\) \(after 1 retry\)/);
    assert.deepEqual(looked, ['registry.invalid', 'registry.invalid']);
  });

  it('goes through HTTPS_PROXY/HTTP_PROXY and honours NO_PROXY', async () => {
    const proxy = await startConnectProxy();
    try {
      const s = await serve(registryThat(ok));
      const viaProxy = await probeOne(`${s.host}/org/app:1`, {}, { env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } });
      assert.equal(viaProxy.verdict, 'public');
      assert.deepEqual([...new Set(proxy.targets)], [s.host]);
      proxy.targets.length = 0;
      const direct = await probeOne(`${s.host}/org/app:1`, {}, { env: { http_proxy: proxy.url, no_proxy: '127.0.0.1' } });
      assert.equal(direct.verdict, 'public');
      assert.deepEqual(proxy.targets, []);
    } finally {
      await proxy.stop();
    }
  });
});
