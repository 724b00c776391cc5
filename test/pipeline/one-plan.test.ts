/** Issue 10's seven defects, each as a user would see it (every one of these failed on the old writers). */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { run } from '../../src/run.js';
import { fakeProber, LICENSE, runFn } from '../helpers/run.js';

const FC = 'functionConfig:\n  apiVersion: fn.proxy-private-images.dev/v1alpha1\n  kind: ProxyPrivateImages\n  appSlug: app\n  images: {private: ["quay.io/**"], public: ["docker.io/**"]}\n';
const RL = (items: string, fc = FC): string => `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}${fc}`;
const PROXIED = 'proxy.replicated.com/proxy/app/quay.io/org/api:1';

describe('one plan: what the old writers lost (issue 10)', () => {
  it('1. output: kustomization carries an existing Secret update and a custom-resource field as patches', async () => {
    const fc = FC.replace('  images:', '  output: kustomization\n  fieldSpecs: [{group: acme.io, kind: Job, path: spec/image}]\n  images:');
    const items =
      '- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: a}, spec: {containers: [{name: c, image: "quay.io/org/api:1"}]}}\n' +
      '- {apiVersion: acme.io/v1, kind: Job, metadata: {name: j, namespace: a}, spec: {image: "quay.io/org/job:1"}}\n' +
      '- {apiVersion: v1, kind: Secret, metadata: {name: app-registry, namespace: a}, type: kubernetes.io/dockerconfigjson, data: {.dockerconfigjson: c3RhbGU=}}\n';
    const out = await runFn(RL(items, fc));
    assert.equal(out.exitCode, 0, out.stderr);
    const k = out.parsed.items[0];
    const patches = (k.patches as { target: { kind: string }; patch: string }[]).map((p) => ({ kind: p.target.kind, ops: parse(p.patch) }));
    assert.deepEqual(patches.find((p) => p.kind === 'Job')!.ops, [{ op: 'replace', path: '/spec/image', value: 'proxy.replicated.com/proxy/app/quay.io/org/job:1' }]);
    const secretOps = patches.find((p) => p.kind === 'Secret')!.ops as { path: string; value: string }[];
    assert.ok(secretOps.some((o) => o.path === '/data/.dockerconfigjson' && o.value !== 'c3RhbGU='));
  });

  it('2. output: kustomization refuses a kpt package instead of letting kpt delete every file', async () => {
    const fc = FC.replace('  images:', '  output: kustomization\n  images:');
    const items = "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n    annotations: {internal.config.kubernetes.io/path: 'pod.yaml'}\n  spec: {containers: [{name: c, image: quay.io/org/api:1}]}\n";
    const out = await runFn(RL(items, fc));
    assert.equal(out.exitCode, 1);
    assert.equal(out.parsed.results[0].tags.code, 'OUTPUT_UNSUPPORTED');
    assert.match(out.parsed.results[0].message, /kpt would delete every package file/);
  });

  for (const [form, eol, stream] of [['stream', '\n', true], ['CRLF ResourceList', '\r\n', false], ['LF ResourceList', '\n', false]] as const) {
    it(`3. ${form}: numbers, -0, the first document's --- and # Source: comment stay byte for byte`, async () => {
      const pod = '# Source: chart/templates/pod.yaml\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {big: 9223372036854775807, huge: 12345678901234567890123, zero: -0}\nspec:\n  containers:\n  - name: c   # the app\n    image: quay.io/org/api:1\n';
      const text = (stream ? pod : RL(pod.replace('# Source: chart/templates/pod.yaml\n---\n', '').replace(/^/gm, '  ').replace(/^  /, '- ').replace(/\n  $/, '\n'))).replace(/\n/g, eol);
      const out = stream
        ? await run(text, { env: { LICENSE_ID: LICENSE }, createProber: () => fakeProber() }, { stream: true, fallbackFunctionConfig: parse(FC).functionConfig })
        : await runFn(text);
      assert.equal(out.exitCode, 0, out.stderr);
      for (const kept of ['9223372036854775807', '12345678901234567890123', 'zero: -0', '# the app']) assert.ok(out.stdout.includes(kept), kept);
      if (stream) assert.ok(out.stdout.startsWith('# Source: chart/templates/pod.yaml\n---\n'));
      if (eol === '\r\n') assert.ok(!/[^\r]\n/.test(out.stdout), 'every line ends CRLF');
      assert.ok(out.stdout.includes(PROXIED));
    });
  }

  for (const style of ['|-', '>-', '|2-']) {
    it(`4. an image written as a block scalar (${style}) is rewritten into valid YAML`, async () => {
      const items = `- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: c\n      image: ${style}\n        quay.io/org/api:1\n      ports: [{containerPort: 80}]\n`;
      const out = await runFn(RL(items));
      assert.equal(out.exitCode, 0, out.stderr);
      assert.equal(out.parsed.items[0].spec.containers[0].image, PROXIED);
      assert.deepEqual(out.parsed.items[0].spec.containers[0].ports, [{ containerPort: 80 }]);
      assert.ok(out.stdout.includes(`image: ${style}\n`), 'the block style is kept');
    });
  }

  it('5. workloads sharing a pod template through an alias each get imagePullSecrets and a Secret in their namespace', async () => {
    const items =
      '- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a, namespace: one}\n  spec:\n    template: &tpl\n      spec:\n        containers:\n        - {name: c, image: quay.io/org/api:1}\n' +
      '- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b, namespace: two}\n  spec:\n    template: *tpl\n';
    const out = await runFn(RL(items));
    assert.equal(out.exitCode, 0, out.stderr);
    for (const i of [0, 1]) {
      assert.equal(out.parsed.items[i].spec.template.spec.containers[0].image, PROXIED);
      assert.deepEqual(out.parsed.items[i].spec.template.spec.imagePullSecrets, [{ name: 'app-registry' }]);
    }
    const ns = out.parsed.items.filter((i: any) => i.kind === 'Secret').map((i: any) => i.metadata.namespace).sort();
    assert.deepEqual(ns, ['one', 'two']);
  });

  it('5b. an image anchor that a non-image field also uses is an error naming the objects, not a silent change', async () => {
    const items =
      '- {apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, data: {image: &img "quay.io/org/api:1"}}\n' +
      '- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: *img}]}}\n';
    const out = await runFn(RL(items));
    assert.equal(out.exitCode, 0, out.stderr);
    // the field is an alias: it is rewritten where it stands and the ConfigMap's anchor stays
    assert.equal(out.parsed.items[1].spec.containers[0].image, PROXIED);
    assert.equal(out.parsed.items[0].data.image, 'quay.io/org/api:1');
    const shared = '- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: &img "quay.io/org/api:1"}]}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, data: {image: *img}}\n';
    const bad = await runFn(RL(shared));
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.parsed.results[0].tags.code, 'FIELD_SHARED');
    assert.match(bad.parsed.results[0].message, /Pod\/p/);
  });

  it('6. a private image behind a merge key is found and rewritten', async () => {
    const items = '- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - <<: {name: c, image: "quay.io/org/api:1"}\n';
    const out = await runFn(RL(items));
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.parsed.items[0].spec.containers[0]['<<'].image, PROXIED);
    assert.deepEqual(out.parsed.items[0].spec.imagePullSecrets, [{ name: 'app-registry' }]);
  });

  it('7. a deeply nested document is the documented error, not an internal one', async () => {
    const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
    const out = await runFn(RL(`- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {x: ${deep}}}\n`));
    assert.equal(out.exitCode, 1);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /^proxy-private-images: input is not valid YAML here: it nests more than 256 levels deep/);
    assert.ok(!out.stderr.includes(LICENSE));
  });
});
