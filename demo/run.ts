/**
 * `npm run demo`: proxy-private-images end to end, offline, on loopback only.
 *
 * 1. makes sure docker-registry, skopeo, umoci, htpasswd and kubectl exist (apt-get as root, else a clear error);
 * 2. starts two real Debian `docker-registry` instances on 127.0.0.1: PUBLIC (no auth) and PRIVATE (htpasswd
 *    basic auth), and pushes tiny umoci-made images to each with skopeo (test/support/registries.ts);
 * 3. writes an example kustomization (Deployment + CronJob) in a temp dir;
 * 4. renders it as a user would: `kubectl kustomize DIR | proxy-private-images --stream ...`;
 * 5. prints every image before -> after with the decision and why, the pull Secret (license redacted) and the
 *    workloads' imagePullSecrets;
 * 6. stops everything it started, also on error and Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { createPolicy } from '../src/decide/policy.js';
import { parseReference } from '../src/reference/parse.js';
import { startRegistry, type RegistryHandle } from '../test/support/registries.js';
import { ensureRegistryTools } from '../test/support/registry-tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'dist', 'proxy-private-images.js');
const LICENSE_ID = 'demo-license-id';
const APP_SLUG = 'demo-app';
const PUBLIC_GLOB = 'docker.io/library/*';

const color = process.stdout.isTTY && !process.env['NO_COLOR'];
const bold = (s: string): string => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (color ? `\x1b[2m${s}\x1b[0m` : s);
const indent = (text: string, by = '    '): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');

let stepNo = 0;
function step(title: string): void {
  stepNo++;
  console.log(`\n${bold(`== ${stepNo}/7  ${title}`)}`);
}

// ---------------------------------------------------------------------------------------------- cleanup

const registries: RegistryHandle[] = [];
const tempDirs: string[] = [];
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.allSettled(registries.map((r) => r.stop()));
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the registries and removing temp files ...`);
    const code = signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129;
    const force = setTimeout(() => process.exit(code), 8000);
    force.unref();
    void cleanup().finally(() => process.exit(code));
  });
}

// ---------------------------------------------------------------------------------------------- helpers

function hasCommand(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v '${tool}'`], { stdio: 'ignore' }).status === 0;
}

class DemoError extends Error {}

/** The registry tools via the shared helper; kubectl (for `kubectl kustomize`) the same way. */
function ensureTools(): void {
  const registryTools = ['docker-registry', 'skopeo', 'umoci', 'htpasswd', 'openssl'];
  const missing = registryTools.filter((t) => !hasCommand(t));
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      throw new DemoError(
        `the demo needs ${missing.join(', ')} (Debian packages: docker-registry skopeo umoci apache2-utils openssl); ` +
          `install them as root: apt-get install -y docker-registry skopeo umoci apache2-utils openssl`,
      );
    }
    console.log(`  installing ${missing.join(', ')} with apt-get ...`);
    try {
      ensureRegistryTools(registryTools);
    } catch (e) {
      throw new DemoError(`could not install ${missing.join(', ')}: ${(e as Error).message}`);
    }
  }
  if (!hasCommand('kubectl')) {
    if (process.getuid?.() === 0) {
      console.log('  installing kubectl with apt-get ...');
      spawnSync('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=300', 'kubectl'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
    if (!hasCommand('kubectl')) {
      throw new DemoError('the demo needs kubectl (with kustomize v5 built in) for `kubectl kustomize`: install kubectl and run it again');
    }
  }
  if (!existsSync(BUNDLE)) throw new DemoError(`${relative(ROOT, BUNDLE)} is missing: run \`npm run build\` first (npm run demo does)`);
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command (tracked, so Ctrl-C stops it), optionally feeding stdin. */
function exec(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new DemoError(`could not run ${cmd}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------- the example

interface Images {
  web: string; //      public loopback registry
  worker: string; //   public loopback registry
  api: string; //      private loopback registry
  migrate: string; //  private loopback registry
  cache: string; //    Docker Hub short name, decided by the images.public glob (never probed)
}

function writeKustomization(dir: string, images: Images): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
  - deployment.yaml
  - cronjob.yaml
`,
  );
  writeFileSync(
    join(dir, 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: storefront
spec:
  replicas: 2
  selector:
    matchLabels: {app: storefront}
  template:
    metadata:
      labels: {app: storefront}
    spec:
      containers:
        - name: web          # public image on the PUBLIC loopback registry
          image: ${images.web}
        - name: api          # private image on the PRIVATE loopback registry
          image: ${images.api}
        - name: cache        # Docker Hub short name, public by the images.public glob
          image: ${images.cache}
`,
  );
  writeFileSync(
    join(dir, 'cronjob.yaml'),
    `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly-report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: migrate  # private image on the PRIVATE loopback registry
              image: ${images.migrate}
          containers:
            - name: report   # public image on the PUBLIC loopback registry
              image: ${images.worker}
`,
  );
}

// ---------------------------------------------------------------------------------------------- reading output

type Obj = Record<string, unknown>;

function parseStream(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((o): o is Obj => typeof o === 'object' && o !== null);
}

function get(o: unknown, ...path: string[]): unknown {
  let cur = o;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Obj)[p];
  }
  return cur;
}

function podSpecOf(o: Obj): Obj | undefined {
  const spec =
    o['kind'] === 'CronJob' ? get(o, 'spec', 'jobTemplate', 'spec', 'template', 'spec') : o['kind'] === 'Pod' ? get(o, 'spec') : get(o, 'spec', 'template', 'spec');
  return typeof spec === 'object' && spec !== null ? (spec as Obj) : undefined;
}

interface ImageSlot {
  readonly workload: string; // Kind/name
  readonly field: string; //    containers[web]
  readonly image: string;
}

function imageSlots(objects: readonly Obj[]): ImageSlot[] {
  const slots: ImageSlot[] = [];
  for (const o of objects) {
    const spec = podSpecOf(o);
    if (!spec) continue;
    const workload = `${String(o['kind'])}/${String(get(o, 'metadata', 'name'))}`;
    for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
      const cs = spec[list];
      if (!Array.isArray(cs)) continue;
      for (const c of cs as Obj[]) slots.push({ workload, field: `${list}[${String(c['name'])}]`, image: String(c['image']) });
    }
  }
  return slots;
}

/** `private image (REASON): OLD -> NEW` results from the function's report, by OLD image. */
function rewriteReasons(report: string): Map<string, { kind: string; reason: string }> {
  const out = new Map<string, { kind: string; reason: string }>();
  for (const line of report.split('\n')) {
    const m = /^\[\w+\]\s+(private|public) image \((.*)\): (\S+) -> (\S+)$/.exec(line.trim());
    if (m) out.set(m[3]!, { kind: m[1]!, reason: m[2]! });
  }
  return out;
}

/** Rows of `proxy-private-images check` output: IMAGE  VERDICT  REASON. */
function checkRows(stdout: string): Map<string, { verdict: string; reason: string }> {
  const out = new Map<string, { verdict: string; reason: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s{2,}(public|private \(404\)|private|inconclusive|invalid)\s{2,}(.*)$/.exec(line);
    if (m) out.set(m[1]!, { verdict: m[2]!, reason: m[3]! });
  }
  return out;
}

/**
 * The function reports no result for an image it leaves alone; for one decided by a glob, ask the function's own
 * policy (src/decide/policy.ts) with the same settings the pipe used, so the reason is the function's, not ours.
 */
function withoutProbe(image: string): string {
  const policy = createPolicy({ proxyHost: 'proxy.replicated.com', vendorRegistries: ['registry.replicated.com'], privateGlobs: [], publicGlobs: [PUBLIC_GLOB] });
  const d = policy.decide(parseReference(image));
  return d ? `${d.kind}: ${d.reason} (--public '${PUBLIC_GLOB}'), no probe` : 'left alone';
}

// ---------------------------------------------------------------------------------------------- main

/**
 * Real registries serve on the default port, so their image references carry no port; a port cannot be kept
 * in a proxy path (the function warns about it). As root, the registries listen on port 80 of two loopback
 * addresses; otherwise on free ports of 127.0.0.1, and the rewritten references come with that warning.
 */
async function startDemoRegistries(): Promise<[RegistryHandle, RegistryHandle]> {
  if (process.getuid?.() === 0) {
    let pub: RegistryHandle | undefined;
    try {
      pub = await startRegistry({ auth: 'none', listen: { ip: '127.0.0.2', port: 80 } });
      return [pub, await startRegistry({ auth: 'basic', listen: { ip: '127.0.0.3', port: 80 } })];
    } catch {
      await pub?.stop();
      console.log(dim('  (port 80 on 127.0.0.2/127.0.0.3 is taken: using free ports on 127.0.0.1 instead)'));
    }
  }
  return Promise.all([startRegistry({ auth: 'none' }), startRegistry({ auth: 'basic' })]);
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(bold('proxy-private-images demo') + dim('  (offline: two registries on loopback, nothing leaves this machine)'));

  step('Tools');
  ensureTools();
  console.log('  docker-registry, skopeo, umoci, htpasswd, kubectl: present');

  step('Two real registries on loopback');
  const [pub, priv] = await startDemoRegistries();
  registries.push(pub, priv);
  const pushed: Array<[RegistryHandle, string, string, 'oci' | 'v2s2']> = [
    [pub, 'pub/web', '1.0', 'oci'],
    [pub, 'pub/worker', '2.1', 'v2s2'],
    [priv, 'acme/api', '1.4.2', 'oci'],
    [priv, 'acme/migrate', '0.9', 'v2s2'],
  ];
  await Promise.all(pushed.map(([r, repo, tag, format]) => r.push(repo, tag, { format })));
  console.log(`  PUBLIC   ${pub.host}   docker-registry, no auth            pushed pub/web:1.0, pub/worker:2.1`);
  console.log(`  PRIVATE  ${priv.host}   docker-registry, htpasswd basic auth pushed acme/api:1.4.2, acme/migrate:0.9`);
  console.log(dim('  (tiny images made with umoci, pushed with skopeo copy; one OCI and one Docker v2s2 manifest per registry)'));

  const images: Images = {
    web: `${pub.host}/pub/web:1.0`,
    worker: `${pub.host}/pub/worker:2.1`,
    api: `${priv.host}/acme/api:1.4.2`,
    migrate: `${priv.host}/acme/migrate:0.9`,
    cache: 'redis:7.2-alpine',
  };

  step('How the function sees each loopback image (anonymous probe)');
  const insecure = ['--insecure-registry', pub.host, '--insecure-registry', priv.host];
  const probed = [images.web, images.worker, images.api, images.migrate];
  const checkArgs = ['check', ...probed, ...insecure];
  console.log(dim(`  $ proxy-private-images ${checkArgs.map(shellQuote).join(' ')}`));
  const check = await exec(process.execPath, [BUNDLE, ...checkArgs], { timeoutMs: 30_000 });
  console.log(indent(check.stdout || check.stderr, '  '));
  if (check.code !== 0) throw new DemoError(`check exited ${check.code}: ${check.stderr.trim()}`);
  const checked = checkRows(check.stdout);

  step('An example kustomization');
  const work = mkdtempSync(join(tmpdir(), 'ppi-demo-'));
  tempDirs.push(work);
  const appDir = join(work, 'app');
  writeKustomization(appDir, images);
  console.log(`  ${appDir}/`);
  console.log('    kustomization.yaml  namespace: shop, resources: deployment.yaml, cronjob.yaml');
  console.log(`    deployment.yaml     Deployment storefront: web (public), api (private), cache (${images.cache}, Docker Hub)`);
  console.log('    cronjob.yaml        CronJob nightly-report: init container migrate (private), container report (public)');

  step('Render: kubectl kustomize | proxy-private-images --stream');
  const fnArgs = ['--stream', '--app-slug', APP_SLUG, ...insecure, '--public', PUBLIC_GLOB];
  console.log(
    // captured first, as the demo does: a pipe would hide a kustomize failure behind the function's exit code
    dim(`  $ rendered=$(kubectl kustomize ${appDir}) && printf '%s\\n' "$rendered" \\\n      | LICENSE_ID=${LICENSE_ID} node dist/proxy-private-images.js ${fnArgs.map(shellQuote).join(' ')}`),
  );
  const rendered = await exec('kubectl', ['kustomize', appDir], { timeoutMs: 30_000 });
  if (rendered.code !== 0) throw new DemoError(`kubectl kustomize exited ${rendered.code}: ${rendered.stderr.trim()}`);
  const fn = await exec(process.execPath, [BUNDLE, ...fnArgs], {
    input: rendered.stdout,
    env: { ...process.env, LICENSE_ID },
    timeoutMs: 60_000,
  });
  console.log('  the function\'s report (stderr):');
  console.log(indent(fn.stderr || '(empty)'));
  if (fn.code !== 0) throw new DemoError(`proxy-private-images exited ${fn.code}`);

  const before = imageSlots(parseStream(rendered.stdout));
  const outObjects = parseStream(fn.stdout);
  const after = imageSlots(outObjects);
  const reasons = rewriteReasons(fn.stderr);
  console.log('\n  images, before -> after:');
  for (const b of before) {
    const a = after.find((s) => s.workload === b.workload && s.field === b.field);
    const rewritten = reasons.get(b.image);
    let decision: string;
    if (rewritten) decision = `${rewritten.kind}: ${rewritten.reason}`;
    else if (checked.has(b.image)) decision = `${checked.get(b.image)!.verdict}: ${checked.get(b.image)!.reason}`;
    else decision = withoutProbe(b.image);
    console.log(`  ${bold(`${b.workload} ${b.field}`)}`);
    console.log(`    before    ${b.image}`);
    console.log(`    after     ${a?.image === b.image ? dim(`${a.image}  (unchanged)`) : (a?.image ?? '(missing!)')}`);
    console.log(`    decision  ${decision}`);
  }

  step('The pull Secret and imagePullSecrets');
  const secrets = outObjects.filter((o) => o['kind'] === 'Secret');
  for (const s of secrets) {
    const name = String(get(s, 'metadata', 'name'));
    const ns = get(s, 'metadata', 'namespace');
    console.log(`  Secret ${name}${ns ? ` (namespace ${String(ns)})` : ''}, type ${String(s['type'])}`);
    const raw = get(s, 'data', '.dockerconfigjson');
    if (typeof raw !== 'string') {
      console.log('    (no .dockerconfigjson)');
      continue;
    }
    const config = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { auths?: Record<string, Obj> };
    for (const entry of Object.values(config.auths ?? {})) {
      for (const k of ['username', 'password']) if (entry[k] === LICENSE_ID) entry[k] = '<license id>';
      if (entry['auth'] === Buffer.from(`${LICENSE_ID}:${LICENSE_ID}`).toString('base64')) entry['auth'] = 'base64("<license id>:<license id>")';
    }
    console.log(dim('    .dockerconfigjson, base64-decoded, license id redacted:'));
    console.log(indent(JSON.stringify(config, null, 2), '    '));
  }
  console.log('');
  for (const o of outObjects) {
    const spec = podSpecOf(o);
    if (!spec) continue;
    const ips = Array.isArray(spec['imagePullSecrets']) ? (spec['imagePullSecrets'] as Obj[]).map((e) => String(e['name'])) : [];
    console.log(`  ${String(o['kind'])}/${String(get(o, 'metadata', 'name'))} imagePullSecrets: ${ips.length ? `[${ips.join(', ')}]` : '(none)'}`);
  }

  // Sanity checks, so the demo fails loudly when the function misbehaves.
  const problems: string[] = [];
  const afterOf = (image: string): string[] => before.flatMap((b, i) => (b.image === image ? [after[i]?.image ?? ''] : []));
  for (const img of [images.api, images.migrate]) {
    const want = `proxy.replicated.com/proxy/${APP_SLUG}/${img}`;
    if (!afterOf(img).every((a) => a === want)) problems.push(`${img} should become ${want}`);
  }
  for (const img of [images.web, images.worker, images.cache]) if (!afterOf(img).every((a) => a === img)) problems.push(`${img} should stay unchanged`);
  if (secrets.length !== 1) problems.push(`expected one pull Secret, found ${secrets.length}`);
  const secretData = secrets.map((s) => JSON.stringify(get(s, 'data')));
  let rest = fn.stdout;
  for (const d of secretData) for (const v of Object.values(JSON.parse(d) as Record<string, string>)) rest = rest.split(v).join('');
  if (rest.includes(LICENSE_ID) || rest.includes(Buffer.from(LICENSE_ID).toString('base64'))) problems.push('the license id appears outside the Secret data');
  if (fn.stderr.includes(LICENSE_ID)) problems.push('the license id appears on stderr');
  if (problems.length > 0) throw new DemoError(`unexpected output:\n  - ${problems.join('\n  - ')}`);
  console.log(`\n  checked: private images rewritten, public ones untouched, one Secret, license id only in the Secret's data`);

  step('Cleanup');
  await cleanup();
  console.log(`  registries stopped, temp files removed. Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

main().then(
  () => {
    process.exitCode = 0;
  },
  async (e: unknown) => {
    await cleanup();
    const msg = e instanceof DemoError ? e.message : ((e as Error)?.stack ?? String(e));
    console.error(`\ndemo failed: ${msg}`);
    process.exitCode = 1;
  },
);
