/**
 * examples/helm-post-renderer (helm v3.22.0, and v4.3.1 with the plugin) and examples/kustomize-helm-charts
 * (kustomize v5.8.2 with helm v3.22.0), run as their READMEs say and compared with `.expected/`
 * (UPDATE_EXPECTED=1 rewrites them); a second run of the function on the output changes nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goTool } from '../support/go-tools.js';
import { BUNDLE } from '../support/tools.js';
import { expectGolden, LICENSE as EXAMPLE_LICENSE } from '../integration/harness.js';
import { cleanTemps, functionBin, installPlugin, objects, PROJECT_ROOT, run, setupHelm, tempDir, type Obj } from './support.js';

const EXAMPLES = join(PROJECT_ROOT, 'examples');
const isHook = (o: Obj): boolean => o.metadata.annotations?.['helm.sh/hook'] !== undefined;

function assertNoLicense(text: string, where: string): void {
  assert.ok(!text.replace(/\.dockerconfigjson: \S+/g, '').includes(EXAMPLE_LICENSE), `the license id shows in ${where} outside the Secret data`);
}

describe('Helm examples run through real helm and kustomize', function () {
  this.timeout(1_800_000); // the first run builds helm and kustomize with go install
  let fnBin: string;
  const env = { LICENSE_ID: EXAMPLE_LICENSE };

  before(() => {
    fnBin = functionBin();
  });
  after(cleanTemps);

  describe('helm-post-renderer', () => {
    const dir = join(EXAMPLES, 'helm-post-renderer');
    // the README's command, run from the project root
    const args = ['template', 'shop', 'examples/helm-post-renderer/shop', '--post-renderer', 'proxy-private-images', '--post-renderer-args=--config=examples/helm-post-renderer/proxy-private-images.yaml'];
    const again = (h: ReturnType<typeof setupHelm>, out: string): string => {
      const r = run(process.execPath, [BUNDLE, '--config', join(dir, 'proxy-private-images.yaml')], { input: out, env: { ...h.env, ...env } });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };

    it('Helm 3 gives .expected/helm3.yaml; the hooks keep their images; a second run changes nothing', function () {
      const h = setupHelm('helm3', [fnBin], env);
      const r = h.helm(args);
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stdout + r.stderr, 'helm 3 output');
      expectGolden(join(dir, '.expected', 'helm3.yaml'), r.stdout);
      const hooks = objects(r.stdout).filter(isHook);
      assert.ok(hooks.length === 2 && hooks.every((o) => JSON.stringify(o).includes('"quay.io/acme/')), 'Helm 3 does not post-render hooks');
      const regular = (text: string): Obj[] => objects(text).filter((o) => !isHook(o));
      assert.deepEqual(regular(again(h, r.stdout)), regular(r.stdout));
    });

    it('Helm 4 with helm-plugin/ gives .expected/helm4.yaml; a second run changes nothing', function () {
      const h = setupHelm('helm4', [], env);
      const inst = installPlugin(h);
      assert.equal(inst.status, 0, inst.stderr);
      const r = h.helm(args);
      assert.equal(r.status, 0, r.stderr);
      assertNoLicense(r.stdout + r.stderr, 'helm 4 output');
      expectGolden(join(dir, '.expected', 'helm4.yaml'), r.stdout);
      assert.ok(!r.stdout.includes('image: quay.io/acme/'), 'every private image, hooks included, is proxied');
      assert.deepEqual(objects(again(h, r.stdout)), objects(r.stdout));
    });
  });

  describe('kustomize-helm-charts', () => {
    const dir = join(EXAMPLES, 'kustomize-helm-charts');

    it('kustomize build --enable-helm gives .expected/output.yaml; a kustomization over the output changes nothing', function () {
      const kustomize = goTool('kustomize');
      const helm = goTool('helm3');
      const build = (path: string): string => {
        const r = run(kustomize, ['build', '--enable-helm', '--helm-command', helm, '--enable-alpha-plugins', '--enable-exec', path], {
          env: { ...process.env, ...env },
          timeout: 120_000,
        });
        assert.equal(r.status, 0, r.stderr);
        assertNoLicense(r.stdout + r.stderr, 'kustomize output');
        return r.stdout;
      };
      const out = build(dir);
      expectGolden(join(dir, '.expected', 'output.yaml'), out);

      const second = tempDir();
      writeFileSync(join(second, 'rendered.yaml'), out);
      const config = readFileSync(join(dir, 'proxy-private-images.yaml'), 'utf8').replace('path: ../../dist/proxy-private-images.js', `path: ${BUNDLE}`);
      assert.match(config, new RegExp(`path: ${BUNDLE}`));
      writeFileSync(join(second, 'proxy-private-images.yaml'), config);
      writeFileSync(join(second, 'kustomization.yaml'), 'resources:\n  - rendered.yaml\ntransformers:\n  - proxy-private-images.yaml\n');
      assert.deepEqual(objects(build(second)), objects(out));
    });
  });
});
