/**
 * kpt 1.0 driving the function for real: `fn render` with an exec pipeline, `fn eval --image --network` with the
 * locally built image, and a failing render. What a user sees: the files in the package, kpt's output, exit codes.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { setupContainerImage, EXAMPLE_IMAGE } from '../support/podman.js';
import {
  assertNoLicense,
  cleanTemps,
  containerEnv,
  copyExample,
  EXAMPLES,
  execSetup,
  gitSnapshot,
  kptRender,
  LICENSE,
  run,
  SETUP_TIMEOUT_MS,
  stagedDiff,
  treeSnapshot,
} from './harness.js';

function decodedAuths(secretFile: string): Record<string, { username: string; password: string; auth: string }> {
  const docs = parseAllDocuments(readFileSync(secretFile, 'utf8')).map((d) => d.toJS() as { data: Record<string, string> });
  assert.equal(docs.length, 1, `${secretFile} holds exactly one Secret`);
  return JSON.parse(Buffer.from(docs[0]!.data['.dockerconfigjson']!, 'base64').toString('utf8')).auths;
}

describe('kpt', function () {
  let env: NodeJS.ProcessEnv;
  before(function () {
    this.timeout(SETUP_TIMEOUT_MS);
    env = execSetup().env;
  });
  after(cleanTemps);

  describe('fn render with an exec pipeline', function () {
    it('puts the Secret in its own file, changes only image lines and adds imagePullSecrets, and shows results', function () {
      const pkg = copyExample(join(EXAMPLES, 'kpt-render'));
      gitSnapshot(pkg);
      const r = kptRender(pkg, env);
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /\[PASS\] "proxy-private-images"/);
      assert.match(out, /\[info\] apps\/v1\/Deployment\/acme\/api spec\.template\.spec\.containers\[0\]\.image: .*quay\.io\/acme\/api:1\.4\.2/);
      assertNoLicense(out, 'kpt output');

      const diff = stagedDiff(pkg);
      assert.match(diff, /new file mode .*\n.*\n--- \/dev\/null\n\+\+\+ b\/acme\/secret_acme-registry\.yaml/);
      const removed = diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
      assert.ok(removed.length > 0);
      for (const line of removed) assert.match(line, /^-\s+image: /, `only image lines are replaced, not: ${line}`);
      const added = diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'));
      const inOldFiles = added.filter((l) => !/^\+(apiVersion|kind|metadata|  name|  namespace|type|data|  \.dockerconfigjson):?/.test(l));
      for (const line of inOldFiles) assert.match(line, /^\+\s+(image: |imagePullSecrets:|- name: acme-registry)/, line);
      // comments and flow style in the untouched parts stay as written
      const app = readFileSync(join(pkg, 'app.yaml'), 'utf8');
      assert.match(app, /^# The acme API and its database\.$/m);
      assert.match(app, /image: proxy\.replicated\.com\/proxy\/acme\/quay\.io\/acme\/api:1\.4\.2 # private$/m);
      assert.match(app, /ports: \[\{containerPort: 8080\}\]/);
      assert.match(app, /image: busybox:1\.36 # public: left alone/);
    });

    it('a second render with another license updates the same Secret file in place', function () {
      const pkg = copyExample(join(EXAMPLES, 'kpt-render'));
      gitSnapshot(pkg);
      assert.equal(kptRender(pkg, env).status, 0);
      stagedDiff(pkg);
      const secretFile = join(pkg, 'acme', 'secret_acme-registry.yaml');
      assert.equal(decodedAuths(secretFile)['proxy.replicated.com']!.username, LICENSE);

      const r = kptRender(pkg, { ...env, LICENSE_ID: 'renewed-license-id' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout + r.stderr, /pull Secret acme-registry updated/);
      const diff = stagedDiff(pkg);
      assert.deepEqual(
        [...diff.matchAll(/^diff --git a\/(\S+)/gm)].map((m) => m[1]),
        ['acme/secret_acme-registry.yaml'],
        `only the Secret file changes:\n${diff}`,
      );
      assert.equal(decodedAuths(secretFile)['proxy.replicated.com']!.username, 'renewed-license-id');
      assert.ok(!(r.stdout + r.stderr).includes('renewed-license-id'));
    });

    it('a failing render (no appSlug) exits 1, shows why, and leaves every file byte-identical', function () {
      const pkg = copyExample(join(EXAMPLES, 'kpt-render'));
      const cfg = join(pkg, 'proxy-private-images.yaml');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^appSlug: acme\n/m, ''));
      const before = treeSnapshot(pkg);
      const r = kptRender(pkg, env);
      assert.equal(r.status, 1);
      const out = r.stdout + r.stderr;
      assert.match(out, /\[FAIL\] "proxy-private-images"/);
      assert.match(out, /appSlug/);
      assertNoLicense(out, 'kpt output');
      assert.deepEqual(treeSnapshot(pkg), before);
    });
  });

  describe('fn eval --image with the locally built container image', function () {
    let ctrEnv: NodeJS.ProcessEnv;
    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      ctrEnv = containerEnv(setupContainerImage());
    });

    it('--network -e LICENSE_ID with --fn-config gives the same package as the exec form', function () {
      this.timeout(120_000);
      const src = join(EXAMPLES, 'kpt-eval');
      const viaImage = copyExample(join(src, 'package'));
      gitSnapshot(viaImage);
      const r = run(
        'kpt',
        ['fn', 'eval', '.', '--image', EXAMPLE_IMAGE, '--network', '-e', 'LICENSE_ID', '--fn-config', join(src, 'fn-config.yaml')],
        { cwd: viaImage, env: ctrEnv },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`\\[PASS\\] "${EXAMPLE_IMAGE.replace(/[./]/g, '\\$&')}"`));
      assertNoLicense(r.stdout + r.stderr, 'kpt output');
      assert.equal(stagedDiff(viaImage), readFileSync(join(src, '.expected', 'diff.patch'), 'utf8'));
    });

    it('without -e the container has no license id: kpt fails and writes nothing', function () {
      this.timeout(120_000);
      const src = join(EXAMPLES, 'kpt-eval');
      const pkg = copyExample(join(src, 'package'));
      const before = treeSnapshot(pkg);
      const r = run('kpt', ['fn', 'eval', '.', '--image', EXAMPLE_IMAGE, '--fn-config', join(src, 'fn-config.yaml')], { cwd: pkg, env: ctrEnv });
      assert.equal(r.status, 1);
      assert.match(r.stdout + r.stderr, /license/i);
      assert.deepEqual(treeSnapshot(pkg), before);
    });
  });
});
