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
import { parse } from 'yaml';
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
    assert.match(line, new RegExp(`^\\s*(- )?(image: .*proxy\\.replicated\\.com/proxy/|imagePullSecrets:$|- name: ${secretName}$)`), `unexpected change: ${line}`);
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
    const dir = join(REALWORLD!, 'kube-prometheus');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => `kube-prometheus/${f}`);
    const input = streamToResourceList(
      load(...files),
      config(`appSlug: kp
images:
  private: ["quay.io/prometheus/**", "quay.io/prometheus-operator/**"]
  public: ["**"]
fieldSpecs:
- {group: monitoring.coreos.com, kind: Prometheus, path: spec/image}
- {group: monitoring.coreos.com, kind: Alertmanager, path: spec/image}`),
    );
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    const byKind = (kind: string) => out.parsed.items.find((i: any) => i.kind === kind);
    assert.equal(byKind('Prometheus').spec.image, 'proxy.replicated.com/proxy/kp/quay.io/prometheus/prometheus:v3.12.0');
    assert.equal(byKind('Alertmanager').spec.image, 'proxy.replicated.com/proxy/kp/quay.io/prometheus/alertmanager:v0.33.0');
    const warnings = out.parsed.results.filter((r: any) => r.severity === 'warning');
    assert.deepEqual(warnings.map((w: any) => w.resourceRef.kind).sort(), ['Alertmanager', 'Prometheus']);
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
  });
});
