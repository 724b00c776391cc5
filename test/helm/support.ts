/**
 * Real helm v3.22.0 and v4.3.1 (built by test/support/go-tools.ts) for the Helm tests, each with private
 * HELM_CONFIG_HOME / HELM_DATA_HOME / HELM_CACHE_HOME folders, so no test reads or writes the user's Helm setup.
 *
 * `helm install` and `helm upgrade` need a cluster. Without one, Helm's own memory storage driver
 * (HELM_DRIVER=memory with HELM_MEMORY_DRIVER_DATA) replaces the cluster client with Helm's printing fake
 * (`kubefake.PrintingKubeClient`, see cmd/helm/helm.go and pkg/cmd/root.go), so the whole install runs: render,
 * post-render, hook sorting and execution order, release record. Helm still asks the API server for its version
 * and API groups: `startDiscovery` answers that on 127.0.0.1 (a child process, since the tests run helm with
 * spawnSync). Not covered that way: a real API server's answers (name conflicts, admission, pulls).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cleanTemps, tempDir } from '../integration/harness.js';
import { goTool, toolBinDir, type GoToolName } from '../support/go-tools.js';
import { PROJECT_ROOT } from '../support/podman.js';
import { BUNDLE, ensureBundle, run, type Ran } from '../support/tools.js';

export { PROJECT_ROOT, run, type Ran };
export const LICENSE = 'helm-test-license-id';
export const PLUGIN_DIR = join(PROJECT_ROOT, 'helm-plugin');

export { cleanTemps, tempDir };

/** A folder with `proxy-private-images` linked to the bundle, to put on PATH. */
export function functionBin(): string {
  ensureBundle();
  const dir = tempDir('ppi-helm-bin-');
  symlinkSync(BUNDLE, join(dir, 'proxy-private-images'));
  return dir;
}

export interface Helm {
  readonly name: 'helm3' | 'helm4';
  readonly bin: string;
  /** PATH for runs: the helm of this major first, then `extraPath` folders, then the system PATH. */
  readonly env: NodeJS.ProcessEnv;
  helm(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string }): Ran;
}

/**
 * helm 3 or 4 (built on first use; minutes on 2 cores) with private Helm homes. HELM_PLUGINS is left unset:
 * helm 4.3.1's `plugin install DIR` writes into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says, and then
 * looks for plugins in HELM_PLUGINS.
 */
export function setupHelm(name: 'helm3' | 'helm4', extraPath: readonly string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Helm {
  const bin = goTool(name as GoToolName);
  const home = tempDir(`ppi-${name}-home-`);
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('HELM_') || k === 'KUBECONFIG') delete base[k];
  const env: NodeJS.ProcessEnv = {
    ...base,
    PATH: [toolBinDir(name as GoToolName), ...extraPath, process.env.PATH ?? ''].join(delimiter),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    HELM_CACHE_HOME: join(home, 'cache'),
    // no cluster: helm template needs none; install/upgrade get one from withCluster()
    KUBECONFIG: join(home, 'no-kubeconfig'),
    LICENSE_ID: LICENSE,
    ...extraEnv,
  };
  return {
    name,
    bin,
    env,
    helm(args, opts = {}) {
      return run(bin, args, { env: { ...env, ...opts.env }, cwd: opts.cwd ?? PROJECT_ROOT, input: opts.input ?? '', timeout: 120_000 });
    },
  };
}

/** `helm template shop CHARTS/<chart> --post-renderer proxy-private-images --post-renderer-args=--config=CONFIG ...` */
export function templateWithFunction(h: Helm, charts: string, config: string) {
  return (chart: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Ran =>
    h.helm(['template', 'shop', join(charts, chart), '--post-renderer', 'proxy-private-images', `--post-renderer-args=--config=${config}`, ...extra], { env });
}

/**
 * Runs helm with its stderr on a real pipe (bash's `2>&1 | cat`), as a terminal or CI log would have it; Node's
 * spawnSync gives a child a socket, which the plugin launcher cannot open by path. stdout holds both streams.
 */
export function helmThroughPipe(h: Helm, args: readonly string[], env: NodeJS.ProcessEnv = {}): Ran {
  return run('bash', ['-c', 'set -o pipefail; "$0" "$@" 2>&1 | cat', h.bin, ...args], { env: { ...h.env, ...env }, cwd: PROJECT_ROOT, input: '', timeout: 120_000 });
}

/** `helm plugin install helm-plugin/` (or another folder) into this helm's private data home. */
export function installPlugin(h: Helm, dir: string = PLUGIN_DIR): Ran {
  return h.helm(['plugin', 'install', dir]);
}

// ---------------------------------------------------------------- a loopback discovery endpoint

const DISCOVERY_SERVER = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  const json = (code, body) => { res.writeHead(code, {'content-type': 'application/json'}); res.end(JSON.stringify(body)); };
  if (path === '/version') return json(200, {major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64'});
  if (path === '/api') return json(200, {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: []});
  if (path === '/apis') return json(200, {kind: 'APIGroupList', apiVersion: 'v1', groups: []});
  json(404, {kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404});
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface Discovery {
  readonly kubeconfig: string;
  stop(): void;
}

/** Answers Helm's /version and /api(s) discovery on 127.0.0.1; stopped by `stop()` or when this process exits. */
export async function startDiscovery(): Promise<Discovery> {
  const dir = tempDir('ppi-helm-api-');
  const script = join(dir, 'discovery.mjs');
  writeFileSync(script, DISCOVERY_SERVER);
  const child: ChildProcess = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the discovery endpoint did not start in 10 s')), 10_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(String(d).trim()));
    });
    child.once('exit', (code) => reject(new Error(`the discovery endpoint exited with ${code}`)));
  });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: loopback, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'contexts: [{name: loopback, context: {cluster: loopback, namespace: shop}}]',
      'current-context: loopback',
      'users: [{name: nobody, user: {}}]',
      '',
    ].join('\n'),
  );
  chmodSync(kubeconfig, 0o600);
  const stop = (): void => {
    if (child.exitCode === null) child.kill();
  };
  process.once('exit', stop);
  return { kubeconfig, stop };
}

export interface ReleaseHook {
  name: string;
  kind: string;
  path: string;
  manifest: string;
  events: string[];
  weight?: number;
  delete_policies?: string[];
  last_run?: { started_at?: string; completed_at?: string; phase?: string };
}
export interface Release {
  name: string;
  namespace: string;
  version: number;
  manifest: string;
  hooks?: ReleaseHook[];
  info: { status: string };
}

/**
 * `helm install|upgrade ... -o json` against Helm's memory driver: `stored` are the releases the driver starts
 * with (a previous `-o json` answer, for upgrades). Returns the release Helm recorded, or throws with stderr.
 */
export function helmWithMemoryCluster(h: Helm, discovery: Discovery, args: readonly string[], stored: readonly Release[] = [], env: NodeJS.ProcessEnv = {}): { ran: Ran; release?: Release } {
  const dir = tempDir('ppi-helm-mem-');
  const data = join(dir, 'releases.json');
  writeFileSync(data, JSON.stringify(stored));
  const ran = h.helm([...args, '-o', 'json'], {
    env: { HELM_DRIVER: 'memory', HELM_MEMORY_DRIVER_DATA: data, KUBECONFIG: discovery.kubeconfig, ...env },
  });
  if (ran.status !== 0) return { ran };
  return { ran, release: JSON.parse(ran.stdout) as Release };
}

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits (as Helm records hook runs). */
export function nanos(time: string): bigint {
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) throw new Error(`not an RFC 3339 time: ${time}`);
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  return seconds * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

// ---------------------------------------------------------------- manifests

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The objects of a multi-document stream (empty documents dropped). */
export function objects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

export function key(o: Obj): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function byKey(objs: readonly Obj[], k: string): Obj {
  const found = objs.filter((o) => key(o) === k);
  if (found.length !== 1) throw new Error(`expected one ${k}, found ${found.length} among ${objs.map(key).join(', ')}`);
  return found[0]!;
}

/** Keys that occur more than once. */
export function duplicates(objs: readonly Obj[]): string[] {
  const seen = new Map<string, number>();
  for (const o of objs) seen.set(key(o), (seen.get(key(o)) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

interface PodSpec {
  containers?: { name: string; image: string }[];
  initContainers?: { name: string; image: string }[];
  imagePullSecrets?: { name: string }[];
}

export function podSpecOf(o: Obj): PodSpec {
  const spec = o['spec'] as Record<string, unknown>;
  if (o.kind === 'Pod') return spec as PodSpec;
  if (o.kind === 'CronJob') return ((spec['jobTemplate'] as Record<string, unknown>)['spec'] as { template: { spec: PodSpec } }).template.spec;
  return (spec as { template: { spec: PodSpec } }).template.spec;
}

export function imagesOf(o: Obj): string[] {
  const s = podSpecOf(o);
  return [...(s.initContainers ?? []), ...(s.containers ?? [])].map((c) => c.image);
}

export function pullSecretsOf(o: Obj): string[] {
  return (podSpecOf(o).imagePullSecrets ?? []).map((p) => p.name);
}

/** The license id from a dockerconfigjson Secret's data. */
export function licenseIn(secret: Obj): string {
  const data = (secret['data'] as Record<string, string>)['.dockerconfigjson']!;
  const auths = (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { auths: Record<string, { username: string }> }).auths;
  return auths['proxy.replicated.com']!.username;
}

/** Copies a folder into a fresh temp folder. */
export function copyDir(src: string, name = 'copy'): string {
  const dir = join(tempDir(), name);
  cpSync(src, dir, { recursive: true });
  return dir;
}

export function writeFiles(root: string, files: Readonly<Record<string, string>>): string {
  for (const [rel, text] of Object.entries(files)) {
    const path = join(root, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
  return root;
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
