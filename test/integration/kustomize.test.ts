/**
 * kustomize running the function for real, in all three forms:
 * - standalone kustomize (the pinned v5.8.2, built by go-tools): the exec KRM form with
 *   `kustomize build --enable-alpha-plugins --enable-exec` (what Argo CD's kustomize.buildOptions give), and the
 *   container form with `--network`;
 * - kubectl kustomize (kustomize v5 inside kubectl): the container form through the docker wrapper and podman, and
 *   the legacy exec plugin form; it silently skips exec KRM functions, which the README warns about.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT, setupContainerImage } from '../support/podman.js';
import { assertNoLicense, cleanTemps, containerEnv, copyExample, EXAMPLES, execSetup, LICENSE, run, runOk, SETUP_TIMEOUT_MS, tempDir } from './harness.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
  spec?: { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } } };
}
interface PodSpec {
  containers: { image: string }[];
  initContainers?: { image: string }[];
  imagePullSecrets?: { name: string }[];
}

function objects(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Obj);
}

function build(dir: string, env: NodeJS.ProcessEnv, extra: readonly string[] = []): ReturnType<typeof run> {
  return run('kubectl', ['kustomize', '--enable-alpha-plugins', ...extra, dir], { env });
}

describe('kustomize, all three forms (standalone kustomize and kubectl kustomize)', function () {
  after(cleanTemps);

  describe('kubectl kustomize: container form (transformers: entry with config.kubernetes.io/function container)', function () {
    let env: NodeJS.ProcessEnv;
    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      execSetup();
      env = containerEnv(setupContainerImage());
    });

    it('adds the Secret and rewrites private images, after namespace, namePrefix, labels and images: ran', function () {
      this.timeout(120_000);
      const r = build(join(EXAMPLES, 'kustomize-container'), env, ['--network']);
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stderr, 'stderr');
      const objs = objects(r.stdout);
      const secret = objs.find((o) => o.kind === 'Secret');
      assert.ok(secret, 'the pull Secret is in the build output');
      assert.equal(secret.metadata.name, 'acme-registry');
      assert.equal(secret.metadata.namespace, 'acme');
      assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
      const auths = JSON.parse(Buffer.from(secret.data!['.dockerconfigjson']!, 'base64').toString()).auths;
      assert.equal(auths['proxy.replicated.com'].password, LICENSE);

      const api = objs.find((o) => o.kind === 'Deployment')!;
      assert.equal(api.metadata.name, 'prod-api');
      assert.equal(api.metadata.namespace, 'acme');
      assert.equal(api.metadata.labels?.['app.kubernetes.io/part-of'], 'acme');
      const pod = api.spec!.template!.spec;
      assert.equal(pod.containers[0]!.image, 'proxy.replicated.com/proxy/acme/quay.io/acme/api:1.4.3', 'images: newTag applied, then proxied');
      assert.equal(pod.initContainers![0]!.image, 'busybox:1.36');
      assert.deepEqual(pod.imagePullSecrets, [{ name: 'acme-registry' }]);
      const db = objs.find((o) => o.kind === 'StatefulSet')!;
      assert.equal(db.spec!.template!.spec.imagePullSecrets, undefined, 'all-public workloads are not touched');
      const cron = objs.find((o) => o.kind === 'CronJob')!;
      assert.match(cron.spec!.jobTemplate!.spec.template.spec.containers[0]!.image, /^proxy\.replicated\.com\/proxy\/acme\/ghcr\.io\/acme\/reporter@sha256:/);
    });

    it('an overlay that already holds the Secret builds without a duplicate-resource failure and updates it', function () {
      this.timeout(120_000);
      const dir = copyExample(join(EXAMPLES, 'kustomize-container'));
      writeFileSync(
        join(dir, 'stale-secret.yaml'),
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: acme-registry\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n',
      );
      const k = readFileSync(join(dir, 'kustomization.yaml'), 'utf8');
      // no namePrefix here, so the stale Secret keeps the name the function manages
      writeFileSync(join(dir, 'kustomization.yaml'), k.replace('namePrefix: prod-\n', '').replace('  - app.yaml\n', '  - app.yaml\n  - stale-secret.yaml\n'));
      const r = build(dir, env, ['--network']);
      assert.equal(r.status, 0, r.stderr);
      const secrets = objects(r.stdout).filter((o) => o.kind === 'Secret');
      assert.equal(secrets.length, 1);
      assert.notEqual(secrets[0]!.data!['.dockerconfigjson'], 'e30=');
    });

    it('without the license id in the container the build fails with no output and the function says why', function () {
      this.timeout(120_000);
      const r = build(join(EXAMPLES, 'kustomize-container'), { ...env, LICENSE_ID: '' }, ['--network']);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /license/i);
    });
  });

  describe('kubectl kustomize: legacy exec plugin (KUSTOMIZE_PLUGIN_HOME)', function () {
    let env: NodeJS.ProcessEnv;
    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      env = execSetup().env;
    });

    it('a plugin home made by scripts/make-plugin-home.mjs runs the function from any folder', function () {
      const home = join(tempDir(), 'plugins');
      runOk('node', [join(PROJECT_ROOT, 'scripts', 'make-plugin-home.mjs'), home]);
      const overlay = join(tempDir(), 'overlay');
      cpSync(join(EXAMPLES, 'kustomize-legacy-plugin'), overlay, {
        recursive: true,
        filter: (p) => !p.includes('/plugin/') && !p.endsWith('/plugin') && !p.includes('.expected'),
      });
      const r = build(overlay, { ...env, KUSTOMIZE_PLUGIN_HOME: home });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(join(EXAMPLES, 'kustomize-legacy-plugin', '.expected', 'output.yaml'), 'utf8'));
    });

    it('a failing plugin run fails the build and shows the reason, without the license id', function () {
      const overlay = copyExample(join(EXAMPLES, 'kustomize-legacy-plugin'));
      const cfg = join(overlay, 'proxy-private-images.yaml');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('appSlug: acme', 'appSlug: acme\nunknownField: 1'));
      const home = join(tempDir(), 'plugins');
      runOk('node', [join(PROJECT_ROOT, 'scripts', 'make-plugin-home.mjs'), home]);
      // kustomize leaves its temp config file behind when a plugin fails: keep it in a folder the test removes
      const r = build(overlay, { ...env, KUSTOMIZE_PLUGIN_HOME: home, TMPDIR: tempDir() });
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /unknownField/);
      assertNoLicense(r.stderr, 'stderr');
    });
  });

  describe('standalone kustomize: the exec KRM form', function () {
    let env: NodeJS.ProcessEnv;
    let fn: string;
    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      const setup = execSetup();
      env = setup.env;
      fn = join(setup.bin, 'proxy-private-images');
    });

    /** The kustomize-exec example with its exec path pointing at the copied bundle. */
    function execApp(edit: (config: string) => string = (c) => c): string {
      const dir = copyExample(join(EXAMPLES, 'kustomize-exec'));
      const cfg = join(dir, 'proxy-private-images.yaml');
      writeFileSync(cfg, edit(readFileSync(cfg, 'utf8').replace(/path: \S+/, `path: ${fn}`)));
      return dir;
    }
    const kbuild = (dir: string, e: NodeJS.ProcessEnv = env): ReturnType<typeof run> =>
      run('kustomize', ['build', dir, '--enable-alpha-plugins', '--enable-exec'], { env: e });

    it('runs the function after namespace, namePrefix, labels and images:, as the container form does', function () {
      const r = kbuild(execApp());
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stderr, 'stderr');
      assert.equal(r.stdout, readFileSync(join(EXAMPLES, 'kustomize-container', '.expected', 'output.yaml'), 'utf8'));
    });

    it('kubectl kustomize silently skips the same exec function (exit 0, images unchanged), as the README warns', function () {
      const r = run('kubectl', ['kustomize', '--enable-alpha-plugins', execApp()], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /image: quay\.io\/acme\/api:1\.4\.3/);
      assert.doesNotMatch(r.stdout, /proxy\.replicated\.com|kind: Secret/);
    });

    it('without --enable-exec standalone kustomize skips it too; without --enable-alpha-plugins it refuses', function () {
      const dir = execApp();
      const noExec = run('kustomize', ['build', dir, '--enable-alpha-plugins'], { env });
      assert.equal(noExec.status, 0, noExec.stderr);
      assert.doesNotMatch(noExec.stdout, /proxy\.replicated\.com/);
      const none = run('kustomize', ['build', dir], { env });
      assert.notEqual(none.status, 0);
      assert.match(none.stderr, /external plugins disabled/);
    });

    it('without the license id the build fails with no output, and the function says why', function () {
      const r = kbuild(execApp(), { ...env, LICENSE_ID: '' });
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /license/i);
    });

    it('a bad config fails the build, naming the field, without the license id', function () {
      const r = kbuild(execApp((c) => c.replace('appSlug: acme', 'appSlug: acme\nunknownField: 1')));
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /unknownField/);
      assertNoLicense(r.stderr, 'stderr');
    });

    it('an overlay that already holds the Secret builds without a duplicate-resource failure and updates it', function () {
      const dir = execApp();
      writeFileSync(
        join(dir, 'stale-secret.yaml'),
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: acme-registry\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n',
      );
      const k = readFileSync(join(dir, 'kustomization.yaml'), 'utf8');
      writeFileSync(join(dir, 'kustomization.yaml'), k.replace('namePrefix: prod-\n', '').replace('  - app.yaml\n', '  - app.yaml\n  - stale-secret.yaml\n'));
      const r = kbuild(dir);
      assert.equal(r.status, 0, r.stderr);
      const secrets = objects(r.stdout).filter((o) => o.kind === 'Secret');
      assert.equal(secrets.length, 1);
      assert.notEqual(secrets[0]!.data!['.dockerconfigjson'], 'e30=');
    });
  });

  describe('standalone kustomize: the container form', function () {
    let env: NodeJS.ProcessEnv;
    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      execSetup();
      env = containerEnv(setupContainerImage());
    });

    it('kustomize build --enable-alpha-plugins --network gives what kubectl kustomize gives', function () {
      this.timeout(120_000);
      const r = run('kustomize', ['build', join(EXAMPLES, 'kustomize-container'), '--enable-alpha-plugins', '--network'], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(join(EXAMPLES, 'kustomize-container', '.expected', 'output.yaml'), 'utf8'));
    });

    it('without the license id in the container the build fails with no output', function () {
      this.timeout(120_000);
      const r = run('kustomize', ['build', join(EXAMPLES, 'kustomize-container'), '--enable-alpha-plugins', '--network'], { env: { ...env, LICENSE_ID: '' } });
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /license/i);
    });
  });
});
