/**
 * Input form, through the bundle: Helm's post-renderer runs `proxy-private-images --config=FILE` with a plain
 * manifest stream on stdin, so a stream is recognised without --stream, while a ResourceList stays a ResourceList
 * and unreadable input keeps its errors. An empty stream is answered with a comment line, never with nothing.
 */
import assert from 'node:assert/strict';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG, writeConfig } from './charts.js';
import { cleanTemps, LICENSE, objects, run, tempDir } from './support.js';
import { BUNDLE, ensureBundle } from '../support/tools.js';

const ENV = { ...process.env, LICENSE_ID: LICENSE };

function fn(input: string, args: readonly string[] = []): ReturnType<typeof run> {
  return run(process.execPath, [BUNDLE, ...args], { input, env: ENV });
}

/** What `helm template` (v3) sends a post-renderer: `---` and a `# Source:` comment before each document. */
const HELM3_STREAM = `---
# Source: shop/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: quay.io/acme/web:2.0
---
# Source: shop/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  kind: ResourceList
`;

describe('input form: a plain manifest stream is recognised without --stream', function () {
  this.timeout(60_000);
  let config: string;
  before(() => {
    ensureBundle();
    config = writeConfig(tempDir(), CONFIG);
  });
  after(cleanTemps);

  it('a Helm 3 stream (several documents) comes back as a stream, with the Secret appended', () => {
    const r = fn(HELM3_STREAM, [`--config=${config}`]);
    assert.equal(r.status, 0, r.stderr);
    const objs = objects(r.stdout);
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/web', 'ConfigMap/settings', 'Secret/acme-registry']);
    assert.match(r.stdout, /image: proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/web:2\.0/);
    assert.ok(!/^kind: ResourceList/m.test(r.stdout));
    assert.equal(fn(HELM3_STREAM, ['--stream', `--config=${config}`]).stdout, r.stdout, 'the same as with --stream');
  });

  it('one object alone is a stream of one', () => {
    const r = fn('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: c, image: quay.io/acme/x:1}]}}}\n', [`--config=${config}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(objects(r.stdout).map((o) => o.kind), ['Deployment', 'Secret']);
  });

  it('a ResourceList stays a ResourceList, YAML or JSON, and a quoted kind counts', () => {
    const rl = `apiVersion: config.kubernetes.io/v1\nkind: "ResourceList"\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n`;
    const yaml = fn(rl, [`--config=${config}`]);
    assert.equal(yaml.status, 0, yaml.stderr);
    assert.equal((parse(yaml.stdout) as { kind: string }).kind, 'ResourceList');
    const json = fn(JSON.stringify(parse(rl)), [`--config=${config}`]);
    assert.equal(json.status, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { kind: string }).kind, 'ResourceList');
  });

  it('what is not a stream of objects keeps the ResourceList errors', () => {
    for (const [input, message] of [
      ['', /no input: expected a ResourceList/],
      ['# only a comment\n', /no input: .*only comments or empty documents/],
      ['apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n', /document 1 of the stream is a ResourceList/],
      ['apiVersion: config.kubernetes.io/v1\nkind: Lisst\nitems: []\n', /not a ResourceList: kind is "Lisst"/],
    ] as [string, RegExp][]) {
      const r = fn(input, [`--config=${config}`]);
      assert.equal(r.status, 1, input);
      assert.equal(r.stdout, '', input);
      assert.match(r.stderr, message, input);
    }
  });

  it('a stream with a broken document fails with nothing on stdout', () => {
    const r = fn(`${HELM3_STREAM}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n`, [`--config=${config}`]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /not valid YAML/);
  });

  it('--stream with no objects answers with a comment line, never with nothing (Helm 4 fails on empty output)', () => {
    for (const input of ['', '---\n', '# nothing here\n']) {
      const r = fn(input, ['--stream', `--config=${config}`]);
      assert.equal(r.status, 0, r.stderr);
      assert.notEqual(r.stdout.trim(), '');
      assert.deepEqual(parseAllDocuments(r.stdout).map((d) => d.toJS()).filter((x) => x !== null), []);
    }
  });
});
