import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProber, DEFAULT_PROBE_SETTINGS, type ProbeOutcome, type ProbeSettings, type ProberOptions } from '../../src/probe/index.js';
import { explain } from '../../src/probe/explain.js';
import { parseReference, formatReference } from '../../src/reference/parse.js';
import { closedPort } from '../support/misbehaving.js';
import { startRegistry, type RegistryHandle } from '../support/registries.js';

/** Probes against real Debian docker-registry instances on 127.0.0.1. */
describe('probe: real registries on loopback', function () {
  this.timeout(60_000);
  let open: RegistryHandle;
  let basic: RegistryHandle;
  let token: RegistryHandle;
  let counted: RegistryHandle;
  let digest: string;
  let refused: number;
  let tmp = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ppi-probe-'));
    [open, basic, token, counted] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: 'basic' }),
      startRegistry({ auth: 'token', anonymousPull: ['pub/*'] }),
      startRegistry({ countRequests: true }),
    ]);
    await Promise.all([
      open.push('pub/oci', '1'),
      open.push('pub/docker', '1', { format: 'v2s2' }),
      basic.push('priv/app', '1'),
      token.push('pub/app', '1'),
      token.push('pub/docker', '1', { format: 'v2s2' }),
      token.push('priv/app', '1', { format: 'v2s2' }),
      counted.push('pub/a', '1'),
      counted.push('pub/b', '1'),
    ]);
    const res = await fetch(`http://${open.host}/v2/pub/oci/manifests/1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    digest = res.headers.get('docker-content-digest') ?? '';
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    refused = await closedPort();
  });

  after(async () => {
    await Promise.all([open, basic, token, counted].filter(Boolean).map((r) => r.stop()));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function settings(extra: Partial<ProbeSettings> = {}): ProbeSettings {
    return { ...DEFAULT_PROBE_SETTINGS, retries: 1, insecureRegistries: [open.host, basic.host, token.host, counted.host, `127.0.0.1:${refused}`], ...extra };
  }

  async function probe(images: string[], extra: Partial<ProbeSettings> = {}, options: ProberOptions = {}): Promise<Map<string, ProbeOutcome>> {
    const prober = createProber(settings(extra), { env: {}, backoffBaseMs: 10, ...options });
    try {
      return await prober.probeAll(images.map(parseReference));
    } finally {
      await prober.close();
    }
  }
  const key = (image: string) => formatReference(parseReference(image));

  it('calls images on an open registry public (OCI and Docker v2 manifests, tag and digest)', async () => {
    const images = [`${open.host}/pub/oci:1`, `${open.host}/pub/docker:1`, `${open.host}/pub/oci@${digest}`, `${open.host}/pub/oci:1@${digest}`];
    const out = await probe(images);
    for (const i of images) {
      assert.equal(out.get(key(i))?.verdict, 'public', i);
    }
    assert.equal(out.get(key(images[0]!))?.reason, `HEAD http://${open.host}/v2/pub/oci/manifests/1 answered 200`);
    assert.match(out.get(key(images[2]!))!.reason, new RegExp(`/manifests/${digest} answered 200`));
  });

  it('calls a missing repository or tag private (404) and says why', async () => {
    const out = await probe([`${open.host}/nope/x:1`, `${open.host}/pub/oci:nope`]);
    for (const o of out.values()) {
      assert.equal(o.verdict, 'private-404');
      assert.match(o.reason, /answered 404$/);
      assert.match(explain(o), /does not exist for an anonymous client; some registries hide private repositories this way, so it is treated as private — check the reference$/);
    }
  });

  it('calls a basic-auth registry private', async () => {
    const out = await probe([`${basic.host}/priv/app:1`, `${basic.host}/priv/missing:1`]);
    for (const o of out.values()) {
      assert.equal(o.verdict, 'private');
      assert.match(o.reason, /answered 401 \(Basic auth required\)/);
    }
  });

  it('follows token auth: granted repositories are public, others private after an anonymous token', async () => {
    const out = await probe([`${token.host}/pub/app:1`, `${token.host}/pub/docker:1`, `${token.host}/priv/app:1`, `${token.host}/pub/missing:1`]);
    assert.equal(out.get(key(`${token.host}/pub/app:1`))?.verdict, 'public');
    assert.match(out.get(key(`${token.host}/pub/app:1`))!.reason, /answered 200 after an anonymous token/);
    assert.equal(out.get(key(`${token.host}/pub/docker:1`))?.verdict, 'public');
    assert.equal(out.get(key(`${token.host}/priv/app:1`))?.verdict, 'private');
    assert.match(out.get(key(`${token.host}/priv/app:1`))!.reason, /answered 401 after an anonymous token \(insufficient_scope\)/);
    assert.equal(out.get(key(`${token.host}/pub/missing:1`))?.verdict, 'private-404');
  });

  it('asks the token issuer once per repository, even for many concurrent tags', async () => {
    const before = token.issuer!.requests;
    const images = ['1', '2', '3', '4', '5'].map((t) => `${token.host}/pub/app:${t}`);
    const out = await probe(images);
    assert.equal(out.get(key(images[0]!))?.verdict, 'public');
    assert.equal(token.issuer!.requests - before, 1);
  });

  it('calls an unreachable registry inconclusive, never private or public', async () => {
    const out = await probe([`127.0.0.1:${refused}/x/y:1`]);
    const o = out.get(key(`127.0.0.1:${refused}/x/y:1`))!;
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, new RegExp(`GET http://127.0.0.1:${refused}/v2/ failed: connection refused \\(after 1 retry\\)`));
  });

  it('speaks https to registries not listed as insecure', async () => {
    const prober = createProber({ ...settings(), insecureRegistries: [], retries: 0 }, { env: {} });
    const out = await prober.probeAll([parseReference(`${open.host}/pub/oci:1`)]);
    await prober.close();
    const o = [...out.values()][0]!;
    assert.equal(o.verdict, 'inconclusive');
    assert.match(o.reason, new RegExp(`GET https://${open.host}/v2/ failed`));
  });

  it('deduplicates references and pings each registry once', async () => {
    const start = counted.requests;
    const images = [`${counted.host}/pub/a:1`, `${counted.host}/pub/a:1`, `${counted.host}/pub/b:1`, `${counted.host}/pub/a:1`];
    const out = await probe(images);
    assert.equal(out.size, 2);
    assert.equal(counted.requests - start, 3); // GET /v2/ + two HEADs
  });

  describe('decision cache', () => {
    it('answers a second run from the cache file without a single request, until the TTL runs out', async () => {
      const cacheFile = join(tmp, 'cache', 'decisions.json');
      const images = [`${counted.host}/pub/a:1`, `${counted.host}/missing/x:1`, `127.0.0.1:${refused}/x/y:1`];
      const first = await probe(images, { cacheFile, retries: 0 });
      assert.equal(first.get(key(images[0]!))?.verdict, 'public');
      assert.equal(first.get(key(images[1]!))?.verdict, 'private-404');
      assert.equal(first.get(key(images[2]!))?.verdict, 'inconclusive');

      const before = counted.requests;
      const second = await probe(images.slice(0, 2), { cacheFile });
      assert.equal(counted.requests, before, 'no request reached the registry');
      assert.deepEqual([...second.values()].map((o) => [o.verdict, o.cached]), [['public', true], ['private-404', true]]);
      assert.equal(second.get(key(images[0]!))?.reason, first.get(key(images[0]!))?.reason);

      const stored = JSON.parse(readFileSync(cacheFile, 'utf8'));
      assert.equal(stored.format, 'proxy-private-images/decision-cache');
      assert.equal(stored.version, 2);
      assert.deepEqual(Object.keys(stored.entries).sort(), [key(images[1]!), key(images[0]!)].sort(), 'inconclusive is never cached');

      const later = { now: () => Date.now() + 3601_000, sleep: async () => {} };
      const third = await probe(images.slice(0, 1), { cacheFile, cacheTTLSeconds: 3600 }, { clock: later });
      assert.equal(third.get(key(images[0]!))?.cached, undefined);
      assert.ok(counted.requests > before, 'an expired entry is probed again');
    });

    it('drops a cut-off cache file of its own (header intact) and replaces it with a valid one', async () => {
      const cacheFile = join(tmp, 'corrupt.json');
      writeFileSync(cacheFile, '{"format":"proxy-private-images/decision-cache","version":2,\n"entries":{\n"x":');
      const out = await probe([`${counted.host}/pub/b:1`], { cacheFile });
      assert.equal([...out.values()][0]!.verdict, 'public');
      assert.equal(JSON.parse(readFileSync(cacheFile, 'utf8')).version, 2);
    });

    it('loses no entry when several processes write it at once', async () => {
      const cacheFile = join(tmp, 'shared.json');
      const cacheModule = fileURLToPath(new URL('../../src/probe/decision-cache-file.ts', import.meta.url));
      const script = join(tmp, 'writer.mts');
      writeFileSync(
        script,
        `import { DecisionCacheFile } from ${JSON.stringify(cacheModule)};\n` +
          `const c = new DecisionCacheFile(${JSON.stringify(cacheFile)}, 3600_000);\n` +
          `const id = process.argv[2];\n` +
          `for (let i = 0; i < 40; i++) await c.store(new Map([[\`quay.io/r\${id}/i\${i}:1\`, { verdict: 'public', reason: 'x'.repeat(500) }]]), Date.now());\n` +
          `if (c.warnings().length > 0) { console.error(c.warnings().join('\\n')); process.exit(3); }\n`,
      );
      const runs = [1, 2, 3, 4].map(
        (id) =>
          new Promise<number>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', script, String(id)], { stdio: ['ignore', 'ignore', 'inherit'] });
            child.on('exit', (code) => resolve(code ?? -1));
          }),
      );
      assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0]);
      const stored = JSON.parse(readFileSync(cacheFile, 'utf8'));
      assert.equal(stored.version, 2);
      assert.equal(Object.keys(stored.entries).length, 160, 'every decision of every writer is kept');
      for (const e of Object.values(stored.entries) as Array<{ verdict: string }>) assert.equal(e.verdict, 'public');
    });
  });
});
