/**
 * GitOps routes for Helm charts. gitops/argocd/plugin-helm.yaml, run as Argo CD's CMP sidecar runs it (`sh -c
 * ARGS` in the app path, with ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, KUBE_VERSION and KUBE_API_VERSIONS set), with
 * real helm v3.22.0 (what Argo CD's images ship) and v4.3.1; and the Flux HelmRelease postRenderers route (docs/helm.md).
 * Not tested here: a real Argo CD with its sidecar, a real Flux.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { goTool } from '../support/go-tools.js';
import { expectGolden, LICENSE as EXAMPLE_LICENSE } from '../integration/harness.js';
import { HOOK_SECRET, PROXY, SECRET } from './charts.js';
import { byKey, cleanTemps, copyDir, functionBin, imagesOf, objects, PROJECT_ROOT, pullSecretsOf, run, setupHelm, tempDir, type Helm } from './support.js';

const ARGO = join(PROJECT_ROOT, 'gitops', 'argocd');
const APP = join(ARGO, 'example-helm');

interface Plugin {
  kind: string;
  metadata: { name: string };
  spec: { version: string; generate: { command: string[]; args: string[] }; discover: { find: { command: string[] } } };
}

describe('GitOps for Helm charts: the Argo CD plugin (gitops/argocd/plugin-helm.yaml) and the Flux postRenderers route', function () {
  this.timeout(1_800_000); // the first run builds helm with go install
  let plugin: Plugin;
  let helm3: Helm;
  let helm4: Helm;

  before(() => {
    plugin = parse(readFileSync(join(ARGO, 'plugin-helm.yaml'), 'utf8')) as Plugin;
    const fnBin = functionBin();
    helm3 = setupHelm('helm3', [fnBin], { LICENSE_ID: EXAMPLE_LICENSE });
    helm4 = setupHelm('helm4', [fnBin], { LICENSE_ID: EXAMPLE_LICENSE });
  });
  after(cleanTemps);

  const ARGO_ENV = { ARGOCD_APP_NAME: 'acme', ARGOCD_APP_NAMESPACE: 'acme-prod', KUBE_VERSION: '1.32', KUBE_API_VERSIONS: 'v1,apps/v1,batch/v1' };

  function generate(h: Helm, appDir: string, extraEnv: NodeJS.ProcessEnv = {}): ReturnType<typeof run> {
    const [cmd, ...args] = plugin.spec.generate.command;
    return run(cmd!, [...args, ...plugin.spec.generate.args], { cwd: appDir, env: { ...h.env, ...ARGO_ENV, ...extraEnv } });
  }

  it('discover matches a chart folder with a proxy-private-images.yaml, and not the kustomize example', () => {
    assert.equal(plugin.kind, 'ConfigManagementPlugin');
    assert.equal(`${plugin.metadata.name}-${plugin.spec.version}`, 'proxy-private-images-helm-v1');
    const [cmd, ...args] = plugin.spec.discover.find.command;
    assert.notEqual(run(cmd!, args, { cwd: APP }).stdout.trim(), '');
    assert.equal(run(cmd!, args, { cwd: join(ARGO, 'example') }).stdout.trim(), '');
  });

  it('generate (helm 3): the chart, its hook included, with proxied images and both pull Secrets in the destination namespace', function () {
    const r = generate(helm3, APP);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.replace(/\.dockerconfigjson: \S+/g, '').includes(EXAMPLE_LICENSE) && !r.stderr.includes(EXAMPLE_LICENSE));
    expectGolden(join(APP, '.expected', 'output.yaml'), r.stdout);
    const objs = objects(r.stdout);
    const api = byKey(objs, 'Deployment/acme-prod/acme-api');
    assert.deepEqual(imagesOf(api), [`${PROXY}quay.io/acme/api:3.0.0`, 'docker.io/library/redis:7.4']);
    assert.deepEqual(pullSecretsOf(api), [SECRET]);
    const migrate = byKey(objs, 'Job/acme-prod/acme-migrate');
    assert.deepEqual(imagesOf(migrate), [`${PROXY}quay.io/acme/api:3.0.0`]);
    assert.deepEqual(pullSecretsOf(migrate), [HOOK_SECRET]);
    assert.equal(byKey(objs, `Secret/acme-prod/${HOOK_SECRET}`).metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    byKey(objs, `Secret/acme-prod/${SECRET}`);
  });

  it('generate with helm 4 gives the same objects', function () {
    const r = generate(helm4, APP);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(objects(r.stdout), objects(generate(helm3, APP).stdout));
  });

  it('HELM_ARGS and PPI_CONFIG come from the Application', function () {
    const app = copyDir(APP, 'app');
    writeFileSync(join(app, 'values-prod.yaml'), 'image: quay.io/acme/api:3.0.1\n');
    writeFileSync(join(app, 'other.yaml'), readFileSync(join(app, 'proxy-private-images.yaml'), 'utf8').replace('appSlug: acme', 'appSlug: acme-eu'));
    const r = generate(helm3, app, { ARGOCD_ENV_HELM_ARGS: '--values values-prod.yaml', ARGOCD_ENV_PPI_CONFIG: 'other.yaml' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(imagesOf(byKey(objects(r.stdout), 'Deployment/acme-prod/acme-api'))[0], 'proxy.replicated.com/proxy/acme-eu/quay.io/acme/api:3.0.1');
  });

  it('a broken chart or a missing license fails generate with nothing on stdout', function () {
    const app = copyDir(APP, 'broken');
    writeFileSync(join(app, 'templates', 'api.yaml'), '{{ .Values.nope.missing }}\n');
    const broken = generate(helm3, app);
    assert.notEqual(broken.status, 0);
    assert.equal(broken.stdout, '', 'an empty manifest list would make Argo CD prune the application');
    const unlicensed = generate(helm3, APP, { LICENSE_ID: '' });
    assert.equal(unlicensed.status, 1);
    assert.equal(unlicensed.stdout, '');
    assert.match(unlicensed.stderr, /license/i);
  });

  it('Flux route: the function\'s `output: kustomization` as a HelmRelease\'s postRenderers gives the same objects, with hooks sent or not', function () {
    // helm-controller post-renders with kustomize images and patches, not with an executable; since Flux 2.8 it
    // runs Helm 4 and `spec.postRenderStrategy` says whether hooks are sent. Emulated here by a post-renderer that
    // applies them with kustomize v5.8.2: under helm 3 (hooks never sent, like `nohooks`) and as a helm 4 plugin
    // (hooks sent, like `combined`). Not tested with Flux itself.
    const chart = join(PROJECT_ROOT, 'examples', 'helm-post-renderer', 'shop');
    const config = join(PROJECT_ROOT, 'examples', 'helm-post-renderer', 'proxy-private-images.yaml');
    const rendered = helm3.helm(['template', 'shop', chart]);
    assert.equal(rendered.status, 0, rendered.stderr);
    const generated = run('proxy-private-images', ['--stream', '--output', 'kustomization', '--config', config], { input: rendered.stdout, env: helm3.env });
    assert.equal(generated.status, 0, generated.stderr);
    const [kustomization, ...secrets] = objects(generated.stdout);
    assert.equal(kustomization!.kind, 'Kustomization');
    assert.deepEqual(secrets.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [`Secret/${SECRET}`, `Secret/${HOOK_SECRET}`], 'the Secrets go to the cluster apart from the HelmRelease (e.g. SOPS)');
    const postRenderer = { images: kustomization!['images'], patches: kustomization!['patches'] };

    const work = tempDir('ppi-flux-');
    writeFileSync(join(work, 'kustomization.yaml'), stringify({ resources: ['all.yaml'], ...postRenderer }));
    const renderer = join(work, 'flux-like-post-renderer');
    writeFileSync(renderer, `#!/bin/sh\nset -e\ncat > ${JSON.stringify(join(work, 'all.yaml'))}\nexec ${JSON.stringify(goTool('kustomize'))} build ${JSON.stringify(work)}\n`);
    chmodSync(renderer, 0o755);
    writeFileSync(join(work, 'plugin.yaml'), `apiVersion: v1\nname: flux-like\nversion: 0.0.1\ntype: postrenderer/v1\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: ${renderer}\n`);
    const installed = helm4.helm(['plugin', 'install', work]);
    assert.equal(installed.status, 0, installed.stderr);
    const pluginInstalled = helm4.helm(['plugin', 'install', join(PROJECT_ROOT, 'helm-plugin')]);
    assert.equal(pluginInstalled.status, 0, pluginInstalled.stderr);

    const comparable = (text: string): string[] => objects(text).filter((o) => o.kind !== 'Secret').map((o) => JSON.stringify(sortDeep(o))).sort();
    for (const [h, flux, direct] of [
      [helm3, ['--post-renderer', renderer], ['--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`]],
      [helm4, ['--post-renderer', 'flux-like'], ['--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`]],
    ] as [Helm, string[], string[]][]) {
      const viaFlux = h.helm(['template', 'shop', chart, ...flux]);
      assert.equal(viaFlux.status, 0, `${h.name}: ${viaFlux.stderr}`);
      const viaFunction = h.helm(['template', 'shop', chart, ...direct]);
      assert.equal(viaFunction.status, 0, `${h.name}: ${viaFunction.stderr}`);
      assert.deepEqual(comparable(viaFlux.stdout), comparable(viaFunction.stdout), h.name);
    }
  });
});

/** A copy with every map's keys sorted (kustomize sorts keys; the function keeps the chart's order). */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
  return v;
}
