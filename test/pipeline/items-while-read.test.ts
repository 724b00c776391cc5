/**
 * A block ResourceList is read an item at a time, and each workload's images are found as it is read, after which
 * the item keeps only its identity and metadata (read/input.ts, find/per-item.ts). Whatever the input holds, that
 * must give exactly what reading the whole text first gives: the same output, byte for byte, and the same results.
 *
 * The whole-text path is taken here by starting the same text with a `%YAML 1.2` directive and `---` (the
 * item-at-a-time path reads no directives), which the output then starts with too.
 */
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';
import { generate } from '../../bench/lib/workload.mjs';
import { readInput } from '../../src/read/input.js';
import { runCli } from '../../src/cli/main.js';
import { fakeProber, LICENSE, runFn } from '../helpers/run.js';

const WHOLE = '%YAML 1.2\n---\n';
const FC = (extra = ''): string =>
  'functionConfig:\n  apiVersion: fn.proxy-private-images.dev/v1alpha1\n  kind: ProxyPrivateImages\n  appSlug: app\n' +
  `  images: {private: ["quay.io/**", "ghcr.io/**"], public: ["docker.io/**", "registry.k8s.io/**"]}\n${extra}`;
const RL = (items: string, fc = FC()): string => `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items}${fc}`;

const deployment = (name: string, image: string, extra = ''): string =>
  `- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: ${name}\n    namespace: ns-${name}\n${extra}  spec:\n    template:\n      spec:\n        containers:\n        - name: c\n          image: ${image}\n`;

const CASES: Record<string, string> = {
  'plain workloads': RL(deployment('a', 'quay.io/org/a:1') + deployment('b', 'docker.io/library/redis:7') + deployment('c', 'ghcr.io/org/c:1')),
  'an anchor in one item and its alias in a later one': RL(
    deployment('a', '&img quay.io/org/a:1') + deployment('b', '*img') + deployment('c', 'quay.io/org/c:1'),
  ),
  'a pod template shared by alias across items': RL(
    "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n  spec:\n    template: &t\n      spec:\n        containers: [{name: c, image: 'quay.io/org/a:1'}]\n" +
      '- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b, namespace: other}\n  spec:\n    template: *t\n',
  ),
  // the anchor stands on the item itself, before the map's first key (outside its range): the item must stay whole
  'a whole item anchored and used in a later v1 List': RL(
    '- &first\n  ' + deployment('a', 'quay.io/org/a:1').slice(2) +
      '- !!map &second\n  ' + deployment('b', 'quay.io/org/b:1').slice(2) +
      '- apiVersion: v1\n  kind: List\n  items:\n  - *first\n  - *second\n',
  ),
  'a merge key without an alias': RL('- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - <<: {name: c, image: quay.io/org/m:1}\n'),
  'an existing imagePullSecrets list, block and flow': RL(
    deployment('a', 'quay.io/org/a:1').replace('        containers:', '        imagePullSecrets:\n        - name: mine\n        containers:') +
      deployment('b', 'quay.io/org/b:1').replace('        containers:', '        imagePullSecrets: [{name: mine}]\n        containers:'),
  ),
  'an existing pull Secret and a License item': RL(
    deployment('a', 'quay.io/org/a:1') +
      '- apiVersion: v1\n  kind: Secret\n  metadata: {name: app-registry, namespace: ns-a}\n  type: kubernetes.io/dockerconfigjson\n  data: {.dockerconfigjson: c3RhbGU=}\n' +
      `- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata: {name: l}\n  spec: {licenseID: ${LICENSE}}\n`,
  ),
  'a fieldSpec on a built-in workload kind and on a custom resource': RL(
    deployment('a', 'quay.io/org/a:1', '    annotations: {sidecar: quay.io/org/side:1}\n') +
      '- apiVersion: acme.io/v1\n  kind: App\n  metadata: {name: x}\n  spec: {image: quay.io/org/x:1}\n',
    FC('  fieldSpecs:\n  - {kind: Deployment, path: metadata/annotations/sidecar}\n  - {group: acme.io, kind: App, path: spec/image}\n'),
  ),
  'a v1 List of workloads': RL(
    '- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p}\n    spec: {containers: [{name: c, image: quay.io/org/l:1}]}\n',
  ),
  'Helm hooks and kpt path annotations': RL(
    deployment('a', 'quay.io/org/a:1', "    annotations: {helm.sh/hook: pre-install, internal.config.kubernetes.io/path: 'a.yaml'}\n") + deployment('b', 'quay.io/org/b:1'),
  ),
  'images in values: env, args and a ConfigMap': RL(
    deployment('a', 'quay.io/org/op:1').replace(
      '          image: quay.io/org/op:1\n',
      '          image: quay.io/org/op:1\n          args: [--helper-image=quay.io/org/helper:1]\n          env:\n          - {name: RELATED_IMAGE_DB, value: quay.io/org/db:1}\n          - {name: OTHER, value: ghcr.io/org/maybe:2}\n',
    ) + '- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: images, namespace: ns-a}\n  data: {worker: quay.io/org/worker:1}\n',
    FC('  imagesInValues:\n    env: ["RELATED_IMAGE_*"]\n    args: ["--helper-image"]\n    configMaps: [{name: images, key: worker}]\n'),
  ),
  'output: kustomization': RL(deployment('a', 'quay.io/org/a:1') + deployment('b', 'quay.io/org/b:1'), FC('  output: kustomization\n')),
  'a config with an error': RL(deployment('a', 'quay.io/org/a:1'), FC('  pullSecret: {name: "Not A Name"}\n')),
  'an item that is not an object': RL(deployment('a', 'quay.io/org/a:1') + '- just a string\n'),
  'the bench generator, 60 workloads': generate(60).resourceList,
};

describe('items found while they are read: the same output as reading the whole text first', () => {
  for (const [name, text] of Object.entries(CASES)) {
    it(name, async () => {
      let taken: boolean | undefined;
      try {
        taken = readInput(text, { visitItems: () => ({ visit: () => false }) }).visitor !== undefined;
      } catch {
        // the reader refuses it (both paths must say the same)
      }
      if (taken !== undefined) assert.ok(taken, 'the item-at-a-time path is taken');
      const fast = await runFn(text);
      const whole = await runFn(WHOLE + text);
      assert.equal(fast.exitCode, whole.exitCode, fast.stderr + whole.stderr);
      assert.equal(fast.stderr, whole.stderr);
      // spliced output starts with the directive it was given; a Kustomization or no output at all does not
      assert.equal(fast.stdout, whole.stdout.startsWith(WHOLE) ? whole.stdout.slice(WHOLE.length) : whole.stdout);
      if (fast.exitCode === 0) assert.ok(parse(fast.stdout), 'the output parses');
    });
  }

  it('the item-at-a-time path is the one taken, and it trims the workloads it has seen (and only those)', () => {
    const text = CASES['plain workloads']!;
    const visited: string[] = [];
    const input = readInput(RL(deployment('a', 'quay.io/org/a:1') + deployment('b', '&x quay.io/org/b:1') + '- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n'), {
      visitItems: () => ({ visit: (o) => (visited.push(o.ref.name!), o.ref.kind === 'Deployment') }),
    });
    assert.notEqual(input.visitor, undefined);
    assert.deepEqual(visited, ['a', 'c'], 'an item with an anchor is not visited');
    assert.deepEqual(input.objects.map((o) => [o.ref.name, o.trimmed ?? false]), [['a', true], ['b', false], ['c', false]]);
    assert.deepEqual(Object.keys(input.objects[0]!.node.toJSON()), ['apiVersion', 'kind', 'metadata']);
    assert.equal(readInput(WHOLE + text, { visitItems: () => assert.fail('the whole-text path visits nothing') }).visitor, undefined);
  });

  it('a stream: its documents are seen as they come, and give the objects the same list read whole gives', async () => {
    const docs = [
      deployment('a', 'quay.io/org/a:1'),
      deployment('b', '&img quay.io/org/b:1').replace('        - name: c\n', '        - name: c\n          args: [x]\n') + '        - name: d\n          image: *img\n',
      '- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: ghcr.io/org/p:1}]}}\n',
      deployment('c', 'docker.io/library/redis:7', "    annotations: {helm.sh/hook: pre-install}\n"),
    ].map((d) => d.replace(/^- /, '').replace(/^  /gm, ''));
    const stream = docs.map((d, i) => `# Source: chart/templates/${i}.yaml\n---\n${d}`).join('');
    const args = ['--app-slug', 'app', '--private', 'quay.io/**', '--private', 'ghcr.io/**', '--public', 'docker.io/**'];
    const out = await runCli(['--stream', ...args], {
      env: { LICENSE_ID: LICENSE },
      readStdin: () => stream,
      readFile: () => assert.fail('no file is read'),
      createProber: () => fakeProber(),
    });
    assert.equal(out.exitCode, 0, out.stderr);
    const rl = RL(docs.map((d) => '- ' + d.replace(/\n(?=.)/g, '\n  ')).join(''));
    const whole = await runFn(WHOLE + rl);
    assert.equal(whole.exitCode, 0, whole.stderr);
    const fromStream = parseAllDocuments(out.stdout).map((d) => d.toJS());
    assert.deepEqual(fromStream, whole.parsed.items);
  });
});
