/**
 * What a fresh clone ships and what it depends on:
 * - `npm pack` in a copy of the working tree without dist/ (as a fresh clone has it) builds first (prepack) and
 *   packs the executable, alone, and the GitOps scripts; installing the tarball offline gives working commands;
 * - one image tag everywhere: every reference to the released image uses the package version;
 * - nothing in the repository reads the shared folder beside the clone (it exists on the build machines only).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IMAGE_REPOSITORY, PACKAGE_VERSION, PROJECT_ROOT } from '../support/podman.js';
import { cleanTemps, execSetup, run, runOk, SETUP_TIMEOUT_MS, tempDir } from './harness.js';

/** Tracked and new files of the working tree, as a clone of this branch would have them. */
function workingTreeFiles(): string[] {
  return runOk('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: PROJECT_ROOT })
    .stdout.split('\0')
    .filter((f) => f !== '' && existsSync(join(PROJECT_ROOT, f)));
}

describe('the package a fresh clone makes', function () {
  after(cleanTemps);

  describe('npm pack, then npm install of the tarball', function () {
    let env: NodeJS.ProcessEnv;
    let files: Map<string, number>;
    let prefix: string;

    before(function () {
      this.timeout(SETUP_TIMEOUT_MS);
      env = execSetup().env;
      const clone = tempDir('ppi-clone-');
      for (const f of workingTreeFiles()) {
        mkdirSync(dirname(join(clone, f)), { recursive: true });
        cpSync(join(PROJECT_ROOT, f), join(clone, f));
      }
      assert.ok(!existsSync(join(clone, 'dist')), 'the copy starts without dist/, as a clone does');
      symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(clone, 'node_modules'));
      const out = tempDir('ppi-pack-');
      const packed = runOk('npm', ['pack', '--json', '--pack-destination', out], { cwd: clone, env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 600_000 });
      const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string; mode: number }[] }[];
      files = new Map(info[0]!.files.map((f) => [f.path, f.mode]));
      prefix = tempDir('ppi-prefix-');
      runOk('npm', ['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(out, info[0]!.filename)], { env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 300_000 });
    });

    it('packs the executable alone (built by prepack), the GitOps scripts and the schema', function () {
      assert.equal(files.get('dist/proxy-private-images.js'), 0o755);
      assert.deepEqual([...files.keys()].filter((f) => f.startsWith('dist/')), ['dist/proxy-private-images.js'], 'the executable is one file');
      for (const script of ['gitops/flux/render.sh', 'gitops/flux/render-kpt.sh']) assert.equal(files.get(script), 0o755, script);
      for (const f of ['gitops/argocd/plugin.yaml', 'functionconfig/proxy-private-images.v1alpha1.schema.json', 'package.json', 'README.md']) {
        assert.ok(files.has(f), `${f} is in the package`);
      }
      assert.ok(![...files.keys()].some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests');
    });

    it('npm install --offline of the tarball gives the three commands, which work', function () {
      const bin = join(prefix, 'bin');
      assert.match(runOk(join(bin, 'proxy-private-images'), ['--version']).stdout, new RegExp(`^proxy-private-images ${PACKAGE_VERSION.replaceAll('.', '\\.')}$`, 'm'));
      const out = join(tempDir(), 'rendered');
      const pathEnv = { ...env, PATH: `${bin}:${env['PATH']}` };
      const r = run(join(bin, 'proxy-private-images-render'), [join(PROJECT_ROOT, 'gitops', 'flux', 'example'), out], { env: pathEnv });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(out, 'resources.yaml'), 'utf8'), readFileSync(join(PROJECT_ROOT, 'gitops', 'flux', 'example', '.expected', 'resources.yaml'), 'utf8'));
      const kptOut = join(tempDir(), 'prod');
      const k = run(join(bin, 'proxy-private-images-render-kpt'), [join(PROJECT_ROOT, 'gitops', 'flux', 'example'), kptOut], { env: pathEnv });
      assert.equal(k.status, 0, k.stderr);
      assert.ok(statSync(join(kptOut, 'acme', 'secret_acme-registry.yaml')).isFile());
    });
  });

  it(`every tagged reference to ${IMAGE_REPOSITORY} uses the package version (${PACKAGE_VERSION})`, function () {
    const found: string[] = [];
    for (const f of workingTreeFiles()) {
      if (f.startsWith('test/') || statSync(join(PROJECT_ROOT, f)).size > 1_000_000) continue;
      const text = readFileSync(join(PROJECT_ROOT, f), 'utf8');
      // the untagged name (a catalog's metadata) is fine; a tag must be the version
      for (const m of text.matchAll(new RegExp(`${IMAGE_REPOSITORY.replaceAll('.', '\\.')}:[^\\s"'\`/]*`, 'g'))) found.push(`${f}: ${m[0]}`);
    }
    assert.ok(found.length >= 5, `expected the README, examples and Dockerfile to name the image, found ${found.length}`);
    const wrong = found.filter((x) => !x.endsWith(`${IMAGE_REPOSITORY}:${PACKAGE_VERSION}`));
    assert.deepEqual(wrong, []);
  });

  it('no code, test, script or config reads the shared folder beside the clone (only .ci/run points an environment variable at it)', function () {
    const offenders: string[] = [];
    for (const f of workingTreeFiles()) {
      if (f === '.ci/run' || f === 'test/integration/package.test.ts' || f.endsWith('.md') || statSync(join(PROJECT_ROOT, f)).size > 1_000_000) continue;
      const lines = readFileSync(join(PROJECT_ROOT, f), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/\.\.\/shared\b|'\.\.', 'shared'|"\.\.", "shared"|\/shared\/(realworld|tools|docs)/.test(line)) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });
});
