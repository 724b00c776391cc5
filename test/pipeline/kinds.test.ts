import assert from 'node:assert/strict';
import { LICENSE, resourceList, runFn } from '../helpers/run.js';

const POD_SPEC = `containers:
- name: app
  image: quay.io/acme/app:1
initContainers:
- name: init
  image: quay.io/acme/init:1
ephemeralContainers:
- name: debug
  image: quay.io/acme/debug:1`;

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
}

/** kind -> [apiVersion, the YAML path down to the pod spec] */
const KINDS: Record<string, [string, string[]]> = {
  Pod: ['v1', ['spec']],
  Deployment: ['apps/v1', ['spec', 'template', 'spec']],
  StatefulSet: ['apps/v1', ['spec', 'template', 'spec']],
  DaemonSet: ['apps/v1', ['spec', 'template', 'spec']],
  ReplicaSet: ['apps/v1', ['spec', 'template', 'spec']],
  ReplicationController: ['v1', ['spec', 'template', 'spec']],
  Job: ['batch/v1', ['spec', 'template', 'spec']],
  CronJob: ['batch/v1', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  PodTemplate: ['v1', ['template', 'spec']],
};

function item(kind: string, apiVersion: string, path: string[]): string {
  let body = POD_SPEC;
  for (const seg of [...path].reverse()) body = `${seg}:\n${indent(body, 2)}`;
  return indent(`- apiVersion: ${apiVersion}\n  kind: ${kind}\n  metadata:\n    name: w\n    namespace: ns\n${indent(body, 2)}`, 0);
}

function dig(obj: any, path: string[]): any {
  return path.reduce((o, k) => o?.[k], obj);
}

describe('image discovery on every pod-bearing kind', () => {
  for (const [kind, [apiVersion, path]] of Object.entries(KINDS)) {
    it(`${kind}: rewrites containers, initContainers and ephemeralContainers and adds imagePullSecrets`, async () => {
      const out = await runFn(resourceList(item(kind, apiVersion, path)));
      assert.equal(out.exitCode, 0, out.stderr);
      const spec = dig(out.parsed.items[0], path);
      assert.equal(spec.containers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/app:1');
      assert.equal(spec.initContainers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/init:1');
      assert.equal(spec.ephemeralContainers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/debug:1');
      assert.deepEqual(spec.imagePullSecrets, [{ name: 'acme-registry' }]);
      const infos = out.parsed.results.filter((r: any) => r.field?.proposedValue);
      assert.equal(infos.length, 3);
      assert.ok(infos.every((r: any) => r.resourceRef.kind === kind && r.field.path.startsWith(path.join('.'))));
    });
  }

  it('leaves a custom resource that reuses a workload kind name alone', async () => {
    const out = await runFn(resourceList(item('Deployment', 'example.com/v1', ['spec', 'template', 'spec'])));
    assert.equal(out.exitCode, 0);
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'quay.io/acme/app:1');
    assert.equal(out.parsed.items.length, 1, 'no Secret when nothing needs it');
  });

  it('reaches custom resources through fieldSpecs, and wires imagePullSecrets when the path crosses a pod spec', async () => {
    const items = `- apiVersion: example.com/v1
  kind: Widget
  metadata: {name: w}
  spec:
    image: quay.io/acme/widget:1
    runner:
      containers:
      - image: quay.io/acme/runner:2`;
    const config = `appSlug: acme
  images: {private: ["quay.io/acme/**"]}
  fieldSpecs:
  - {group: example.com, kind: Widget, path: spec/image}
  - {kind: Widget, path: "spec/runner/containers[]/image"}`;
    const out = await runFn(resourceList(items, config));
    assert.equal(out.exitCode, 0, out.stderr);
    const spec = out.parsed.items[0].spec;
    assert.equal(spec.image, 'proxy.replicated.com/proxy/acme/quay.io/acme/widget:1');
    assert.equal(spec.runner.containers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/runner:2');
    assert.deepEqual(spec.runner.imagePullSecrets, [{ name: 'acme-registry' }]);
    const warning = out.parsed.results.find((r: any) => r.severity === 'warning');
    assert.match(warning.message, /not in a pod spec/);
    assert.equal(warning.field.path, 'spec.image');
  });

  it('decides each distinct image once, however many fields use it', async () => {
    const many = Array.from({ length: 20 }, (_, i) => `- apiVersion: v1\n  kind: Pod\n  metadata: {name: p${i}}\n  spec:\n    containers:\n    - {name: a, image: "registry.example.com/x:1"}\n    - {name: b, image: "registry.example.com/x:1"}`).join('\n');
    const { fakeProber } = await import('../helpers/run.js');
    const prober = fakeProber({ 'registry.example.com/x:1': { verdict: 'private', reason: 'answered 401' } });
    const out = await runFn(resourceList(many, 'appSlug: acme'), { prober });
    assert.equal(out.exitCode, 0, out.stderr);
    assert.deepEqual(prober.asked, ['registry.example.com/x:1']);
    assert.equal(out.parsed.items.filter((i: any) => i.kind === 'Pod').every((p: any) => p.spec.containers.every((c: any) => c.image.startsWith('proxy.replicated.com/'))), true);
    assert.ok(!out.stdout.includes(LICENSE));
  });
});
