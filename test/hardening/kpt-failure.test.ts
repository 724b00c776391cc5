/**
 * A failing run through the REAL kpt (`fn render --allow-exec` with a Kptfile exec pipeline, and `fn eval --exec`)
 * leaves the package byte-identical: every file hashed before and after. kpt writes nothing when the function
 * exits non-zero; these tests hold the function to exiting non-zero on every error it reports.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ensureKrmTools, run } from '../support/tools.js';
import { assertNoStack, bundle, SECRET_LICENSE } from './support.js';

function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

const DEPLOYMENT = (image: string): string => `# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # keep this comment
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: ${image}
        - name: side
          image: "quay.io/org/sidecar:2"
`;

function makePackage(image: string, fnConfig: string, pipeline = true): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ppi-kptfail-')), 'pkg');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const exec = `node ${bundle()}`;
  writeFileSync(
    join(dir, 'Kptfile'),
    `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n` +
      (pipeline ? `pipeline:\n  mutators:\n    - exec: ${exec}\n      configPath: fn-config.yaml\n` : ''),
  );
  writeFileSync(join(dir, 'fn-config.yaml'), fnConfig);
  writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT(image));
  writeFileSync(join(dir, 'sub', 'job.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: j, image: "ghcr.io/org/job:1"}]\n      restartPolicy: Never\n');
  writeFileSync(join(dir, 'license.yaml'), `apiVersion: kots.io/v1beta1\nkind: License\nmetadata:\n  name: customer\nspec:\n  licenseID: ${SECRET_LICENSE}\n`);
  writeFileSync(join(dir, 'README.md'), 'not KRM\n');
  return dir;
}

const CONFIG = (extra = ''): string =>
  `apiVersion: fn.proxy-private-images.dev/v1alpha1\nkind: ProxyPrivateImages\nmetadata:\n  name: proxy\n  annotations:\n    config.kubernetes.io/local-config: "true"\nappSlug: shop\nimages:\n  private: ["quay.io/**", "ghcr.io/**"]\n${extra}`;

const temps: string[] = [];

describe('hardening: a failing run leaves a kpt package byte-identical', function () {
  this.timeout(120_000);
  before(() => ensureKrmTools());
  after(() => {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  const env = { ...process.env, LICENSE_ID: SECRET_LICENSE };

  function render(dir: string) {
    temps.push(join(dir, '..'));
    const before = hashTree(dir);
    const r = run('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false'], { cwd: dir, env });
    const after = hashTree(dir);
    return { r, before, after, out: r.stdout + r.stderr };
  }

  it('fn render: a malformed image', () => {
    const dir = makePackage('quay.io/Org/Web:1', CONFIG());
    const { r, before, after, out } = render(dir);
    assert.notEqual(r.status, 0, out);
    assert.deepEqual(after, before, 'the package changed');
    assert.match(out, /\[FAIL\]/);
    assert.match(out, /apps\/v1\/Deployment\/shop\/web spec\.template\.spec\.containers\[0\]\.image: invalid image reference "quay\.io\/Org\/Web:1": repository name must be lowercase/);
    assertNoStack(out, 'kpt output');
    assert.ok(!out.includes(SECRET_LICENSE), 'license id in kpt output');
  });

  it('fn render: a bad functionConfig field', () => {
    const dir = makePackage('quay.io/org/web:1', CONFIG('probe:\n  onError: sometimes\n'));
    const { r, before, after, out } = render(dir);
    assert.notEqual(r.status, 0, out);
    assert.deepEqual(after, before);
    assert.match(out, /invalid functionConfig: probe\.onError must be one of "fail", "private", "public"/);
    assert.ok(!out.includes(SECRET_LICENSE));
  });

  it('fn render: an image the probe cannot decide (closed loopback port, onError fail)', async () => {
    const { closedPort } = await import('../support/misbehaving.js');
    const port = await closedPort();
    const dir = makePackage(`127.0.0.1:${port}/org/web:1`, CONFIG(`probe:\n  insecureRegistries: ["127.0.0.1:${port}"]\n  retries: 0\n  onError: fail\n`));
    const { r, before, after, out } = render(dir);
    assert.notEqual(r.status, 0, out);
    assert.deepEqual(after, before);
    assert.match(out, new RegExp(`cannot tell whether 127\\.0\\.0\\.1:${port}/org/web:1 is private`));
    assert.ok(!out.includes(SECRET_LICENSE));
  });

  it('fn render: no license anywhere while a Secret is needed', () => {
    const dir = makePackage('quay.io/org/web:1', CONFIG());
    rmSync(join(dir, 'license.yaml'));
    temps.push(join(dir, '..'));
    const before = hashTree(dir);
    const r = run('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false'], { cwd: dir, env: { ...process.env, LICENSE_ID: '' } });
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(hashTree(dir), before);
    assert.match(r.stdout + r.stderr, /no license id was found/);
  });

  it('fn render: the same package with a good image does change (the harness can see a change)', () => {
    const dir = makePackage('quay.io/org/web:1', CONFIG());
    const { r, before, after, out } = render(dir);
    assert.equal(r.status, 0, out);
    assert.notDeepEqual(after, before);
    assert.match(readFileSync(join(dir, 'deployment.yaml'), 'utf8'), /image: proxy\.replicated\.com\/proxy\/shop\/quay\.io\/org\/web:1\n/);
    assert.ok(!out.includes(SECRET_LICENSE));
    // the license item came from a package file: it stays as it was (kpt would delete the file otherwise)
    assert.equal(after.get('license.yaml'), before.get('license.yaml'));
  });

  it('a failed run shows its error first in kpt\'s truncated Results, not rewrites that did not happen', async () => {
    const { closedPort } = await import('../support/misbehaving.js');
    const port = await closedPort();
    const dir = makePackage(`127.0.0.1:${port}/org/web:1`, CONFIG(), false);
    temps.push(join(dir, '..'));
    for (let i = 0; i < 6; i++) {
      writeFileSync(join(dir, `pod${i}.yaml`), `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, namespace: shop}\nspec:\n  containers: [{name: c, image: "quay.io/org/p${i}:1"}]\n`);
    }
    const before = hashTree(dir);
    // default truncation (4 result lines), as users see it
    const r = run('kpt', ['fn', 'eval', '.', '--exec', `node ${bundle()}`, '--', 'appSlug=shop', 'images.private=quay.io/**', 'probe.retries=0', `probe.insecureRegistries=127.0.0.1:${port}`], { cwd: dir, env });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.status, 0, out);
    assert.deepEqual(hashTree(dir), before);
    const results = out.slice(out.indexOf('Results:'), out.indexOf('Stderr:'));
    assert.match(results, /^Results:\n\s+\[error\] apps\/v1\/Deployment\/shop\/web spec\.template\.spec\.containers\[0\]\.image: cannot tell whether/, out);
    assert.doesNotMatch(results, /\[info\]/, 'a failed run lists rewrites it did not make');
  });

  it('fn eval --exec with `-- k=v` arguments and a malformed image', () => {
    const dir = makePackage('nginx@sha256:abc', CONFIG(), false);
    temps.push(join(dir, '..'));
    const before = hashTree(dir);
    const r = run('kpt', ['fn', 'eval', '.', '--exec', `node ${bundle()}`, '--truncate-output=false', '--', 'appSlug=shop', 'images.private=quay.io/**,ghcr.io/**'], { cwd: dir, env });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.status, 0, out);
    assert.deepEqual(hashTree(dir), before);
    assert.match(out, /invalid image reference "nginx@sha256:abc": invalid digest/);
    assert.ok(!out.includes(SECRET_LICENSE));
  });

  it('fn eval --exec with --fn-config holding a bad field', () => {
    const dir = makePackage('quay.io/org/web:1', CONFIG('bogus: 1\n'), false);
    temps.push(join(dir, '..'));
    const before = hashTree(dir);
    const r = run('kpt', ['fn', 'eval', '.', '--exec', `node ${bundle()}`, '--fn-config', join(dir, 'fn-config.yaml'), '--truncate-output=false'], { cwd: dir, env });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.status, 0, out);
    assert.deepEqual(hashTree(dir), before);
    assert.match(out, /unknown field bogus/);
  });
});
