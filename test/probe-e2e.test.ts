import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { refusedHost, flaky, registryThat, startMisbehaving, status, type Misbehaving } from './support/misbehaving.js';
import { onPort80, startRegistry, type RegistryHandle } from './support/registries.js';

/**
 * Every classification row of behavior.md through the whole function: a ResourceList on stdin of
 * `node dist/proxy-private-images.js`, real registries on loopback, the ResourceList on stdout.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'dist', 'proxy-private-images.js');
const LICENSE = 'e2e-license-7f3a9c';
const PROXY = 'proxy.example.test';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  rl: { items: Array<Record<string, any>>; results?: Array<Record<string, any>> };
}

function runBin(args: string[], input: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'LICENSE_ID']) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let rl: Ran['rl'] = { items: [] };
      try {
        rl = parse(stdout) ?? rl;
      } catch {
        /* not YAML (check command) */
      }
      resolve({ code: code ?? -1, stdout, stderr, rl });
    });
    child.stdin.end(input);
  });
}

function deployment(name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: { template: { spec: { containers: [{ name: 'c', image }] } } },
  };
}

function assertNoLicenseLeak(r: Ran): void {
  assert.ok(!r.stderr.includes(LICENSE), 'license id in stderr');
  const withoutSecretData = r.rl.items.filter((i) => i.kind !== 'Secret');
  assert.ok(!stringify(withoutSecretData).includes(LICENSE), 'license id in items');
  assert.ok(!stringify(r.rl.results ?? []).includes(LICENSE), 'license id in results');
  for (const s of r.rl.items.filter((i) => i.kind === 'Secret')) {
    assert.ok(!stringify({ ...s, data: undefined }).includes(LICENSE), 'license id outside Secret data');
  }
}

describe('probe through the whole function (dist bundle, real registries)', function () {
  this.timeout(120_000);
  let open: RegistryHandle;
  let basic: RegistryHandle;
  let token: RegistryHandle;
  let rateLimited: Misbehaving;
  let storm: Misbehaving;
  let refused: string;

  before(async () => {
    if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    // Port 80 of their own addresses: images that are to be rewritten must have no port.
    [open, basic, token] = await Promise.all([
      startRegistry({ listen: onPort80() }),
      startRegistry({ auth: 'basic', listen: onPort80() }),
      startRegistry({ auth: 'token', anonymousPull: ['pub/*'], listen: onPort80() }),
    ]);
    await Promise.all([
      open.push('pub/oci', '1'),
      open.push('pub/docker', '1', { format: 'v2s2' }),
      basic.push('priv/app', '1'),
      token.push('pub/app', '1'),
      token.push('priv/app', '1'),
    ]);
    rateLimited = await startMisbehaving(registryThat(flaky(1, status(429, { 'retry-after': '1' }))));
    storm = await startMisbehaving(registryThat(status(503)));
    refused = await refusedHost();
  });
  after(async () => {
    await Promise.all([open, basic, token, rateLimited, storm].filter(Boolean).map((r) => r.stop()));
  });

  function resourceList(images: Record<string, string>, probe: Record<string, unknown> = {}): string {
    return stringify({
      apiVersion: 'config.kubernetes.io/v1',
      kind: 'ResourceList',
      functionConfig: {
        apiVersion: 'fn.proxy-private-images.dev/v1alpha1',
        kind: 'ProxyPrivateImages',
        appSlug: 'shop-app',
        proxy: { host: PROXY },
        license: { id: LICENSE },
        probe: {
          insecureRegistries: [open.host, basic.host, token.host, rateLimited.host, storm.host, refused],
          retries: 1,
          timeoutSeconds: 5,
          ...probe,
        },
      },
      items: Object.entries(images).map(([name, image]) => deployment(name, image)),
    });
  }

  const imageOf = (r: Ran, name: string): string => r.rl.items.find((i) => i.metadata?.name === name)?.spec.template.spec.containers[0].image;
  const pullSecretsOf = (r: Ran, name: string): unknown => r.rl.items.find((i) => i.metadata?.name === name)?.spec.template.spec.imagePullSecrets;
  const resultsFor = (r: Ran, name: string) => (r.rl.results ?? []).filter((x) => x.resourceRef?.name === name);

  it('decides each classification row: public untouched, private and 404 rewritten, 429 retried', async () => {
    const images = {
      'open-oci': `${open.host}/pub/oci:1`,
      'open-docker': `${open.host}/pub/docker:1`,
      'token-public': `${token.host}/pub/app:1`,
      'basic-private': `${basic.host}/priv/app:1`,
      'token-private': `${token.host}/priv/app:1`,
      'missing-404': `${open.host}/pub/missing:1`,
      'rate-limited': `${rateLimited.host}/org/app:1`,
    };
    const r = await runBin([], resourceList(images));
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['open-oci', 'open-docker', 'token-public', 'rate-limited']) {
      assert.equal(imageOf(r, name), images[name as keyof typeof images], `${name} stays as it was`);
      assert.equal(pullSecretsOf(r, name), undefined, `${name} gets no pull secret`);
    }
    for (const name of ['basic-private', 'token-private', 'missing-404']) {
      const original = images[name as keyof typeof images];
      assert.equal(imageOf(r, name), `${PROXY}/proxy/shop-app/${original}`, `${name} goes through the proxy`);
      assert.deepEqual(pullSecretsOf(r, name), [{ name: 'shop-app-registry' }]);
    }
    const w404 = resultsFor(r, 'missing-404').filter((x) => x.severity === 'warning' && /treated as private/.test(x.message));
    assert.equal(w404.length, 1);
    assert.match(w404[0]!.message, /404/);
    assert.match(w404[0]!.message, /answered 404; the registry says this repository or tag does not exist for an anonymous client; .* check the reference$/);
    assert.doesNotMatch(w404[0]!.message, /quay|ghcr|ECR/, 'names no registry without a source');
    assert.ok(r.rl.items.some((i) => i.kind === 'Secret' && i.metadata.name === 'shop-app-registry' && i.metadata.namespace === 'shop'));
    assertNoLicenseLeak(r);
  });

  it('probe.onError: fail → an error result naming the cause, exit 1', async () => {
    const r = await runBin([], resourceList({ down: `${refused}/org/app:1`, storm: `${storm.host}/org/app:1`, fine: `${open.host}/pub/oci:1` }, { onError: 'fail' }));
    assert.equal(r.code, 1);
    const errors = (r.rl.results ?? []).filter((x) => x.severity === 'error');
    assert.ok(errors.some((e) => /connection refused/.test(e.message) && e.message.includes(refused)), JSON.stringify(errors));
    assert.ok(errors.some((e) => /answered 503 \(after 1 retry\)/.test(e.message)), JSON.stringify(errors));
    assertNoLicenseLeak(r);
  });

  it('probe.onError: private → rewritten, with a warning that says why', async () => {
    const r = await runBin([], resourceList({ down: `${refused}/org/app:1` }, { onError: 'private' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(imageOf(r, 'down'), `${PROXY}/proxy/shop-app/${refused}/org/app:1`);
    assert.ok(resultsFor(r, 'down').some((x) => x.severity === 'warning' && /connection refused/.test(x.message) && /onError/.test(x.message)));
    assertNoLicenseLeak(r);
  });

  it('probe.onError: public → left alone, with a warning that says why', async () => {
    const r = await runBin([], resourceList({ storm: `${storm.host}/org/app:1` }, { onError: 'public' }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(imageOf(r, 'storm'), `${storm.host}/org/app:1`);
    assert.equal(pullSecretsOf(r, 'storm'), undefined);
    assert.ok(resultsFor(r, 'storm').some((x) => x.severity === 'warning' && /503/.test(x.message)));
    assertNoLicenseLeak(r);
  });

  it('`check` prints one line per image with the verdict and reason', async () => {
    const hosts = [open.host, basic.host, token.host, refused].flatMap((h) => ['--insecure-registry', h]);
    const r = await runBin(
      ['check', `${open.host}/pub/oci:1`, `${basic.host}/priv/app:1`, `${token.host}/pub/app:1`, `${token.host}/priv/app:1`, `${open.host}/pub/missing:1`, `${refused}/org/app:1`, ...hosts, '--timeout', '5'],
      '',
    );
    const verdicts = r.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/)[1]);
    assert.deepEqual(verdicts, ['public', 'private', 'public', 'private', 'private (404)', 'inconclusive']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /connection refused/);
  });
});
