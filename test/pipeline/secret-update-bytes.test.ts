/**
 * An existing pull Secret updated in place changes its `.dockerconfigjson` value and nothing else, whatever the
 * style of its `data` map: block, flow, or JSON (compact or pretty). Found by test/property/forms.test.ts: a flow
 * or JSON `data` map used to be written again whole, as compact JSON, re-quoting the keys the function keeps.
 */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { run, type RunDeps } from '../../src/run.js';

const LICENSE = 'update-license-3b8f';
const deps: RunDeps = { env: { LICENSE_ID: LICENSE }, createProber: () => assert.fail('no probe expected') };
const payload = (() => {
  const auth = Buffer.from(`${LICENSE}:${LICENSE}`).toString('base64');
  const entry = { username: LICENSE, password: LICENSE, auth };
  return Buffer.from(JSON.stringify({ auths: { 'proxy.replicated.com': entry, 'registry.replicated.com': entry } })).toString('base64');
})();

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w', namespace: 'a' }, spec: { containers: [{ name: 'c', image: 'quay.io/org/api:1' }], imagePullSecrets: [{ name: 'app-registry' }] } };
const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-registry', namespace: 'a' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': 'e30=', other: 'eA==' } };
const fc = { apiVersion: 'fn.proxy-private-images.dev/v1alpha1', kind: 'ProxyPrivateImages', appSlug: 'app', images: { private: ['quay.io/**'] } };
const rl = { apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items: [pod, secret], functionConfig: fc };

/** The output with the rewritten image, the new payload and the results taken out must be the input. */
async function assertOnlyPayloadChanged(input: string, json: boolean): Promise<void> {
  const r = await run(input, deps);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = json ? JSON.parse(r.stdout) : parse(r.stdout);
  assert.equal(out.items[1].data['.dockerconfigjson'], payload);
  assert.equal(out.items[1].data.other, 'eA==');
  const results = json ? /,\s*"results": \[[\s\S]*\](?=\s*\}\s*$)/ : /results:\n[\s\S]*$/;
  const back = r.stdout.replace(results, '').replace(payload, 'e30=').replace('proxy.replicated.com/proxy/app/quay.io/org/api:1', 'quay.io/org/api:1');
  assert.equal(back, input);
}

describe('an updated pull Secret changes only its payload', () => {
  it('in a JSON ResourceList, pretty', async () => {
    const input = JSON.stringify(rl, null, 2);
    await assertOnlyPayloadChanged(input, true);
  });

  it('in a JSON ResourceList, compact', async () => {
    await assertOnlyPayloadChanged(JSON.stringify(rl), true);
  });

  it('in YAML with a flow data map', async () => {
    const input =
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n' +
      '- apiVersion: v1\n  kind: Pod\n  metadata: {name: w, namespace: a}\n  spec:\n    containers: [{name: c, image: quay.io/org/api:1}]\n    imagePullSecrets: [{name: app-registry}]\n' +
      "- apiVersion: v1\n  kind: Secret\n  metadata: {name: app-registry, namespace: a}\n  type: kubernetes.io/dockerconfigjson\n  data: { .dockerconfigjson: e30=, 'other': eA== }  # kept as written\n" +
      'functionConfig:\n  apiVersion: fn.proxy-private-images.dev/v1alpha1\n  kind: ProxyPrivateImages\n  appSlug: app\n  images: {private: ["quay.io/**"]}\n';
    await assertOnlyPayloadChanged(input, false);
  });
});
