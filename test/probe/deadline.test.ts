import assert from 'node:assert/strict';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome, type ProbeSettings, type ProberOptions } from '../../src/probe/index.js';
import { explain } from '../../src/probe/explain.js';
import { TIMEOUT_RETRIES } from '../../src/probe/retry.js';
import { parseReference } from '../../src/reference/parse.js';
import { FakeClock } from '../support/fake-clock.js';
import { bearerChallenge, hang, ok, registryThat, startMisbehaving, status, type Handler, type Misbehaving } from '../support/misbehaving.js';

/** `GET /v2/` requests only (`count('/v2/')` counts every manifest request too). */
const pings = (s: Misbehaving): number => s.hits.filter((h) => h.path === '/v2/').length;
/** `host/repo:tag` -> `/v2/repo/manifests/tag` */
const manifestPath = (image: string): string => {
  const [, ...rest] = image.split('/');
  const [repo, tag] = rest.join('/').split(':');
  return `/v2/${repo}/manifests/${tag}`;
};

/**
 * Time limits: probing must end inside probe.deadlineSeconds whatever registries do, and the default
 * deadline must leave an Argo CD render (60 s controller wait) room for git and kustomize.
 * Tests at the default settings run on a fake clock: the bounds asserted are virtual seconds, from the
 * retry and timeout arithmetic, and the real time they take is a few hundred milliseconds.
 */
describe('probe: time limits', function () {
  this.timeout(30_000);
  const servers: Misbehaving[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  async function serve(handler: Handler): Promise<Misbehaving> {
    const s = await startMisbehaving(handler);
    servers.push(s);
    return s;
  }

  async function probe(images: string[], settings: Partial<ProbeSettings>, options: ProberOptions = {}): Promise<Map<string, ProbeOutcome>> {
    const hosts = [...new Set(images.map((i) => parseReference(i).domain))];
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, insecureRegistries: hosts, ...settings }, { env: {}, ...options });
    try {
      return await prober.probeAll(images.map(parseReference));
    } finally {
      await prober.close();
    }
  }

  /** Runs `fn` with a fake clock that jumps to the next timer whenever the network is quiet. */
  async function onFakeTime<T>(fn: (clock: FakeClock) => Promise<T>): Promise<{ value: T; virtualMs: number; realMs: number }> {
    const clock = new FakeClock();
    const stop = clock.autoAdvance();
    const t0 = performance.now();
    try {
      const value = await fn(clock);
      return { value, virtualMs: clock.elapsed(), realMs: performance.now() - t0 };
    } finally {
      stop();
    }
  }

  describe('at the default settings (fake clock)', () => {
    it('defaults leave an Argo CD render room: 30 s deadline, 10 s per request, a timed-out request sent twice at most', () => {
      assert.equal(DEFAULT_PROBE_SETTINGS.deadlineSeconds, 30);
      assert.equal(DEFAULT_PROBE_SETTINGS.timeoutSeconds, 10);
      assert.equal(TIMEOUT_RETRIES, 1);
      // Argo CD's controller waits 60 s for the repo-server; git fetch and kustomize share what probing leaves.
      assert.ok(DEFAULT_PROBE_SETTINGS.deadlineSeconds <= 60 / 2);
    });

    it('a registry that never answers: 2 pings of 10 s, every image inconclusive at ~20 s, a healthy registry decided', async () => {
      const dead = await serve(hang);
      const fine = await serve(registryThat(ok));
      const images = [`${dead.host}/a/one:1`, `${dead.host}/a/two:1`, `${dead.host}/b/three:1`, `${fine.host}/c/four:1`];
      const { value: out, virtualMs, realMs } = await onFakeTime((clock) => probe(images, {}, { clock }));
      for (const i of images.slice(0, 3)) {
        const o = out.get(i)!;
        assert.equal(o.verdict, 'inconclusive', i);
        assert.match(o.reason, new RegExp(`^GET http://${dead.host}/v2/ failed: timed out after 10 s \\(after 1 retry\\)$`));
        assert.match(explain(o), /did not answer in time/);
      }
      assert.equal(out.get(images[3]!)?.verdict, 'public');
      assert.equal(pings(dead), 2, 'one ping and one retry, however many retries 5xx get');
      // each image's first HEAD went out beside the ping (the connection was accepted) and was not retried
      for (const i of images.slice(0, 3)) assert.equal(dead.count(manifestPath(i)), 1, i);
      // 10 s + backoff (< 250 ms on the first retry) + 10 s: the whole run, well inside the 30 s deadline
      assert.ok(virtualMs >= 20_000 && virtualMs <= 20_250 + 50, `ended after ${virtualMs} virtual ms`);
      assert.ok(realMs < 15_000, `took ${realMs} real ms`);
    });

    it('a registry that answers 503 after 8 s: 5xx keeps its retries, the deadline ends the run at 30 s', async () => {
      let clockRef: FakeClock | undefined;
      const slow = await serve((_req, res) => {
        void clockRef!.sleep(8000).then(() => {
          if (!res.destroyed) res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE"}]}');
        });
      });
      const image = `${slow.host}/org/app:1`;
      const { value: out, virtualMs } = await onFakeTime((clock) => {
        clockRef = clock;
        return probe([image], {}, { clock });
      });
      const o = out.get(image)!;
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, /^deadline exceeded \(30 s for all probes\)/);
      assert.match(explain(o), /ran out of time \(probe\.deadlineSeconds\)/);
      // attempts at 0, ~8.2, ~16.6 and ~25.6 s (8 s each plus backoff): the 4th is cut by the deadline
      assert.equal(pings(slow), 4);
      assert.equal(slow.count('/v2/org/app/manifests/1'), 1, 'the HEAD sent beside the first ping, not retried while the ping fails');
      assert.ok(virtualMs >= 30_000 && virtualMs <= 30_050, `ended after ${virtualMs} virtual ms`);
    });

    it('429 with Retry-After 12 s: honoured until the next wait would pass the deadline', async () => {
      const limited = await serve(registryThat(status(429, { 'retry-after': '12' })));
      const image = `${limited.host}/org/app:1`;
      const { value: out, virtualMs } = await onFakeTime((clock) => probe([image], {}, { clock }));
      const o = out.get(image)!;
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, /answered 429 \(after 2 retries\); Retry-After 12 s goes past the deadline$/);
      assert.equal(limited.count('/v2/org/app/manifests/1'), 3, 'at 0, 12 and 24 s');
      assert.ok(virtualMs >= 24_000 && virtualMs < 24_100, `ended after ${virtualMs} virtual ms`);
    });

    it('a token endpoint that hangs: retried once, inconclusive at ~20 s', async () => {
      const s = await serve((req, res, srv) => {
        if (req.url?.startsWith('/token')) return hang(req, res, srv);
        return bearerChallenge(`${srv.origin}/token`)(req, res, srv);
      });
      const image = `${s.host}/org/app:1`;
      const { value: out, virtualMs } = await onFakeTime((clock) => probe([image], {}, { clock }));
      const o = out.get(image)!;
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, new RegExp(`^token request: GET http://${s.host}/token failed: timed out after 10 s \\(after 1 retry\\)$`));
      assert.equal(s.count('/token'), 2);
      assert.ok(virtualMs >= 20_000 && virtualMs <= 20_300, `ended after ${virtualMs} virtual ms`);
    });
  });

  describe('on the real clock, with short limits', () => {
    it('a hanging registry: a timed-out request is sent once more, not `retries` times', async () => {
      const s = await serve(hang);
      const t0 = performance.now();
      const out = await probe([`${s.host}/org/app:1`], { timeoutSeconds: 0.2, retries: 3, deadlineSeconds: 5 }, { backoffBaseMs: 10 });
      const wall = performance.now() - t0;
      const o = [...out.values()][0]!;
      assert.equal(o.verdict, 'inconclusive');
      assert.match(o.reason, /failed: timed out after 0\.2 s \(after 1 retry\)$/);
      assert.equal(pings(s), 2);
      assert.equal(s.count('/v2/org/app/manifests/1'), 1, 'the HEAD sent beside the ping, not retried while the ping fails');
      assert.ok(wall < 5000, `a 5 s deadline, ended after ${Math.round(wall)} ms`);
    });

    it('a registry that answers 503 slowly: the run ends at the deadline, not after all retries', async () => {
      const s = await serve((_req, res) => {
        const t = setTimeout(() => res.writeHead(503).end(), 400);
        res.on('close', () => clearTimeout(t));
      });
      const t0 = performance.now();
      const out = await probe([`${s.host}/org/app:1`, `${s.host}/org/other:2`], { timeoutSeconds: 5, retries: 10, deadlineSeconds: 1 }, { backoffBaseMs: 10 });
      const wall = performance.now() - t0;
      for (const o of out.values()) assert.equal(o.verdict, 'inconclusive');
      // 11 attempts of 400 ms would take 4.4 s; the deadline stops it at 1 s (slack for a loaded machine)
      assert.ok(wall < 3000, `a 1 s deadline, ended after ${Math.round(wall)} ms`);
    });
  });
});
