/**
 * The input each `examples/*` folder gives the function, captured from the real tools: kpt fn render / eval,
 * standalone kustomize (exec and container forms) and kubectl kustomize (legacy exec plugin) run the example
 * with a stand-in function that saves its stdin, argv and environment and echoes the input. The golden tier
 * (test/golden.test.ts) runs the function in-process on these inputs; test/integration/testdata-inputs.test.ts
 * checks that the checked-in copies still equal what the tools send.
 *
 *   node --import tsx test/support/capture-inputs.ts           prints which cases differ
 *   node --import tsx test/support/capture-inputs.ts --write   rewrites test/testdata/example-*\/{input.yaml,config.yaml,args,env}
 *
 * The temporary package folder is written as /packages/<example> in the captured text (kpt puts the absolute
 * package path into `internal.config.kubernetes.io/package-path`), so a capture is the same on every machine.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goTool } from './go-tools.js';
import { PROJECT_ROOT } from './podman.js';
import { ensureKrmTools, runOk } from './tools.js';

export const EXAMPLES = join(PROJECT_ROOT, 'examples');
export const TESTDATA = join(PROJECT_ROOT, 'test', 'testdata');

type How =
  | { readonly tool: 'copy'; readonly file: string }
  | { readonly tool: 'kpt-render' }
  | { readonly tool: 'kpt-eval'; readonly dir: string; readonly args: readonly string[] }
  | { readonly tool: 'kustomize' }
  | { readonly tool: 'kubectl-legacy-plugin' }
  /** `helm template REL CHART --post-renderer <fn> --post-renderer-args=--config=FILE` (Helm 3); FILE becomes config.yaml */
  | { readonly tool: 'helm3-post-renderer'; readonly release: string; readonly chart: string; readonly config: string }
  /** standalone kustomize with `--enable-helm` and helm 3 for `helmCharts:` */
  | { readonly tool: 'kustomize-helm' };

export interface ExampleCase {
  /** test/testdata/<case> */
  readonly case: string;
  /** examples/<example> */
  readonly example: string;
  readonly how: How;
  /** CLI arguments, one a line in the case's `args` file (the README's command line). */
  readonly args?: readonly string[];
  /** Lines of the case's `env` file, beyond what the capture records. */
  readonly env?: readonly string[];
}

const GLOB_FLAGS = ['--private', 'quay.io/acme/**', '--private', 'ghcr.io/acme/**', '--public', 'docker.io/library/**'];

/** Every example folder, run as its README says. */
export const EXAMPLE_CASES: readonly ExampleCase[] = [
  { case: 'example-plain', example: 'plain', how: { tool: 'copy', file: 'resourcelist.yaml' }, args: ['--app-slug', 'acme', ...GLOB_FLAGS] },
  { case: 'example-mixed', example: 'mixed', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-custom-domain', example: 'custom-domain', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-kustomization-output', example: 'kustomization-output', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-operator-args', example: 'operator-args', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-operator-args-equals', example: 'operator-args-equals', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-operator-env', example: 'operator-env', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-operator-configmap', example: 'operator-configmap', how: { tool: 'copy', file: 'resourcelist.yaml' } },
  { case: 'example-kpt-render', example: 'kpt-render', how: { tool: 'kpt-render' } },
  // kpt gives a container function in render no environment: the license comes from the package's license.yaml
  { case: 'example-kpt-render-container', example: 'kpt-render-container', how: { tool: 'kpt-render' }, env: ['unset LICENSE_ID'] },
  { case: 'example-namespaces', example: 'namespaces', how: { tool: 'kpt-render' } },
  { case: 'example-vendor-registry', example: 'vendor-registry', how: { tool: 'kpt-render' } },
  { case: 'example-crd-fieldspecs', example: 'crd-fieldspecs', how: { tool: 'kpt-render' } },
  { case: 'example-kpt-eval', example: 'kpt-eval', how: { tool: 'kpt-eval', dir: 'package', args: ['--fn-config', '../fn-config.yaml'] } },
  {
    case: 'example-kpt-eval-configmap',
    example: 'kpt-eval',
    how: { tool: 'kpt-eval', dir: 'package', args: ['--', 'appSlug=acme', 'images.private=quay.io/acme/**,ghcr.io/acme/**', 'images.public=docker.io/library/**'] },
  },
  { case: 'example-kustomize-container', example: 'kustomize-container', how: { tool: 'kustomize' } },
  { case: 'example-kustomize-exec', example: 'kustomize-exec', how: { tool: 'kustomize' } },
  { case: 'example-kustomize-legacy-plugin', example: 'kustomize-legacy-plugin', how: { tool: 'kubectl-legacy-plugin' } },
  {
    case: 'example-helm-post-renderer',
    example: 'helm-post-renderer',
    how: { tool: 'helm3-post-renderer', release: 'shop', chart: 'shop', config: 'proxy-private-images.yaml' },
  },
  { case: 'example-kustomize-helm-charts', example: 'kustomize-helm-charts', how: { tool: 'kustomize-helm' } },
];

/** The files of a case that the capture writes; the expectations are the golden runner's. */
export interface CapturedCase {
  readonly 'input.yaml': string;
  readonly 'config.yaml'?: string;
  readonly args?: string;
  readonly env?: string;
}

/** Saves stdin, argv (and the config file it names) and the plugin variables, then echoes stdin. CommonJS: it runs outside the repo. */
const STAND_IN = `#!/usr/bin/env node
const fs = require('fs');
const dir = process.env.PPI_CAPTURE_DIR;
const n = fs.readdirSync(dir).filter((f) => f.endsWith('.stdin')).length;
const input = fs.readFileSync(0);
fs.writeFileSync(dir + '/' + n + '.stdin', input);
if (process.argv[2]) fs.copyFileSync(process.argv[2], dir + '/' + n + '.config');
const vars = ['KUSTOMIZE_PLUGIN_CONFIG_ROOT'].filter((k) => process.env[k] !== undefined).map((k) => k + '=' + process.env[k]);
fs.writeFileSync(dir + '/' + n + '.env', vars.map((l) => l + '\\n').join(''));
process.stdout.write(input);
`;

/** kpt wants a Docker client version first; every run then starts the stand-in. */
const DOCKER = `#!/bin/sh
if [ "$1" = version ]; then echo 20.10.0; exit 0; fi
exec "$(dirname "$0")/proxy-private-images"
`;

function writeExecutable(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

function lines(values: readonly string[]): string {
  return values.map((v) => `${v}\n`).join('');
}

/** Runs one example through its tool with the stand-in and returns what the function was given. */
export function captureCase(c: ExampleCase): CapturedCase {
  const extraEnv = c.env ?? [];
  if (c.how.tool === 'copy') {
    return {
      'input.yaml': readFileSync(join(EXAMPLES, c.example, c.how.file), 'utf8'),
      ...(c.args && { args: lines(c.args) }),
      ...(extraEnv.length > 0 && { env: lines(extraEnv) }),
    };
  }
  const root = mkdtempSync(join(tmpdir(), 'ppi-capture-'));
  try {
    // <root>/x/y/<example>: the kustomize-exec example's `../../dist/proxy-private-images.js` lands on <root>/x/dist
    const pkg = join(root, 'x', 'y', c.example);
    cpSync(join(EXAMPLES, c.example), pkg, { recursive: true });
    rmSync(join(pkg, '.expected'), { recursive: true, force: true });
    const bin = join(root, 'bin');
    const out = join(root, 'out');
    mkdirSync(out);
    writeExecutable(join(bin, 'proxy-private-images'), STAND_IN);
    writeExecutable(join(bin, 'docker'), DOCKER);
    writeExecutable(join(root, 'x', 'dist', 'proxy-private-images.js'), STAND_IN);
    const pluginHome = join(root, 'plugins');
    writeExecutable(join(pluginHome, 'fn.proxy-private-images.dev', 'v1alpha1', 'proxyprivateimages', 'ProxyPrivateImages'), STAND_IN);
    const env: NodeJS.ProcessEnv = { PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}`, HOME: root, PPI_CAPTURE_DIR: out };

    switch (c.how.tool) {
      case 'kpt-render':
        runOk('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false'], { cwd: pkg, env });
        break;
      case 'kpt-eval':
        runOk('kpt', ['fn', 'eval', '.', '--exec', 'proxy-private-images', '--truncate-output=false', ...c.how.args], { cwd: join(pkg, c.how.dir), env });
        break;
      case 'kustomize':
        runOk(goTool('kustomize'), ['build', '--enable-alpha-plugins', '--enable-exec', '--network', pkg], { env });
        break;
      case 'kubectl-legacy-plugin':
        runOk('kubectl', ['kustomize', '--enable-alpha-plugins', pkg], { env: { ...env, KUSTOMIZE_PLUGIN_HOME: pluginHome } });
        break;
      case 'helm3-post-renderer':
        runOk(goTool('helm3'), ['template', c.how.release, join(pkg, c.how.chart), '--post-renderer', join(bin, 'proxy-private-images')], { env });
        break;
      case 'kustomize-helm':
        runOk(goTool('kustomize'), ['build', '--enable-helm', '--helm-command', goTool('helm3'), '--enable-alpha-plugins', '--enable-exec', pkg], { env });
        break;
    }
    const runs = readdirSync(out).filter((f) => f.endsWith('.stdin'));
    if (runs.length !== 1) throw new Error(`${c.example}: expected the function to run once, it ran ${runs.length} times`);
    const stable = (text: string): string => text.split(join(root, 'x', 'y')).join('/packages');
    const configFile = c.how.tool === 'helm3-post-renderer' ? join(EXAMPLES, c.example, c.how.config) : join(out, '0.config');
    const config = existsSync(configFile) ? stable(readFileSync(configFile, 'utf8')) : undefined;
    const env0 = [...readFileSync(join(out, '0.env'), 'utf8').split('\n').filter(Boolean).map(stable), ...extraEnv];
    return {
      'input.yaml': stable(readFileSync(join(out, '0.stdin'), 'utf8')),
      ...(config !== undefined && { 'config.yaml': config }),
      ...(c.args && { args: lines(c.args) }),
      ...(env0.length > 0 && { env: lines(env0) }),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function checkTools(): void {
  ensureKrmTools();
  goTool('kustomize');
  goTool('helm3');
}

/** The files of `captured` that differ from test/testdata/<case>/ (missing files count; extra capture files are listed too). */
export function differences(c: ExampleCase, captured: CapturedCase): string[] {
  const dir = join(TESTDATA, c.case);
  const out: string[] = [];
  for (const file of ['input.yaml', 'config.yaml', 'args', 'env'] as const) {
    const want = captured[file];
    const path = join(dir, file);
    const have = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (want !== have) out.push(`${c.case}/${file}${have === undefined ? ' is missing' : want === undefined ? ' should not exist' : ' differs'}`);
  }
  return out;
}

export function writeCase(c: ExampleCase, captured: CapturedCase): void {
  const dir = join(TESTDATA, c.case);
  mkdirSync(dir, { recursive: true });
  for (const file of ['input.yaml', 'config.yaml', 'args', 'env'] as const) {
    const path = join(dir, file);
    const text = captured[file];
    if (text === undefined) rmSync(path, { force: true });
    else writeFileSync(path, text);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const write = process.argv.includes('--write');
  checkTools();
  let differ = 0;
  for (const c of EXAMPLE_CASES) {
    const captured = captureCase(c);
    const diff = differences(c, captured);
    if (write) writeCase(c, captured);
    for (const d of diff) console.log(write ? `wrote ${d.replace(/ (is missing|differs|should not exist)$/, '')}` : d);
    differ += diff.length;
  }
  if (!write && differ > 0) process.exitCode = 1;
}
