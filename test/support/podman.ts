/**
 * Builds and runs the function's container image for real, with podman, on machines without a Docker engine or a
 * reachable container registry.
 *
 * - podman's state is private to these tests: `containers.conf` (ulimits the sandbox allows, runc) and `storage.conf`
 *   (overlay, graphroot/runroot) under PPI_PODMAN_DIR (default /var/tmp/ppi-podman), so the ~260 MB stand-in base image
 *   is built once per machine and reused by later test runs.
 * - The base image `docker.io/library/node:22-bookworm-slim` comes from scripts/node-base-image.sh: the real one when
 *   podman has it or can pull it (PPI_BASE_IMAGE_PULL=never skips the pull), else a stand-in built from Debian and
 *   npm packages (about a minute, once per machine).
 * - Our image is built from the project's Dockerfile with `--pull=never` and tagged with every name the examples use.
 * - A `docker` wrapper (kpt and kustomize call `docker`) goes into a temp BIN dir that callers put first on PATH.
 *
 * Everything runs under `flock` on a lock file next to the storage, so two test runs on one machine do not build at
 * once. Missing packages are installed with apt (root); anything else that is missing fails loudly.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BASE_IMAGE = 'docker.io/library/node:22-bookworm-slim';
export const BASE_IMAGE_SCRIPT = join(PROJECT_ROOT, 'scripts', 'node-base-image.sh');
/** The name the tests build; the other tags are the names examples and docs use. */
export const IMAGE = 'localhost/proxy-private-images:dev';
/** The released image's name: the README, the examples and the Dockerfile's comment all use this tag. */
export const IMAGE_REPOSITORY = 'ghcr.io/proxy-private-images/proxy-private-images';
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const EXAMPLE_IMAGE = `${IMAGE_REPOSITORY}:${PACKAGE_VERSION}`;
export const IMAGE_TAGS: readonly string[] = [IMAGE, EXAMPLE_IMAGE];

const APT_PACKAGES: Readonly<Record<string, string>> = {
  podman: 'podman',
  runc: 'runc',
  mmdebstrap: 'mmdebstrap',
  newuidmap: 'uidmap',
  flock: 'util-linux',
};

export interface ContainerSetup {
  /** Folder with containers.conf and storage.conf. */
  readonly confDir: string;
  /** Temp folder holding the `docker` wrapper; put first on PATH (done in `env`). */
  readonly binDir: string;
  /** process.env plus CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and PATH with binDir first. */
  readonly env: NodeJS.ProcessEnv;
  readonly image: string;
  /** Removes binDir. The image and the storage stay (they are the cache). */
  dispose(): void;
}

function sh(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args as string[], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export function hasCommand(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return sh('sh', ['-c', `command -v "$1" >/dev/null 2>&1`, 'sh', name], { env }).status === 0;
}

let aptUpdated = false;
/** Installs Debian packages when a command is missing; fails loudly when that is impossible. */
export function aptInstall(packages: readonly string[], why: string): void {
  if (packages.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${why}: missing ${packages.join(', ')}; install them (apt-get install ${packages.join(' ')}) or run the tests as root`);
  }
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  if (!aptUpdated) {
    const u = sh('apt-get', [...lock, 'update'], { timeout: 600_000 });
    if (u.status !== 0) throw new Error(`${why}: apt-get update failed:\n${u.stderr}`);
    aptUpdated = true;
  }
  const r = sh('apt-get', ['install', '-y', '--no-install-recommends', ...lock, ...packages], {
    timeout: 900_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`${why}: apt-get install ${packages.join(' ')} failed:\n${r.stderr}`);
}

export function ensureContainerTools(): void {
  const missing = Object.entries(APT_PACKAGES)
    .filter(([cmd]) => !hasCommand(cmd))
    .map(([, pkg]) => pkg);
  aptInstall([...new Set(missing)], 'building the container image needs podman, runc, mmdebstrap and uidmap');
}

export function podmanRoot(): string {
  return resolve(process.env.PPI_PODMAN_DIR ?? '/var/tmp/ppi-podman');
}

/** Writes the private podman configuration (idempotent) and returns its folder. */
export function writePodmanConfig(root = podmanRoot()): string {
  const confDir = join(root, 'conf');
  mkdirSync(confDir, { recursive: true });
  writeFileSync(
    join(confDir, 'containers.conf'),
    [
      '# written by test/support/podman.ts: private podman settings for the tests',
      '[containers]',
      '# the sandbox cannot raise ulimits',
      'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
      '',
      '[engine]',
      '# crun fails with cgroups in hybrid mode',
      'runtime = "runc"',
      `tmp_dir = "${join(root, 'tmp')}"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(confDir, 'storage.conf'),
    [
      '# written by test/support/podman.ts',
      '[storage]',
      'driver = "overlay"',
      `graphroot = "${join(root, 'storage')}"`,
      `runroot = "${join(root, 'run')}"`,
      '',
    ].join('\n'),
  );
  return confDir;
}

export function podmanEnv(confDir: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    CONTAINERS_CONF: join(confDir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(confDir, 'storage.conf'),
  };
}

/** The `docker` wrapper from container-build.md: kpt needs a Docker-style client version, podman takes the rest as is. */
export function dockerWrapperScript(confDir: string): string {
  return [
    '#!/bin/sh',
    `export CONTAINERS_CONF=${confDir}/containers.conf`,
    `export CONTAINERS_STORAGE_CONF=${confDir}/storage.conf`,
    '# kpt refuses a Docker client older than 20.10.0; podman would answer 4.x',
    'if [ "$1" = version ] && [ "$2" = --format ]; then echo 20.10.0; exit 0; fi',
    'exec podman "$@"',
    '',
  ].join('\n');
}

export function writeDockerWrapper(binDir: string, confDir: string): string {
  mkdirSync(binDir, { recursive: true });
  const path = join(binDir, 'docker');
  writeFileSync(path, dockerWrapperScript(confDir));
  chmodSync(path, 0o755);
  return path;
}

/**
 * The build sequence, as one shell script so that it runs under a single `flock`:
 * base image only when missing from the private storage, then our image, then its tags.
 */
function buildScript(): string {
  return `set -eu
if ! podman image exists "$BASE_IMAGE"; then
  echo "proxy-private-images tests: providing the base image $BASE_IMAGE (first run on this machine, about a minute)" >&2
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  TAG="$BASE_IMAGE" ENGINE=podman PULL="$PULL" bash "$BASE_IMAGE_SCRIPT" >"$log" 2>&1 || { cat "$log" >&2; exit 4; }
fi
# the build stage gets a name too, so its npm ci layer stays cached while dangling leftovers are pruned
podman build --pull=never -q -f "$PROJECT_ROOT/Dockerfile" --target build -t "$IMAGE-build" "$PROJECT_ROOT" >/dev/null
podman build --pull=never -q -f "$PROJECT_ROOT/Dockerfile" -t "$IMAGE" "$PROJECT_ROOT" >/dev/null
for t in $EXTRA_TAGS; do podman tag "$IMAGE" "$t"; done
podman image prune -f >/dev/null 2>&1 || true
`;
}

/** Builds (or refreshes) the function image in the private storage. Slow the first time on a machine (~75 s). */
export function buildFunctionImage(confDir: string, root = podmanRoot()): void {
  const env = {
    ...podmanEnv(confDir),
    BASE_IMAGE,
    BASE_IMAGE_SCRIPT,
    PULL: process.env['PPI_BASE_IMAGE_PULL'] ?? 'try',
    PROJECT_ROOT,
    IMAGE,
    EXTRA_TAGS: IMAGE_TAGS.filter((t) => t !== IMAGE).join(' '),
  };
  const r = sh('flock', ['-w', '1200', join(root, '.lock'), 'bash', '-c', buildScript()], { env, timeout: 1_500_000, cwd: PROJECT_ROOT });
  if (r.status !== 0) {
    throw new Error(`building the container image failed (exit ${r.status}):\n${r.stderr.slice(-8000)}`);
  }
}

/**
 * `podman build --pull=never -t TAG CONTEXT` into the private storage, under the same lock as the function image
 * (for images the tests make from a recipe: the Argo CD sidecar, stand-ins for images no registry here serves).
 */
export function buildImage(setup: ContainerSetup, contextDir: string, tag: string, dockerfile = join(contextDir, 'Dockerfile')): void {
  const r = sh('flock', ['-w', '1200', join(podmanRoot(), '.lock'), 'podman', 'build', '--pull=never', '-q', '-f', dockerfile, '-t', tag, contextDir], {
    env: setup.env,
    timeout: 1_500_000,
  });
  if (r.status !== 0) throw new Error(`podman build -t ${tag} failed (exit ${r.status}):\n${r.stderr.slice(-8000)}`);
}

let shared: ContainerSetup | undefined;

/**
 * Everything a container test needs, once per test process: tools, config, image, docker wrapper.
 * Call from a `before` hook with a generous timeout.
 */
export function setupContainerImage(): ContainerSetup {
  if (shared) return shared;
  ensureContainerTools();
  const root = podmanRoot();
  const confDir = writePodmanConfig(root);
  buildFunctionImage(confDir, root);
  const binDir = mkdtempSync(join(tmpdir(), 'ppi-bin-'));
  writeDockerWrapper(binDir, confDir);
  const env = podmanEnv(confDir, { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}` });
  const setup: ContainerSetup = {
    confDir,
    binDir,
    env,
    image: IMAGE,
    dispose() {
      if (existsSync(binDir)) rmSync(binDir, { recursive: true, force: true });
    },
  };
  shared = setup;
  process.once('exit', () => setup.dispose());
  return setup;
}

/**
 * Runs the image the way kpt does (no network, `nobody`, read-only root), with stdin; returns what it printed.
 * `extra` goes before the image name (e.g. `['-e', 'LICENSE_ID']`).
 */
export function runImage(
  setup: ContainerSetup,
  input: string,
  extra: readonly string[] = [],
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = setup.env,
): { status: number | null; stdout: string; stderr: string } {
  return sh(
    'podman',
    ['run', '-i', '--rm', '--network', 'none', '--user', 'nobody', '--security-opt=no-new-privileges', '--read-only', ...extra, setup.image, ...args],
    { input, env, timeout: 120_000 },
  );
}
