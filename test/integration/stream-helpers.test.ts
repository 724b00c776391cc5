import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  legacyPluginConfig,
  resourceListToStream,
  runOnStream,
  streamToResourceList,
} from '../../src/cli/legacy-plugin.js';

const STREAM = `# a comment kustomize would have dropped
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # inline comment
  annotations:
    kustomize.config.k8s.io/id: |
      group: apps
      kind: Deployment
      name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: "quay.io/acme/web:1.0"
        args: [a, b]
---
---
apiVersion: v1
kind: Service
metadata:
  name: web
`;

const CONFIG = `apiVersion: fn.proxy-private-images.dev/v1alpha1
kind: ProxyPrivateImages
metadata:
  name: proxy
appSlug: acme
`;

describe('stream mode and legacy kustomize plugin helpers', () => {
  it('wraps a multi-document stream and the plugin config into a ResourceList', () => {
    const rl = parse(streamToResourceList(STREAM, CONFIG));
    assert.equal(rl.kind, 'ResourceList');
    assert.equal(rl.apiVersion, 'config.kubernetes.io/v1');
    assert.deepEqual(
      rl.items.map((i: { kind: string }) => i.kind),
      ['Deployment', 'Service'],
    );
    assert.equal(rl.functionConfig.appSlug, 'acme');
  });

  it('gives the documents back unchanged after a round trip (comments, quotes, flow style, ids)', () => {
    const back = resourceListToStream(streamToResourceList(STREAM));
    assert.equal(back, STREAM.replace('---\n---\n', '---\n'));
  });

  it('an empty stream becomes an empty ResourceList and back to nothing', () => {
    assert.deepEqual(parse(streamToResourceList('')).items, []);
    assert.equal(resourceListToStream(streamToResourceList('---\n')), '');
  });

  it('names the document that is not valid YAML', () => {
    assert.throws(() => streamToResourceList('a: 1\n---\nb: [\n'), /document 2/);
    assert.throws(() => streamToResourceList('a: 1\na: 2\n'), /document 1/);
  });

  it('detects a legacy exec plugin call only when kustomize set its variables and passed a config file', () => {
    const readFile = (p: string): string => readFileSync(p, 'utf8');
    const isLegacyPluginInvocation = (args: string[], env: Record<string, string>): boolean => legacyPluginConfig(args, env, readFile) !== undefined;
    const dir = mkdtempSync(join(tmpdir(), 'ppi-legacy-'));
    try {
      const cfg = join(dir, 'kust-plugin-config-1');
      writeFileSync(cfg, CONFIG);
      assert.equal(legacyPluginConfig([cfg], { KUSTOMIZE_PLUGIN_CONFIG_ROOT: dir }, readFile), CONFIG, 'the config text is the file');
      assert.equal(isLegacyPluginInvocation([cfg], { KUSTOMIZE_PLUGIN_CONFIG_STRING: CONFIG }), true);
      assert.equal(isLegacyPluginInvocation([cfg], {}), false);
      assert.equal(isLegacyPluginInvocation(['--app-slug', 'x'], { KUSTOMIZE_PLUGIN_CONFIG_ROOT: dir }), false);
      assert.equal(isLegacyPluginInvocation([join(dir, 'missing')], { KUSTOMIZE_PLUGIN_CONFIG_ROOT: dir }), false);
      assert.equal(isLegacyPluginInvocation([dir], { KUSTOMIZE_PLUGIN_CONFIG_ROOT: dir }), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints nothing to stdout when the function fails, and reports its results', async () => {
    const failed = await runOnStream(STREAM, CONFIG, async (rl) => ({
      stdout: rl.replace(/\n$/, '') + '\nresults:\n  - message: appSlug is required\n    severity: error\n',
      exitCode: 1,
    }));
    assert.equal(failed.stdout, '');
    assert.equal(failed.exitCode, 1);
    assert.match(failed.report, /\[error\] appSlug is required/);
    const invalid = await runOnStream(STREAM, CONFIG, async () => ({ stdout: '', stderr: 'input is not valid\n', exitCode: 1 }));
    assert.deepEqual(invalid, { stdout: '', report: 'input is not valid\n', exitCode: 1 });
    const ok = await runOnStream(STREAM, undefined, async (rl) => ({ stdout: rl, exitCode: 0 }));
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.stdout, STREAM.replace('---\n---\n', '---\n'));
  });
});
