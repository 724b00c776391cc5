import assert from 'node:assert/strict';
import { createNetworkProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome, type Prober } from '../../src/probe/index.js';
import { DEFAULT_TOKEN_LIFETIME_S, MAX_TOKEN_LIFETIME_S, tokenLifetimeSeconds, tokenReuseUntil } from '../../src/probe/token.js';
import { parseReference } from '../../src/reference/parse.js';
import { FakeClock } from '../support/fake-clock.js';
import { startMisbehaving, type Misbehaving } from '../support/misbehaving.js';

/**
 * Anonymous tokens are reused while they are fresh by their own `expires_in` (60 s when absent, as the
 * distribution token spec says), refreshed before they expire, and cached per realm, service and scope.
 * One prober lives across several probeAll calls here, on a fake clock moved by hand between them.
 */
describe('probe: anonymous token lifetimes', function () {
  this.timeout(20_000);

  describe('tokenLifetimeSeconds / tokenReuseUntil', () => {
    it('uses expires_in, the spec default when it is missing or absurd, and clamps huge values', () => {
      assert.equal(tokenLifetimeSeconds(300), 300);
      assert.equal(tokenLifetimeSeconds('1800'), 1800);
      for (const v of [undefined, null, 0, -30, Number.NaN, 'soon', '', {}, []]) assert.equal(tokenLifetimeSeconds(v), DEFAULT_TOKEN_LIFETIME_S, String(v));
      assert.equal(tokenLifetimeSeconds(1e12), MAX_TOKEN_LIFETIME_S);
      assert.equal(tokenLifetimeSeconds(Number.POSITIVE_INFINITY), DEFAULT_TOKEN_LIFETIME_S);
    });

    it('refreshes before expiry, and lets issued_at only shorten a lifetime', () => {
      const t = 1_000_000_000_000;
      assert.equal(tokenReuseUntil({ expires_in: 300 }, t), t + 270_000);
      assert.equal(tokenReuseUntil({}, t), t + 30_000, '60 s default, half of it as margin');
      assert.equal(tokenReuseUntil({ expires_in: 20 }, t), t + 10_000);
      assert.equal(tokenReuseUntil({ expires_in: 300, issued_at: new Date(t - 200_000).toISOString() }, t), t + 70_000);
      assert.equal(tokenReuseUntil({ expires_in: 300, issued_at: new Date(t + 600_000).toISOString() }, t), t + 270_000, 'a registry clock ahead of ours');
      assert.equal(tokenReuseUntil({ expires_in: 300, issued_at: 'yesterday' }, t), t + 270_000);
    });
  });

  describe('against a registry that enforces its token lifetimes', () => {
    let server: Misbehaving;
    let clock: FakeClock;
    let prober: Prober;
    /** what the token endpoint adds to its answer */
    let extra: Record<string, unknown>;
    /** lifetime the registry enforces, in ms (tokens older than this get a 401 insufficient... invalid_token) */
    let enforceMs: number;
    const issued = new Map<string, number>();
    /** tokens the registry calls invalid whatever their age */
    const revoked = new Set<string>();

    beforeEach(async () => {
      clock = new FakeClock();
      extra = {};
      enforceMs = 60_000;
      issued.clear();
      revoked.clear();
      let n = 0;
      server = await startMisbehaving((req, res, srv) => {
        const url = new URL(req.url ?? '/', srv.origin);
        const challenge = `Bearer realm="${srv.origin}/token",service="${url.searchParams.get('svc') ?? 'shape'}"`;
        if (url.pathname === '/token') {
          const token = `tok-${++n}`;
          issued.set(token, clock.now());
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, ...extra }));
          return;
        }
        const auth = req.headers.authorization?.replace(/^Bearer /, '');
        const at = auth ? issued.get(auth) : undefined;
        if (at === undefined) return void res.writeHead(401, { 'www-authenticate': challenge }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        if (clock.now() - at >= enforceMs || revoked.has(auth!)) {
          return void res.writeHead(401, { 'www-authenticate': `${challenge},error="invalid_token"` }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        }
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end();
      });
      prober = createNetworkProber({ ...DEFAULT_PROBE_SETTINGS, insecureRegistries: [server.host], retries: 0 }, { env: {}, clock });
    });
    afterEach(async () => {
      await prober.close();
      await server.stop();
    });

    async function probe(...images: string[]): Promise<ProbeOutcome[]> {
      const out = await prober.probeAll(images.map((i) => parseReference(`${server.host}/${i}`)));
      return [...out.values()];
    }
    const tokenRequests = () => server.count('/token');

    it('reuses a token for its expires_in minus the margin, then fetches a new one', async () => {
      extra = { expires_in: 300 };
      enforceMs = 300_000;
      assert.deepEqual((await probe('org/app:1')).map((o) => o.verdict), ['public']);
      clock.advance(200_000);
      assert.deepEqual((await probe('org/app:2')).map((o) => o.verdict), ['public']);
      assert.equal(tokenRequests(), 1, 'a 300 s token is still good after 200 s');
      clock.advance(75_000); // 275 s: inside the 30 s margin
      assert.deepEqual((await probe('org/app:3')).map((o) => o.verdict), ['public']);
      assert.equal(tokenRequests(), 2);
    });

    it('a token without expires_in lives 60 s: reused for 30 s, never sent when it may have expired', async () => {
      await probe('org/app:1');
      clock.advance(25_000);
      await probe('org/app:2');
      assert.equal(tokenRequests(), 1);
      clock.advance(10_000); // 35 s
      await probe('org/app:3');
      assert.equal(tokenRequests(), 2);
    });

    it('a short-lived token (expires_in 20) is not reused past its life, so a public image stays public', async () => {
      extra = { expires_in: 20 };
      enforceMs = 20_000;
      assert.equal((await probe('org/app:1'))[0]?.verdict, 'public');
      clock.advance(30_000);
      const [o] = await probe('org/app:2');
      assert.equal(o?.verdict, 'public', o?.reason);
      assert.equal(tokenRequests(), 2);
    });

    it('a token the registry calls invalid_token is fetched anew once, not taken for "private"', async () => {
      extra = { expires_in: 300 };
      enforceMs = 300_000;
      await probe('org/app:1');
      revoked.add('tok-1'); // the registry restarted with a new key, say
      const [o] = await probe('org/app:2');
      assert.equal(o?.verdict, 'public', o?.reason);
      assert.equal(tokenRequests(), 2);
      revoked.add('tok-2');
      revoked.add('tok-3');
      const [again] = await probe('org/app:3');
      assert.equal(again?.verdict, 'private', 'a registry that rejects every token is private, after one refresh');
      assert.match(again!.reason, /answered 401 after an anonymous token \(invalid_token\)$/);
      assert.equal(tokenRequests(), 3);
    });

    it('clamps an absurd expires_in to an hour', async () => {
      extra = { expires_in: 1e12 };
      enforceMs = Number.POSITIVE_INFINITY;
      await probe('org/app:1');
      clock.advance(3_500_000);
      await probe('org/app:2');
      assert.equal(tokenRequests(), 1);
      clock.advance(100_000); // 3600 s
      await probe('org/app:3');
      assert.equal(tokenRequests(), 2);
    });

    it('caches per realm, service and scope: one token for two tags of a repository, one per repository', async () => {
      extra = { expires_in: 300 };
      enforceMs = 300_000;
      const out = await probe('org/app:1', 'org/app:2', 'org/other:1', 'team/x/y:1');
      assert.deepEqual(out.map((o) => o.verdict), ['public', 'public', 'public', 'public']);
      const scopes = server.hits.filter((h) => h.path.startsWith('/token')).map((h) => new URL(h.path, server.origin).searchParams.get('scope'));
      assert.deepEqual(scopes.sort(), ['repository:org/app:pull', 'repository:org/other:pull', 'repository:team/x/y:pull']);
    });
  });
});
