/**
 * GitOps recipes, run for real: the exact `generate` command of gitops/argocd/plugin.yaml in the example app folder
 * (as Argo CD's CMP sidecar runs it: `sh -c ARGS` in the app path), and gitops/flux/render.sh (the CI render step).
 * `kustomize` is kubectl's embedded kustomize v5 behind a `kustomize build` stand-in (standalone kustomize cannot
 * be installed here).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/podman.js';
import { assertNoLicense, cleanTemps, copyExample, execSetup, expectGolden, LICENSE, run, tempDir } from './harness.js';

const ARGO = join(PROJECT_ROOT, 'gitops', 'argocd');
const FLUX = join(PROJECT_ROOT, 'gitops', 'flux');

interface Plugin {
  kind: string;
  spec: { generate: { command: string[]; args: string[] }; discover?: { fileName?: string } };
}

describe('GitOps recipes', function () {
  let env: NodeJS.ProcessEnv;
  let plugin: Plugin;

  before(function () {
    env = execSetup().env;
    plugin = parse(readFileSync(join(ARGO, 'plugin.yaml'), 'utf8')) as Plugin;
  });
  after(cleanTemps);

  function generate(appDir: string, extraEnv: NodeJS.ProcessEnv = {}): ReturnType<typeof run> {
    const [cmd, ...cmdArgs] = plugin.spec.generate.command;
    return run(cmd!, [...cmdArgs, ...plugin.spec.generate.args], {
      cwd: appDir,
      env: { ...env, ARGOCD_APP_NAME: 'acme', ARGOCD_APP_NAMESPACE: 'argocd', ...extraEnv },
    });
  }

  it('Argo CD plugin: generate renders the app with the proxied images and the pull Secret', function () {
    assert.equal(plugin.kind, 'ConfigManagementPlugin');
    const app = join(ARGO, 'example');
    assert.ok(existsSync(join(app, plugin.spec.discover!.fileName!)), 'the example app is found by the discover rule');
    const r = generate(app);
    assert.equal(r.status, 0, r.stderr);
    assertNoLicense(r.stderr, 'stderr');
    assertNoLicense(r.stdout.replace(/\.dockerconfigjson: \S+/g, ''), 'stdout outside the Secret data');
    expectGolden(join(app, '.expected', 'output.yaml'), r.stdout);
    assert.match(r.stdout, /image: proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1\.4\.2/);
    assert.match(r.stdout, /kind: Secret/);
  });

  it('Argo CD plugin: the config file can be chosen per application (ARGOCD_ENV_PPI_CONFIG)', function () {
    const app = copyExample(join(ARGO, 'example'));
    const config = readFileSync(join(app, 'proxy-private-images.yaml'), 'utf8');
    writeFileSync(join(app, 'custom.yaml'), config.replace('appSlug: acme', 'appSlug: other-app'));
    const r = generate(app, { ARGOCD_ENV_PPI_CONFIG: 'custom.yaml' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /proxy\.replicated\.com\/proxy\/other-app\/quay\.io\/acme\/api:1\.4\.2/);
  });

  it('Argo CD plugin: a broken kustomization fails generate with no manifests at all', function () {
    const app = copyExample(join(ARGO, 'example'));
    writeFileSync(join(app, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
    const r = generate(app);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '', 'an empty manifest list would make Argo CD prune the application');
  });

  it('Argo CD plugin: without a license id generate fails, prints nothing to stdout and says why', function () {
    const r = generate(join(ARGO, 'example'), { LICENSE_ID: '' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /license/i);
  });

  it('Flux CI recipe: render.sh writes the manifests and the pull Secret to separate files, the same each run', function () {
    const out = join(tempDir(), 'rendered');
    const render = (): void => {
      const r = run('sh', [join(FLUX, 'render.sh'), join(FLUX, 'example'), out], { env });
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stderr + r.stdout, 'render.sh output');
    };
    render();
    const resources = readFileSync(join(out, 'resources.yaml'), 'utf8');
    const secrets = readFileSync(join(out, 'pull-secrets.yaml'), 'utf8');
    expectGolden(join(FLUX, 'example', '.expected', 'resources.yaml'), resources);
    expectGolden(join(FLUX, 'example', '.expected', 'pull-secrets.yaml'), secrets);
    assert.doesNotMatch(resources, /kind: Secret/, 'the Secret stays out of the file that is committed in clear');
    assert.ok(!resources.includes(Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64')));
    render();
    assert.equal(readFileSync(join(out, 'resources.yaml'), 'utf8'), resources);
    assert.equal(readFileSync(join(out, 'pull-secrets.yaml'), 'utf8'), secrets);
  });

  it('Flux CI recipe: a failing render leaves the previous output untouched', function () {
    const out = join(tempDir(), 'rendered');
    assert.equal(run('sh', [join(FLUX, 'render.sh'), join(FLUX, 'example'), out], { env }).status, 0);
    const before = readFileSync(join(out, 'resources.yaml'), 'utf8');
    const r = run('sh', [join(FLUX, 'render.sh'), join(FLUX, 'example'), out], { env: { ...env, LICENSE_ID: '' } });
    assert.notEqual(r.status, 0);
    assert.equal(readFileSync(join(out, 'resources.yaml'), 'utf8'), before);
  });
});
