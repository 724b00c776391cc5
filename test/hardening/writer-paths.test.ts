/**
 * Both writers — splicing edits into the source text, and the Document re-serialisation used for JSON, CRLF line
 * endings and a flow-style root — must give the same objects for the same input, including the awkward edits:
 * an existing Secret updated in place (its other data keys kept), imagePullSecrets added to a flow pod spec,
 * an alias to an image, a License item removed.
 */
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { run, type RunDeps } from '../../src/run.js';

const deps: RunDeps = {
  env: { LICENSE_ID: 'writer-license-1' },
  createProber: () => {
    throw new Error('no probe expected');
  },
};

const FC = `functionConfig:
  apiVersion: fn.proxy-private-images.dev/v1alpha1
  kind: ProxyPrivateImages
  appSlug: app
  images: {private: ['quay.io/**'], public: ['docker.io/**']}
`;

function spellings(yamlText: string): Record<string, string> {
  const obj = parse(yamlText) as object;
  return {
    source: yamlText,
    crlf: yamlText.replace(/\n/g, '\r\n'),
    flowRoot: `# flow\n${stringify(obj, { collectionStyle: 'flow', lineWidth: 0 })}`,
    json: JSON.stringify(obj),
  };
}

async function outputs(yamlText: string): Promise<Record<string, { items: Record<string, unknown>[] }>> {
  const out: Record<string, { items: Record<string, unknown>[] }> = {};
  for (const [name, text] of Object.entries(spellings(yamlText))) {
    const r = await run(text, deps);
    assert.equal(r.exitCode, 0, `${name}: ${r.stderr}`);
    out[name] = (name === 'json' ? JSON.parse(r.stdout) : parse(r.stdout)) as { items: Record<string, unknown>[] };
  }
  return out;
}

function assertSame(outs: Record<string, { items: unknown[] }>): void {
  for (const [name, o] of Object.entries(outs)) assert.deepEqual(o.items, outs['source']!.items, `${name} differs from the spliced output`);
}

describe('hardening: both writers agree', () => {
  for (const [style, data] of [
    ['block', '    data:\n      old: eA==\n'],
    ['flow', '    data: {old: eA==}\n'],
  ]) {
    it(`an existing Secret (${style} data) is updated in place and keeps its other data keys`, async () => {
      const input =
        'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n' +
        '  - apiVersion: v1\n    kind: Pod\n    metadata: {name: w, namespace: a}\n    spec:\n      containers:\n        - name: a\n          image: quay.io/org/api:1\n' +
        `  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: app-registry\n      namespace: a\n    type: kubernetes.io/dockerconfigjson\n${data}` +
        FC;
      const outs = await outputs(input);
      assertSame(outs);
      const secret = outs['source']!.items.find((i) => i['kind'] === 'Secret') as { type: string; data: Record<string, string> };
      assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
      assert.deepEqual(Object.keys(secret.data).sort(), ['.dockerconfigjson', 'old']);
      assert.equal(outs['source']!.items.filter((i) => i['kind'] === 'Secret').length, 1);
    });
  }

  it('flow pod specs, aliases to images, a removed License item', async () => {
    const input =
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n' +
      '- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c, namespace: a}\n  data: {img: &img quay.io/org/api:1}\n' +
      '- apiVersion: v1\n  kind: Pod\n  metadata: {name: w, namespace: a}\n  spec: {containers: [{name: a, image: *img}, {name: b, image: nginx}]}\n' +
      '- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: d}\n  spec:\n    template:\n      spec: {imagePullSecrets: [{name: other}], containers: [{name: a, image: quay.io/org/x:2}]}\n' +
      '- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata: {name: l}\n  spec: {licenseID: from-item}\n' +
      FC;
    const outs = await outputs(input);
    assertSame(outs);
    const items = outs['source']!.items;
    assert.ok(!items.some((i) => i['kind'] === 'License'), 'the License item stays out');
    assert.deepEqual((items[0]!['data'] as Record<string, string>)['img'], 'quay.io/org/api:1', 'the anchor in a ConfigMap is not an image field');
    const pod = items[1] as { spec: { containers: { image: string }[]; imagePullSecrets: { name: string }[] } };
    assert.equal(pod.spec.containers[0]!.image, 'proxy.replicated.com/proxy/app/quay.io/org/api:1');
    assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'app-registry' }]);
    const dep = items[2] as { spec: { template: { spec: { imagePullSecrets: { name: string }[] } } } };
    assert.deepEqual(dep.spec.template.spec.imagePullSecrets, [{ name: 'other' }, { name: 'app-registry' }]);
  });
});
