import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { run } from '../../src/run.js';
import { fakeProber, LICENSE, resourceList, runFn } from '../helpers/run.js';

const deploy = (name: string, ns: string | undefined, image: string, extra = '') => `- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: ${name}${ns ? `\n    namespace: ${ns}` : ''}
  spec:
    template:
      spec:${extra}
        containers:
        - name: c
          image: ${image}`;

const secrets = (items: any[]) => items.filter((i) => i.kind === 'Secret');

function decode(secret: any): any {
  return JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString());
}

describe('pull Secret, namespaces and imagePullSecrets', () => {
  it('builds a dockerconfigjson with the license id as user and password for the proxy and vendor registries', async () => {
    const out = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1')));
    const [secret] = secrets(out.parsed.items);
    assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
    assert.deepEqual(secret.metadata, { name: 'acme-registry', namespace: 'shop' });
    const auths = decode(secret).auths;
    assert.deepEqual(Object.keys(auths).sort(), ['proxy.replicated.com', 'registry.replicated.com']);
    for (const a of Object.values<any>(auths)) {
      assert.equal(a.username, LICENSE);
      assert.equal(a.password, LICENSE);
      assert.equal(Buffer.from(a.auth, 'base64').toString(), `${LICENSE}:${LICENSE}`);
    }
  });

  it('creates one Secret per namespace that uses a private or vendor image, none for all-public namespaces', async () => {
    const items = [
      deploy('a', 'shop', 'quay.io/acme/a:1'),
      deploy('b', 'billing', 'registry.replicated.com/acme/b:1'),
      deploy('c', 'web', 'nginx:1'),
      deploy('d', undefined, 'quay.io/acme/d:1'),
    ].join('\n');
    const out = await runFn(resourceList(items));
    assert.equal(out.exitCode, 0, out.stderr);
    assert.deepEqual(secrets(out.parsed.items).map((s) => s.metadata.namespace ?? '(none)').sort(), ['(none)', 'billing', 'shop']);
    const byName = Object.fromEntries(out.parsed.items.filter((i: any) => i.kind === 'Deployment').map((d: any) => [d.metadata.name, d.spec.template.spec]));
    assert.deepEqual(byName.a.imagePullSecrets, [{ name: 'acme-registry' }]);
    assert.deepEqual(byName.b.imagePullSecrets, [{ name: 'acme-registry' }], 'vendor images need the Secret');
    assert.equal(byName.b.containers[0].image, 'registry.replicated.com/acme/b:1', 'vendor images are not rewritten');
    assert.equal(byName.c.imagePullSecrets, undefined, 'all-public workloads are not touched');
    assert.deepEqual(byName.d.imagePullSecrets, [{ name: 'acme-registry' }]);
  });

  it('adds configured namespaces, and "*" means every namespace seen in the input', async () => {
    const items = [deploy('a', 'shop', 'quay.io/acme/a:1'), deploy('c', 'web', 'nginx:1'), `- apiVersion: v1\n  kind: Namespace\n  metadata: {name: extra}`].join('\n');
    const named = await runFn(resourceList(items, 'appSlug: acme\n  images: {private: ["quay.io/**"], public: ["docker.io/**"]}\n  pullSecret: {namespaces: [ops]}'));
    assert.deepEqual(secrets(named.parsed.items).map((s) => s.metadata.namespace).sort(), ['ops', 'shop']);
    const star = await runFn(resourceList(items, 'appSlug: acme\n  images: {private: ["quay.io/**"], public: ["docker.io/**"]}\n  pullSecret: {namespaces: ["*", ops]}'));
    assert.deepEqual(secrets(star.parsed.items).map((s) => s.metadata.namespace).sort(), ['extra', 'ops', 'shop', 'web']);
  });

  it('keeps existing imagePullSecrets and never adds a duplicate', async () => {
    const extra = `\n        imagePullSecrets:\n        - name: other\n        - name: acme-registry`;
    const out = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1', extra)));
    assert.deepEqual(out.parsed.items[0].spec.template.spec.imagePullSecrets, [{ name: 'other' }, { name: 'acme-registry' }]);
    const extra2 = `\n        imagePullSecrets: [{name: other}]`;
    const out2 = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1', extra2)));
    assert.deepEqual(out2.parsed.items[0].spec.template.spec.imagePullSecrets, [{ name: 'other' }, { name: 'acme-registry' }]);
  });

  it('updates an existing Secret of the same name in place instead of adding a second one', async () => {
    const existing = `- apiVersion: v1
  kind: Secret
  metadata:
    name: acme-registry
    namespace: shop
    labels: {keep: me}
  type: kubernetes.io/dockerconfigjson
  data:
    .dockerconfigjson: c3RhbGU=`;
    const out = await runFn(resourceList(`${deploy('a', 'shop', 'quay.io/acme/a:1')}\n${existing}`));
    const all = secrets(out.parsed.items);
    assert.equal(all.length, 1);
    assert.equal(all[0].type, 'kubernetes.io/dockerconfigjson');
    assert.deepEqual(all[0].metadata.labels, { keep: 'me' });
    assert.equal(decode(all[0]).auths['proxy.replicated.com'].username, LICENSE);
  });

  it('uses a custom Secret name and proxy host', async () => {
    const out = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1'), 'appSlug: acme\n  proxy: {host: images.example.com}\n  pullSecret: {name: pull}\n  images: {private: ["quay.io/**"]}'));
    const d = out.parsed.items[0].spec.template.spec;
    assert.equal(d.containers[0].image, 'images.example.com/proxy/acme/quay.io/acme/a:1');
    assert.deepEqual(d.imagePullSecrets, [{ name: 'pull' }]);
    assert.ok(decode(secrets(out.parsed.items)[0]).auths['images.example.com']);
  });

  it('takes the license from a kots License item and leaves that item out of the output', async () => {
    const license = `- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata: {name: lic}\n  spec:\n    licenseID: from-item-123456`;
    const out = await runFn(resourceList(`${deploy('a', 'shop', 'quay.io/acme/a:1')}\n${license}`), { env: {} });
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.parsed.items.some((i: any) => i.kind === 'License'), false);
    assert.equal(decode(secrets(out.parsed.items)[0]).auths['proxy.replicated.com'].username, 'from-item-123456');
    assert.ok(!out.stdout.includes('from-item-123456'));
  });

  it('keeps a License item that belongs to a kpt package file (kpt would delete the file otherwise)', async () => {
    const license = `- apiVersion: kots.io/v1beta1\n  kind: License\n  metadata:\n    name: lic\n    annotations:\n      internal.config.kubernetes.io/path: 'license.yaml'\n  spec:\n    licenseID: from-item-123456`;
    const out = await runFn(resourceList(`${deploy('a', 'shop', 'quay.io/acme/a:1')}\n${license}`), { env: {} });
    assert.equal(out.parsed.items.filter((i: any) => i.kind === 'License').length, 1);
  });

  it('reads the license from the variable license.fromEnv names', async () => {
    const out = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1'), 'appSlug: acme\n  license: {fromEnv: MY_LICENSE}\n  images: {private: ["quay.io/**"]}'), { env: { MY_LICENSE: 'env-license-99' } });
    assert.equal(decode(secrets(out.parsed.items)[0]).auths['proxy.replicated.com'].password, 'env-license-99');
  });

  it('fails with an error result, exit 1 and the input untouched when a Secret is needed but there is no license', async () => {
    const input = resourceList(deploy('a', 'shop', 'quay.io/acme/a:1'));
    const out = await runFn(input, { env: {} });
    assert.equal(out.exitCode, 1);
    const error = out.parsed.results.find((r: any) => r.severity === 'error');
    assert.match(error.message, /no license id was found/);
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'quay.io/acme/a:1', 'no partial rewrite');
    assert.equal(secrets(out.parsed.items).length, 0);
  });

  it('needs no license when nothing needs the Secret', async () => {
    const out = await runFn(resourceList(deploy('c', 'web', 'nginx:1')), { env: {} });
    assert.equal(out.exitCode, 0);
    assert.equal(out.parsed.items.length, 1);
  });

  it('routes public images through the anonymous path with proxyPublicImages, without the Secret', async () => {
    const out = await runFn(resourceList(deploy('c', 'web', 'nginx:1'), 'appSlug: acme\n  proxyPublicImages: true\n  images: {public: ["docker.io/**"]}'));
    const spec = out.parsed.items[0].spec.template.spec;
    assert.equal(spec.containers[0].image, 'proxy.replicated.com/anonymous/docker.io/library/nginx:1');
    assert.equal(spec.imagePullSecrets, undefined);
    assert.equal(secrets(out.parsed.items).length, 0);
  });

  it('writes the configured Docker Hub host into proxy paths', async () => {
    const out = await runFn(resourceList(deploy('a', 'x', 'index.docker.io/acme/private:2'), 'appSlug: acme\n  proxy: {dockerHubHost: index.docker.io}\n  images: {private: ["docker.io/acme/**"]}'));
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'proxy.replicated.com/proxy/acme/index.docker.io/acme/private:2');
  });

  it('turns probe answers into decisions: 404 is private with a warning, inconclusive follows probe.onError', async () => {
    const prober = fakeProber({
      'ghcr.io/acme/hidden:1': { verdict: 'private-404', reason: 'HEAD answered 404' },
      'flaky.example.com/x:1': { verdict: 'inconclusive', reason: 'GET https://flaky.example.com/v2/ failed: 503 after 3 retries' },
    });
    const items = [deploy('a', 'n', 'ghcr.io/acme/hidden:1'), deploy('b', 'n', 'flaky.example.com/x:1')].join('\n');
    const failed = await runFn(resourceList(items, 'appSlug: acme'), { prober });
    assert.equal(failed.exitCode, 1);
    const err = failed.parsed.results.find((r: any) => r.severity === 'error');
    assert.match(err.message, /cannot tell whether flaky.example.com\/x:1 is private: .*503/);
    assert.equal(failed.parsed.items[0].spec.template.spec.containers[0].image, 'ghcr.io/acme/hidden:1', 'nothing rewritten on failure');

    const asPublic = await runFn(resourceList(items, 'appSlug: acme\n  probe: {onError: public}'), { prober });
    assert.equal(asPublic.exitCode, 0);
    const byName = Object.fromEntries(asPublic.parsed.items.filter((i: any) => i.kind === 'Deployment').map((d: any) => [d.metadata.name, d.spec.template.spec.containers[0].image]));
    assert.equal(byName.a, 'proxy.replicated.com/proxy/acme/ghcr.io/acme/hidden:1');
    assert.equal(byName.b, 'flaky.example.com/x:1');
    const warnings = asPublic.parsed.results.filter((r: any) => r.severity === 'warning').map((r: any) => r.message);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.some((m: string) => /404/.test(m)));
    assert.ok(warnings.some((m: string) => /treated as public \(probe.onError: public\)/.test(m)));
  });

  for (const [where, indent] of [['first, compact lists', ''], ['first, wide lists', '  '], ['last, compact lists', ''], ['last, wide lists', '  ']] as const) {
    it(`removes a License item that comes ${where} without disturbing its neighbours`, async () => {
      const lic = `${indent}# the license\n${indent}- apiVersion: kots.io/v1beta1\n${indent}  kind: License\n${indent}  metadata: {name: l}\n${indent}  spec: {licenseID: item-license-1}\n`;
      const pod = `${indent}- # web-tier pod\n${indent}  apiVersion: v1\n${indent}  kind: Pod\n${indent}  metadata: {name: p}\n${indent}  spec:\n${indent}    containers:\n${indent}    - {name: a, image: quay.io/acme/b:1}\n`;
      const body = where.startsWith('first') ? lic + pod : pod + lic;
      const input = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${body}functionConfig: {apiVersion: fn.proxy-private-images.dev/v1alpha1, kind: ProxyPrivateImages, appSlug: acme, images: {private: ["**"]}}\n`;
      const out = await runFn(input, { env: {} });
      assert.equal(out.exitCode, 0, out.stderr);
      assert.deepEqual(out.parsed.items.map((i: any) => i.kind), ['Pod', 'Secret']);
      assert.ok(out.stdout.includes(`${indent}- # web-tier pod\n${indent}  apiVersion: v1\n`));
      assert.ok(!out.stdout.includes('kots.io') && !out.stdout.includes('item-license-1'));
    });
  }

  for (const [where, indent, eol] of [['compact', '', '\n'], ['wide', '  ', '\n'], ['compact, CRLF', '', '\r\n']] as const) {
    it(`removes a License item that is the only item (${where} list): the output is an empty list that parses`, async () => {
      const lic = `${indent}# the license\n${indent}- apiVersion: kots.io/v1beta1\n${indent}  kind: License\n${indent}  metadata: {name: l}\n${indent}  spec: {licenseID: item-license-1}\n${indent}# after it\n`;
      const input = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${lic}functionConfig: {apiVersion: fn.proxy-private-images.dev/v1alpha1, kind: ProxyPrivateImages, appSlug: acme}\n`.replace(/\n/g, eol);
      const out = await run(input, { env: {}, createProber: () => assert.fail('nothing to probe') });
      assert.equal(out.exitCode, 0, out.stderr);
      const parsed = parse(out.stdout);
      assert.deepEqual(parsed.items, []);
      assert.equal(parsed.functionConfig.appSlug, 'acme');
      assert.ok(!out.stdout.includes('kots.io') && !out.stdout.includes('item-license-1'));
      assert.ok(out.stdout.includes(`${indent}# the license${eol}`), 'the comments around it stay');
    });
  }

  {
    // the License is the only item and a Secret is created (pullSecret.namespaces): the Secret takes its place
    const lic = { apiVersion: 'kots.io/v1beta1', kind: 'License', metadata: { name: 'l' }, spec: { licenseID: 'item-license-1' } };
    const fcText = '{apiVersion: fn.proxy-private-images.dev/v1alpha1, kind: ProxyPrivateImages, appSlug: acme, pullSecret: {namespaces: [c]}}';
    const licLines = (indent: string): string => `${indent}- apiVersion: kots.io/v1beta1\n${indent}  kind: License\n${indent}  metadata: {name: l}\n${indent}  spec: {licenseID: item-license-1}\n`;
    const fcJson = { apiVersion: 'fn.proxy-private-images.dev/v1alpha1', kind: 'ProxyPrivateImages', appSlug: 'acme', pullSecret: { namespaces: ['c'] } };
    const forms: Record<string, string> = {
      'compact block list': `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${licLines('')}functionConfig: ${fcText}\n`,
      'wide block list': `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${licLines('  ')}functionConfig: ${fcText}\n`,
      'flow list': `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [{apiVersion: kots.io/v1beta1, kind: License, metadata: {name: l}, spec: {licenseID: item-license-1}}]\nfunctionConfig: ${fcText}\n`,
      'JSON': JSON.stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items: [lic], functionConfig: fcJson }),
      'pretty JSON': JSON.stringify({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList', items: [lic], functionConfig: fcJson }, null, 2),
    };
    for (const [form, input] of Object.entries(forms)) {
      it(`replaces a License item that is the only item with the new pull Secret (${form})`, async () => {
        const out = await run(input, { env: {}, createProber: () => assert.fail('nothing to probe') });
        assert.equal(out.exitCode, 0, out.stderr);
        const parsed = parse(out.stdout);
        assert.deepEqual(parsed.items.map((i: any) => [i.kind, i.metadata.namespace]), [['Secret', 'c']]);
        assert.ok(!out.stdout.includes('kots.io') && !out.stdout.includes('item-license-1'));
      });
    }
  }

  it('a private image on a registry with a port is an error naming the image and the ways out (issue 15.1)', async () => {
    const input = resourceList(deploy('a', 'n', 'registry.example.com:5000/acme/a:1'), 'appSlug: acme\n  images: {private: ["registry.example.com:5000/**"]}');
    const out = await runFn(input);
    assert.equal(out.exitCode, 1);
    const error = out.parsed.results.find((r: any) => r.severity === 'error');
    assert.equal(error.tags.code, 'IMAGE_PORT_REGISTRY');
    assert.equal(error.field.path, 'spec.template.spec.containers[0].image');
    assert.match(error.message, /registry\.example\.com:5000\/acme\/a:1 is private.*default port.*Replicated registry.*images\.public/);
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'registry.example.com:5000/acme/a:1', 'nothing rewritten');
  });

  it('a public image on a registry with a port stays as it is, also with proxyPublicImages', async () => {
    const input = resourceList(deploy('a', 'n', 'registry.example.com:5000/acme/a:1'), 'appSlug: acme\n  proxyPublicImages: true\n  images: {public: ["registry.example.com:5000/**"]}');
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'registry.example.com:5000/acme/a:1');
  });

  it('an existing Secret of that name that is not ours is a conflict, not taken over (issue 11.7)', async () => {
    const cases: [string, RegExp][] = [
      ['type: Opaque\n  data: {x: eQ==}', /its type is "Opaque"/],
      ['type: kubernetes.io/dockerconfigjson\n  stringData: {x: y}', /stringData/],
      ['type: kubernetes.io/dockerconfigjson\n  immutable: true\n  data: {.dockerconfigjson: c3RhbGU=}', /immutable/],
      ['data: {x: eQ==}', /type is not set/],
    ];
    for (const [body, why] of cases) {
      const existing = `- apiVersion: v1\n  kind: Secret\n  metadata: {name: acme-registry, namespace: shop}\n  ${body}`;
      const out = await runFn(resourceList(`${deploy('a', 'shop', 'quay.io/acme/a:1')}\n${existing}`));
      assert.equal(out.exitCode, 1, body);
      const error = out.parsed.results.find((r: any) => r.severity === 'error');
      assert.equal(error.tags.code, 'SECRET_CONFLICT');
      assert.deepEqual(error.resourceRef, { apiVersion: 'v1', kind: 'Secret', name: 'acme-registry', namespace: 'shop' });
      assert.match(error.message, why);
      assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'quay.io/acme/a:1', 'a failed run changes nothing');
    }
  });

  it('pullSecret.emit: false wires imagePullSecrets, writes no Secret and says which namespace needs it', async () => {
    const out = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1'), 'appSlug: acme\n  pullSecret: {emit: false}\n  images: {private: ["quay.io/**"]}'));
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(secrets(out.parsed.items).length, 0);
    assert.deepEqual(out.parsed.items[0].spec.template.spec.imagePullSecrets, [{ name: 'acme-registry' }]);
    assert.ok(out.parsed.results.some((r: any) => /acme-registry is needed in namespace shop .*not written \(pullSecret\.emit: false\)/.test(r.message)));
    assert.ok(!out.stdout.includes(Buffer.from(LICENSE).toString('base64')));
  });

  it('registry.host: images on registry.replicated.com/<app> move to the custom domain, images already there stay, the Secret covers both', async () => {
    const cfg = 'appSlug: acme\n  registry: {host: registry.acme.com}\n  images: {private: ["quay.io/**"]}';
    const input = resourceList(`${deploy('a', 'shop', 'registry.replicated.com/acme/api:1')}\n${deploy('b', 'shop', 'registry.acme.com/acme/web:2')}`, cfg);
    const out = await runFn(input);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.parsed.items[0].spec.template.spec.containers[0].image, 'registry.acme.com/acme/api:1');
    assert.equal(out.parsed.items[1].spec.template.spec.containers[0].image, 'registry.acme.com/acme/web:2');
    for (const i of [0, 1]) assert.deepEqual(out.parsed.items[i].spec.template.spec.imagePullSecrets, [{ name: 'acme-registry' }]);
    const auths = decode(secrets(out.parsed.items)[0]).auths;
    assert.ok(auths['registry.acme.com'] && auths['registry.replicated.com'] && auths['proxy.replicated.com']);
    const twice = await runFn(out.stdout);
    assert.equal(twice.stdout, out.stdout.replace(/results:[\s\S]*$/, twice.stdout.slice(twice.stdout.indexOf('results:'))));
  });

  it('proxy.host and registry.host must be registry hosts (a dot, a port or localhost)', async () => {
    for (const cfg of ['proxy: {host: imageproxy}', 'registry: {host: myregistry}']) {
      const out = await runFn(resourceList(deploy('a', 'shop', 'quay.io/acme/a:1'), `appSlug: acme\n  ${cfg}\n  images: {private: ["quay.io/**"]}`));
      assert.equal(out.exitCode, 1);
      assert.match(out.stderr, /must be a registry host \(with a dot, a port, or localhost\)/);
      assert.equal(out.parsed.results[0].tags.code, 'CONFIG_INVALID');
    }
  });
});
