/** The bundled executable, as users and pipelines run it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const BIN = new URL('../dist/proxy-private-images.js', import.meta.url).pathname;
const EXAMPLE = readFileSync(new URL('../examples/mixed/resourcelist.yaml', import.meta.url), 'utf8');
const LICENSE = 'cli-license-7d1e0c55';

function fn(args: string[], input: string, env: Record<string, string> = { LICENSE_ID: LICENSE }) {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', env: { PATH: process.env['PATH']!, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('the proxy-private-images executable', () => {
  it('rewrites the plain example: private, public, vendor, already proxied, digest-pinned and short names across two namespaces', () => {
    const r = fn([], EXAMPLE);
    assert.equal(r.status, 0, r.stderr);
    const out = parse(r.stdout);
    const images = (kind: string, name: string) => {
      const item = out.items.find((i: any) => i.kind === kind && i.metadata.name === name);
      const spec = kind === 'CronJob' ? item.spec.jobTemplate.spec.template.spec : item.spec.template.spec;
      return { spec, all: [...(spec.initContainers ?? []), ...spec.containers].map((c: any) => c.image) };
    };
    assert.deepEqual(images('Deployment', 'api').all, [
      'proxy.replicated.com/proxy/acme/quay.io/acme/api-migrations:v1.0.1',
      'proxy.replicated.com/proxy/acme/quay.io/acme/api:v1.0.1',
      'nginx:1.25',
    ]);
    assert.deepEqual(images('CronJob', 'report').all, [
      'proxy.replicated.com/proxy/acme/ghcr.io/acme/reporter@sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1',
    ]);
    assert.deepEqual(images('StatefulSet', 'licensing').all, [
      'registry.replicated.com/acme/licensing:2.3.0',
      'proxy.replicated.com/proxy/acme/quay.io/acme/sidecar:0.4',
    ]);
    assert.deepEqual(images('StatefulSet', 'licensing').spec.imagePullSecrets, [{ name: 'acme-registry' }]);
    assert.equal(images('Deployment', 'cache').spec.imagePullSecrets, undefined, 'all-public workload untouched');
    const secrets = out.items.filter((i: any) => i.kind === 'Secret');
    assert.deepEqual(secrets.map((s: any) => s.metadata.namespace), ['billing', 'shop']);
    assert.ok(!r.stdout.includes(LICENSE) && !r.stderr.includes(LICENSE));
  });

  it('takes its config from flags when the ResourceList has none', () => {
    const input = EXAMPLE.slice(0, EXAMPLE.indexOf('functionConfig:'));
    const r = fn(['--app-slug', 'flags', '--pull-secret-name', 'pull', '--private', 'quay.io/acme/**', '--private', 'ghcr.io/acme/**', '--public', 'docker.io/**'], input);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /image: proxy\.replicated\.com\/proxy\/flags\/quay\.io\/acme\/api-migrations:v1\.0\.1/);
    assert.match(r.stdout, /imagePullSecrets:\n {8}- name: pull\n/);
  });

  it('prints usage with --help, and a usage error for an unknown flag', () => {
    const help = fn(['--help'], '');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage:/);
    assert.match(help.stdout, /--app-slug SLUG/);
    const bad = fn(['--app-slgu', 'x'], '');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Unknown option '--app-slgu'/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });

  it('fails on empty input with one clear line and no stdout', () => {
    const r = fn([], '');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no input: expected a ResourceList/);
  });

  it('names the item and field of a malformed image and leaves every item untouched', () => {
    const r = fn([], EXAMPLE.replace('nginx:1.25', 'Nginx:1.25'));
    assert.equal(r.status, 1);
    const out = parse(r.stdout);
    const error = out.results.find((x: any) => x.severity === 'error');
    assert.equal(error.resourceRef.name, 'api');
    assert.equal(error.field.path, 'spec.template.spec.containers[1].image');
    assert.match(error.message, /repository name must be lowercase/);
    assert.match(r.stdout, /image: "quay\.io\/acme\/api:v1\.0\.1"/, 'nothing rewritten');
    assert.equal(out.items.filter((i: any) => i.kind === 'Secret').length, 0);
  });

  it('emits a Kustomization with images: entries and patches in output: kustomization mode', () => {
    const r = fn(['--output', 'kustomization'], EXAMPLE);
    assert.equal(r.status, 0, r.stderr);
    const out = parse(r.stdout);
    const k = out.items[0];
    assert.equal(k.kind, 'Kustomization');
    assert.deepEqual(k.images.map((i: any) => i.name), ['ghcr.io/acme/reporter', 'quay.io/acme/api', 'quay.io/acme/api-migrations']);
    assert.equal(k.images[1].newName, 'proxy.replicated.com/proxy/acme/quay.io/acme/api');
    assert.equal(k.patches.length, 3);
    assert.deepEqual(out.items.slice(1).map((i: any) => i.kind), ['Secret', 'Secret']);
  });
});
