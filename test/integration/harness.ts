/**
 * Shared pieces of the integration tests: temp copies of example folders, git snapshots for package diffs, the
 * environment the real tools run in, golden-file comparison (UPDATE_EXPECTED=1 rewrites the files).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { GO_TOOL_BUILD_TIMEOUT_MS, toolBinDir } from '../support/go-tools.js';
import { PROJECT_ROOT } from '../support/podman.js';
import type { ContainerSetup } from '../support/podman.js';
import { ensureBundle, ensureKrmTools, run, runOk, writePipeBin } from '../support/tools.js';
import type { Ran } from '../support/tools.js';

export const EXAMPLES = join(PROJECT_ROOT, 'examples');
/** The fake license id every example uses (env LICENSE_ID, or license.yaml for container functions in kpt render). */
export const LICENSE = 'example-license-id';
export const UPDATE = process.env.UPDATE_EXPECTED === '1';

const temps: string[] = [];

export function tempDir(prefix = 'ppi-it-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Removes every temp folder made so far (call from an `after` hook). */
export function cleanTemps(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Copies `src` (an example folder) into a fresh temp folder, without `.expected/`. */
export function copyExample(src: string, name = 'pkg'): string {
  const dir = join(tempDir(), name);
  cpSync(src, dir, { recursive: true });
  rmSync(join(dir, '.expected'), { recursive: true, force: true });
  return dir;
}

/**
 * For `before` hooks that call execSetup or containerEnv: standalone kustomize may be built first (go-tools.ts), and
 * the container image (podman.ts) takes minutes on a new machine.
 */
export const SETUP_TIMEOUT_MS = GO_TOOL_BUILD_TIMEOUT_MS + 30 * 60_000;

let binDir: string | undefined;
let kustomizeDir: string | undefined;

/**
 * Tools checked, bundle present; `env` has on PATH a folder holding only a copy of the bundle as
 * `proxy-private-images`, and one holding only the pinned standalone `kustomize`.
 */
export function execSetup(): { bin: string; env: NodeJS.ProcessEnv } {
  ensureKrmTools();
  ensureBundle();
  kustomizeDir ??= toolBinDir('kustomize');
  if (binDir === undefined) {
    // shared by every test file of this run, so not in `temps` (each file's after hook empties those)
    const dir = mkdtempSync(join(tmpdir(), 'ppi-pipebin-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    binDir = writePipeBin(dir);
  }
  return { bin: binDir, env: withBin(process.env, binDir) };
}

function withBin(base: NodeJS.ProcessEnv, bin: string): NodeJS.ProcessEnv {
  const path = [bin, ...(kustomizeDir ? [kustomizeDir] : []), base.PATH ?? ''].join(delimiter);
  return { ...base, PATH: path, LICENSE_ID: LICENSE };
}

/** The environment for runs that may start containers: the docker wrapper and the pipe BIN first on PATH. */
export function containerEnv(setup: ContainerSetup): NodeJS.ProcessEnv {
  const { bin } = execSetup();
  return withBin(setup.env, bin);
}

/** `git init` + commit of everything in `dir`, so `stagedDiff` shows what a tool changed. */
export function gitSnapshot(dir: string): void {
  if (!existsSync(join(dir, '.git'))) runOk('git', ['init', '-q'], { cwd: dir });
  commitAll(dir);
}

const GIT_ID = ['-c', 'user.name=ppi-tests', '-c', 'user.email=tests@proxy-private-images.invalid', '-c', 'commit.gpgsign=false'];

function commitAll(dir: string): void {
  runOk('git', ['add', '-A'], { cwd: dir });
  runOk('git', [...GIT_ID, 'commit', '-q', '--allow-empty', '-m', 'snapshot'], { cwd: dir });
}

/** The package diff since the last snapshot (new files included); takes a new snapshot afterwards. */
export function stagedDiff(dir: string): string {
  runOk('git', ['add', '-A'], { cwd: dir });
  const diff = runOk('git', ['-c', 'core.quotepath=false', 'diff', '--cached', '--no-color', '--no-ext-diff'], { cwd: dir }).stdout;
  commitAll(dir);
  return diff;
}

/** Every file under `dir` (but .git) with its bytes, to prove that a failed run changed nothing. */
export function treeSnapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (name === '.git') continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'latin1'));
    }
  };
  walk(dir);
  return out;
}

/** Compares `actual` with the golden file, or writes it when UPDATE_EXPECTED=1. */
export function expectGolden(file: string, actual: string): void {
  if (UPDATE) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `${relative(PROJECT_ROOT, file)} is missing; run the tests with UPDATE_EXPECTED=1 once and review it`);
  assert.equal(actual, readFileSync(file, 'utf8'), `output differs from ${relative(PROJECT_ROOT, file)}`);
}

/** Fails when the plain license id shows anywhere in `text` (base64 inside a Secret's data does not match). */
export function assertNoLicense(text: string, where: string): void {
  assert.ok(!text.includes(LICENSE), `the license id leaked into ${where}`);
}

/** kpt fn render in `dir` (kpt's cwd is the package, so relative exec paths resolve there). */
export function kptRender(dir: string, env: NodeJS.ProcessEnv, extra: readonly string[] = []): Ran {
  return run('kpt', ['fn', 'render', '.', '--allow-exec', '--truncate-output=false', ...extra], { cwd: dir, env });
}

export { run, runOk };

/**
 * The fenced code block that follows `<!-- snippet: NAME -->` in a Markdown file: the recipe exactly as a user
 * copies it, for tests that run it.
 */
export function snippet(markdownFile: string, name: string): string {
  const text = readFileSync(markdownFile, 'utf8');
  const marker = `<!-- snippet: ${name} -->`;
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `${relative(PROJECT_ROOT, markdownFile)} has no ${marker}`);
  const m = /^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```/m.exec(text.slice(at + marker.length));
  assert.ok(m, `no code block after ${marker} in ${relative(PROJECT_ROOT, markdownFile)}`);
  const indent = /^[ \t]*/.exec(m[1]!)![0];
  return m[1]!
    .split('\n')
    .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
    .join('\n');
}
