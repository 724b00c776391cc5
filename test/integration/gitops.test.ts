/**
 * GitOps recipes, run exactly as written and as the tools run them, failures included:
 * - gitops/argocd/plugin.yaml: its `generate` command as argocd-cmp-server runs it (`command + args` in the app
 *   folder, the sidecar's environment plus ARGOCD_APP_* and ARGOCD_ENV_*), with standalone kustomize and the function
 *   copied alone on PATH;
 * - the sidecar Dockerfile of gitops/argocd/README.md, built with podman, and inside it `generate` and Argo CD's own
 *   `kustomize build <app> <kustomize.buildOptions>` on the exec-form app;
 * - gitops/flux/render.sh and render-kpt.sh (through the names the npm package installs), and the README pipe.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { GO_TOOLS, goTool } from '../support/go-tools.js';
import { buildImage, EXAMPLE_IMAGE, PROJECT_ROOT, setupContainerImage, type ContainerSetup } from '../support/podman.js';
import {
  assertNoLicense,
  cleanTemps,
  copyExample,
  execSetup,
  expectGolden,
  LICENSE,
  run,
  SETUP_TIMEOUT_MS,
  snippet,
  tempDir,
  treeSnapshot,
} from './harness.js';

const ARGO = join(PROJECT_ROOT, 'gitops', 'argocd');
const FLUX = join(PROJECT_ROOT, 'gitops', 'flux');
const SIDECAR_IMAGE = 'localhost/ppi-argocd-cmp-sidecar:test';

interface Plugin {
  kind: string;
  spec: { generate: { command: string[]; args: string[] }; discover?: { fileName?: string } };
}

const plugin = (): Plugin => parse(readFileSync(join(ARGO, 'plugin.yaml'), 'utf8')) as Plugin;

/** The environment argocd-cmp-server adds for an application (ARGOCD_ENV_* come from the Application's plugin.env). */
const ARGO_APP_ENV = { ARGOCD_APP_NAME: 'acme', ARGOCD_APP_NAMESPACE: 'argocd', ARGOCD_APP_REVISION: '0123abc' };

/** An app folder readable by the sidecar's user 999 (the test's temp folders are 0700). */
function shareable(dir: string): string {
  chmodSync(dir, 0o755);
  if (basename(dirname(dir)).startsWith('ppi-it-')) chmodSync(dirname(dir), 0o755);
  return dir;
}

describe('GitOps recipes', function () {
  let env: NodeJS.ProcessEnv;
  let fnBin: string;

  before(function () {
    this.timeout(SETUP_TIMEOUT_MS);
    ({ env, bin: fnBin } = execSetup());
    // the names `npm install -g proxy-private-images` links to the scripts
    for (const [name, script] of [
      ['proxy-private-images-render', 'render.sh'],
      ['proxy-private-images-render-kpt', 'render-kpt.sh'],
    ] as const) {
      if (!existsSync(join(fnBin, name))) symlinkSync(join(FLUX, script), join(fnBin, name));
    }
  });
  after(cleanTemps);

  describe('Argo CD config-management plugin: generate, as argocd-cmp-server runs it', function () {
    function generate(appDir: string, extraEnv: NodeJS.ProcessEnv = {}): ReturnType<typeof run> {
      const [cmd, ...cmdArgs] = plugin().spec.generate.command;
      return run(cmd!, [...cmdArgs, ...plugin().spec.generate.args], { cwd: appDir, env: { ...env, ...ARGO_APP_ENV, ...extraEnv } });
    }

    it('renders the app with the proxied images and the pull Secret', function () {
      assert.equal(plugin().kind, 'ConfigManagementPlugin');
      const app = join(ARGO, 'example');
      assert.ok(existsSync(join(app, plugin().spec.discover!.fileName!)), 'the example app is found by the discover rule');
      const r = generate(app);
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stderr, 'stderr');
      assertNoLicense(r.stdout.replace(/\.dockerconfigjson: \S+/g, ''), 'stdout outside the Secret data');
      expectGolden(join(app, '.expected', 'output.yaml'), r.stdout);
      assert.match(r.stdout, /image: proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1\.4\.2/);
      assert.match(r.stdout, /kind: Secret/);
    });

    it('the config file can be chosen per application (ARGOCD_ENV_PPI_CONFIG)', function () {
      const app = copyExample(join(ARGO, 'example'));
      const config = readFileSync(join(app, 'proxy-private-images.yaml'), 'utf8');
      writeFileSync(join(app, 'custom.yaml'), config.replace('appSlug: acme', 'appSlug: other-app'));
      const r = generate(app, { ARGOCD_ENV_PPI_CONFIG: 'custom.yaml' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /proxy\.replicated\.com\/proxy\/other-app\/quay\.io\/acme\/api:1\.4\.2/);
    });

    it('a broken kustomization fails generate with no manifests at all', function () {
      const app = copyExample(join(ARGO, 'example'));
      writeFileSync(join(app, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      const r = generate(app);
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '', 'an empty manifest list would make Argo CD prune the application');
    });

    it('without a license id generate fails, prints nothing to stdout and says why', function () {
      const r = generate(join(ARGO, 'example'), { LICENSE_ID: '' });
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /license/i);
    });

    it('a bad config fails generate with nothing on stdout, naming the field', function () {
      const app = copyExample(join(ARGO, 'example'));
      const cfg = join(app, 'proxy-private-images.yaml');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('appSlug: acme', 'appSlug: acme\nunknownField: 1'));
      const r = generate(app);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /unknownField/);
      assertNoLicense(r.stderr, 'stderr');
    });

    it('an application that asks kustomize to run an executable of its own fails, and the executable never runs', function () {
      const app = copyExample(join(ARGO, 'example'));
      const marker = join(tempDir(), 'ran');
      writeFileSync(join(app, 'steal.sh'), `#!/bin/sh\necho "$LICENSE_ID" > '${marker}'\ncat\n`);
      chmodSync(join(app, 'steal.sh'), 0o755);
      writeFileSync(
        join(app, 'steal.yaml'),
        'apiVersion: example.com/v1\nkind: Steal\nmetadata:\n  name: steal\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./steal.sh\n',
      );
      writeFileSync(join(app, 'kustomization.yaml'), `${readFileSync(join(app, 'kustomization.yaml'), 'utf8')}transformers:\n  - steal.yaml\n`);
      const r = generate(app);
      assert.notEqual(r.status, 0, 'generate must not succeed without the transformer the app asked for');
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /external plugins disabled/);
      assert.ok(!existsSync(marker), 'the application repository ran an executable in the sidecar that holds LICENSE_ID');
    });
  });

  describe('Argo CD sidecar image (the README Dockerfile) and kustomize.buildOptions, in podman', function () {
    let setup: ContainerSetup;

    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      setup = setupContainerImage();
      const dockerfile = snippet(join(ARGO, 'README.md'), 'sidecar-dockerfile');
      const froms = [...dockerfile.matchAll(/--from=(\S+)/g)].map((m) => m[1]!);
      const kustomizeImage = froms.find((f) => f.startsWith('registry.k8s.io/kustomize/kustomize:'));
      assert.equal(kustomizeImage, `registry.k8s.io/kustomize/kustomize:${GO_TOOLS.kustomize.version}`, 'the README pins the kustomize the tests build');
      assert.ok(froms.includes(EXAMPLE_IMAGE), `the README copies the function from ${EXAMPLE_IMAGE}`);
      // No registry here: the kustomize image is a stand-in holding the kustomize the tests build, where the real one has it.
      const standIn = tempDir();
      cpSync(goTool('kustomize'), join(standIn, 'kustomize'));
      writeFileSync(join(standIn, 'Dockerfile'), 'FROM scratch\nCOPY kustomize /app/kustomize\n');
      buildImage(setup, standIn, kustomizeImage);
      const ctx = tempDir();
      writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
      buildImage(setup, ctx, SIDECAR_IMAGE);
    });

    function inSidecar(appDir: string, script: string, extra: readonly string[] = [], licensed = true): ReturnType<typeof run> {
      return run(
        'podman',
        ['run', '--rm', '--network', 'none', ...(licensed ? ['-e', 'LICENSE_ID'] : []), ...extra, '-v', `${shareable(appDir)}:/app:ro`, '-w', '/app', SIDECAR_IMAGE, 'sh', '-c', script],
        { env: { ...setup.env, LICENSE_ID: LICENSE }, timeout: 120_000 },
      );
    }

    it('holds the function as one file, which runs alone', function () {
      this.timeout(120_000);
      const r = inSidecar(tempDir(), 'ls /usr/local/bin; proxy-private-images --version; id -u', [], false);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^proxy-private-images$/m);
      assert.doesNotMatch(r.stdout, /chunks/);
      assert.match(r.stdout, /^proxy-private-images \d+\.\d+\.\d+/m);
      assert.match(r.stdout, /^999$/m);
    });

    it('generate inside it gives what it gives on the build machine', function () {
      this.timeout(120_000);
      const app = copyExample(join(ARGO, 'example'));
      const envArgs = Object.entries(ARGO_APP_ENV).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
      const r = inSidecar(app, plugin().spec.generate.args.join('\n'), envArgs);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(join(ARGO, 'example', '.expected', 'output.yaml'), 'utf8'));
    });

    it("Argo CD's kustomize with the README's buildOptions runs the exec-form transformer", function () {
      this.timeout(120_000);
      const cm = parse(snippet(join(ARGO, 'README.md'), 'argocd-cm')) as { data: Record<string, string> };
      // as Argo CD builds the command: kustomize build <path> + the options split on spaces
      const command = ['kustomize', 'build', '/app', ...cm.data['kustomize.buildOptions']!.split(' ')].join(' ');
      const app = copyExample(join(ARGO, 'kustomize-app'));
      const r = inSidecar(app, command);
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stdout.replace(/\.dockerconfigjson: \S+/g, ''), 'stdout outside the Secret data');
      expectGolden(join(ARGO, 'kustomize-app', '.expected', 'output.yaml'), r.stdout);
      assert.match(r.stdout, /proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1\.4\.2/);

      const unlicensed = inSidecar(app, command, [], false);
      assert.notEqual(unlicensed.status, 0);
      assert.equal(unlicensed.stdout, '');
      assert.match(unlicensed.stderr, /license/i);
    });
  });

  describe('Flux CI recipe: render.sh', function () {
    const render = (out: string, extraEnv: NodeJS.ProcessEnv = {}, src = join(FLUX, 'example')): ReturnType<typeof run> =>
      run('proxy-private-images-render', [src, out], { env: { ...env, ...extraEnv } });

    /** A render to compare against, and the folder it is in. */
    function rendered(): { out: string; before: Map<string, string> } {
      const out = join(tempDir(), 'rendered');
      const r = render(out);
      assert.equal(r.status, 0, r.stderr);
      return { out, before: treeSnapshot(out) };
    }

    it('writes the manifests and the pull Secret to separate files, the same each run', function () {
      const out = join(tempDir(), 'rendered');
      const once = (): void => {
        const r = render(out);
        assert.equal(r.status, 0, r.stderr);
        assertNoLicense(r.stderr + r.stdout, 'render.sh output');
      };
      once();
      const resources = readFileSync(join(out, 'resources.yaml'), 'utf8');
      const secrets = readFileSync(join(out, 'pull-secrets.yaml'), 'utf8');
      expectGolden(join(FLUX, 'example', '.expected', 'resources.yaml'), resources);
      expectGolden(join(FLUX, 'example', '.expected', 'pull-secrets.yaml'), secrets);
      assert.doesNotMatch(resources, /kind: Secret/, 'the Secret stays out of the file that is committed in clear');
      assert.ok(!resources.includes(Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64')));
      once();
      assert.equal(readFileSync(join(out, 'resources.yaml'), 'utf8'), resources);
      assert.equal(readFileSync(join(out, 'pull-secrets.yaml'), 'utf8'), secrets);
      assert.deepEqual(readdirSync(out).sort(), ['pull-secrets.yaml', 'resources.yaml']);
    });

    it('a render that fails (no license, broken kustomization) leaves the previous output byte for byte', function () {
      const { out, before } = rendered();
      const r = render(out, { LICENSE_ID: '' });
      assert.notEqual(r.status, 0);
      assert.deepEqual(treeSnapshot(out), before);
      const broken = copyExample(join(FLUX, 'example'));
      writeFileSync(join(broken, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      assert.notEqual(render(out, {}, broken).status, 0);
      assert.deepEqual(treeSnapshot(out), before);
    });

    it('a full disk while writing fails the render and leaves the previous output and no temporary file', function () {
      const { out, before } = rendered();
      // a file size limit of one 512-byte block: the first write past it fails, as on a full disk
      const r = run('sh', ['-c', 'ulimit -f 1 && exec proxy-private-images-render "$@"', 'sh', join(FLUX, 'example'), out], { env });
      assert.notEqual(r.status, 0, 'a render that could not be written must fail');
      assert.deepEqual(treeSnapshot(out), before, 'the previous render is gone or cut short');
    });

    it('a first render that fails writes nothing at all', function () {
      const out = join(tempDir(), 'rendered');
      assert.notEqual(render(out, { LICENSE_ID: '' }).status, 0);
      assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'no empty or partial files');
      mkdirSync(out, { recursive: true });
      const r = run('sh', ['-c', 'ulimit -f 1 && exec proxy-private-images-render "$@"', 'sh', join(FLUX, 'example'), out], { env });
      assert.notEqual(r.status, 0);
      assert.deepEqual(readdirSync(out), [], 'no empty or partial files');
    });
  });

  describe('Flux CI recipe with kpt (README snippet, render-kpt.sh)', function () {
    /** The README's command, in a folder laid out as it assumes (apps/acme/overlays/prod, deploy/acme/prod). */
    function layout(): string {
      const repo = tempDir();
      cpSync(join(FLUX, 'example'), join(repo, 'apps', 'acme', 'overlays', 'prod'), { recursive: true, filter: (p) => !p.includes('.expected') });
      return repo;
    }
    const command = (): string => snippet(join(FLUX, 'README.md'), 'flux-kpt');

    it('renders one file per resource, and renders again over its own output', function () {
      const repo = layout();
      const first = run('sh', ['-c', command()], { cwd: repo, env });
      assert.equal(first.status, 0, first.stderr);
      const out = join(repo, 'deploy', 'acme', 'prod');
      const files = treeSnapshot(out);
      assert.deepEqual([...files.keys()].sort(), ['acme/deployment_api.yaml', 'acme/secret_acme-registry.yaml']);
      assert.match(files.get('acme/deployment_api.yaml')!, /image: proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1\.4\.2/);
      const again = run('sh', ['-c', command()], { cwd: repo, env });
      assert.equal(again.status, 0, again.stderr);
      assert.deepEqual(treeSnapshot(out), files);
      assert.deepEqual(readdirSync(dirname(out)), ['prod'], 'no folders left beside the output');
    });

    it('a failing render exits non-zero and keeps the previous folder; a failing first render writes no folder', function () {
      const repo = layout();
      assert.equal(run('sh', ['-c', command()], { cwd: repo, env }).status, 0);
      const out = join(repo, 'deploy', 'acme', 'prod');
      const before = treeSnapshot(out);
      const r = run('sh', ['-c', command()], { cwd: repo, env: { ...env, LICENSE_ID: '' } });
      assert.notEqual(r.status, 0);
      assert.deepEqual(treeSnapshot(out), before);
      assert.deepEqual(readdirSync(dirname(out)), ['prod']);

      const fresh = layout();
      assert.notEqual(run('sh', ['-c', command()], { cwd: fresh, env: { ...env, LICENSE_ID: '' } }).status, 0);
      assert.ok(!existsSync(join(fresh, 'deploy', 'acme', 'prod')), 'an empty folder would be committed as an empty render');
    });
  });

  describe('the README pipe (kustomize build | proxy-private-images --stream)', function () {
    const pipe = (): string => snippet(join(PROJECT_ROOT, 'README.md'), 'plain-pipe');

    function app(): string {
      const dir = copyExample(join(FLUX, 'example'));
      return dir;
    }

    it('writes rendered.yaml', function () {
      const dir = app();
      const r = run('bash', ['-c', pipe()], { cwd: dir, env });
      assert.equal(r.status, 0, r.stderr);
      const out = readFileSync(join(dir, 'rendered.yaml'), 'utf8');
      assert.match(out, /proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1\.4\.2/);
      assert.match(out, /kind: Secret/);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('rendered')), ['rendered.yaml']);
    });

    it('a failing kustomize build or function exits non-zero and keeps the previous rendered.yaml', function () {
      const dir = app();
      assert.equal(run('bash', ['-c', pipe()], { cwd: dir, env }).status, 0);
      const before = readFileSync(join(dir, 'rendered.yaml'), 'utf8');
      const noLicense = run('bash', ['-c', pipe()], { cwd: dir, env: { ...env, LICENSE_ID: '' } });
      assert.notEqual(noLicense.status, 0);
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      const broken = run('bash', ['-c', pipe()], { cwd: dir, env });
      assert.notEqual(broken.status, 0, 'without pipefail the pipe reports the function, which got empty input');
      assert.equal(readFileSync(join(dir, 'rendered.yaml'), 'utf8'), before);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('rendered')), ['rendered.yaml']);
    });
  });
});
