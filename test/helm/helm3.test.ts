/**
 * The function as Helm 3's post-renderer, with real helm v3.22.0: `--post-renderer proxy-private-images
 * --post-renderer-args=--config=FILE` and nothing else. `helm template` needs no cluster; `helm install` and
 * `helm upgrade` run against Helm's memory storage driver (see support.ts for what that covers).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HOOK_SECRET, PROXY, SDK_DOCKERCONFIG, SECRET, writeConfig, writeTestCharts } from './charts.js';
import {
  byKey,
  cleanTemps,
  duplicates,
  functionBin,
  helmWithMemoryCluster,
  imagesOf,
  key,
  LICENSE,
  licenseIn,
  objects,
  pullSecretsOf,
  run,
  setupHelm,
  startDiscovery,
  templateWithFunction,
  type Discovery,
  type Helm,
  type Obj,
} from './support.js';

describe('Helm 3 (v3.22.0): the function as post-renderer', function () {
  this.timeout(1_800_000); // the first run builds helm with go install
  let h: Helm;
  let fnBin: string;
  let config: string;
  let charts: string;
  let template: ReturnType<typeof templateWithFunction>;

  before(function () {
    fnBin = functionBin();
    h = setupHelm('helm3', [fnBin]);
    const version = h.helm(['version', '--short']);
    // a go-installed helm reports major.minor only (no -ldflags version): v3.22
    assert.match(version.stdout, /^v3\.22\b/, version.stdout + version.stderr);
    config = writeConfig();
    charts = writeTestCharts();
    template = templateWithFunction(h, charts, config);
  });
  after(cleanTemps);


  it('template: private images of the chart, its subchart and its library chart are proxied, public ones kept, one Secret without namespace', function () {
    const r = template('shop');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(LICENSE) && !r.stderr.includes(LICENSE), 'the license id shows outside the Secret data');
    const objs = objects(r.stdout);
    assert.deepEqual(duplicates(objs), []);

    const web = byKey(objs, 'Deployment//shop-web');
    assert.deepEqual(imagesOf(web), [`${PROXY}quay.io/acme/web-assets:2.0`, `${PROXY}quay.io/acme/web:2.0`, 'docker.io/library/nginx:1.27']);
    assert.deepEqual(pullSecretsOf(web), [SECRET]);
    const api = byKey(objs, 'Deployment//shop-api'); // defined in the library chart
    assert.deepEqual(imagesOf(api), [`${PROXY}quay.io/acme/api:1.4.2`]);
    assert.deepEqual(pullSecretsOf(api), [SECRET]);
    const worker = byKey(objs, 'Deployment//shop-worker'); // the subchart
    assert.deepEqual(imagesOf(worker), [`${PROXY}quay.io/acme/worker:3.1`]);

    const secrets = objs.filter((o) => o.kind === 'Secret');
    assert.deepEqual(secrets.map(key), [`Secret//${SECRET}`], 'one Secret, without a namespace: Helm puts it in the release namespace');
    assert.equal(secrets[0]!['type'], 'kubernetes.io/dockerconfigjson');
    assert.equal(licenseIn(secrets[0]!), LICENSE);
    assert.equal(secrets[0]!.metadata.annotations, undefined);
  });

  it('template: hooks are never post-rendered by Helm 3, so a hook keeps its private image (documented)', function () {
    const r = template('shop');
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    const migrate = byKey(objs, 'Job//shop-migrate');
    assert.deepEqual(imagesOf(migrate), ['quay.io/acme/migrate:1.4.2']);
    assert.deepEqual(pullSecretsOf(migrate), []);
    assert.deepEqual(imagesOf(byKey(objs, 'Pod//shop-smoke')), ['quay.io/acme/smoke:1.0']);
    assert.ok(!objs.some((o) => o.metadata.name === HOOK_SECRET), 'no hook Secret: Helm 3 never shows the function a hook');
  });

  it('template --include-crds: the CRD goes through the post-renderer and comes back as it was', function () {
    const r = template('shop', ['--include-crds']);
    assert.equal(r.status, 0, r.stderr);
    const crd = byKey(objects(r.stdout), 'CustomResourceDefinition//widgets.shop.acme.io');
    assert.equal((crd['spec'] as { group: string }).group, 'shop.acme.io');
    const without = objects(template('shop').stdout);
    assert.deepEqual(objects(r.stdout).filter((o) => o.kind !== 'CustomResourceDefinition'), without);
  });

  it('template -n shop with objects that template their namespace: the Secret goes to that namespace', function () {
    const r = template('shop', ['--namespace', 'shop', '--set', 'global.namespaced=true']);
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    assert.deepEqual(objs.filter((o) => o.kind === 'Secret').map(key), [`Secret/shop/${SECRET}`]);
    assert.deepEqual(pullSecretsOf(byKey(objs, 'Deployment/shop/shop-worker')), [SECRET]);
  });

  it('a chart that ships its own dockerconfigjson Secret and lists it in imagePullSecrets: updated in place, no second Secret, no duplicate entry', function () {
    const r = template('sdk');
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    assert.deepEqual(duplicates(objs), []);
    const secrets = objs.filter((o) => o.kind === 'Secret');
    assert.equal(secrets.length, 1);
    assert.equal(licenseIn(secrets[0]!), LICENSE, 'the chart\'s Secret now holds the license credentials');
    const app = byKey(objs, 'Deployment//shop-app');
    assert.deepEqual(imagesOf(app), [`${PROXY}quay.io/acme/app:5.0`]);
    assert.deepEqual(pullSecretsOf(app), [SECRET]);
    const untouched = objects(h.helm(['template', 'shop', join(charts, 'sdk')]).stdout);
    assert.equal((byKey(untouched, `Secret//${SECRET}`)['data'] as Record<string, string>)['.dockerconfigjson'], SDK_DOCKERCONFIG);
  });

  it('a chart without private images comes back object for object, with no Secret', function () {
    const plain = h.helm(['template', 'shop', join(charts, 'plain')]);
    const r = template('plain');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(objects(r.stdout), objects(plain.stdout));
  });

  it('a chart that renders no regular object: Helm 3 sends empty input; it needs --post-renderer-args=--stream', function () {
    for (const chart of ['empty', 'jobs']) {
      const bare = template(chart);
      assert.equal(bare.status, 1, `${chart}: ${bare.stdout}`);
      assert.match(bare.stderr, /no input: expected a ResourceList/);
      const r = template(chart, ['--post-renderer-args=--stream']);
      assert.equal(r.status, 0, `${chart}: ${r.stderr}`);
      assert.deepEqual(objects(r.stdout).filter((o) => !o.metadata.annotations?.['helm.sh/hook']), []);
    }
  });

  it('the function run again on its own output changes nothing', function () {
    const first = template('shop', ['--include-crds']);
    assert.equal(first.status, 0, first.stderr);
    const again = run('proxy-private-images', ['--config', config], { input: first.stdout, env: h.env });
    assert.equal(again.status, 0, again.stderr);
    // Helm 3 never shows it the hooks; on the whole output it would give the hooks their own Secret
    const regular = (text: string): Obj[] => objects(text).filter((o) => !o.metadata.annotations?.['helm.sh/hook']);
    assert.deepEqual(regular(again.stdout), regular(first.stdout));
  });

  it('a failing post-render (no license id) fails helm with the function\'s message, and no manifest', function () {
    const r = template('shop', [], { LICENSE_ID: '' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /pull Secret acme-registry is needed but no license id was found/);
  });

  it('--post-renderer also takes the bundle\'s path', function () {
    const r = h.helm(['template', 'shop', join(charts, 'shop'), '--post-renderer', './dist/proxy-private-images.js', `--post-renderer-args=--config=${config}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(objects(r.stdout), objects(template('shop').stdout));
  });

  describe('install and upgrade (Helm\'s memory driver, no cluster)', () => {
    let discovery: Discovery;
    before(async () => {
      discovery = await startDiscovery();
    });
    after(() => discovery.stop());

    it('install records the post-rendered manifest; an upgrade with the same chart records the same manifest', function () {
      const args = ['--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`];
      const installed = helmWithMemoryCluster(h, discovery, ['install', 'shop', join(charts, 'shop'), ...args]);
      assert.equal(installed.ran.status, 0, installed.ran.stderr);
      const rel = installed.release!;
      assert.equal(rel.info.status, 'deployed');
      const manifest = objects(rel.manifest);
      assert.deepEqual(manifest.filter((o) => o.kind === 'Secret').map(key), [`Secret//${SECRET}`]);
      assert.deepEqual(imagesOf(byKey(manifest, 'Deployment//shop-api')), [`${PROXY}quay.io/acme/api:1.4.2`]);
      assert.deepEqual(duplicates(manifest), []);
      // Helm 3: the hooks are recorded as the chart rendered them
      const migrate = rel.hooks!.find((x) => x.name === 'shop-migrate')!;
      assert.deepEqual(imagesOf(objects(migrate.manifest)[0]!), ['quay.io/acme/migrate:1.4.2']);

      const upgraded = helmWithMemoryCluster(h, discovery, ['upgrade', 'shop', join(charts, 'shop'), ...args], [rel]);
      assert.equal(upgraded.ran.status, 0, upgraded.ran.stderr);
      assert.equal(upgraded.release!.version, 2);
      assert.equal(upgraded.release!.manifest, rel.manifest, 'helm upgrade with the same chart and config changed the manifest');
    });

    it('upgrade --install and install --dry-run=client post-render too', function () {
      const args = ['--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`];
      for (const cmd of [['upgrade', '--install'], ['install', '--dry-run=client']]) {
        const r = helmWithMemoryCluster(h, discovery, [...cmd, 'shop', join(charts, 'shop'), ...args]);
        assert.equal(r.ran.status, 0, `${cmd.join(' ')}: ${r.ran.stderr}`);
        assert.deepEqual(imagesOf(byKey(objects(r.release!.manifest), 'Deployment//shop-worker')), [`${PROXY}quay.io/acme/worker:3.1`]);
      }
    });
  });
});
