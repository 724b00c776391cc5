import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.js';
import { FnError } from '../../src/errors.js';

const TYPED = { apiVersion: 'fn.proxy-private-images.dev/v1alpha1', kind: 'ProxyPrivateImages' };

function configError(fc: Record<string, unknown> | undefined, overrides?: Record<string, unknown>): FnError {
  try {
    loadConfig(fc, overrides);
  } catch (e) {
    assert.ok(e instanceof FnError, String(e));
    return e;
  }
  assert.fail('expected a config error');
}

describe('functionConfig', () => {
  it('fills the documented defaults', () => {
    const c = loadConfig({ ...TYPED, appSlug: 'my-app' });
    assert.equal(c.proxyHost, 'proxy.replicated.com');
    assert.equal(c.dockerHubHost, 'docker.io');
    assert.equal(c.pullSecretName, 'my-app-registry');
    assert.deepEqual(c.vendorRegistries, ['registry.replicated.com']);
    assert.equal(c.onError, 'fail');
    assert.equal(c.output, 'resources');
    assert.equal(c.probe.timeoutSeconds, 10);
    assert.equal(c.probe.deadlineSeconds, 30);
    assert.equal(c.probe.concurrency, 16);
    assert.equal(c.probe.retries, 3);
  });

  it('maps a kpt ConfigMap (dotted keys, string values, comma lists) onto the typed fields', () => {
    const c = loadConfig({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'function-input' },
      data: {
        appSlug: 'my-app',
        'proxy.host': 'images.example.com',
        proxyPublicImages: 'true',
        'images.private': 'quay.io/acme/**, ghcr.io/acme/*',
        'probe.timeoutSeconds': '2.5',
        'probe.concurrency': '4',
        'probe.onError': 'private',
        'pullSecret.namespaces': '*,ops',
        fieldSpecs: '[{"kind":"Widget","path":"spec/image"}]',
      },
    });
    assert.equal(c.proxyHost, 'images.example.com');
    assert.equal(c.proxyPublicImages, true);
    assert.deepEqual(c.privateGlobs, ['quay.io/acme/**', 'ghcr.io/acme/*']);
    assert.equal(c.probe.timeoutSeconds, 2.5);
    assert.equal(c.probe.concurrency, 4);
    assert.equal(c.onError, 'private');
    assert.deepEqual(c.pullSecretNamespaces, ['*', 'ops']);
    assert.deepEqual(c.fieldSpecs, [{ kind: 'Widget', path: 'spec/image' }]);
  });

  it('imagesInValues: no rules and detect: warn by default; the ConfigMap form takes comma lists and a JSON list', () => {
    assert.deepEqual(loadConfig({ ...TYPED, appSlug: 'a' }).imagesInValues, { env: [], args: [], configMaps: [], detect: 'warn' });
    const c = loadConfig({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: {
        appSlug: 'a',
        'imagesInValues.env': 'CSI_*_IMAGE, *_IMAGE',
        'imagesInValues.args': '--*-image,--prometheus-config-reloader',
        'imagesInValues.configMaps': '[{"name": "acme-*", "key": "*Image"}]',
        'imagesInValues.detect': 'off',
      },
    });
    assert.deepEqual(c.imagesInValues, {
      env: ['CSI_*_IMAGE', '*_IMAGE'],
      args: ['--*-image', '--prometheus-config-reloader'],
      configMaps: [{ name: 'acme-*', key: '*Image' }],
      detect: 'off',
    });
  });

  it('imagesInValues.args globs are flags as written: with their dashes, without "="', () => {
    const e = configError({ ...TYPED, appSlug: 'a', imagesInValues: { args: ['--ok-image', 'engine-image', '--x=', '-f'] } });
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.match(e.message, /imagesInValues\.args\[1\] must be a flag as written in command or args, with its dashes and without "=" \(--engine-image\), got "engine-image" \(and 1 more\)/);
    assert.match(e.details[1]!, /imagesInValues\.args\[2\] .* got "--x="/);
  });

  it('normalises glob entries written as plain image names', () => {
    const c = loadConfig({ ...TYPED, appSlug: 'a', images: { private: ['nginx', 'index.docker.io/acme/x'], public: ['quay.io/*/x'] } });
    assert.deepEqual(c.privateGlobs, ['docker.io/library/nginx', 'docker.io/acme/x']);
    assert.deepEqual(c.publicGlobs, ['quay.io/*/x']);
  });

  it('lets CLI flags override the functionConfig', () => {
    const c = loadConfig({ ...TYPED, appSlug: 'a', proxy: { host: 'x.example.com' } }, { appSlug: 'b', probe: { insecureRegistries: ['127.0.0.1:5000'] } });
    assert.equal(c.appSlug, 'b');
    assert.equal(c.proxyHost, 'x.example.com');
    assert.deepEqual(c.probe.insecureRegistries, ['127.0.0.1:5000']);
  });

  const errors: [string, Record<string, unknown> | undefined, RegExp][] = [
    ['missing appSlug', { ...TYPED }, /appSlug is required/],
    ['kpt default ConfigMap without data', { apiVersion: 'v1', kind: 'ConfigMap', data: {} }, /appSlug is required/],
    ['unknown top-level field', { ...TYPED, appSlug: 'a', apSlug: 'x' }, /unknown field apSlug/],
    ['unknown nested field', { ...TYPED, appSlug: 'a', probe: { timeout: 1 } }, /unknown field probe\.timeout/],
    ['wrong type', { ...TYPED, appSlug: 'a', probe: { timeoutSeconds: 'soon' } }, /probe\.timeoutSeconds must be number/],
    ['negative timeout', { ...TYPED, appSlug: 'a', probe: { timeoutSeconds: -1 } }, /probe\.timeoutSeconds must be > 0/],
    ['bad enum', { ...TYPED, appSlug: 'a', probe: { onError: 'ignore' } }, /probe\.onError must be one of "fail", "private", "public"/],
    ['bad slug', { ...TYPED, appSlug: 'My App' }, /appSlug must match/],
    ['bad list item', { ...TYPED, appSlug: 'a', vendorRegistries: ['ok.io', 5] }, /vendorRegistries\[1\] must be string/],
    ['bad fieldSpec', { ...TYPED, appSlug: 'a', fieldSpecs: [{ path: 'spec/image' }] }, /fieldSpecs\[0\]\.kind is required/],
    ['wrong kind', { apiVersion: 'v1', kind: 'Secret' }, /must be a ProxyPrivateImages .* or a ConfigMap, got "Secret"/],
    ['wrong apiVersion', { apiVersion: 'fn.proxy-private-images.dev/v2', kind: 'ProxyPrivateImages', appSlug: 'a' }, /apiVersion must be fn.proxy-private-images.dev\/v1alpha1/],
    ['unknown ConfigMap key', { apiVersion: 'v1', kind: 'ConfigMap', data: { appSlug: 'a', 'proxy.hots': 'x' } }, /unknown field "proxy.hots"/],
    ['ConfigMap boolean', { apiVersion: 'v1', kind: 'ConfigMap', data: { appSlug: 'a', proxyPublicImages: 'yes' } }, /proxyPublicImages must be true or false/],
    ['ConfigMap number', { apiVersion: 'v1', kind: 'ConfigMap', data: { appSlug: 'a', 'probe.retries': 'many' } }, /probe\.retries must be a number/],
    ['bad detect', { ...TYPED, appSlug: 'a', imagesInValues: { detect: 'error' } }, /imagesInValues\.detect must be one of "warn", "off"/],
    ['configMaps rule without key', { ...TYPED, appSlug: 'a', imagesInValues: { configMaps: [{ name: 'x' }] } }, /imagesInValues\.configMaps\[0\]\.key is required/],
    ['ConfigMap configMaps not JSON', { apiVersion: 'v1', kind: 'ConfigMap', data: { appSlug: 'a', 'imagesInValues.configMaps': 'acme-*' } }, /imagesInValues\.configMaps must be a JSON list/],
  ];
  for (const [name, fc, want] of errors) {
    it(`rejects ${name} with a message naming the field`, () => {
      const e = configError(fc);
      assert.match(e.message, want);
    });
  }

  it('reports every schema problem at once', () => {
    const e = configError({ ...TYPED, appSlug: 'a', output: 'x', probe: { retries: -1 }, extra: 1 });
    assert.equal(e.details.length, 3);
    assert.match(e.message, /and 2 more/);
  });

  it('reports every ConfigMap problem at once, each naming its key, then the schema problems', () => {
    const e = configError({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      data: {
        'proxy.hots': 'x',
        proxyPublicImages: 'yes',
        'probe.timeoutSeconds': 'soon',
        fieldSpecs: '[{kind: X',
        'pullSecret.name': 7,
        'probe.retries': '-1',
        output: 'html',
      },
    });
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.deepEqual(e.details, [
      'unknown field "proxy.hots" in ConfigMap data',
      'proxyPublicImages must be true or false, got "yes"',
      'probe.timeoutSeconds must be a number, got "soon"',
      'fieldSpecs must be a JSON list in the ConfigMap form',
      'ConfigMap data pullSecret.name must be a string',
      'appSlug is required',
      'probe.retries must be >= 0',
      'output must be one of "resources", "kustomization"',
    ]);
    assert.equal(e.message, 'invalid functionConfig: unknown field "proxy.hots" in ConfigMap data (and 7 more)');
  });

  it('does not report a ConfigMap key the schema would also fault a second time', () => {
    const e = configError({ apiVersion: 'v1', kind: 'ConfigMap', data: { appSlug: 42 } });
    assert.deepEqual(e.details, ['ConfigMap data appSlug must be a string']);
    assert.equal(e.message, 'invalid functionConfig: ConfigMap data appSlug must be a string');
  });
});
