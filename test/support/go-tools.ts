/**
 * Real tools the suite runs but the machines do not ship: standalone kustomize, helm 3, helm 4 and crane, built
 * from their pinned Go modules with `go install` into a cache outside the repository, keyed by version, and
 * reused by later runs. A tool already on PATH at exactly the pinned version is used as it is.
 *
 *   PPI_TOOLS_CACHE   the cache folder (default: $XDG_CACHE_HOME/proxy-private-images/tools, else
 *                     ~/.cache/proxy-private-images/tools)
 *
 * Without Go the first use fails with a message that names what to install. The first build of all four takes
 * several minutes on 2 cores (see the README); builds run under `flock` so two test runs never build one tool
 * at once. Binaries are static (CGO_ENABLED=0), as the projects' own releases are, so they also run inside a
 * container image. Also a CLI: `node --import tsx test/support/go-tools.ts [NAME...]` builds and prints their
 * paths and how long each took (.ci/run does this before the tests).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GoTool {
  /** The command's name on PATH and in the cache. */
  readonly command: string;
  /** What `go install` builds. */
  readonly module: string;
  readonly version: string;
  /** Arguments that print the version, and a pattern its output must match for a PATH copy to be used. */
  readonly versionArgs: readonly string[];
  readonly versionPattern: RegExp;
}

/** Pinned versions: the newest each module offers that the machines' Go 1.26 builds (krm-integration.md). */
export const GO_TOOLS = {
  kustomize: {
    command: 'kustomize',
    module: 'sigs.k8s.io/kustomize/kustomize/v5',
    version: 'v5.8.2',
    versionArgs: ['version'],
    versionPattern: /^v5\.8\.2\b/m,
  },
  helm3: {
    command: 'helm',
    module: 'helm.sh/helm/v3/cmd/helm',
    version: 'v3.22.0',
    versionArgs: ['version', '--short'],
    versionPattern: /^v3\.22\.0\b/m,
  },
  helm4: {
    command: 'helm',
    module: 'helm.sh/helm/v4/cmd/helm',
    version: 'v4.3.1',
    versionArgs: ['version', '--short'],
    versionPattern: /^v4\.3\.1\b/m,
  },
  crane: {
    command: 'crane',
    module: 'github.com/google/go-containerregistry/cmd/crane',
    version: 'v0.22.1',
    versionArgs: ['version'],
    versionPattern: /^v?0\.22\.1\b/m,
  },
} as const satisfies Record<string, GoTool>;

export type GoToolName = keyof typeof GO_TOOLS;

/** For the `before` hook of a test that calls goTool: long enough to build one tool on a busy 2-core machine. */
export const GO_TOOL_BUILD_TIMEOUT_MS = 30 * 60_000;

export function toolsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['PPI_TOOLS_CACHE']) return env['PPI_TOOLS_CACHE'];
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'proxy-private-images', 'tools');
}

function sh(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeout = 30_000): { status: number | null; out: string } {
  const r = spawnSync(cmd, args as string[], { encoding: 'utf8', env, timeout, maxBuffer: 16 * 1024 * 1024 });
  return { status: r.error ? null : r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function onPathAtVersion(tool: GoTool): string | undefined {
  const found = sh('sh', ['-c', 'command -v "$1"', 'sh', tool.command]);
  const path = found.status === 0 ? found.out.trim() : '';
  if (!path) return undefined;
  const v = sh(path, tool.versionArgs);
  return v.status === 0 && tool.versionPattern.test(v.out) ? path : undefined;
}

const resolved = new Map<GoToolName, string>();

/**
 * The path of the pinned tool's binary: from PATH when it is there at the pinned version, else from the cache,
 * building it first when the cache lacks it. Throws with what to install when Go is missing or the build fails.
 */
export function goTool(name: GoToolName, env: NodeJS.ProcessEnv = process.env): string {
  const known = resolved.get(name);
  if (known) return known;
  const tool: GoTool = GO_TOOLS[name];
  // (helm 3 and helm 4 are both `helm`: the version pattern tells which major a PATH copy is.)
  const path = onPathAtVersion(tool) ?? cached(name, tool, env);
  resolved.set(name, path);
  return path;
}

function cached(name: GoToolName, tool: GoTool, env: NodeJS.ProcessEnv): string {
  const dir = join(toolsCacheDir(env), `${name}-${tool.version}`);
  const bin = join(dir, tool.command);
  if (existsSync(bin)) return bin;
  if (sh('go', ['version'], env).status !== 0) {
    throw new Error(
      `${tool.command} ${tool.version} is needed and is built with Go, but \`go\` is not on PATH: install Go 1.26 or later ` +
        `(or put ${tool.command} ${tool.version} on PATH) and run the tests again`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${dir}.build-${process.pid}`;
  const started = Date.now();
  process.stderr.write(`proxy-private-images tests: building ${tool.command} ${tool.version} with go install into ${dir} (once per machine; minutes on 2 cores)\n`);
  // flock: two test runs on one machine build each tool once; the second finds the binary when it gets the lock.
  const script = [
    'set -e',
    `[ -x "$BIN" ] && exit 0`,
    'rm -rf "$TMP"; mkdir -p "$TMP"',
    'GOBIN="$TMP" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "$MOD@$VER"',
    'mv "$TMP/$CMD" "$BIN"; rm -rf "$TMP"',
  ].join('\n');
  const r = sh(
    'flock',
    [join(dir, '.lock'), 'sh', '-c', script],
    { ...env, BIN: bin, TMP: tmp, MOD: tool.module, VER: tool.version, CMD: tool.command },
    30 * 60_000,
  );
  if (r.status !== 0 || !existsSync(bin)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`building ${tool.command} ${tool.version} with \`go install ${tool.module}@${tool.version}\` failed:\n${r.out.slice(-4000)}`);
  }
  process.stderr.write(`proxy-private-images tests: ${tool.command} ${tool.version} ready after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return bin;
}

/** A folder holding only `NAME -> tool` links, to put first on PATH (helm 3 and 4 are both called `helm`). */
export function toolBinDir(name: GoToolName, env: NodeJS.ProcessEnv = process.env): string {
  const bin = goTool(name, env);
  const dir = join(toolsCacheDir(env), 'bin', name);
  const link = join(dir, GO_TOOLS[name].command);
  if (!existsSync(link)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${link}.${process.pid}`;
    sh('ln', ['-sf', bin, tmp]);
    renameSync(tmp, link);
  }
  return dir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = (process.argv.length > 2 ? process.argv.slice(2) : Object.keys(GO_TOOLS)) as GoToolName[];
  const all = Date.now();
  let failed = 0;
  for (const n of names) {
    if (!(n in GO_TOOLS)) throw new Error(`unknown tool ${n}: one of ${Object.keys(GO_TOOLS).join(', ')}`);
    const started = Date.now();
    try {
      const path = goTool(n);
      console.log(`${n} ${GO_TOOLS[n].version}: ${path} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    } catch (e) {
      failed++;
      console.log(`${n} ${GO_TOOLS[n].version}: NOT AVAILABLE: ${(e as Error).message}`);
    }
  }
  console.log(`test tools: ${names.length - failed} of ${names.length} ready in ${((Date.now() - all) / 1000).toFixed(0)} s`);
  process.exitCode = failed > 0 ? 1 : 0;
}
