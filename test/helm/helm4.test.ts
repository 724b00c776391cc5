/**
 * The function as Helm 4's post-renderer plugin (helm-plugin/), with real helm v4.3.1: installed with
 * `helm plugin install helm-plugin/` into private Helm homes, used as `--post-renderer proxy-private-images
 * --post-renderer-args=--config=FILE`. Helm 4 post-renders hooks too, so hooks get their own pull Secret, itself a
 * hook created before them. `helm install` / `helm upgrade` run against Helm's memory driver (support.ts).
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HOOK_SECRET, PROXY, SECRET, writeConfig, writeTestCharts } from './charts.js';
import {
  byKey,
  cleanTemps,
  duplicates,
  functionBin,
  helmThroughPipe,
  helmWithMemoryCluster,
  imagesOf,
  installPlugin,
  key,
  LICENSE,
  licenseIn,
  nanos,
  objects,
  PLUGIN_DIR,
  PROJECT_ROOT,
  pullSecretsOf,
  setupHelm,
  startDiscovery,
  tempDir,
  templateWithFunction,
  writeFiles,
  type Discovery,
  type Helm,
  type Obj,
} from './support.js';

const HOOK_ANNOTATIONS = {
  'helm.sh/hook': 'pre-install,pre-upgrade',
  'helm.sh/hook-weight': '-2147483648',
  'helm.sh/hook-delete-policy': 'before-hook-creation',
};
const FILENAME = 'postrenderer.helm.sh/postrender-filename';

const isHook = (o: Obj): boolean => o.metadata.annotations?.['helm.sh/hook'] !== undefined;

describe('Helm 4 (v4.3.1): the post-renderer plugin in helm-plugin/', function () {
  this.timeout(1_800_000); // the first run builds helm with go install
  let h: Helm;
  let config: string;
  let charts: string;
  let template: ReturnType<typeof templateWithFunction>;
  let installed: ReturnType<typeof installPlugin>;

  before(function () {
    // PATH has no proxy-private-images: the plugin must find the checkout's bundle by itself
    h = setupHelm('helm4');
    installed = installPlugin(h);
    const version = h.helm(['version', '--short']);
    // a go-installed helm reports major.minor only (no -ldflags version): v4.3
    assert.match(version.stdout, /^v4\.3\b/, version.stdout + version.stderr);
    config = writeConfig();
    charts = writeTestCharts();
    template = templateWithFunction(h, charts, config);
  });
  after(cleanTemps);


  it('helm plugin install helm-plugin/ needs no flag; plugin list shows the name and the package version', function () {
    assert.equal(installed.status, 0, installed.stderr + installed.stdout);
    assert.match(installed.stdout + installed.stderr, /Installed plugin: proxy-private-images/);
    const list = h.helm(['plugin', 'list']);
    assert.equal(list.status, 0, list.stderr);
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.match(list.stdout, new RegExp(`^proxy-private-images\\s+${pkg.version.replace(/\./g, '\\.')}\\s+postrenderer/v1\\s+v1\\b`, 'm'));
    const manifest = parse(readFileSync(join(PLUGIN_DIR, 'plugin.yaml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { apiVersion: manifest['apiVersion'], name: manifest['name'], version: manifest['version'], type: manifest['type'], runtime: manifest['runtime'] },
      { apiVersion: 'v1', name: 'proxy-private-images', version: pkg.version, type: 'postrenderer/v1', runtime: 'subprocess' },
    );
  });

  it('template: regular objects use the regular Secret; the hook Job and the test Pod are proxied and use the hook Secret', function () {
    const r = template('shop');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(LICENSE) && !r.stderr.includes(LICENSE), 'the license id shows outside the Secret data');
    const objs = objects(r.stdout);
    assert.deepEqual(duplicates(objs), []);

    for (const name of ['shop-web', 'shop-api', 'shop-worker']) assert.deepEqual(pullSecretsOf(byKey(objs, `Deployment//${name}`)), [SECRET], name);
    assert.deepEqual(imagesOf(byKey(objs, 'Deployment//shop-web')), [`${PROXY}quay.io/acme/web-assets:2.0`, `${PROXY}quay.io/acme/web:2.0`, 'docker.io/library/nginx:1.27']);

    const migrate = byKey(objs, 'Job//shop-migrate');
    assert.deepEqual(imagesOf(migrate), [`${PROXY}quay.io/acme/migrate:1.4.2`]);
    assert.deepEqual(pullSecretsOf(migrate), [HOOK_SECRET]);
    const smoke = byKey(objs, 'Pod//shop-smoke');
    assert.deepEqual(imagesOf(smoke), [`${PROXY}quay.io/acme/smoke:1.0`]);
    assert.deepEqual(pullSecretsOf(smoke), [HOOK_SECRET]);
    const notify = byKey(objs, 'Job//shop-notify'); // public image: untouched
    assert.deepEqual(imagesOf(notify), ['docker.io/library/busybox:1.36']);
    assert.deepEqual(pullSecretsOf(notify), []);

    const regular = byKey(objs, `Secret//${SECRET}`);
    assert.equal(regular.metadata.annotations, undefined, 'the regular Secret is no hook');
    const hook = byKey(objs, `Secret//${HOOK_SECRET}`);
    assert.deepEqual(hook.metadata.annotations, HOOK_ANNOTATIONS);
    assert.equal(licenseIn(hook), LICENSE);
    assert.equal(hook['type'], 'kubernetes.io/dockerconfigjson');
    assert.ok(!objs.some((o) => o.metadata.annotations?.[FILENAME] !== undefined), 'Helm removes its filename annotation');
  });

  it('template --include-crds: Helm 4 prints the CRD raw, beside the post-rendered objects', function () {
    const r = template('shop', ['--include-crds']);
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    byKey(objs, 'CustomResourceDefinition//widgets.shop.acme.io');
    assert.deepEqual(objs.filter((o) => o.kind !== 'CustomResourceDefinition'), objects(template('shop').stdout));
  });

  it('the filename annotation stays on every document Helm sent; the new Secrets carry none and Helm keeps them as generated files', function () {
    // A second plugin that records what Helm sends to the real plugin and what it gets back.
    const spy = tempDir('ppi-helm-spy-');
    writeFiles(spy, {
      'plugin.yaml': 'apiVersion: v1\nname: spy\nversion: 0.0.1\ntype: postrenderer/v1\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: ${HELM_PLUGIN_DIR}/spy.sh\n',
      'spy.sh': `#!/bin/sh\ntee "$HELM_PLUGIN_DIR/in.yaml" | ${JSON.stringify(join(PLUGIN_DIR, 'post-renderer.sh'))} "$@" | tee "$HELM_PLUGIN_DIR/out.yaml"\n`,
    });
    chmodSync(join(spy, 'spy.sh'), 0o755);
    const spyInstalled = h.helm(['plugin', 'install', spy]);
    assert.equal(spyInstalled.status, 0, spyInstalled.stderr);
    const r = h.helm(['template', 'shop', join(charts, 'shop'), '--post-renderer', 'spy', `--post-renderer-args=--config=${config}`]);
    assert.equal(r.status, 0, r.stderr);
    const sent = objects(readFileSync(join(spy, 'in.yaml'), 'utf8'));
    const back = objects(readFileSync(join(spy, 'out.yaml'), 'utf8'));
    assert.ok(sent.length > 0 && sent.every((o) => typeof o.metadata.annotations?.[FILENAME] === 'string'));
    assert.ok(sent.some(isHook), 'Helm 4 sends hooks to the post-renderer');
    for (const o of sent) assert.equal(byKey(back, key(o)).metadata.annotations?.[FILENAME], o.metadata.annotations![FILENAME], key(o));
    const added = back.filter((o) => !sent.some((s) => key(s) === key(o)));
    assert.deepEqual(added.map(key).sort(), [`Secret//${HOOK_SECRET}`, `Secret//${SECRET}`].sort());
    assert.ok(added.every((o) => o.metadata.annotations?.[FILENAME] === undefined));
    // Helm files a document without the annotation as generated-by-postrender-<index>.yaml
    assert.match(r.stdout, new RegExp(`# Source: generated-by-postrender-\\d+\\.yaml\\napiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: ${SECRET}\\n`));
    assert.match(r.stdout, new RegExp(`# Source: generated-by-postrender-\\d+\\.yaml\\napiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: ${HOOK_SECRET}\\n`));
  });

  it('a chart that ships its own pull Secret and lists it everywhere: no second Secret of that name, no duplicate entries', function () {
    const r = template('sdk');
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    assert.deepEqual(duplicates(objs), []);
    assert.deepEqual(objs.filter((o) => o.kind === 'Secret').map(key).sort(), [`Secret//${SECRET}`, `Secret//${HOOK_SECRET}`].sort());
    assert.equal(licenseIn(byKey(objs, `Secret//${SECRET}`)), LICENSE);
    assert.deepEqual(pullSecretsOf(byKey(objs, 'Deployment//shop-app')), [SECRET]);
    // the hook keeps the chart's entry (that Secret is created after the pre-install hooks) and gets the hook Secret
    assert.deepEqual(pullSecretsOf(byKey(objs, 'Job//shop-setup')), [SECRET, HOOK_SECRET]);
  });

  it('a chart without private images comes back object for object; an empty chart still gets an answer (Helm 4 refuses empty output)', function () {
    const plain = h.helm(['template', 'shop', join(charts, 'plain')]);
    const r = template('plain');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(objects(r.stdout), objects(plain.stdout));
    const empty = template('empty');
    assert.equal(empty.status, 0, empty.stderr);
    assert.deepEqual(objects(empty.stdout), []);
  });

  it('a chart of hooks only gets the hook Secret and no regular copy', function () {
    const withCopies = writeConfig(tempDir(), readFileSync(config, 'utf8') + 'pullSecret:\n  namespaces: [other]\n');
    const r = h.helm(['template', 'shop', join(charts, 'jobs'), '--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${withCopies}`]);
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    assert.deepEqual(objs.filter((o) => o.kind === 'Secret').map(key), [`Secret//${HOOK_SECRET}`]);
    assert.deepEqual(pullSecretsOf(byKey(objs, 'Job//shop-seed')), [HOOK_SECRET]);
  });

  it('a failing post-render fails helm, and the function\'s message reaches helm\'s stderr (Helm 4 hides a plugin\'s own)', function () {
    const r = template('shop', [], { LICENSE_ID: '' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /plugin "proxy-private-images" exited with error/);
    // on a pipe (a terminal, a CI log) the launcher hands the function's message to helm's stderr
    const piped = helmThroughPipe(h, ['template', 'shop', join(charts, 'shop'), '--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`], { LICENSE_ID: '' });
    assert.equal(piped.status, 1);
    assert.match(piped.stdout, /pull Secret acme-registry is needed but no license id was found[^]*plugin "proxy-private-images" exited with error/);
  });

  describe('installed elsewhere', () => {
    it('a copy of helm-plugin/ away from the checkout runs proxy-private-images from PATH, and says so when there is none', function () {
      const away = tempDir('ppi-helm-away-');
      cpSync(PLUGIN_DIR, join(away, 'proxy-private-images'), { recursive: true });
      const other = setupHelm('helm4');
      const inst = installPlugin(other, join(away, 'proxy-private-images'));
      assert.equal(inst.status, 0, inst.stderr);
      const args = ['template', 'shop', join(charts, 'shop'), '--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`];

      const none = helmThroughPipe(other, args);
      assert.equal(none.status, 1);
      assert.match(none.stdout, /the function is neither at .*dist\/proxy-private-images\.js .* nor on PATH/);

      // the function on PATH, behind a wrapper that leaves a mark, so the test knows which one ran
      const bin = functionBin();
      const marked = tempDir('ppi-helm-marked-');
      const mark = join(marked, 'ran');
      writeFiles(marked, { 'proxy-private-images': `#!/bin/sh\necho "$@" > ${JSON.stringify(mark)}\nexec ${JSON.stringify(join(bin, 'proxy-private-images'))} "$@"\n` });
      chmodSync(join(marked, 'proxy-private-images'), 0o755);
      const found = other.helm(args, { env: { PATH: `${marked}:${other.env.PATH}` } });
      assert.equal(found.status, 0, found.stderr);
      assert.equal(readFileSync(mark, 'utf8'), `--stream --config=${config}\n`);
      assert.deepEqual(objects(found.stdout), objects(template('shop').stdout));
    });
  });

  describe('install and upgrade (Helm\'s memory driver, no cluster)', () => {
    let discovery: Discovery;
    before(async () => {
      discovery = await startDiscovery();
    });
    after(() => discovery.stop());

    it('install: the hook Secret is a pre-install hook that Helm runs before the hook Job; the regular Secret is in the manifest; upgrade is stable', function () {
      // --skip-crds: the printing fake client builds no objects, and Helm 4 refuses to install a CRD it cannot build
      const args = ['--skip-crds', '--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`];
      const installed = helmWithMemoryCluster(h, discovery, ['install', 'shop', join(charts, 'shop'), ...args]);
      assert.equal(installed.ran.status, 0, installed.ran.stderr);
      const rel = installed.release!;
      assert.equal(rel.info.status, 'deployed');
      const manifest = objects(rel.manifest);
      const hooks = rel.hooks!;
      assert.deepEqual(manifest.filter((o) => o.kind === 'Secret').map(key), [`Secret//${SECRET}`]);
      assert.ok(!manifest.some(isHook));
      const all = [...manifest, ...hooks.flatMap((x) => objects(x.manifest))];
      assert.deepEqual(duplicates(all), [], 'two objects share kind, name and namespace');

      const secretHook = hooks.find((x) => x.name === HOOK_SECRET)!;
      assert.equal(secretHook.kind, 'Secret');
      assert.deepEqual(secretHook.events, ['pre-install', 'pre-upgrade']);
      assert.equal(secretHook.weight, -2147483648);
      assert.deepEqual(secretHook.delete_policies, ['before-hook-creation']);
      const migrate = hooks.find((x) => x.name === 'shop-migrate')!;
      assert.deepEqual(pullSecretsOf(objects(migrate.manifest)[0]!), [HOOK_SECRET]);
      // Helm ran both (with its fake client) and recorded when: the Secret was done before the Job started
      assert.equal(secretHook.last_run?.phase, 'Succeeded');
      assert.equal(migrate.last_run?.phase, 'Succeeded');
      assert.ok(nanos(secretHook.last_run!.completed_at!) <= nanos(migrate.last_run!.started_at!), JSON.stringify([secretHook.last_run, migrate.last_run]));

      const upgraded = helmWithMemoryCluster(h, discovery, ['upgrade', 'shop', join(charts, 'shop'), ...args], [rel]);
      assert.equal(upgraded.ran.status, 0, upgraded.ran.stderr);
      const up = upgraded.release!;
      assert.equal(up.version, 2);
      assert.equal(up.manifest, rel.manifest, 'helm upgrade with the same chart and config changed the manifest');
      // what was post-rendered; Helm's record of a run (last_run, a default delete policy set when a hook ran) differs
      const rendered = (list: typeof hooks): unknown => list.map((x) => [x.name, x.kind, x.path, x.events, x.weight, x.manifest]);
      assert.deepEqual(rendered(up.hooks!), rendered(hooks), 'helm upgrade changed the hooks');
      const upSecret = up.hooks!.find((x) => x.name === HOOK_SECRET)!;
      const upMigrate = up.hooks!.find((x) => x.name === 'shop-migrate')!;
      assert.ok(nanos(upSecret.last_run!.completed_at!) <= nanos(upMigrate.last_run!.started_at!), 'pre-upgrade: the Secret first');
    });

    it('install --dry-run=client and upgrade --install post-render the hooks too', function () {
      const args = ['--skip-crds', '--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`];
      for (const cmd of [['install', '--dry-run=client'], ['upgrade', '--install']]) {
        const r = helmWithMemoryCluster(h, discovery, [...cmd, 'shop', join(charts, 'shop'), ...args]);
        assert.equal(r.ran.status, 0, `${cmd.join(' ')}: ${r.ran.stderr}`);
        assert.ok(r.release!.hooks!.some((x) => x.name === HOOK_SECRET), cmd.join(' '));
      }
    });
  });
});
