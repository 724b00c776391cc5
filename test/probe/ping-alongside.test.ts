import assert from 'node:assert/strict';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeSettings } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';
import { startMisbehaving, type Handler, type Misbehaving } from '../support/misbehaving.js';

/**
 * The `/v2/` ping and a registry's first manifest HEADs go out together (docs/probing.md): a HEAD no longer waits
 * for the ping's answer, and what it answered is judged as if it had been sent after it. Each registry here holds
 * its ping's answer until `hold` manifest requests arrived (a 5 s valve releases it and fails the test), so the
 * HEADs are known to have gone out first whatever the timing; verdicts, reasons and request counts are asserted.
 */
describe('probe: the ping and the first HEADs together', function () {
  this.timeout(30_000);
  const servers: Misbehaving[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  interface Held {
    readonly server: Misbehaving;
    readonly pingHeldTooLong: () => boolean;
  }

  /** `ping` answers once `hold` requests other than the ping arrived; `inFlight` counts open requests across servers. */
  async function serve(ping: Handler, rest: Handler, hold: number, inFlight?: { now: number; max: number }): Promise<Held> {
    let others = 0;
    let release: (() => void) | undefined;
    let tooLong = false;
    const server = await startMisbehaving((req, res, srv) => {
      if (inFlight) {
        inFlight.max = Math.max(inFlight.max, ++inFlight.now);
        res.on('close', () => inFlight.now--);
      }
      if (req.url === '/v2/') {
        if (others >= hold) return ping(req, res, srv);
        const valve = setTimeout(() => ((tooLong = true), release?.()), 5000);
        release = () => (clearTimeout(valve), (release = undefined), ping(req, res, srv));
        return;
      }
      if (++others >= hold) release?.();
      rest(req, res, srv);
    });
    servers.push(server);
    return { server, pingHeldTooLong: () => tooLong };
  }

  async function probe(images: readonly string[], hosts: readonly string[], settings: Partial<ProbeSettings> = {}) {
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, insecureRegistries: [...hosts], ...settings }, { env: {} });
    try {
      return await prober.probeAll(images.map(parseReference));
    } finally {
      await prober.close();
    }
  }

  const pings = (s: Misbehaving) => s.hits.filter((h) => h.path === '/v2/').length;
  const manifests = (s: Misbehaving) => s.hits.filter((h) => h.path.includes('/manifests/'));

  it('htpasswd (Basic) registry: private, one ping and one HEAD per image', async () => {
    const basic: Handler = (_req, res) =>
      void res.writeHead(401, { 'www-authenticate': 'Basic realm="Registry Realm"', 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    const r = await serve(basic, basic, 3);
    const images = Array.from({ length: 10 }, (_, i) => `${r.server.host}/team/app-${i}:v1`);
    const out = await probe(images, [r.server.host]);
    assert.equal(r.pingHeldTooLong(), false, 'the HEADs waited for the ping');
    for (const i of images) {
      const o = out.get(i)!;
      assert.equal(o.verdict, 'private', i);
      assert.match(o.reason, /^HEAD http:\/\/.*\/manifests\/v1 answered 401 \(Basic auth required\)$/);
    }
    assert.equal(pings(r.server), 1);
    assert.equal(manifests(r.server).length, images.length, 'one HEAD per image');
  });

  it('token registry: a HEAD sent beside the ping is repeated with a token, one token per scope, the same reasons', async () => {
    let tokenRequests = 0;
    const scopes = new Map<string, number>();
    let base = '';
    const challenge = (scope?: string): Handler => (_req, res) =>
      void res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${base}/token",service="registry.test"${scope ? `,scope="${scope}"` : ''}`,
          'content-type': 'application/json',
        })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    const registry: Handler = (req, res, srv) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token') {
        tokenRequests++;
        const scope = url.searchParams.get('scope') ?? '';
        scopes.set(scope, (scopes.get(scope) ?? 0) + 1);
        if (scope.includes('secret')) return void res.writeHead(403, { 'content-type': 'application/json' }).end('{}');
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `t-${scope}`, expires_in: 300 }));
      }
      const repo = /^\/v2\/(.+)\/manifests\//.exec(url.pathname)?.[1] ?? '';
      if (req.headers.authorization !== `Bearer t-repository:${repo}:pull`) return challenge(`repository:${repo}:pull`)(req, res, srv);
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end();
    };
    const r = await serve(challenge(), registry, 4);
    base = r.server.origin;
    const repos = ['team/api', 'team/web', 'team/secret'];
    const images = repos.flatMap((repo) => Array.from({ length: 4 }, (_, t) => `${r.server.host}/${repo}:v${t}`));
    const out = await probe(images, [r.server.host], { concurrencyPerRegistry: 6 });
    assert.equal(r.pingHeldTooLong(), false, 'the HEADs waited for the ping');
    for (const i of images) {
      const o = out.get(i)!;
      if (i.includes('secret')) {
        assert.equal(o.verdict, 'private', i);
        assert.match(o.reason, /^token endpoint GET http:\/\/.*\/token refused an anonymous token \(403\)$/);
      } else {
        assert.equal(o.verdict, 'public', i);
        assert.match(o.reason, /^HEAD http:\/\/.*\/manifests\/v\d answered 200 after an anonymous token$/);
      }
    }
    assert.equal(pings(r.server), 1);
    assert.deepEqual([...scopes.values()], [1, 1, 1], `one token request per scope: ${JSON.stringify([...scopes])}`);
    assert.equal(tokenRequests, repos.length);
    // the HEADs that went out beside the ping are sent once more with a token; the others carry one at once
    const heads = manifests(r.server);
    const anonymous = heads.filter((h) => h.authorization === undefined).length;
    assert.ok(anonymous >= 4 && anonymous <= 6, `${anonymous} anonymous HEADs: the ones sent beside the ping, at most probe.concurrencyPerRegistry`);
    // a HEAD with a token for each public image, none for the private repository (its token was refused)
    assert.equal(heads.length - anonymous, images.filter((i) => !i.includes('secret')).length);
  });

  it('probe.concurrency bounds the ping and the HEADs sent beside it together, across registries', async () => {
    const inFlight = { now: 0, max: 0 };
    const ok: Handler = (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(), 20);
    };
    const fine: Handler = (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const a = await serve(fine, ok, 1, inFlight);
    const b = await serve(fine, ok, 1, inFlight);
    const images = [a, b].flatMap((r) => Array.from({ length: 12 }, (_, i) => `${r.server.host}/team/app-${i}:v1`));
    const out = await probe(images, [a.server.host, b.server.host], { concurrency: 4, concurrencyPerRegistry: 3 });
    assert.equal(a.pingHeldTooLong() || b.pingHeldTooLong(), false, 'the HEADs waited for the ping');
    assert.equal([...out.values()].filter((o) => o.verdict === 'public').length, images.length);
    assert.ok(inFlight.max <= 4, `at most probe.concurrency (4) requests at once, saw ${inFlight.max}`);
    for (const r of [a, b]) {
      assert.equal(pings(r.server), 1);
      assert.equal(manifests(r.server).length, 12);
    }
  });
});
