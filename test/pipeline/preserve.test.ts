import assert from 'node:assert/strict';
import { LICENSE, runFn } from '../helpers/run.js';

/** What kpt sends for a package file (annotations, `- # comment` at the top of an item, flow styles). */
const KPT_INPUT = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- # web tier: keep this comment
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web # inline comment
    namespace: demo
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'deploy.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'deploy.yaml'
      internal.config.kubernetes.io/seqindent: 'compact'
      config.k8s.io/id: '1'
  spec:
    replicas: 3   # odd spacing kept


    template:
      spec:
        containers:
        - name: api
          image: "quay.io/acme/api:v1"   # pinned
          ports: [{containerPort: 80}]
          args: ['--a', "--b", --c]
        - name: web
          image: 'nginx:1.25'
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm, annotations: {config.kubernetes.io/index: '1', config.kubernetes.io/path: 'deploy.yaml', config.k8s.io/id: '2'}}
  data:
    script: |
      #!/bin/sh
      echo "image: quay.io/acme/api:v1"   # not an image field
    json: '{"a": 1}'
functionConfig:
  apiVersion: fn.proxy-private-images.dev/v1alpha1
  kind: ProxyPrivateImages
  metadata:
    name: fn
    annotations:
      config.kubernetes.io/index: '0'
  appSlug: acme
  images:
    private: [quay.io/acme/**] # all of acme
    public: [docker.io/**]
`;

describe('untouched bytes survive', () => {
  it('changes only the image value and adds imagePullSecrets, the Secret and results: every other byte is the input', async () => {
    const out = await runFn(KPT_INPUT);
    assert.equal(out.exitCode, 0, out.stderr);
    const expectedPrefix = KPT_INPUT.slice(0, KPT_INPUT.indexOf('        containers:'))
      + '        imagePullSecrets:\n        - name: acme-registry\n'
      + KPT_INPUT.slice(KPT_INPUT.indexOf('        containers:'), KPT_INPUT.indexOf('"quay.io/acme/api:v1"'))
      + '"proxy.replicated.com/proxy/acme/quay.io/acme/api:v1"'
      + KPT_INPUT.slice(KPT_INPUT.indexOf('"quay.io/acme/api:v1"') + '"quay.io/acme/api:v1"'.length, KPT_INPUT.indexOf('functionConfig:'));
    assert.ok(out.stdout.startsWith(expectedPrefix), `output differs from the input outside the edits:\n${out.stdout}`);
    assert.ok(out.stdout.includes(KPT_INPUT.slice(KPT_INPUT.indexOf('functionConfig:'))), 'functionConfig kept byte for byte');
    assert.equal(out.stdout.split('# web tier: keep this comment').length, 2, 'the top-of-item comment appears once');
  });

  it('is idempotent: running on its own output changes no item', async () => {
    const once = await runFn(KPT_INPUT);
    const twice = await runFn(once.stdout);
    assert.equal(twice.exitCode, 0);
    const itemsText = (s: string) => s.slice(0, s.indexOf('functionConfig:'));
    assert.equal(itemsText(twice.stdout), itemsText(once.stdout));
    assert.equal(twice.parsed.items.filter((i: any) => i.kind === 'Secret').length, 1);
    assert.ok(twice.parsed.results.some((r: any) => /is up to date/.test(r.message)));
  });

  it('replaces the results of an earlier run instead of appending to them', async () => {
    const once = await runFn(KPT_INPUT);
    const twice = await runFn(once.stdout);
    assert.equal(twice.stdout.match(/^results:/gm)?.length, 1);
  });

  it('accepts JSON input and answers in JSON', async () => {
    const json = JSON.stringify({
      apiVersion: 'config.kubernetes.io/v1',
      kind: 'ResourceList',
      items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'quay.io/acme/a:1' }] } }],
      functionConfig: { apiVersion: 'fn.proxy-private-images.dev/v1alpha1', kind: 'ProxyPrivateImages', appSlug: 'acme', images: { private: ['quay.io/**'] } },
    });
    const out = await runFn(json);
    assert.equal(out.exitCode, 0, out.stderr);
    const parsed = JSON.parse(out.stdout);
    assert.equal(parsed.items[0].spec.containers[0].image, 'proxy.replicated.com/proxy/acme/quay.io/acme/a:1');
    assert.deepEqual(parsed.items[0].spec.imagePullSecrets, [{ name: 'acme-registry' }]);
    assert.equal(parsed.items[1].kind, 'Secret');
  });

  it('accepts config.kubernetes.io/v1alpha1 and keeps that version', async () => {
    const out = await runFn(KPT_INPUT.replace('config.kubernetes.io/v1\n', 'config.kubernetes.io/v1alpha1\n'));
    assert.equal(out.exitCode, 0);
    assert.ok(out.stdout.startsWith('apiVersion: config.kubernetes.io/v1alpha1\n'));
  });

  it('writes the license id only inside the Secret data', async () => {
    const out = await runFn(KPT_INPUT);
    assert.ok(!out.stdout.includes(LICENSE) && !out.stderr.includes(LICENSE));
    assert.ok(out.stdout.includes(Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64')) === false, 'auth value only inside the base64 payload');
  });

  it('updates an existing Secret by its one data line, comments kept, and follows wide list indentation', async () => {
    const input = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: a, namespace: n}
    spec:
      template:
        spec:
          containers:
            - name: a
              image: quay.io/acme/a:1
  - apiVersion: v1
    kind: Secret
    metadata:
      name: acme-registry
      namespace: n
    type: kubernetes.io/dockerconfigjson
    data:
      .dockerconfigjson: c3RhbGU= # rotated by the function
functionConfig: {apiVersion: fn.proxy-private-images.dev/v1alpha1, kind: ProxyPrivateImages, appSlug: acme, images: {private: ["**"]}}
`;
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    const before = input.split('\n');
    const after = out.stdout.slice(0, out.stdout.indexOf('results:')).split('\n');
    const added = after.filter((l) => !before.includes(l));
    const removed = before.filter((l) => !after.includes(l));
    assert.deepEqual(removed, ['              image: quay.io/acme/a:1', '      .dockerconfigjson: c3RhbGU= # rotated by the function']);
    assert.deepEqual(added.map((l) => l.replace(/: eyJ[A-Za-z0-9+/=]+/, ': <payload>')), [
      '          imagePullSecrets:',
      '            - name: acme-registry',
      '              image: proxy.replicated.com/proxy/acme/quay.io/acme/a:1',
      '      .dockerconfigjson: <payload> # rotated by the function',
    ]);
  });
});
