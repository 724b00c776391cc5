/** Images in values through the whole pipeline: decided like image fields, in one probing pass, rewritten in every output form. */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { Prober, ProbeOutcome } from '../../src/probe/types.js';
import { formatReference } from '../../src/reference/parse.js';
import { fakeProber, LICENSE, resourceList, runFn } from '../helpers/run.js';

const OPERATOR = (containers: string, namespace = 'ops'): string => `  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: op, namespace: ${namespace}}
    spec:
      template:
        spec:
          containers:
${containers}`;

const config = (rest: string): string => `appSlug: acme\n  ${rest.trim().split('\n').join('\n  ')}`;
const resultsOf = (out: { parsed: any }, code: string): any[] => out.parsed.results.filter((r: any) => r.tags?.code === code);

/** Answers from a table and counts the probing passes. */
function countingProber(answers: Record<string, ProbeOutcome>): Prober & { passes: string[][] } {
  const passes: string[][] = [];
  return {
    passes,
    async probeAll(refs) {
      passes.push(refs.map(formatReference).sort());
      return new Map(refs.map((r) => [formatReference(r), answers[formatReference(r)] ?? { verdict: 'inconclusive', reason: 'not scripted' }]));
    },
    async close() {},
  };
}

describe('images in values, through the pipeline', () => {
  it('rule values and detected candidates go to the prober with the image fields, in one pass', async () => {
    const prober = countingProber({
      'quay.io/acme/op:1': { verdict: 'private', reason: '401' },
      'ghcr.io/acme/engine:1': { verdict: 'public', reason: '200' },
      'registry.example.com/x/helper:1': { verdict: 'private', reason: '401' },
      'registry.example.com/x/public:1': { verdict: 'public', reason: '200' },
    });
    const input = resourceList(
      OPERATOR(`            - name: c
              image: quay.io/acme/op:1
              args: [--engine-image=ghcr.io/acme/engine:1, --helper-image, registry.example.com/x/helper:1]
              env: [{name: PUBLIC, value: registry.example.com/x/public:1}]`),
      config('imagesInValues: {args: ["--engine-image"]}'),
    );
    const out = await runFn(input, { prober });
    assert.equal(out.exitCode, 0, out.stderr);
    assert.deepEqual(prober.passes, [['ghcr.io/acme/engine:1', 'quay.io/acme/op:1', 'registry.example.com/x/helper:1', 'registry.example.com/x/public:1']]);
    const warned = resultsOf(out, 'IMAGE_IN_VALUE');
    assert.deepEqual(warned.map((r: any) => [r.severity, r.field.path]), [['warning', 'spec.template.spec.containers[0].args[2]']]);
    assert.match(warned[0].message, /^registry\.example\.com\/x\/helper:1 is private \(401\), and this value is not rewritten.*imagesInValues\.args: \["--helper-image"\] rewrites it/);
    assert.ok(!out.stdout.includes('x/public:1 left') && !JSON.stringify(out.parsed.results).includes('x/public'), 'a public candidate says nothing');
    const engine = out.parsed.results.find((r: any) => r.field?.path === 'spec.template.spec.containers[0].args[0]');
    assert.match(engine.message, /ghcr\.io\/acme\/engine:1 left as is: public/);
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].args[2], 'registry.example.com/x/helper:1', 'a candidate is never rewritten');
  });

  it('an inconclusive candidate is a warning, never a failure, whatever probe.onError says; an inconclusive rule value fails like an image', async () => {
    const answers = { 'registry.example.com/x/helper:1': { verdict: 'inconclusive' as const, reason: 'connection refused' } };
    const items = OPERATOR(`            - {name: c, image: quay.io/acme/op:1, env: [{name: HELPER_IMAGE, value: registry.example.com/x/helper:1}]}`);
    for (const onError of ['fail', 'private', 'public']) {
      const out = await runFn(resourceList(items, config(`images: {private: ["quay.io/acme/**"]}\nprobe: {onError: ${onError}}`)), { prober: fakeProber(answers) });
      assert.equal(out.exitCode, 0, `${onError}: ${out.stderr}`);
      const [w] = resultsOf(out, 'IMAGE_IN_VALUE');
      assert.equal(w.severity, 'warning');
      assert.match(w.message, /^cannot tell whether registry\.example\.com\/x\/helper:1 is private: connection refused.*imagesInValues\.env: \["HELPER_IMAGE"\] rewrites it/, onError);
      assert.match(out.stderr, /\[warning\] apps\/v1\/Deployment\/ops\/op spec\.template\.spec\.containers\[0\]\.env\[0\]\.value: cannot tell/);
    }
    const ruled = await runFn(resourceList(items, config('images: {private: ["quay.io/acme/**"]}\nimagesInValues: {env: ["*_IMAGE"]}')), { prober: fakeProber(answers) });
    assert.equal(ruled.exitCode, 1);
    const [e] = resultsOf(ruled, 'IMAGE_UNDECIDED');
    assert.equal(e.field.path, 'spec.template.spec.containers[0].env[0].value');
  });

  it('a vendor or already-proxied candidate needs the Secret, and says so', async () => {
    const out = await runFn(
      resourceList(
        OPERATOR(`            - {name: c, image: quay.io/acme/op:1, args: [--a-image=registry.replicated.com/acme/a:1, --b-image=proxy.replicated.com/proxy/acme/quay.io/acme/b:1]}`),
        config('images: {private: ["quay.io/acme/**"]}'),
      ),
    );
    assert.equal(out.exitCode, 0, out.stderr);
    const [vendor, proxied] = resultsOf(out, 'IMAGE_IN_VALUE');
    assert.match(vendor.message, /^registry\.replicated\.com\/acme\/a:1 needs the pull Secret \(registry\.replicated\.com is a vendor registry\), and no imagesInValues rule names this value, so the Secret's namespaces do not count it; imagesInValues\.args: \["--a-image"\] does$/);
    assert.match(proxied.message, /^proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/b:1 needs the pull Secret \(already points at the proxy proxy\.replicated\.com\).*\["--b-image"\] does$/);
    assert.equal(out.parsed.results.filter((r: any) => r.tags?.code === 'IMAGE_IN_VALUE').length, 2);
  });

  it('a bad value under a rule is an error naming the item and the field, before any probe; the items stay as they were', async () => {
    const cases: [string, string, RegExp][] = [
      [`env: [{name: ENGINE_IMAGE, value: "Not An Image"}]`, 'spec.template.spec.containers[0].env[0].value', /invalid image reference "Not An Image"/],
      [`args: ["--engine-image="]`, 'spec.template.spec.containers[0].args[0]', /invalid image reference "": empty/],
      [`args: [--engine-image, "quay.io/acme/Engine:1"]`, 'spec.template.spec.containers[0].args[1]', /repository name must be lowercase/],
      [`args: [--engine-image, 42]`, 'spec.template.spec.containers[0].args[1]', /image must be a string, got number 42/],
      [`command: [op, --engine-image]`, 'spec.template.spec.containers[0].command[1]', /--engine-image matches imagesInValues\.args "--engine-image", but no element follows it/],
      [`args: [--engine-image, --debug]`, 'spec.template.spec.containers[0].args[0]', /but the next element is another flag, not an image/],
    ];
    for (const [values, path, message] of cases) {
      const prober = fakeProber();
      const input = resourceList(OPERATOR(`            - {name: c, image: quay.io/acme/op:1, ${values}}`), config('imagesInValues: {env: ["*_IMAGE"], args: ["--engine-image"]}'));
      const out = await runFn(input, { prober });
      assert.equal(out.exitCode, 1, values);
      const errors = out.parsed.results.filter((r: any) => r.severity === 'error');
      assert.deepEqual(errors.map((r: any) => [r.tags.code, r.resourceRef.name, r.field.path]), [['IMAGE_INVALID', 'op', path]], values);
      assert.match(errors[0].message, message);
      assert.match(out.stderr, new RegExp(`\\[error\\] apps/v1/Deployment/ops/op ${path.replace(/[.[\]]/g, '\\$&')}: `));
      assert.deepEqual(prober.asked, [], 'nothing was probed');
      assert.deepEqual(out.parsed.items, parse(input).items);
    }
  });

  it('an env var a rule names that takes its value from a ConfigMap says which configMaps rule rewrites it', async () => {
    const out = await runFn(
      resourceList(OPERATOR(`            - {name: c, image: quay.io/acme/op:1, env: [{name: ENGINE_IMAGE, valueFrom: {configMapKeyRef: {name: images, key: engine}}}]}`), config('images: {private: ["quay.io/acme/**"]}\nimagesInValues: {env: ["*_IMAGE"]}')),
    );
    assert.equal(out.exitCode, 0, out.stderr);
    const [w] = resultsOf(out, 'IMAGE_IN_VALUE');
    assert.equal(w.field.path, 'spec.template.spec.containers[0].env[0].valueFrom');
    assert.match(w.message, /takes its value from valueFrom.*imagesInValues\.configMaps: \[\{name: "images", key: "engine"\}\]/);
  });

  it('a ConfigMap value counts for the ConfigMap\'s namespace; the pod spec that reads it is not wired; the operator must be told', async () => {
    const items = `  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: acme-settings, namespace: acme-config}
    data: {engineImage: quay.io/acme/engine:1}
${OPERATOR(`            - {name: c, image: docker.io/library/busybox:1, envFrom: [{configMapRef: {name: acme-settings}}]}`)}`;
    const rules = 'imagesInValues: {configMaps: [{name: acme-*, key: "*Image"}]}';
    const out = await runFn(resourceList(items, config(`images: {private: ["quay.io/acme/**"], public: ["docker.io/**"]}\n${rules}\npullSecret: {namespaces: [jobs]}`)));
    assert.equal(out.exitCode, 0, out.stderr);
    const [cm, deployment] = out.parsed.items;
    assert.equal(cm.data.engineImage, 'proxy.replicated.com/proxy/acme/quay.io/acme/engine:1');
    assert.equal(deployment.spec.template.spec.imagePullSecrets, undefined);
    const secrets = out.parsed.items.filter((i: any) => i.kind === 'Secret');
    assert.deepEqual(secrets.map((s: any) => s.metadata.namespace), ['acme-config', 'jobs']);
    const told = out.parsed.results.filter((r: any) => /tell the operator/.test(r.message));
    assert.deepEqual(told.map((r: any) => [r.severity, r.resourceRef.kind, r.resourceRef.name]), [['info', 'ConfigMap', 'acme-settings']]);
    assert.match(told[0].message, /^an image in a value \(data\.engineImage\) goes to pods the operator starts, and needs the pull Secret acme-registry: it is written to namespace acme-config, namespace jobs\./);
    assert.ok(!out.stdout.replace(/\.dockerconfigjson: \S+/g, '').includes(LICENSE));

    const unwritten = await runFn(resourceList(items, config(`images: {private: ["quay.io/acme/**"], public: ["docker.io/**"]}\n${rules}\npullSecret: {emit: false}`)));
    assert.match(unwritten.parsed.results.find((r: any) => /tell the operator/.test(r.message)).message, /provide it \(pullSecret\.emit: false\) in namespace acme-config\./);
  });

  it('running on its own output changes no item: rewritten values are on the proxy, and still need the Secret', async () => {
    const input = resourceList(
      OPERATOR(`            - name: c
              image: quay.io/acme/op:1
              command: [op, --engine-image, quay.io/acme/engine:1, --reloader=quay.io/acme/reloader:1]
              env: [{name: CSI_IMAGE, value: quay.io/acme/csi:1}]`),
      config('images: {private: ["quay.io/acme/**"]}\nimagesInValues: {env: ["CSI_IMAGE"], args: ["--engine-image", "--reloader"]}'),
    );
    const first = await runFn(input);
    assert.equal(first.exitCode, 0, first.stderr);
    const c = first.parsed.items[0].spec.template.spec.containers[0];
    assert.deepEqual(c.command, ['op', '--engine-image', 'proxy.replicated.com/proxy/acme/quay.io/acme/engine:1', '--reloader=proxy.replicated.com/proxy/acme/quay.io/acme/reloader:1']);
    assert.equal(c.env[0].value, 'proxy.replicated.com/proxy/acme/quay.io/acme/csi:1');
    const second = await runFn(first.stdout);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.deepEqual(second.parsed.items, first.parsed.items);
    assert.equal(second.stderr, '');
    assert.equal(second.parsed.results.filter((r: any) => /tell the operator/.test(r.message)).length, 1);
  });

  it('output: kustomization writes each value rewrite as a JSON 6902 replace of the whole scalar, --flag= kept', async () => {
    const items = `  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: acme-settings, namespace: ops}
    data: {engineImage: quay.io/acme/engine:1}
${OPERATOR(`            - name: c
              image: quay.io/acme/op:1
              command: [op, --engine-image, quay.io/acme/engine:1]
              args: [--reloader=quay.io/acme/reloader:1]
              env: [{name: CSI_IMAGE, value: quay.io/acme/csi:1}]`)}`;
    const out = await runFn(
      resourceList(items, config('output: kustomization\nimages: {private: ["quay.io/acme/**"]}\nimagesInValues: {env: ["CSI_IMAGE"], args: ["--engine-image", "--reloader"], configMaps: [{name: acme-settings, key: engineImage}]}')),
    );
    assert.equal(out.exitCode, 0, out.stderr);
    const k = out.parsed.items.find((i: any) => i.kind === 'Kustomization');
    assert.deepEqual(k.images, [{ name: 'quay.io/acme/op', newName: 'proxy.replicated.com/proxy/acme/quay.io/acme/op' }], 'only the image field goes through images:');
    const patches = Object.fromEntries(k.patches.map((p: any) => [p.target.kind, parse(p.patch)]));
    const P = 'proxy.replicated.com/proxy/acme/quay.io/acme';
    assert.deepEqual(patches.ConfigMap, [{ op: 'replace', path: '/data/engineImage', value: `${P}/engine:1` }]);
    assert.deepEqual(patches.Deployment, [
      { op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: `${P}/csi:1` },
      { op: 'replace', path: '/spec/template/spec/containers/0/command/2', value: `${P}/engine:1` },
      { op: 'replace', path: '/spec/template/spec/containers/0/args/0', value: `--reloader=${P}/reloader:1` },
      { op: 'add', path: '/spec/template/spec/imagePullSecrets', value: [{ name: 'acme-registry' }] },
    ]);
  });

  it('a value shared through an anchor with a place no rule names is refused, not edited behind the other use', async () => {
    const items = `${OPERATOR(`            - {name: c, image: quay.io/acme/op:1, env: [{name: ENGINE_IMAGE, value: &engine quay.io/acme/engine:1}]}`)}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: note}
    data: {engine: *engine}`;
    const out = await runFn(resourceList(items, config('images: {private: ["quay.io/acme/**"]}\nimagesInValues: {env: ["*_IMAGE"]}')));
    assert.equal(out.exitCode, 1, out.stderr);
    const [e] = resultsOf(out, 'FIELD_SHARED');
    assert.match(e.message, /^the image value is shared through a YAML alias with 1 other use/);
  });
});
