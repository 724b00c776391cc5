/**
 * The executable is one file: dist/proxy-private-images.js, copied alone into an empty folder (as the Argo CD sidecar's
 * COPY and kustomize exec users do) or linked to, works in every form: plain and --stream, the embedded probe,
 * standalone kustomize's exec form, kubectl kustomize's legacy exec plugin, kpt fn eval --exec, the Argo CD plugin's
 * generate command, and Helm 3's post-renderer (`helm template --post-renderer FILE --post-renderer-args=--stream`).
 * A build that left chunks beside the file crashed here before reading stdin (ERR_MODULE_NOT_FOUND).
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { GO_TOOL_BUILD_TIMEOUT_MS, goTool } from '../support/go-tools.js';
import { PROJECT_ROOT } from '../support/podman.js';
import { startRegistry, type RegistryHandle } from '../support/registries.js';
import { runAsync } from '../support/tools.js';
import { assertNoLicense, cleanTemps, copyExample, EXAMPLES, execSetup, LICENSE, run, runOk, SETUP_TIMEOUT_MS, tempDir } from './harness.js';

const CONFIG = [
  'apiVersion: fn.proxy-private-images.dev/v1alpha1',
  'kind: ProxyPrivateImages',
  'metadata:',
  '  name: proxy-private-images',
  'appSlug: acme',
  'images:',
  '  private: ["quay.io/acme/**"]',
  '  public: ["docker.io/library/**"]',
  '',
].join('\n');

describe('the bundle is one file: copied alone, or linked, it works in every form', function () {
  this.timeout(120_000);
  let env: NodeJS.ProcessEnv;
  /** An empty folder but for the copy. */
  let alone: string;
  let fn: string;
  let linked: string;

  before(function () {
    this.timeout(SETUP_TIMEOUT_MS);
    ({ env } = execSetup());
    alone = tempDir('ppi-alone-');
    fn = join(alone, 'proxy-private-images');
    copyFileSync(join(PROJECT_ROOT, 'dist', 'proxy-private-images.js'), fn);
    chmodSync(fn, 0o755);
    linked = join(tempDir('ppi-linked-'), 'ppi');
    symlinkSync(fn, linked);
    // PATH with the copy, not the pipe BIN of other tests
    env = { ...env, PATH: [alone, ...(env['PATH'] ?? '').split(delimiter).filter((p) => !readdirSafe(p).includes('proxy-private-images'))].join(delimiter) };
  });
  after(cleanTemps);

  it('dist/ holds the executable and nothing else', function () {
    assert.deepEqual(readdirSync(join(PROJECT_ROOT, 'dist')), ['proxy-private-images.js']);
    assert.equal(readFileSync(fn, 'utf8').slice(0, 20), '#!/usr/bin/env node\n');
  });

  it('the copy and a link to it answer --version and render a ResourceList', function () {
    const input = stringify({
      apiVersion: 'config.kubernetes.io/v1',
      kind: 'ResourceList',
      items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'quay.io/acme/api:1' }] } }],
      functionConfig: parse(CONFIG),
    });
    for (const exe of [fn, linked]) {
      assert.match(runOk(exe, ['--version'], { env }).stdout, /^proxy-private-images \d+\.\d+\.\d+/);
      const r = run(exe, [], { input, env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /image: proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1/);
    }
  });

  describe('with registries to probe', function () {
    let open: RegistryHandle;
    let basic: RegistryHandle;
    before(async function () {
      this.timeout(120_000);
      [open, basic] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' })]);
      await Promise.all([open.push('pub/app', '1'), basic.push('priv/app', '1')]);
    });
    after(async () => Promise.all([open, basic].filter(Boolean).map((r) => r.stop())));

    it('the copy loads the probe it carries and probes (check, and a render without globs)', async function () {
      const hosts = ['--insecure-registry', open.host, '--insecure-registry', basic.host];
      const check = await runAsync(fn, ['check', ...hosts, `${open.host}/pub/app:1`, `${basic.host}/priv/app:1`], { env });
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /\/pub\/app:1\s+public\s+HEAD http:\/\/\S+ answered 200/);
      assert.match(check.stdout, /\/priv\/app:1\s+private\s+HEAD http:\/\/\S+ answered 401 \(Basic auth required\)/);
      // a render decided by the probe alone (a public image: left as it is, no Secret)
      const image = `${open.host}/pub/app:1`;
      const stream = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: ${image}\n`;
      const r = await runAsync(fn, ['--stream', '--app-slug', 'acme', ...hosts], { input: stream, env });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.includes(`image: ${image}`), r.stdout);
      assert.doesNotMatch(r.stdout, /kind: Secret/);
    });
  });

  it('standalone kustomize runs the copy, and a link to it, as an exec KRM function', function () {
    this.timeout(SETUP_TIMEOUT_MS);
    const expected = readFileSync(join(EXAMPLES, 'kustomize-exec', '.expected', 'output.yaml'), 'utf8');
    for (const exe of [fn, linked]) {
      const dir = copyExample(join(EXAMPLES, 'kustomize-exec'));
      const cfg = join(dir, 'proxy-private-images.yaml');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/path: \S+/, `path: ${exe}`));
      const r = run(goTool('kustomize'), ['build', dir, '--enable-alpha-plugins', '--enable-exec'], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, expected);
    }
  });

  it('kubectl kustomize runs the copy as the legacy exec plugin itself', function () {
    const home = tempDir();
    const pluginDir = join(home, 'fn.proxy-private-images.dev', 'v1alpha1', 'proxyprivateimages');
    mkdirSync(pluginDir, { recursive: true });
    copyFileSync(fn, join(pluginDir, 'ProxyPrivateImages'));
    chmodSync(join(pluginDir, 'ProxyPrivateImages'), 0o755);
    const overlay = copyExample(join(EXAMPLES, 'kustomize-legacy-plugin'));
    const r = run('kubectl', ['kustomize', '--enable-alpha-plugins', overlay], { env: { ...env, KUSTOMIZE_PLUGIN_HOME: home } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(EXAMPLES, 'kustomize-legacy-plugin', '.expected', 'output.yaml'), 'utf8'));
  });

  it('kpt fn eval --exec runs the copy', function () {
    const pkg = copyExample(join(EXAMPLES, 'kpt-eval', 'package'));
    const r = run('kpt', ['fn', 'eval', '.', '--exec', fn, '--fn-config', join(EXAMPLES, 'kpt-eval', 'fn-config.yaml')], { cwd: pkg, env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(readdirSync(pkg, { recursive: true }).join('\n'), /secret_/);
  });

  it("the Argo CD plugin's generate command runs with the copy on PATH", function () {
    const plugin = parse(readFileSync(join(PROJECT_ROOT, 'gitops', 'argocd', 'plugin.yaml'), 'utf8')) as { spec: { generate: { command: string[]; args: string[] } } };
    const [cmd, ...args] = plugin.spec.generate.command;
    const r = run(cmd!, [...args, ...plugin.spec.generate.args], { cwd: join(PROJECT_ROOT, 'gitops', 'argocd', 'example'), env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(PROJECT_ROOT, 'gitops', 'argocd', 'example', '.expected', 'output.yaml'), 'utf8'));
  });

  describe('Helm 3 post-renderer', function () {
    let helm: string;
    let chart: string;
    let config: string;
    before(function () {
      this.timeout(GO_TOOL_BUILD_TIMEOUT_MS);
      helm = goTool('helm3');
      chart = join(tempDir(), 'acme');
      mkdirSync(join(chart, 'templates'), { recursive: true });
      writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: acme\nversion: 0.1.0\n');
      writeFileSync(join(chart, 'values.yaml'), 'image: quay.io/acme/api:1.4.2\n');
      writeFileSync(
        join(chart, 'templates', 'deployment.yaml'),
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata:',
          '  name: {{ .Release.Name }}-api',
          'spec:',
          '  selector: {matchLabels: {app: api}}',
          '  template:',
          '    metadata: {labels: {app: api}}',
          '    spec:',
          '      containers:',
          '        - name: api',
          '          image: {{ .Values.image }}',
          '        - name: cache',
          '          image: redis:7.4',
          '',
        ].join('\n'),
      );
      config = join(dirname(chart), 'proxy-private-images.yaml');
      writeFileSync(config, CONFIG);
    });

    const template = (extraEnv: NodeJS.ProcessEnv = {}): ReturnType<typeof run> =>
      run(helm, ['template', 'shop', chart, '--namespace', 'shop', '--post-renderer', fn, '--post-renderer-args=--stream', '--post-renderer-args=--config', `--post-renderer-args=${config}`], {
        env: { ...env, HOME: dirname(chart), ...extraEnv },
      });

    it('helm template --post-renderer COPY --post-renderer-args=--stream rewrites the chart and adds the Secret', function () {
      const r = template();
      assert.equal(r.status, 0, r.stderr);
      const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: any });
      const deploy = objs.find((o) => o.kind === 'Deployment')!;
      assert.equal(deploy.spec.template.spec.containers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/api:1.4.2');
      assert.equal(deploy.spec.template.spec.containers[1].image, 'redis:7.4');
      assert.deepEqual(deploy.spec.template.spec.imagePullSecrets, [{ name: 'acme-registry' }]);
      assert.ok(objs.some((o) => o.kind === 'Secret' && o.metadata.name === 'acme-registry'));
      assertNoLicense(r.stderr, 'helm stderr');
    });

    it('without a license id helm template fails and prints no manifests', function () {
      const r = template({ LICENSE_ID: '' });
      assert.notEqual(r.status, 0);
      assert.doesNotMatch(r.stdout, /kind:/);
      assert.match(r.stderr, /license/i);
      assert.ok(!r.stderr.includes(LICENSE));
    });
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
