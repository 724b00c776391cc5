/**
 * Fail closed on nonsense (issue 11): a 2xx manifest answer that is not a manifest (a captive portal's or a corporate
 * proxy's `200 text/html`) does not make an image public. It is inconclusive, so `probe.onError` decides, and the
 * reason says why. Servers on 127.0.0.1 only; the bundle rows need `npm run build`.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome } from '../../src/probe/index.js';
import { parseReference } from '../../src/reference/parse.js';
import { execFnAsync, podList, SECRET_LICENSE } from '../hardening/support.js';
import { registryThat, startMisbehaving, type Handler, type Misbehaving } from '../support/misbehaving.js';

const manifestWith =
  (headers: Record<string, string>, body = ''): Handler =>
  (_req, res: ServerResponse) => {
    res.writeHead(200, headers).end(body);
  };

const PORTAL = '<html><body>Please log in to the guest network</body></html>';

describe('probe: a 2xx answer that is not a manifest', function () {
  this.timeout(30_000);
  const servers: Misbehaving[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  async function probe(handler: Handler): Promise<{ o: ProbeOutcome; s: Misbehaving }> {
    const s = await startMisbehaving(registryThat(handler));
    servers.push(s);
    const prober = createProber({ ...DEFAULT_PROBE_SETTINGS, retries: 0, insecureRegistries: [s.host] }, { env: {} });
    try {
      const out = await prober.probeAll([parseReference(`${s.host}/org/app:1`)]);
      return { o: [...out.values()][0]!, s };
    } finally {
      await prober.close();
    }
  }

  it('200 text/html (a captive portal) is inconclusive, and the reason says why', async () => {
    const { o } = await probe(manifestWith({ 'content-type': 'text/html; charset=utf-8' }, PORTAL));
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, /^HEAD http:\/\/127\.0\.0\.1:\d+\/v2\/org\/app\/manifests\/1 answered 200 text\/html, not a manifest: a captive portal or proxy page\?$/);
  });

  it('200 without a Content-Type, or with application/json or text/plain, is inconclusive', async () => {
    for (const [headers, want] of [
      [{}, /answered 200 without a Content-Type, not a manifest/],
      [{ 'content-type': 'application/json' }, /answered 200 application\/json, not a manifest/],
      [{ 'content-type': 'text/plain' }, /answered 200 text\/plain, not a manifest/],
      [{ 'content-type': 'text/html\u0085\u009b2J' }, /answered 200 text\/html 2j, not a manifest/],
    ] as Array<[Record<string, string>, RegExp]>) {
      const { o } = await probe(manifestWith(headers));
      assert.equal(o.verdict, 'inconclusive', JSON.stringify(headers));
      assert.match(o.reason, want);
      assert.doesNotMatch(o.reason, /[\u0000-\u001f\u007f-\u009f\u202e]/);
    }
  });

  it('every manifest media type is public, with parameters and in any case', async () => {
    for (const type of [
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      'application/vnd.docker.distribution.manifest.v1+json',
      'Application/VND.OCI.Image.Manifest.v1+JSON; charset=utf-8',
    ]) {
      const { o } = await probe(manifestWith({ 'content-type': type }));
      assert.equal(o.verdict, 'public', `${type}: ${o.reason}`);
    }
  });

  it('through the bundle: onError fail is an error naming the page; onError public applies the fallback with a warning', async () => {
    const s = await startMisbehaving(registryThat(manifestWith({ 'content-type': 'text/html' }, PORTAL)));
    servers.push(s);
    const image = `${s.host}/org/app:1`;
    const args = ['--app-slug', 'app', '--insecure-registry', s.host];
    const failed = await execFnAsync(podList([image]), [...args, '--on-error', 'fail'], { env: { LICENSE_ID: SECRET_LICENSE } });
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stderr, /cannot tell whether 127\.0\.0\.1:\d+\/org\/app:1 is private: HEAD .* answered 200 text\/html, not a manifest: a captive portal or proxy page\?/);
    assert.doesNotMatch(failed.stdout, /proxy\.replicated\.com/, 'a failed run rewrote an image');
    const fallback = await execFnAsync(podList([image]), [...args, '--on-error', 'public'], { env: { LICENSE_ID: SECRET_LICENSE } });
    assert.equal(fallback.status, 0, fallback.stderr);
    assert.match(fallback.stderr, /\[warning\].*answered 200 text\/html, not a manifest.*treated as public \(probe\.onError: public\)/);
  });
});
