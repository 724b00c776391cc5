/**
 * The real orchestrators the integration tests drive: kpt and kubectl (its embedded kustomize v5 runs container KRM
 * functions and legacy exec plugins). Present → version checked; missing → installed with apt where this machine's
 * apt sources offer them (kubectl, google-cloud-cli-kpt); otherwise a loud failure that says what to install.
 * Standalone kustomize, helm and crane come from go-tools.ts (built with `go install`, cached outside the repo).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { aptInstall, hasCommand, PROJECT_ROOT } from './podman.js';

export const BUNDLE = join(PROJECT_ROOT, 'dist', 'proxy-private-images.js');

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args as string[], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000, ...opts });
  if (r.error) throw new Error(`could not run ${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/**
 * Like `run`, without blocking this process: for commands that talk to servers running in the test's own event
 * loop (token issuers, misbehaving registries), which spawnSync would starve. Killed after `timeoutMs`.
 */
export function runAsync(cmd: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${cmd} ${args.join(' ')}: ${e.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Like `run`, but throws with both streams when the exit code is not 0. */
export function runOk(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): Ran {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r;
}

function tryApt(pkg: string, why: string): void {
  try {
    aptInstall([pkg], why);
  } catch (e) {
    throw new Error(
      `${why}. Installing it with apt failed (${(e as Error).message.split('\n')[0]}). ` +
        `Install ${pkg} by hand (Google Cloud SDK apt repository, package "${pkg}") and run the tests again.`,
    );
  }
}

let checked = false;

/** kpt ≥ 1.0.0-beta and kubectl with kustomize ≥ v5; installs or fails loudly. */
export function ensureKrmTools(): void {
  if (checked) return;
  if (!hasCommand('kpt')) tryApt('google-cloud-cli-kpt', 'the integration tests need kpt (1.0.0-beta.50 or later)');
  if (!hasCommand('kubectl')) tryApt('kubectl', 'the integration tests need kubectl with kustomize v5 embedded');
  const kpt = runOk('kpt', ['version']).stdout.trim();
  if (!/^v?1\.0\.0/.test(kpt)) throw new Error(`kpt 1.0.0 (beta) is needed, found ${kpt}`);
  const kv = JSON.parse(runOk('kubectl', ['version', '--client', '-o', 'json']).stdout) as { kustomizeVersion?: string };
  const major = /^v(\d+)\./.exec(kv.kustomizeVersion ?? '')?.[1];
  if (major === undefined || Number(major) < 5) {
    throw new Error(`kubectl must embed kustomize v5 or later (found ${kv.kustomizeVersion ?? 'none'}); Debian's kubernetes-client is too old`);
  }
  if (!hasCommand('git')) aptInstall(['git'], 'the integration tests diff packages with git');
  checked = true;
}

/** Fails loudly when the bundle is missing (`npm test` builds it first). */
export function ensureBundle(): string {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first (npm test does)`);
  return BUNDLE;
}

/**
 * A BIN folder for pipes, as a user's machine has it: `proxy-private-images` is a copy of the bundle ALONE in it
 * (nothing beside it: the file is the whole function). Standalone kustomize goes on PATH from `toolBinDir`.
 */
export function writePipeBin(binDir: string): string {
  mkdirSync(binDir, { recursive: true });
  const fn = join(binDir, 'proxy-private-images');
  if (!existsSync(fn)) {
    copyFileSync(ensureBundle(), fn);
    chmodSync(fn, 0o755);
  }
  return binDir;
}
