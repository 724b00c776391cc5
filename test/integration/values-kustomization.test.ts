/**
 * `output: kustomization` for images in values: kustomize's `images:` only touches image fields, so every value
 * rewrite (`--flag IMAGE`, `--flag=IMAGE`, env, ConfigMap data) must arrive as a patch. For each operator example,
 * kustomize applying the emitted overlay to the unchanged manifests must give what `output: resources` gives.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { resourceListToStream } from '../helpers/stream.js';
import { cleanTemps, EXAMPLES, execSetup, run, SETUP_TIMEOUT_MS, tempDir } from './harness.js';

const OPERATOR_EXAMPLES = ['operator-args', 'operator-args-equals', 'operator-env', 'operator-configmap'];

describe('output: kustomization carries value rewrites as patches kustomize applies', function () {
  let env: NodeJS.ProcessEnv;

  before(function () {
    this.timeout(SETUP_TIMEOUT_MS);
    ({ env } = execSetup());
  });

  after(cleanTemps);

  const build = (dir: string): unknown[] => {
    const r = run('kubectl', ['kustomize', dir], { env });
    assert.equal(r.status, 0, r.stderr);
    return parseAllDocuments(r.stdout).map((d) => d.toJS());
  };

  for (const name of OPERATOR_EXAMPLES) {
    it(`${name}: the overlay on the unchanged manifests equals output: resources`, function () {
      this.timeout(60_000);
      const resources = readFileSync(join(EXAMPLES, name, 'resourcelist.yaml'), 'utf8');
      const overlayInput = resources.replace(/^(  appSlug: acme)$/m, '$1\n  output: kustomization');
      assert.notEqual(overlayInput, resources);
      const overlay = run('proxy-private-images', [], { input: overlayInput, env });
      assert.equal(overlay.status, 0, overlay.stderr);
      const mutated = run('proxy-private-images', [], { input: resources, env });
      assert.equal(mutated.status, 0, mutated.stderr);

      const items = (parse(overlay.stdout) as { items: Record<string, unknown>[] }).items;
      const kustomization = items.find((i) => i['kind'] === 'Kustomization')!;
      assert.ok((kustomization['patches'] as unknown[]).length > 0, 'value rewrites are patches');
      const a = tempDir();
      writeFileSync(join(a, 'resources.yaml'), resourceListToStream(resources));
      writeFileSync(join(a, 'secrets.yaml'), items.filter((i) => i['kind'] === 'Secret').map((x) => stringify(x)).join('---\n'));
      writeFileSync(join(a, 'kustomization.yaml'), stringify({ ...kustomization, resources: ['resources.yaml', 'secrets.yaml'] }));
      const b = tempDir();
      writeFileSync(join(b, 'all.yaml'), resourceListToStream(mutated.stdout));
      writeFileSync(join(b, 'kustomization.yaml'), 'resources:\n  - all.yaml\n');
      const built = build(a);
      assert.deepEqual(built, build(b));
      assert.ok(JSON.stringify(built).includes('proxy.replicated.com/proxy/acme/quay.io/acme/'), 'the build holds the rewritten values');
    });
  }
});
