/**
 * Issue 11 #2: redaction works on values before anything is written, so no license id, whatever its value, can
 * change the output's structure or the exit code. With text substitution over the serialised output,
 * LICENSE_ID=error turned `severity: error` into `<redacted>` and a failing run exited 0.
 */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { runFn } from '../helpers/run.js';

const RL = (image: string): string =>
  'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n' +
  `- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: ns}, spec: {containers: [{name: c, image: "${image}"}]}}\n` +
  'functionConfig:\n  apiVersion: fn.proxy-private-images.dev/v1alpha1\n  kind: ProxyPrivateImages\n  appSlug: app\n  images: {private: ["quay.io/**"]}\n';

const HOSTILE_IDS = ['error', 'severity', 'results', 'message', 'quay', 'a"b\\c', "it's", 'kind: x', '- -'];

describe('hardening: a license id cannot change what a run outputs', () => {
  for (const id of HOSTILE_IDS) {
    it(`LICENSE_ID=${JSON.stringify(id)}: a failing run still fails, a good one still succeeds, and the output keeps its shape`, async () => {
      const bad = await runFn(RL('quay.io/Org/Bad'), { env: { LICENSE_ID: id } });
      assert.equal(bad.exitCode, 1);
      const results = bad.parsed.results as { severity: string }[];
      assert.equal(results[0]!.severity, 'error', 'the error result keeps its severity');
      assert.equal(bad.parsed.items[0].spec.containers[0].image, 'quay.io/Org/Bad');

      const good = await runFn(RL('quay.io/org/api:1'), { env: { LICENSE_ID: id } });
      assert.equal(good.exitCode, 0, good.stderr);
      assert.deepEqual(Object.keys(good.parsed).sort(), ['apiVersion', 'functionConfig', 'items', 'kind', 'results']);
      assert.equal(good.parsed.items[0].spec.containers[0].image, 'proxy.replicated.com/proxy/app/quay.io/org/api:1');
      const secret = good.parsed.items.find((i: any) => i.kind === 'Secret');
      const auths = JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString()).auths;
      assert.equal(auths['proxy.replicated.com'].username, id, 'the Secret holds the id itself');
      for (const r of good.parsed.results as { severity: string }[]) assert.ok(['info', 'warning'].includes(r.severity));
      // no result value holds the id (keys such as `severity` are structure, not values)
      const values = (parse(good.stdout).results as Record<string, unknown>[]).flatMap((r) => Object.values(r).flatMap((v) => (typeof v === 'object' && v ? Object.values(v) : [v])));
      if (id.length >= 4 && !RL('quay.io/org/api:1').includes(id)) assert.ok(!values.some((v) => String(v).includes(id)), JSON.stringify(values));
    });
  }

  it('a license id with a line break is a config error, not a broken Secret', async () => {
    const out = await runFn(RL('quay.io/org/api:1'), { env: { LICENSE_ID: 'abc\ndef' } });
    assert.equal(out.exitCode, 1);
    assert.equal(out.parsed.results[0].tags.code, 'CONFIG_INVALID');
    assert.match(out.stderr, /line break or another control character/);
    assert.ok(!out.stderr.includes('abc\ndef'));
  });
});
