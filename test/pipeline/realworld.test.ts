/**
 * The function on real install manifests written by other projects (argo-cd, kube-prometheus, longhorn), decided by
 * globs. The corpus is not part of this repository: PPI_REALWORLD_DIR names the folder that holds it
 * (argo-cd_ha-install.yaml, kube-prometheus/*.yaml, longhorn.yaml; .ci/run sets it on the build machines).
 * Without the variable the tests are pending, with the reason in their title; a variable naming a folder that is not
 * there fails.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { expandLists } from '../../src/find/images.js';
import { findValues } from '../../src/find/values.js';
import { readInput } from '../../src/read/input.js';
import { streamToResourceList } from '../helpers/stream.js';
import { LICENSE, runFn } from '../helpers/run.js';

const REALWORLD = process.env['PPI_REALWORLD_DIR'] ? resolve(process.env['PPI_REALWORLD_DIR']) : undefined;
const PENDING = ' [pending: PPI_REALWORLD_DIR is not set; see docs/testing.md, "Real-world tests"]';

function load(...files: string[]): string {
  return files.map((f) => readFileSync(join(REALWORLD!, f), 'utf8')).join('\n---\n');
}

/** A test on the corpus, or a pending one (no function) saying why when PPI_REALWORLD_DIR is not set. */
function corpusIt(title: string, fn: () => Promise<void>): void {
  if (REALWORLD === undefined) it(title + PENDING);
  else it(title, fn);
}

function config(yaml: string): string {
  return `apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\n${yaml}`;
}

/** kube-prometheus's manifests (setup/ left out) with its images decided by globs, the custom resources' by fieldSpecs. */
function kubePrometheus(extra = ''): string {
  const dir = join(REALWORLD!, 'kube-prometheus');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => `kube-prometheus/${f}`);
  return streamToResourceList(
    load(...files),
    config(`appSlug: kp
images:
  private: ["quay.io/prometheus/**", "quay.io/prometheus-operator/**"]
  public: ["**"]
${extra}fieldSpecs:
- {group: monitoring.coreos.com, kind: Prometheus, path: spec/image}
- {group: monitoring.coreos.com, kind: Alertmanager, path: spec/image}`),
  );
}

/** Every line the output adds or changes must be an image, an imagePullSecrets entry, or come after the items. */
function assertOnlyImagesChanged(input: string, output: string, secretName: string): void {
  const before = new Map<string, number>();
  for (const line of input.split('\n')) before.set(line, (before.get(line) ?? 0) + 1);
  const firstSecret = output.search(new RegExp(`^ *- apiVersion: v1\\n *kind: Secret\\n *metadata:\\n *name: ${secretName}\\n`, 'm'));
  assert.ok(firstSecret > 0, 'the Secret follows the items');
  const itemsPart = output.slice(0, firstSecret);
  for (const line of itemsPart.split('\n')) {
    const n = before.get(line) ?? 0;
    if (n > 0) {
      before.set(line, n - 1);
      continue;
    }
    // an image field, a command/args element or env value holding an image (`--flag=` kept), or the Secret's wiring
    const image = `"?(--[\\w.-]+=)?proxy\\.replicated\\.com/proxy/`;
    assert.match(line, new RegExp(`^\\s*(- )?(image: ${image}|value: ${image}|${image}|imagePullSecrets:$|- name: ${secretName}$)`), `unexpected change: ${line}`);
  }
}

describe('real-world install manifests', () => {
  if (REALWORLD !== undefined) {
    it(`PPI_REALWORLD_DIR (${REALWORLD}) holds the corpus`, () => {
      for (const f of ['argo-cd_ha-install.yaml', 'kube-prometheus', 'longhorn.yaml']) {
        assert.ok(existsSync(join(REALWORLD, f)), `${join(REALWORLD, f)} is missing`);
      }
    });
  }

  corpusIt('argo-cd HA install: rewrites the private argocd and dex images in every workload and adds one Secret', async () => {
    const input = streamToResourceList(load('argo-cd_ha-install.yaml'), config('appSlug: argo\nimages:\n  private: ["quay.io/argoproj/**", "ghcr.io/dexidp/**"]\n  public: ["public.ecr.aws/**"]'));
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    const rewritten = out.parsed.results.filter((r: any) => r.field?.proposedValue);
    assert.equal(rewritten.length, 9);
    assert.ok(rewritten.every((r: any) => r.field.proposedValue.startsWith('proxy.replicated.com/proxy/argo/')));
    const secrets = out.parsed.items.filter((i: any) => i.kind === 'Secret' && i.metadata.name === 'argo-registry');
    assert.equal(secrets.length, 1, 'workloads carry no namespace: one Secret without one');
    assert.equal(secrets[0].metadata.namespace, undefined);
    const redis = out.parsed.items.find((i: any) => i.kind === 'StatefulSet' && i.metadata.name === 'argocd-redis-ha-server');
    assert.equal(redis.spec.template.spec.imagePullSecrets, undefined, 'all-public workloads untouched');
    assert.equal(out.parsed.items.length, parse(input).items.length + 1);
    assertOnlyImagesChanged(input, out.stdout, 'argo-registry');
    assert.ok(!out.stdout.includes(LICENSE));
  });

  corpusIt('kube-prometheus: reaches the Prometheus and Alertmanager custom resources through fieldSpecs', async () => {
    const input = kubePrometheus();
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    const byKind = (kind: string) => out.parsed.items.find((i: any) => i.kind === kind);
    assert.equal(byKind('Prometheus').spec.image, 'proxy.replicated.com/proxy/kp/quay.io/prometheus/prometheus:v3.12.0');
    assert.equal(byKind('Alertmanager').spec.image, 'proxy.replicated.com/proxy/kp/quay.io/prometheus/alertmanager:v0.33.0');
    const warnings = out.parsed.results.filter((r: any) => r.severity === 'warning');
    assert.deepEqual(warnings.map((w: any) => w.resourceRef.kind).sort(), ['Alertmanager', 'Deployment', 'Prometheus']);
    // the operator's --prometheus-config-reloader=IMAGE: private, no rule names it, so a warning that names the rule
    const reloader = warnings.find((w: any) => w.resourceRef.kind === 'Deployment');
    assert.equal(reloader.tags.code, 'IMAGE_IN_VALUE');
    assert.equal(reloader.resourceRef.name, 'prometheus-operator');
    assert.equal(reloader.field.path, 'spec.template.spec.containers[0].args[1]');
    assert.match(reloader.message, /quay\.io\/prometheus-operator\/prometheus-config-reloader:v0\.92\.0 is private .*imagesInValues\.args: \["--prometheus-config-reloader"\]/);
    const secrets = out.parsed.items.filter((i: any) => i.kind === 'Secret' && i.metadata.name === 'kp-registry');
    assert.deepEqual(secrets.map((s: any) => s.metadata.namespace), ['monitoring']);
    const grafana = out.parsed.items.find((i: any) => i.kind === 'Deployment' && i.metadata.name === 'grafana');
    assert.equal(grafana.spec.template.spec.imagePullSecrets, undefined);
    assertOnlyImagesChanged(input, out.stdout, 'kp-registry');
  });

  corpusIt('longhorn: rewrites the manager, UI and share-manager images, Secret in longhorn-system', async () => {
    const input = streamToResourceList(load('longhorn.yaml'), config('appSlug: lh\nimages:\n  private: ["docker.io/longhornio/**"]\n  public: ["**"]'));
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    const rewritten = out.parsed.results.filter((r: any) => r.field?.proposedValue);
    assert.ok(rewritten.length >= 4, `rewrote ${rewritten.length}`);
    assert.ok(rewritten.every((r: any) => r.field.proposedValue.startsWith('proxy.replicated.com/proxy/lh/docker.io/longhornio/')));
    const secrets = out.parsed.items.filter((i: any) => i.kind === 'Secret' && i.metadata.name === 'lh-registry');
    assert.deepEqual(secrets.map((s: any) => s.metadata.namespace), ['longhorn-system']);
    assertOnlyImagesChanged(input, out.stdout, 'lh-registry');
    // without rules, the 13 private images longhorn passes to the pods it starts are not rewritten, and said so
    const inValues = out.parsed.results.filter((r: any) => r.tags?.code === 'IMAGE_IN_VALUE');
    assert.deepEqual(inValues.map((r: any) => `${r.resourceRef.name} ${r.field.path}`).sort(), LONGHORN_VALUES.map(([name, path]) => `${name} ${path}`).sort());
    for (const r of inValues) assert.equal(r.severity, 'warning');
    const engine = inValues.find((r: any) => r.field.path === 'spec.template.spec.containers[0].command[4]');
    assert.match(engine.message, /^docker\.io\/longhornio\/longhorn-engine:v1\.12\.1 is private .*imagesInValues\.args: \["--engine-image"\]/);
    const attacher = inValues.find((r: any) => r.field.path.endsWith('env[3].value'));
    assert.match(attacher.message, /csi-attacher:v4\.12\.0 is private .*imagesInValues\.env: \["CSI_ATTACHER_IMAGE"\]/);
  });

  corpusIt('longhorn with rules for its flags and CSI_*_IMAGE env: every longhorn image the operator starts is rewritten', async () => {
    const rules = ['--engine-image', '--instance-manager-image', '--share-manager-image', '--backing-image-manager-image', '--support-bundle-manager-image', '--manager-image'];
    const input = streamToResourceList(
      load('longhorn.yaml'),
      config(`appSlug: lh\nimages:\n  private: ["docker.io/longhornio/**"]\n  public: ["**"]\nimagesInValues:\n  args: ${JSON.stringify(rules)}\n  env: ["CSI_*_IMAGE"]`),
    );
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.stderr, '', 'no warning: every value is named by a rule');
    const rewritten = out.parsed.results.filter((r: any) => r.field?.proposedValue);
    for (const [name, path, image] of LONGHORN_VALUES) {
      const r = rewritten.find((x: any) => x.resourceRef.name === name && x.field.path === path);
      assert.ok(r, `${name} ${path} not rewritten`);
      assert.equal(r.field.currentValue, image);
      assert.equal(r.field.proposedValue, `proxy.replicated.com/proxy/lh/${image}`);
    }
    const items = JSON.stringify(out.parsed.items);
    assert.ok(!items.includes('"docker.io/longhornio/'), 'a longhorn image is left in the output items');
    // the operator must be told the Secret's name: one info result per item whose values were rewritten
    const told = out.parsed.results.filter((r: any) => r.severity === 'info' && /tell the operator/.test(r.message));
    assert.deepEqual(told.map((r: any) => r.resourceRef.name).sort(), ['longhorn-driver-deployer', 'longhorn-manager']);
    for (const r of told) assert.match(r.message, /pull Secret lh-registry: it is written to namespace longhorn-system\..*registry-secret/);
    // longhorn-manager sets its registry-secret setting from the DaemonSet's first imagePullSecrets entry
    const manager = out.parsed.items.find((i: any) => i.kind === 'DaemonSet' && i.metadata.name === 'longhorn-manager');
    assert.deepEqual(manager.spec.template.spec.imagePullSecrets, [{ name: 'lh-registry' }]);
    assertOnlyImagesChanged(input, out.stdout, 'lh-registry');
  });

  corpusIt('kube-prometheus with --prometheus-config-reloader: the operator\'s --flag=IMAGE is rewritten after the =', async () => {
    const input = kubePrometheus('imagesInValues:\n  args: ["--prometheus-config-reloader"]\n');
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    const operator = out.parsed.items.find((i: any) => i.kind === 'Deployment' && i.metadata.name === 'prometheus-operator');
    assert.equal(
      operator.spec.template.spec.containers[0].args[1],
      '--prometheus-config-reloader=proxy.replicated.com/proxy/kp/quay.io/prometheus-operator/prometheus-config-reloader:v0.92.0',
    );
    assert.deepEqual(out.parsed.results.filter((r: any) => r.tags?.code === 'IMAGE_IN_VALUE'), []);
    assert.ok(!JSON.stringify(out.parsed.items).match(/[="]quay\.io\/prometheus/), 'a private image is left in the output items');
    const told = out.parsed.results.filter((r: any) => r.severity === 'info' && /tell the operator/.test(r.message));
    assert.deepEqual(told.map((r: any) => `${r.resourceRef.kind}/${r.resourceRef.name}`), ['Deployment/prometheus-operator']);
    assertOnlyImagesChanged(input, out.stdout, 'kp-registry');
  });
});

describe('image detection on every file of the real-world corpus (false positives)', () => {
  corpusIt('takes only the images operators pass on for images: no URL, file path, host:port, flag name or config text', async () => {
    const files = (readdirSync(REALWORLD!, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml')).sort();
    assert.ok(files.length >= 30, `only ${files.length} files in the corpus`);
    const found: string[] = [];
    const examined: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(REALWORLD!, file), 'utf8');
      const input = readInput(text, { stream: true });
      const values = findValues(expandLists(input.objects, input.aliases), { env: [], args: [], configMaps: [], detect: 'warn' }, [], input.aliases);
      for (const c of values.candidates) found.push(`${file} ${c.field.object.ref.name} ${c.field.path} ${c.field.image}`);
      for (const doc of parseAllDocuments(text)) collectValues(doc.toJS(), examined);
    }
    const expected = [
      ...LONGHORN_VALUES.map(([name, path, image]) => `longhorn.yaml ${name} ${path} ${image}`),
      'kube-prometheus/prometheusOperator-deployment.yaml prometheus-operator spec.template.spec.containers[0].args[1] quay.io/prometheus-operator/prometheus-config-reloader:v0.92.0',
    ];
    assert.deepEqual(found.sort(), expected.sort());
    // what was looked at holds each kind of look-alike, none taken (the list above is all that was)
    const values = examined.map((s) => (s.startsWith('-') && s.includes('=') ? s.slice(s.indexOf('=') + 1) : s));
    const kinds: Record<string, (s: string) => boolean> = {
      'URLs with host:port': (s) => /^https?:\/\/[^/\s]+:\d+/.test(s),
      'file paths': (s) => /^\/[\w.-]+\//.test(s),
      'flag names': (s) => /^--[\w-]+$/.test(s),
      'scripts and config files holding URLs': (s) => s.includes('\n') && s.includes('://'),
      'shell commands': (s) => /^(sh|bash) /.test(s) || /\$\(/.test(s),
      'namespace/name pairs': (s) => /^[a-z0-9-]+\/[a-z0-9-]+$/.test(s),
    };
    for (const [kind, test] of Object.entries(kinds)) assert.ok(values.some(test), `the corpus has no ${kind} in env, command/args or ConfigMap data any more`);
    assert.ok(examined.length >= 200, `only ${examined.length} strings examined`);
  });
});

/** Every env value, command/args element and ConfigMap data value of an object, the strings detection looks at. */
function collectValues(o: unknown, out: string[]): void {
  if (Array.isArray(o)) return o.forEach((x) => collectValues(x, out));
  if (o === null || typeof o !== 'object') return;
  const obj = o as Record<string, unknown>;
  if (obj['kind'] === 'ConfigMap' && obj['data'] && typeof obj['data'] === 'object') {
    for (const v of Object.values(obj['data'] as object)) if (typeof v === 'string') out.push(v);
  }
  for (const [k, v] of Object.entries(obj)) {
    if ((k === 'command' || k === 'args') && Array.isArray(v)) v.forEach((x) => typeof x === 'string' && out.push(x));
    else if (k === 'env' && Array.isArray(v)) v.forEach((e) => typeof e?.value === 'string' && out.push(e.value));
    else collectValues(v, out);
  }
}

/** The private images longhorn v1.12.1 passes to the pods it starts, in command elements and env values (read off the manifest). */
const LONGHORN_VALUES: readonly (readonly [string, string, string])[] = [
  ['longhorn-manager', 'spec.template.spec.containers[0].command[4]', 'docker.io/longhornio/longhorn-engine:v1.12.1'],
  ['longhorn-manager', 'spec.template.spec.containers[0].command[6]', 'docker.io/longhornio/longhorn-instance-manager:v1.12.1'],
  ['longhorn-manager', 'spec.template.spec.containers[0].command[8]', 'docker.io/longhornio/longhorn-share-manager:v1.12.1'],
  ['longhorn-manager', 'spec.template.spec.containers[0].command[10]', 'docker.io/longhornio/backing-image-manager:v1.12.1'],
  ['longhorn-manager', 'spec.template.spec.containers[0].command[12]', 'docker.io/longhornio/support-bundle-kit:v0.0.92'],
  ['longhorn-manager', 'spec.template.spec.containers[0].command[14]', 'docker.io/longhornio/longhorn-manager:v1.12.1'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].command[4]', 'docker.io/longhornio/longhorn-manager:v1.12.1'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].env[3].value', 'docker.io/longhornio/csi-attacher:v4.12.0'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].env[4].value', 'docker.io/longhornio/csi-provisioner:v5.3.0'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].env[5].value', 'docker.io/longhornio/csi-node-driver-registrar:v2.17.0'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].env[6].value', 'docker.io/longhornio/csi-resizer:v2.2.1'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].env[7].value', 'docker.io/longhornio/csi-snapshotter:v8.6.0'],
  ['longhorn-driver-deployer', 'spec.template.spec.containers[0].env[8].value', 'docker.io/longhornio/livenessprobe:v2.19.0'],
];
