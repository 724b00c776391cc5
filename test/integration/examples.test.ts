/**
 * Every folder in examples/ runs through the real tool it documents (kpt, kubectl kustomize, standalone kustomize,
 * the CLI, the container image through podman), offline: all decisions come from images.private / images.public. The output is compared
 * with the folder's `.expected/` (UPDATE_EXPECTED=1 rewrites them), and a second run on the output changes nothing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { resourceListToStream } from '../helpers/stream.js';
import { setupContainerImage } from '../support/podman.js';
import {
  assertNoLicense,
  cleanTemps,
  containerEnv,
  copyExample,
  EXAMPLES,
  execSetup,
  expectGolden,
  gitSnapshot,
  kptRender,
  run,
  SETUP_TIMEOUT_MS,
  stagedDiff,
  tempDir,
} from './harness.js';

type Runner = 'plain' | 'kpt-render' | 'kpt-eval' | 'kustomize' | 'kustomize-exec' | 'kustomize-legacy';

interface Case {
  readonly runner: Runner;
  readonly container?: boolean;
  /** CLI flags for `plain` */
  readonly args?: readonly string[];
}

const GLOB_FLAGS = ['--private', 'quay.io/acme/**', '--private', 'ghcr.io/acme/**', '--public', 'docker.io/library/**'];

const CASES: Readonly<Record<string, Case>> = {
  plain: { runner: 'plain', args: ['--app-slug', 'acme', ...GLOB_FLAGS] },
  mixed: { runner: 'plain' },
  'custom-domain': { runner: 'plain' },
  'kustomization-output': { runner: 'plain' },
  'operator-args': { runner: 'plain' },
  'operator-args-equals': { runner: 'plain' },
  'operator-env': { runner: 'plain' },
  'operator-configmap': { runner: 'plain' },
  'kpt-eval': { runner: 'kpt-eval' },
  'kpt-render': { runner: 'kpt-render' },
  'kpt-render-container': { runner: 'kpt-render', container: true },
  namespaces: { runner: 'kpt-render' },
  'vendor-registry': { runner: 'kpt-render' },
  'crd-fieldspecs': { runner: 'kpt-render' },
  'kustomize-container': { runner: 'kustomize', container: true },
  'kustomize-exec': { runner: 'kustomize-exec' },
  'kustomize-legacy-plugin': { runner: 'kustomize-legacy' },
};

const EVAL_KEY_VALUES = ['appSlug=acme', 'images.private=quay.io/acme/**,ghcr.io/acme/**', 'images.public=docker.io/library/**'];

/** The items of a ResourceList, without its results (a second run reports what it left alone, not what it changed). */
function itemsOf(resourceList: string): unknown {
  return (parse(resourceList) as { items: unknown }).items;
}

/** `kubectl kustomize DIR --enable-alpha-plugins` or, with `standalone`, `kustomize build DIR --enable-alpha-plugins`. */
function kustomizeBuild(dir: string, env: NodeJS.ProcessEnv, extra: readonly string[] = [], standalone = false): string {
  const [cmd, args] = standalone ? ['kustomize', ['build', dir, '--enable-alpha-plugins', ...extra]] as const : ['kubectl', ['kustomize', '--enable-alpha-plugins', ...extra, dir]] as const;
  const r = run(cmd, args, { env });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  assertNoLicense(r.stdout.replace(/\.dockerconfigjson: \S+/g, ''), 'kustomize stdout outside the Secret data');
  assertNoLicense(r.stderr, 'kustomize stderr');
  return r.stdout;
}

/**
 * Second kustomize run: the first output becomes the resources of a kustomization with the same transformer.
 * The build must succeed (no "generated duplicate resource") and give the same objects back.
 */
function kustomizeAgain(
  firstOutput: string,
  transformerConfig: string,
  env: NodeJS.ProcessEnv,
  extra: readonly string[],
  pluginHome?: string,
  standalone = false,
): void {
  const dir = tempDir();
  writeFileSync(join(dir, 'rendered.yaml'), firstOutput);
  writeFileSync(join(dir, 'proxy-private-images.yaml'), transformerConfig);
  writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - rendered.yaml\ntransformers:\n  - proxy-private-images.yaml\n');
  const second = kustomizeBuild(dir, pluginHome ? { ...env, KUSTOMIZE_PLUGIN_HOME: pluginHome } : env, extra, standalone);
  const objs = (text: string): unknown[] => parseAllDocuments(text).map((d) => d.toJS());
  assert.deepEqual(objs(second), objs(firstOutput));
}

/** The exec form's config with its `path:` pointing elsewhere (the copied bundle), for a build outside the example. */
function execAt(configText: string, path: string): string {
  const converted = configText.replace(/(exec:\n\s+path: )\S+\n/, `$1${path}\n`);
  assert.notEqual(converted, configText, 'the kustomize-exec example no longer has the exec annotation this test rewrites');
  return converted;
}

describe('examples/ run through their real tools', function () {
  let execEnv: NodeJS.ProcessEnv;
  let execBin: string;
  let ctrEnv: NodeJS.ProcessEnv;

  before(function () {
    this.timeout(SETUP_TIMEOUT_MS);
    ({ env: execEnv, bin: execBin } = execSetup());
    ctrEnv = containerEnv(setupContainerImage());
  });

  after(cleanTemps);

  it('every example folder has a runner here and an .expected/ folder', function () {
    // the Helm examples run in test/helm/examples.test.ts (real helm 3 and 4)
    const elsewhere = new Set(['helm-post-renderer', 'kustomize-helm-charts']);
    const dirs = readdirSync(EXAMPLES).filter((d) => statSync(join(EXAMPLES, d)).isDirectory() && !elsewhere.has(d));
    assert.ok(dirs.length > 0, 'no examples found');
    assert.deepEqual([...dirs].sort(), Object.keys(CASES).sort());
  });

  for (const [name, c] of Object.entries(CASES)) {
    const src = join(EXAMPLES, name);
    const expected = join(src, '.expected');

    it(`${name}: ${c.runner}${c.container ? ' (container image)' : ''} gives .expected/ and a second run changes nothing`, function () {
      this.timeout(180_000);
      const env = c.container ? ctrEnv : execEnv;
      switch (c.runner) {
        case 'plain': {
          const input = readFileSync(join(src, 'resourcelist.yaml'), 'utf8');
          const first = run('proxy-private-images', c.args ?? [], { input, env });
          assert.equal(first.status, 0, first.stderr);
          assertNoLicense(first.stderr, 'stderr');
          assertNoLicense(first.stdout.replace(/\.dockerconfigjson: \S+/g, ''), 'stdout outside the Secret data');
          expectGolden(join(expected, 'output.yaml'), first.stdout);
          if (name === 'kustomization-output') {
            // its output is an overlay, not resources: a second run of the function over the overlay is meaningless
            return;
          }
          const again = run('proxy-private-images', c.args ?? [], { input: first.stdout, env });
          assert.equal(again.status, 0, again.stderr);
          assert.deepEqual(itemsOf(again.stdout), itemsOf(first.stdout));
          return;
        }
        case 'kpt-render': {
          const pkg = copyExample(src);
          gitSnapshot(pkg);
          const first = kptRender(pkg, env);
          assert.equal(first.status, 0, first.stderr + first.stdout);
          assert.match(first.stderr + first.stdout, /\[info\].*pull Secret/, 'kpt shows the function results');
          assertNoLicense(first.stderr + first.stdout, 'kpt output');
          expectGolden(join(expected, 'diff.patch'), stagedDiff(pkg));
          const second = kptRender(pkg, env);
          assert.equal(second.status, 0, second.stderr);
          assert.equal(stagedDiff(pkg), '', 'a second kpt fn render changed the package');
          return;
        }
        case 'kpt-eval': {
          const variants: [string, string[]][] = [
            ['--fn-config', ['--fn-config', join(src, 'fn-config.yaml')]],
            ['-- key=value', ['--', ...EVAL_KEY_VALUES]],
          ];
          for (const [label, args] of variants) {
            const pkg = copyExample(join(src, 'package'));
            gitSnapshot(pkg);
            const evalArgs = ['fn', 'eval', '.', '--exec', 'proxy-private-images', '--truncate-output=false', ...args];
            const first = run('kpt', evalArgs, { cwd: pkg, env });
            assert.equal(first.status, 0, `${label}: ${first.stderr}`);
            assertNoLicense(first.stderr + first.stdout, 'kpt output');
            expectGolden(join(expected, 'diff.patch'), stagedDiff(pkg));
            const second = run('kpt', evalArgs, { cwd: pkg, env });
            assert.equal(second.status, 0, second.stderr);
            assert.equal(stagedDiff(pkg), '', `${label}: a second kpt fn eval changed the package`);
          }
          return;
        }
        case 'kustomize': {
          // the container form, under kubectl's kustomize and under standalone kustomize: the same output
          const out = kustomizeBuild(src, env, ['--network']);
          expectGolden(join(expected, 'output.yaml'), out);
          kustomizeAgain(out, readFileSync(join(src, 'proxy-private-images.yaml'), 'utf8'), env, ['--network']);
          assert.equal(kustomizeBuild(src, env, ['--network'], true), out, 'standalone kustomize gives what kubectl kustomize gives');
          return;
        }
        case 'kustomize-exec': {
          // as its README says: standalone kustomize, in the example folder, the exec path relative to it
          const out = kustomizeBuild(src, env, ['--enable-exec'], true);
          expectGolden(join(expected, 'output.yaml'), out);
          const fn = join(execBin, 'proxy-private-images');
          kustomizeAgain(out, execAt(readFileSync(join(src, 'proxy-private-images.yaml'), 'utf8'), fn), env, ['--enable-exec'], undefined, true);
          return;
        }
        case 'kustomize-legacy': {
          const home = join(src, 'plugin');
          const out = kustomizeBuild(src, { ...env, KUSTOMIZE_PLUGIN_HOME: home });
          expectGolden(join(expected, 'output.yaml'), out);
          kustomizeAgain(out, readFileSync(join(src, 'proxy-private-images.yaml'), 'utf8'), env, [], home);
          return;
        }
      }
    });
  }

  it('kustomization-output: kustomize applying the emitted overlay to the unchanged manifests gives what output: resources gives', function () {
    this.timeout(60_000);
    const src = join(EXAMPLES, 'kustomization-output');
    const input = readFileSync(join(src, 'resourcelist.yaml'), 'utf8');
    const overlay = run('proxy-private-images', [], { input, env: execEnv });
    assert.equal(overlay.status, 0, overlay.stderr);
    const asResources = input.replace(/^  output: kustomization$/m, '  output: resources');
    assert.notEqual(asResources, input);
    const mutated = run('proxy-private-images', [], { input: asResources, env: execEnv });
    assert.equal(mutated.status, 0, mutated.stderr);

    const items = (parse(overlay.stdout) as { items: Record<string, unknown>[] }).items;
    const kustomization = items.find((i) => i['kind'] === 'Kustomization')!;
    const secrets = items.filter((i) => i['kind'] === 'Secret');
    assert.ok(kustomization && secrets.length > 0);
    const a = tempDir();
    writeFileSync(join(a, 'resources.yaml'), resourceListToStream(input));
    writeFileSync(join(a, 'secrets.yaml'), secrets.map((x) => stringify(x)).join('---\n'));
    writeFileSync(join(a, 'kustomization.yaml'), stringify({ ...kustomization, resources: ['resources.yaml', 'secrets.yaml'] }));
    const b = tempDir();
    writeFileSync(join(b, 'all.yaml'), resourceListToStream(mutated.stdout));
    writeFileSync(join(b, 'kustomization.yaml'), 'resources:\n  - all.yaml\n');
    const objs = (dir: string): unknown[] => parseAllDocuments(kustomizeBuild(dir, execEnv)).map((d) => d.toJS());
    assert.deepEqual(objs(a), objs(b));
  });

  it('the kustomize exec, container and legacy-plugin examples agree (same input, same output)', function () {
    const read = (n: string): string => readFileSync(join(EXAMPLES, n, '.expected', 'output.yaml'), 'utf8');
    assert.equal(read('kustomize-exec'), read('kustomize-container'));
    assert.equal(read('kustomize-legacy-plugin'), read('kustomize-container'));
  });

  it('the plain example\'s output, unwrapped, is the stream `--stream` prints for the same items', function () {
    const rl = readFileSync(join(EXAMPLES, 'plain', '.expected', 'output.yaml'), 'utf8');
    const input = resourceListToStream(readFileSync(join(EXAMPLES, 'plain', 'resourcelist.yaml'), 'utf8'));
    const r = run('proxy-private-images', ['--stream', ...(CASES.plain!.args ?? [])], { input, env: execEnv });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, resourceListToStream(rl));
  });
});
