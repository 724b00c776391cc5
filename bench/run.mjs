#!/usr/bin/env node
// Benchmarks for proxy-private-images. `npm run bench` builds, then runs this.
//
//   node bench/run.mjs [--only=cold,throughput,probe,probe-tls] [--quick] [--strict]
//
// Sections: cold start, throughput (1k and 10k workloads), probing (200 images on
// 5 loopback registries behind 50 ms delaying proxies: plain HTTP/1.1, and TLS with
// HTTP/2 behind a TCP-level delay that handshakes pay too). Prints a table with every
// ratio, its target and met / not met, and writes bench/results.json.
// Everything runs on loopback; every process started is stopped at the end.
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync, existsSync, statSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { tmpdir, cpus, availableParallelism, totalmem, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { run, ensureTools, killAll, median } from './lib/proc.mjs';
import { generate, kustomizationYaml, LICENSE_ID, APP_SLUG, PROXY_HOST } from './lib/workload.mjs';
import { startDelayProxy } from './lib/delay-proxy.mjs';
import { makeSeedStorage, cloneStorage, startRegistry, makeHtpasswd, makeCA, accessLogRequests } from './lib/registries.mjs';
import { startTcpDelayProxy } from './lib/tcp-delay-proxy.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const FN = process.env.BENCH_FN ?? join(ROOT, 'dist', 'proxy-private-images.js');
const RESULTS = join(HERE, 'results.json');

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name, dflt) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const QUICK = flag('quick');
const ONLY = new Set(opt('only', 'cold,throughput,probe,probe-tls').split(','));
const STRICT = flag('strict');

const COLD_RUNS = QUICK ? 5 : 15;
const TP_RUNS = { 1000: QUICK ? 1 : 5, 10000: QUICK ? 1 : 3 };
const KUSTOMIZE_10K_TIMEOUT_MS = 60_000;
const PROBE_DELAY_MS = 50;
const PROBE_CONCURRENCY = 16;
const SKOPEO_SAMPLE = 20;
const TLS_RUNS = QUICK ? 1 : 3;

const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'ppi-bench-'));
const cleanups = [];
const rows = []; // table rows
const targets = []; // { name, value, target, met }
const results = { date: new Date().toISOString(), machine: machine(), sections: {}, targets };

function log(msg) {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

function machine() {
  const free = spawnSync('free', ['-h'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memTotalGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeH: free,
    node: process.version,
    loadavgAtStart: loadavg().map((x) => +x.toFixed(2)),
    kustomize: (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).stdout ?? '')
      .split('\n')
      .find((l) => l.startsWith('Kustomize'))
      ?.trim(),
  };
}

const fmtMs = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtMB = (kb) => (kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);

/** Record a target: ratio compared with limit by op ('<=' or '>=' or '=='). */
function target(name, value, op, limit, shown) {
  const met = op === '<=' ? value <= limit : op === '>=' ? value >= limit : op === '<' ? value < limit : value === limit;
  targets.push({ name, value, op, limit, met, shown });
  return met;
}

function fnEnv() {
  return { ...process.env, LICENSE_ID };
}

function fnRun(stdinFile, stdoutFile, extra = {}) {
  // BENCH_FN_NODE_ARGS: extra node flags for the function only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = process.env.BENCH_FN_NODE_ARGS ? process.env.BENCH_FN_NODE_ARGS.split(' ') : [];
  return run(process.execPath, [...nodeArgs, FN], { stdinFile, stdoutFile, env: fnEnv(), tmpDir: tmp, ...extra });
}

function mustSucceed(r, what) {
  if (r.timedOut) throw new Error(`${what}: timed out`);
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}: ${r.stderr.slice(0, 2000)}`);
  return r;
}

/** Count image fields pointing at the proxy in function output (results also mention images, so only `image:` lines). */
function countProxiedImageLines(file) {
  const text = readFileSync(file, 'utf8');
  const re = new RegExp(`^\\s*(?:- )?image: ["']?${PROXY_HOST.replace(/\./g, '\\.')}/proxy/${APP_SLUG}/`, 'gm');
  return (text.match(re) ?? []).length;
}

/**
 * The fair floor, and the reader bound, bundled exactly as scripts/bundle.mjs bundles the function: the same
 * esbuild options, minified, with yaml's ESM build (the function ships it: no `process.env.LOG_TOKENS` read per
 * token). Checked: neither bundle nor the function reads LOG_TOKENS, so all three run the same yaml code.
 */
async function bundleLikeTheFunction(entry, name) {
  const esbuild = await import('esbuild');
  const { BUNDLE_OPTIONS } = await import('../scripts/esbuild-options.mjs');
  const out = join(tmp, name);
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: [entry],
    outfile: out,
    minify: true,
    define: { __VERSION__: '"bench"' },
    alias: { yaml: join(ROOT, 'node_modules', 'yaml', 'browser', 'index.js') },
  });
  for (const f of [out, FN]) {
    if (readFileSync(f, 'utf8').includes('LOG_TOKENS')) throw new Error(`${f} holds yaml's node build (LOG_TOKENS): the floor would not be fair`);
  }
  return out;
}

// ---------------------------------------------------------------- cold start
async function coldStart() {
  log('cold start: preparing');
  const dir = join(tmp, 'cold');
  mkdirSync(join(dir, 'kust'), { recursive: true });
  const deployment = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  selector:',
    '    matchLabels: {app: web}',
    '  template:',
    '    metadata:',
    '      labels: {app: web}',
    '    spec:',
    '      containers:',
    '      - name: web',
    '        image: quay.io/acme/web:1.4.2',
  ].join('\n');
  const rl = [
    'apiVersion: config.kubernetes.io/v1',
    'kind: ResourceList',
    'items:',
    '- ' + deployment.split('\n').map((l, i) => (i === 0 ? l : '  ' + l)).join('\n'),
    'functionConfig:',
    '  apiVersion: fn.proxy-private-images.dev/v1alpha1',
    '  kind: ProxyPrivateImages',
    '  metadata: {name: bench}',
    `  appSlug: ${APP_SLUG}`,
    '  images:',
    '    private: ["**"]',
    '',
  ].join('\n');
  const rlFile = join(dir, 'rl.yaml');
  writeFileSync(rlFile, rl);
  writeFileSync(join(dir, 'kust', 'deployment.yaml'), deployment + '\n');
  writeFileSync(join(dir, 'kust', 'kustomization.yaml'), kustomizationYaml(['quay.io/acme/web'], 'deployment.yaml'));

  // Correctness first: a fast failure is not a fast function.
  const outFile = join(dir, 'out.yaml');
  mustSucceed(await fnRun(rlFile, outFile), 'function on one Deployment');
  const rewritten = countProxiedImageLines(outFile);
  if (rewritten !== 1) throw new Error(`function on one Deployment rewrote ${rewritten} image fields, expected 1 (see ${outFile})`);
  const kOut = join(dir, 'kout.yaml');
  mustSucceed(await run('kubectl', ['kustomize', join(dir, 'kust')], { stdoutFile: kOut }), 'kubectl kustomize');
  if (!readFileSync(kOut, 'utf8').includes(`${PROXY_HOST}/proxy/${APP_SLUG}/quay.io/acme/web:1.4.2`)) {
    throw new Error('kubectl kustomize did not rewrite the image');
  }

  const cmds = {
    spawn: () => run('/bin/true', [], {}),
    node: () => run(process.execPath, ['-e', ''], {}),
    fn: () => fnRun(rlFile, '/dev/null'),
    kustomize: () => run('kubectl', ['kustomize', join(dir, 'kust')], { stdoutFile: '/dev/null' }),
  };
  const times = { spawn: [], node: [], fn: [], kustomize: [] };
  const names = Object.keys(cmds);
  for (const n of names) await cmds[n](); // warm the page cache
  log(`cold start: ${COLD_RUNS} interleaved rounds of /bin/true / node -e '' / function / kubectl kustomize`);
  for (let i = 0; i < COLD_RUNS; i++) {
    // rotate the order every round so no command always runs after the same one
    for (let j = 0; j < names.length; j++) {
      const n = names[(i + j) % names.length];
      const r = mustSucceed(await cmds[n](), `cold ${n}`);
      times[n].push(r.wallMs);
    }
  }
  const m = Object.fromEntries(names.map((n) => [n, median(times[n])]));
  results.sections.cold = { runs: COLD_RUNS, medianMs: m, allMs: times };
  rows.push(['cold', '/bin/true (cost of a process spawn here)', fmtMs(m.spawn), '', '', '', '']);
  rows.push(['cold', "node -e ''", fmtMs(m.node), '', '', '', '']);
  rows.push(['cold', 'kubectl kustomize (1 images: entry)', fmtMs(m.kustomize), '', '', '', '']);
  const r1 = m.fn / m.node;
  const r2 = m.fn / m.kustomize;
  const ok1 = target('cold: function / node -e ""', r1, '<=', 1.5);
  const ok2 = target('cold: function / kubectl kustomize', r2, '<=', 1.0);
  rows.push(['cold', 'function, 1 Deployment, globs', fmtMs(m.fn), "vs node -e ''", r1.toFixed(2) + 'x', '<= 1.5x', ok1]);
  rows.push(['cold', '', '', 'vs kustomize', r2.toFixed(2) + 'x', '<= 1.0x', ok2]);
}

// ---------------------------------------------------------------- throughput
// Targets (issue 10): time <= 0.6x and peak RSS <= 0.75x the fair floor, at 1,000 and 10,000 workloads.
const TP_TIME_TARGET = 0.6;
const TP_RSS_TARGET = 0.75;

async function throughput() {
  const floor = await bundleLikeTheFunction(join(HERE, 'lib', 'floor.mjs'), 'floor.mjs');
  const bound = await bundleLikeTheFunction(join(HERE, 'lib', 'read-bound.ts'), 'read-bound.mjs');
  const perSize = {};
  for (const n of [1000, 10000]) {
    log(`throughput ${n}: generating`);
    const dir = join(tmp, `tp${n}`);
    mkdirSync(join(dir, 'kust'), { recursive: true });
    const g = generate(n);
    const rlFile = join(dir, 'rl.yaml');
    writeFileSync(rlFile, g.resourceList);
    // the same items with imagesInValues.detect: off (the default is warn): what image detection costs
    const rlOffFile = join(dir, 'rl-detect-off.yaml');
    writeFileSync(rlOffFile, generate(n, { detect: 'off' }).resourceList);
    writeFileSync(join(dir, 'kust', 'workloads.yaml'), g.multiDoc);
    writeFileSync(join(dir, 'kust', 'kustomization.yaml'), g.kustomization);
    const expected = (g.multiDoc.match(/^\s*(?:- )?image: (?!proxy)(?:registry\.example\.com|quay\.io\/acme|ghcr\.io\/acme-corp|123456789012)/gm) ?? []).length;
    const sizeMB = statSync(rlFile).size / 2 ** 20;

    const runs = { function: [], floor: [], bound: [], detectOff: [] };
    const outs = { function: join(dir, 'fn-out.yaml'), floor: join(dir, 'floor-out.yaml'), bound: join(dir, 'bound-out.yaml'), detectOff: join(dir, 'fn-detect-off-out.yaml') };
    const cmds = {
      function: () => fnRun(rlFile, outs.function, { rss: true, timeoutMs: 180_000 }),
      floor: () => run(process.execPath, [floor], { stdinFile: rlFile, stdoutFile: outs.floor, rss: true, tmpDir: tmp, timeoutMs: 180_000 }),
      bound: () => run(process.execPath, [bound], { stdinFile: rlFile, stdoutFile: outs.bound, rss: true, tmpDir: tmp, timeoutMs: 180_000 }),
      // the same input with imagesInValues.detect: off: what detection costs
      detectOff: () => fnRun(rlOffFile, outs.detectOff, { rss: true, timeoutMs: 180_000 }),
    };
    const names = Object.keys(cmds);
    log(`throughput ${n}: ${TP_RUNS[n]} interleaved rounds of function, floor, reader bound and function with detect: off (${sizeMB.toFixed(1)} MB input)`);
    for (let i = 0; i < TP_RUNS[n]; i++) {
      // rotate the order every round, so no program always runs after the same one
      for (let j = 0; j < names.length; j++) {
        const k = names[(i + j) % names.length];
        const r = mustSucceed(await cmds[k](), `${k} at ${n}`);
        runs[k].push({ ms: r.wallMs, rssKB: r.rssKB, cpuMs: r.cpuMs });
      }
    }
    const rewritten = countProxiedImageLines(outs.function);
    if (countProxiedImageLines(outs.detectOff) !== rewritten) throw new Error(`detect: off rewrote ${countProxiedImageLines(outs.detectOff)} fields at ${n}, detect: warn ${rewritten}`);
    if (rewritten !== expected) {
      log(`WARNING: function rewrote ${rewritten} private image fields at ${n}, expected ${expected}`);
    }
    if (rewritten === 0) throw new Error(`function rewrote no image at ${n}; refusing to time a no-op (see ${outs.function})`);
    // the floor and the bound write the input back; the function's output must keep every byte outside its edits
    if (readFileSync(outs.bound, 'utf8') !== g.resourceList) throw new Error(`the reader bound did not write its input back at ${n}`);

    // kustomize: once (it takes ~40 s at 1k); at 10k under a timeout.
    const kTimeout = n === 1000 ? 180_000 : KUSTOMIZE_10K_TIMEOUT_MS;
    log(`throughput ${n}: kubectl kustomize with ${g.images.length} images: entries (timeout ${kTimeout / 1000} s)`);
    const kOut = join(dir, 'kust-out.yaml');
    const k = await run('kubectl', ['kustomize', join(dir, 'kust')], { stdoutFile: kOut, rss: true, tmpDir: tmp, timeoutMs: kTimeout });
    if (!k.timedOut && k.code !== 0) throw new Error(`kubectl kustomize at ${n}: exit ${k.code}: ${k.stderr.slice(0, 1000)}`);
    const kRewritten = k.timedOut ? undefined : countProxiedImageLines(kOut);

    const stats = (list) => ({
      medianMs: median(list.map((r) => r.ms)),
      medianRssKB: median(list.map((r) => r.rssKB)),
      medianCpuMs: median(list.map((r) => r.cpuMs)),
      allMs: list.map((r) => r.ms),
      allRssKB: list.map((r) => r.rssKB),
      allCpuMs: list.map((r) => r.cpuMs),
    });
    const s = {
      workloads: n,
      inputMB: +sizeMB.toFixed(2),
      expectedRewrites: expected,
      functionRewrites: rewritten,
      function: stats(runs.function),
      floor: stats(runs.floor),
      bound: stats(runs.bound),
      detectOff: stats(runs.detectOff),
      kustomize: k.timedOut
        ? { timedOut: true, timeoutMs: kTimeout }
        : { ms: k.wallMs, rssKB: k.rssKB, cpuMs: k.cpuMs, rewrites: kRewritten },
    };
    perSize[n] = s;
    const label = 'tp ' + n.toLocaleString('en-US');
    const shown = (x) => `${fmtMs(x.medianMs)} (cpu ${fmtMs(x.medianCpuMs)}), ${fmtMB(x.medianRssKB)}`;
    rows.push([label, `fair floor: yaml parseDocument + toString, bundled like the function (${sizeMB.toFixed(1)} MB)`, shown(s.floor), '', '', '', '']);
    rows.push([label, 'reader bound: the function\'s reader alone (yaml Parser + Composer), input written back', shown(s.bound), 'time vs floor', (s.bound.medianMs / s.floor.medianMs).toFixed(2) + 'x', '(no target)', '']);
    rows.push([label, '', '', 'peak RSS vs floor', (s.bound.medianRssKB / s.floor.medianRssKB).toFixed(2) + 'x', '(no target)', '']);
    rows.push([
      label,
      `kubectl kustomize, ${g.images.length} images: entries`,
      k.timedOut ? `more than ${kTimeout / 1000} s` : `${fmtMs(k.wallMs)} (cpu ${fmtMs(k.cpuMs)}), ${fmtMB(k.rssKB)}`,
      '',
      '',
      '',
      '',
    ]);
    const rt = s.function.medianMs / s.floor.medianMs;
    const rm = s.function.medianRssKB / s.floor.medianRssKB;
    const okT = target(`throughput ${n}: function time / fair floor time`, rt, '<=', TP_TIME_TARGET);
    const okM = target(`throughput ${n}: function peak RSS / fair floor peak RSS`, rm, '<=', TP_RSS_TARGET);
    rows.push([label, `function (${rewritten} fields rewritten)`, shown(s.function), 'time vs floor', rt.toFixed(2) + 'x', `<= ${TP_TIME_TARGET}x`, okT]);
    rows.push([label, '', '', 'peak RSS vs floor', rm.toFixed(2) + 'x', `<= ${TP_RSS_TARGET}x`, okM]);
    rows.push([label, '', '', 'cpu time vs floor', (s.function.medianCpuMs / s.floor.medianCpuMs).toFixed(2) + 'x', '(load-robust check)', '']);
    // image detection (imagesInValues.detect: warn, the default) against the same input with detect: off
    const rd = s.function.medianMs / s.detectOff.medianMs;
    const okD = n === 10000 ? target(`throughput ${n}: function time / function time with detect: off`, rd, '<=', 1.05) : '';
    rows.push([label, 'function, imagesInValues.detect: off', shown(s.detectOff), 'detect warn vs off', rd.toFixed(3) + 'x', n === 10000 ? '<= 1.05x' : '(no target)', okD]);
    rows.push([label, '', '', 'cpu detect warn vs off', (s.function.medianCpuMs / s.detectOff.medianCpuMs).toFixed(3) + 'x', '(load-robust check)', '']);
    if (n === 1000) {
      // A kustomize timeout still bounds the speed-up from below.
      const sp = (k.timedOut ? kTimeout : k.wallMs) / s.function.medianMs;
      const okK = target('throughput 1000: kustomize time / function time', sp, '>=', 20);
      rows.push([label, '', '', 'speed-up vs kustomize', (k.timedOut ? '> ' : '') + sp.toFixed(1) + 'x', '>= 20x', okK]);
    } else {
      const sp = k.timedOut ? `> ${(kTimeout / s.function.medianMs).toFixed(1)}x` : `${(k.wallMs / s.function.medianMs).toFixed(1)}x`;
      rows.push([label, '', '', 'speed-up vs kustomize', sp, '(no target)', '']);
    }
  }
  const scale = perSize[10000].function.medianMs / perSize[1000].function.medianMs;
  const floorScale = perSize[10000].floor.medianMs / perSize[1000].floor.medianMs;
  const okS = target('throughput: function time 10k / 1k', scale, '<', 11);
  rows.push(['tp scale', `10k/1k time (floor: ${floorScale.toFixed(2)})`, '', 'function 10k/1k', scale.toFixed(2), '< 11', okS]);
  results.sections.throughput = { sizes: perSize, scale10kOver1k: scale, floorScale10kOver1k: floorScale, targets: { time: TP_TIME_TARGET, rss: TP_RSS_TARGET } };
}


// ---------------------------------------------------------------- probing, shared setup
/**
 * The probe sections' registries listen on port 80 (443 with TLS) of loopback addresses of their own, so their
 * hosts carry no port: a private image on a registry with a port is an error (IMAGE_PORT_REGISTRY), since no proxy
 * path can carry it. Binding those ports needs root. The third octet keeps concurrent benches (and the tests'
 * 127.0.0.x registries) apart.
 */
const probeAddress = (n) => `127.78.${process.pid % 250}.${n}`;
function needRootForPorts() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the probe sections serve registries on ports 80 and 443 of loopback addresses (a private image on a registry with a port is an error), which needs root: run them as root, or use --only=cold,throughput');
  }
}
// 5 registries x 40 images; registries 3 and 4 need a login (htpasswd), so their images are private.
const PROBE_REGISTRIES = 5;
const PROBE_PER_REGISTRY = 40;
const privateRegistry = (r) => r >= 3;
const registryImages = (r) =>
  Array.from({ length: PROBE_PER_REGISTRY }, (_, j) => ({ repo: `team-${j % 4}/app-${String(j).padStart(2, '0')}`, tag: `v1.${j}.${r}` }));

let seeded;
/** One tiny image pushed once (umoci + skopeo) and an htpasswd file, shared by both probing sections. */
function probeSeed() {
  seeded ??= (async () => {
    const dir = join(tmp, 'probe-seed');
    mkdirSync(dir, { recursive: true });
    log('probe: pushing the seed image');
    return { seed: await makeSeedStorage(dir), htpasswd: makeHtpasswd(join(dir, 'htpasswd'), 'bench', 'bench-password') };
  })();
  return seeded;
}

/** 100 Deployments, two containers each (every image once), and a functionConfig with `probeLines` added. */
function probeResourceList(images, probeLines) {
  const items = [];
  for (let i = 0; i < images.length; i += 2) {
    items.push(
      [
        '- apiVersion: apps/v1',
        '  kind: Deployment',
        '  metadata:',
        `    name: app-${i}`,
        '    namespace: probe',
        '  spec:',
        '    template:',
        '      spec:',
        '        containers:',
        `        - name: a`,
        `          image: ${images[i].ref}`,
        `        - name: b`,
        `          image: ${images[i + 1].ref}`,
      ].join('\n'),
    );
  }
  return [
    'apiVersion: config.kubernetes.io/v1',
    'kind: ResourceList',
    'items:',
    ...items,
    'functionConfig:',
    '  apiVersion: fn.proxy-private-images.dev/v1alpha1',
    '  kind: ProxyPrivateImages',
    '  metadata: {name: bench}',
    `  appSlug: ${APP_SLUG}`,
    '  probe:',
    `    concurrency: ${PROBE_CONCURRENCY}`,
    ...probeLines,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- probing
async function probing() {
  ensureTools([
    { bin: 'docker-registry', pkg: 'docker-registry' },
    { bin: 'skopeo', pkg: 'skopeo' },
    { bin: 'umoci', pkg: 'umoci' },
    { bin: 'htpasswd', pkg: 'apache2-utils' },
  ]);
  const dir = join(tmp, 'probe');
  mkdirSync(dir, { recursive: true });
  const setupStart = Date.now();
  needRootForPorts();
  const { seed, htpasswd } = await probeSeed();
  const proxies = [];
  const shared = { inflight: 0, maxInflight: 0, events: [] };
  const images = []; // { ref, registry, private }
  for (let r = 0; r < PROBE_REGISTRIES; r++) {
    const list = registryImages(r);
    const storageDir = join(dir, `store-${r}`);
    cloneStorage(seed, storageDir, list);
    const reg = await startRegistry({ dir: join(dir, `registry-${r}`), storageDir, htpasswd: privateRegistry(r) ? htpasswd : undefined });
    cleanups.push(() => reg.stop());
    const proxy = await startDelayProxy({ upstreamPort: reg.port, delayMs: PROBE_DELAY_MS, shared, listen: { address: probeAddress(10 + r), port: 80 } });
    cleanups.push(() => proxy.close());
    proxies.push(proxy);
    for (const { repo, tag } of list) images.push({ ref: `${proxy.host}/${repo}:${tag}`, registry: r, private: privateRegistry(r) });
  }
  // Sanity: a public image answers through its proxy, a private one asks for a login.
  const check = async (img, want) => {
    const [host, ...rest] = img.ref.split('/');
    const [repo, tag] = rest.join('/').split(':');
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    if (res.status !== want) throw new Error(`probe setup: HEAD ${img.ref} answered ${res.status}, expected ${want}`);
  };
  await check(images[0], 200);
  await check(images[1], 200);
  await check(images[images.length - 1], 401);
  const setupMs = Date.now() - setupStart;
  log(`probe: 5 registries, ${images.length} images ready in ${(setupMs / 1000).toFixed(1)} s`);

  const cacheFile = join(dir, 'probe-cache.json');
  const rlFile = join(dir, 'rl.yaml');
  writeFileSync(rlFile, probeResourceList(images, [`    cacheFile: ${cacheFile}`, '    insecureRegistries:', ...proxies.map((p) => `    - "${p.host}"`)]));
  const expectedPrivate = images.filter((i) => i.private).length;

  const total = () => proxies.reduce((a, p) => a + p.count, 0);
  const reset = () => {
    proxies.forEach((p) => p.reset());
    shared.maxInflight = 0;
    shared.events = [];
    shared.latencySum = 0;
    shared.connections = 0;
  };
  /** Where the wall time went: before the first request, the network span, after the last answer; mean concurrency. */
  const timeline = (t0, wallMs) => {
    const ev = shared.events;
    if (ev.length === 0) return { firstRequestMs: null, networkSpanMs: 0, afterLastMs: null, meanConcurrency: 0, maxConcurrency: 0 };
    const first = ev[0][0];
    const last = ev[ev.length - 1][0];
    let busy = 0;
    let inflight = 0;
    let prev = first;
    for (const [t, d] of ev) {
      busy += inflight * (t - prev);
      inflight += d;
      prev = t;
    }
    const span = last - first;
    return {
      firstRequestMs: +(first - t0).toFixed(1),
      networkSpanMs: +span.toFixed(1),
      afterLastMs: +(t0 + wallMs - last).toFixed(1),
      meanConcurrency: +(busy / span).toFixed(2),
      meanRequestMs: +(shared.latencySum / (ev.length / 2)).toFixed(1),
      connections: shared.connections,
      maxConcurrency: shared.maxInflight,
    };
  };

  // Run 1: cold cache.
  rmSync(cacheFile, { force: true });
  reset();
  log('probe: function, empty cache');
  const out1 = join(dir, 'out1.yaml');
  const t1 = performance.now();
  const r1 = mustSucceed(await fnRun(rlFile, out1, { timeoutMs: 120_000 }), 'function probing 200 images');
  const requests1 = total();
  const tl1 = timeline(t1, r1.wallMs);
  log(`probe: timeline ${JSON.stringify(tl1)}`);
  const perProxy = proxies.map((p) => p.byMethod);
  const rewritten1 = countProxiedImageLines(out1);
  if (rewritten1 !== expectedPrivate) {
    throw new Error(`probe: function rewrote ${rewritten1} images, expected ${expectedPrivate} (the htpasswd registries' images); see ${out1}`);
  }
  const ideal = (requests1 / PROBE_CONCURRENCY) * PROBE_DELAY_MS;

  // Run 2: with the cache file from run 1.
  reset();
  log('probe: function, warm cache');
  const out2 = join(dir, 'out2.yaml');
  const r2 = mustSucceed(await fnRun(rlFile, out2, { timeoutMs: 120_000 }), 'function with probe cache');
  const requests2 = total();
  const rewritten2 = countProxiedImageLines(out2);
  if (rewritten2 !== expectedPrivate) throw new Error(`probe (cached): rewrote ${rewritten2}, expected ${expectedPrivate}`);

  // Run 3 (no target): empty cache again, and each new TCP connection costs one more 50 ms
  // round trip, as a real TCP handshake would (TLS adds one or two more). Shows what
  // connection reuse is worth; run 1 counts how many connections the function opened.
  rmSync(cacheFile, { force: true });
  reset();
  proxies.forEach((p) => p.setConnectDelay(PROBE_DELAY_MS));
  log('probe: function, empty cache, +50 ms per new connection');
  const t3 = performance.now();
  const r3 = mustSucceed(await fnRun(rlFile, join(dir, 'out3.yaml'), { timeoutMs: 120_000 }), 'function probing with connect delay');
  const tl3 = timeline(t3, r3.wallMs);
  const requests3 = total();
  proxies.forEach((p) => p.setConnectDelay(0));

  // skopeo inspect, one image after another, on a sample spread over the registries.
  reset();
  const sample = [];
  for (let k = 0; k < SKOPEO_SAMPLE; k++) sample.push(images[Math.floor((k * images.length) / SKOPEO_SAMPLE)]);
  log(`probe: skopeo inspect loop over ${sample.length} of ${images.length} images`);
  let skopeoMs = 0;
  let skopeoOk = 0;
  for (const img of sample) {
    const r = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${img.ref}`], { timeoutMs: 30_000 });
    if (r.timedOut) throw new Error(`skopeo inspect ${img.ref} timed out`);
    if (r.code === 0) skopeoOk++;
    skopeoMs += r.wallMs;
  }
  const skopeoRequests = total();
  const skopeoExtrapolatedMs = (skopeoMs * images.length) / sample.length;

  results.sections.probe = {
    images: images.length,
    registries: PROBE_REGISTRIES,
    privateImages: expectedPrivate,
    delayMs: PROBE_DELAY_MS,
    concurrency: PROBE_CONCURRENCY,
    setupMs,
    run1: { ms: r1.wallMs, requests: requests1, perProxy, rewritten: rewritten1, timeline: tl1 },
    idealMs: ideal,
    run2: { ms: r2.wallMs, requests: requests2, rewritten: rewritten2 },
    run3ConnectDelay: { ms: r3.wallMs, requests: requests3, timeline: tl3 },
    skopeo: { sample: sample.length, sampleMs: skopeoMs, succeeded: skopeoOk, requests: skopeoRequests, extrapolatedMs: skopeoExtrapolatedMs },
  };
  const ratio = r1.wallMs / ideal;
  const okI = target('probe: function time / ideal (requests / concurrency x latency)', ratio, '<=', 1.5);
  const okC = target('probe: requests made by the cached run', requests2, '==', 0);
  rows.push(['probe', `ideal: ${requests1} requests / ${PROBE_CONCURRENCY} x ${PROBE_DELAY_MS} ms`, fmtMs(ideal), '', '', '', '']);
  rows.push([
    'probe',
    `skopeo inspect loop (${sample.length} timed, x${images.length / sample.length} extrapolated; ${skopeoRequests} requests)`,
    fmtMs(skopeoExtrapolatedMs),
    '',
    '',
    '',
    '',
  ]);
  rows.push(['probe', `function, 200 images, empty cache (${requests1} requests)`, fmtMs(r1.wallMs), 'vs ideal', ratio.toFixed(2) + 'x', '<= 1.5x', okI]);
  rows.push(['probe', `  first request after ${fmtMs(tl1.firstRequestMs)}, network ${fmtMs(tl1.networkSpanMs)}, exit ${fmtMs(tl1.afterLastMs)} later; concurrency mean ${tl1.meanConcurrency}, max ${tl1.maxConcurrency}; ${tl1.meanRequestMs} ms per request at the proxy, ${tl1.connections} connections`, '', '', '', '', '']);
  rows.push(['probe', '', '', 'speed-up vs skopeo loop', (skopeoExtrapolatedMs / r1.wallMs).toFixed(1) + 'x', '(no target)', '']);
  rows.push(['probe', `function, empty cache, +${PROBE_DELAY_MS} ms per new connection (${tl3.connections} connections)`, fmtMs(r3.wallMs), 'vs ideal', (r3.wallMs / ideal).toFixed(2) + 'x', '(no target)', '']);
  rows.push(['probe', 'function, cached', fmtMs(r2.wallMs), 'requests at proxies', String(requests2), '== 0', okC]);
}

// ---------------------------------------------------------------- probing over TLS and HTTP/2
// The same 200 images on 5 registries, now served over TLS (a CA made here, passed as
// probe.caFile), each behind a TCP-level proxy that delays every packet by half of 50 ms each
// way and holds a new connection's first bytes one round trip (lib/tcp-delay-proxy.mjs), so
// TCP and TLS handshakes cost what they would on a network 50 ms away. Requests are counted in
// the registries' access logs (the proxy only sees encrypted bytes), with their protocol.
async function probingTls() {
  ensureTools([
    { bin: 'docker-registry', pkg: 'docker-registry' },
    { bin: 'skopeo', pkg: 'skopeo' },
    { bin: 'umoci', pkg: 'umoci' },
    { bin: 'htpasswd', pkg: 'apache2-utils' },
    { bin: 'openssl', pkg: 'openssl' },
  ]);
  const dir = join(tmp, 'probe-tls');
  mkdirSync(dir, { recursive: true });
  const setupStart = Date.now();
  const { seed, htpasswd } = await probeSeed();
  needRootForPorts();
  const tlsAddress = (http2, r) => probeAddress((http2 ? 20 : 30) + r);
  const ca = makeCA(join(dir, 'ca'), [true, false].flatMap((h) => Array.from({ length: PROBE_REGISTRIES }, (_, r) => tlsAddress(h, r))));

  /** 5 TLS registries (HTTP/2 on or off) behind delaying TCP proxies, and the resource list probing them. */
  const setUp = async (name, http2) => {
    const shared = {};
    const regs = [];
    const proxies = [];
    const images = [];
    for (let r = 0; r < PROBE_REGISTRIES; r++) {
      const list = registryImages(r);
      const storageDir = join(dir, `${name}-store-${r}`);
      cloneStorage(seed, storageDir, list);
      const reg = await startRegistry({ dir: join(dir, `${name}-registry-${r}`), storageDir, htpasswd: privateRegistry(r) ? htpasswd : undefined, tls: ca, http2, accessLog: true });
      cleanups.push(() => reg.stop());
      const proxy = await startTcpDelayProxy({ upstreamPort: reg.port, rttMs: PROBE_DELAY_MS, shared, listen: { address: tlsAddress(http2, r), port: 443 } });
      cleanups.push(() => proxy.close());
      regs.push(reg);
      proxies.push(proxy);
      for (const { repo, tag } of list) images.push({ ref: `${proxy.host}/${repo}:${tag}`, registry: r, private: privateRegistry(r) });
    }
    const rlFile = join(dir, `${name}-rl.yaml`);
    writeFileSync(rlFile, probeResourceList(images, [`    caFile: ${ca.caFile}`]));
    return { name, http2, shared, regs, proxies, images, rlFile };
  };
  const h2 = await setUp('h2', true);
  const h1 = await setUp('h1', false);

  // Sanity through the delaying proxies: a public image answers over TLS with the CA, a private one asks for a login.
  const check = (img, want) =>
    new Promise((resolve, reject) => {
      const [host, ...rest] = img.ref.split('/');
      const [repo, tag] = rest.join('/').split(':');
      const [hostname, port] = host.split(':');
      const req = https.request({ method: 'HEAD', hostname, port, path: `/v2/${repo}/manifests/${tag}`, ca: ca.ca, headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } }, (res) => {
        res.resume();
        if (res.statusCode !== want) reject(new Error(`probe-tls setup: HEAD ${img.ref} answered ${res.statusCode}, expected ${want}`));
        else resolve();
      });
      req.on('error', reject);
      req.end();
    });
  for (const set of [h2, h1]) {
    await check(set.images[0], 200);
    await check(set.images[set.images.length - 1], 401);
  }
  // The TLS version the registries negotiate decides the handshake's round trips (1.3: one, 1.2: two).
  const tlsVersion = await new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: h2.regs[0].port, ca: ca.ca, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      const v = sock.getProtocol();
      const alpn = sock.alpnProtocol;
      sock.end();
      resolve({ v, alpn });
    });
    sock.on('error', reject);
  });
  if (tlsVersion.alpn !== 'h2') throw new Error(`probe-tls: the registry offered ${tlsVersion.alpn} by ALPN, not h2`);
  const handshakeRtts = 1 + (tlsVersion.v === 'TLSv1.3' ? 1 : 2);
  const setupMs = Date.now() - setupStart;
  log(`probe-tls: 2 x 5 TLS registries (${tlsVersion.v}, ALPN ${tlsVersion.alpn}) ready in ${(setupMs / 1000).toFixed(1)} s`);
  const expectedPrivate = h2.images.filter((i) => i.private).length;

  /** One run of the function against `set`: wall time, requests and protocols from the access logs, connections, timeline. */
  const once = async (set, i) => {
    set.proxies.forEach((p) => p.reset());
    set.shared.connections = 0;
    set.shared.firstAccept = undefined;
    set.shared.lastByte = undefined;
    const offsets = set.regs.map((r) => accessLogRequests(r.logFile).lines - 1);
    const out = join(dir, `${set.name}-out-${i}.yaml`);
    const t0 = performance.now();
    const r = mustSucceed(await fnRun(set.rlFile, out, { timeoutMs: 120_000 }), `function probing over TLS (${set.name})`);
    const rewritten = countProxiedImageLines(out);
    if (rewritten !== expectedPrivate) throw new Error(`probe-tls (${set.name}): function rewrote ${rewritten} images, expected ${expectedPrivate}; see ${out}`);
    await new Promise((res) => setTimeout(res, 100)); // let the registries flush their access logs
    const logs = set.regs.map((reg, k) => accessLogRequests(reg.logFile, offsets[k]));
    const byProtocol = {};
    for (const l of logs) for (const [k, v] of Object.entries(l.byProtocol)) byProtocol[k] = (byProtocol[k] ?? 0) + v;
    return {
      ms: r.wallMs,
      requests: logs.reduce((a, l) => a + l.count, 0),
      byProtocol,
      connections: set.proxies.map((p) => p.connections),
      firstConnectionMs: set.shared.firstAccept === undefined ? null : +(set.shared.firstAccept - t0).toFixed(1),
      lastByteMs: set.shared.lastByte === undefined ? null : +(set.shared.lastByte - t0).toFixed(1),
    };
  };

  // the floor for any Node program's start on this machine, right now
  const nodeTimes = [];
  for (let i = 0; i < 5; i++) nodeTimes.push(mustSucceed(await run(process.execPath, ['-e', ''], {}), "node -e ''").wallMs);
  const nodeMs = median(nodeTimes);
  const runs = { h2: [], h1: [] };
  log(`probe-tls: ${TLS_RUNS} interleaved runs of the function over TLS with HTTP/2 and with HTTP/1.1`);
  for (let i = 0; i < TLS_RUNS; i++) {
    const order = i % 2 ? [h1, h2] : [h2, h1];
    for (const set of order) runs[set.name].push(await once(set, i));
  }
  const summary = (list) => {
    const ms = median(list.map((x) => x.ms));
    const mid = list.find((x) => x.ms === ms) ?? list[0];
    return { ms, mid, all: list };
  };
  const s2 = summary(runs.h2);
  const s1 = summary(runs.h1);
  const ideal = (requests) => (handshakeRtts + requests / PROBE_CONCURRENCY) * PROBE_DELAY_MS;
  const ideal2 = ideal(s2.mid.requests);
  const ratio2 = s2.ms / ideal2;
  const ratio1 = s1.ms / ideal(s1.mid.requests);
  const conns = (x) => x.connections.reduce((a, b) => a + b, 0);
  const protocols = (x) => Object.entries(x.byProtocol).map(([k, v]) => `${v} ${k}`).join(', ');
  results.sections.probeTls = {
    images: h2.images.length,
    registries: PROBE_REGISTRIES,
    rttMs: PROBE_DELAY_MS,
    concurrency: PROBE_CONCURRENCY,
    tls: tlsVersion,
    handshakeRtts,
    setupMs,
    h2: { medianMs: s2.ms, idealMs: ideal2, ratio: ratio2, runs: runs.h2 },
    h1: { medianMs: s1.ms, idealMs: ideal(s1.mid.requests), ratio: ratio1, runs: runs.h1 },
  };
  const okT = target('probe-tls: function time / ideal (handshakes + requests / concurrency x RTT), HTTP/2', ratio2, '<=', 1.3);
  const okC = target('probe-tls: connections per registry over HTTP/2', Math.max(...s2.mid.connections), '==', 1);
  rows.push(['probe-tls', `ideal: ${handshakeRtts} handshake RTTs (TCP + ${tlsVersion.v}) + ${s2.mid.requests} requests / ${PROBE_CONCURRENCY} x ${PROBE_DELAY_MS} ms`, fmtMs(ideal2), '', '', '', '']);
  rows.push(['probe-tls', `function, TLS + HTTP/2, 200 images (${s2.mid.requests} requests: ${protocols(s2.mid)})`, fmtMs(s2.ms), 'vs ideal', ratio2.toFixed(2) + 'x', '<= 1.3x', okT]);
  rows.push([
    'probe-tls',
    `  ${conns(s2.mid)} connections (${s2.mid.connections.join(', ')} per registry); first connection after ${fmtMs(s2.mid.firstConnectionMs)}, last byte at ${fmtMs(s2.mid.lastByteMs)}, exit ${fmtMs(s2.mid.ms - s2.mid.lastByteMs)} later`,
    '',
    'max connections per registry',
    String(Math.max(...s2.mid.connections)),
    '== 1',
    okC,
  ]);
  const span2 = median(runs.h2.map((x) => x.lastByteMs - x.firstConnectionMs));
  // the pings and the first HEADs go out together once a registry's connection is up (docs/probing.md)
  const floorRtts = handshakeRtts + Math.ceil(s2.mid.requests / PROBE_CONCURRENCY);
  rows.push([
    'probe-tls',
    `  network span (first connection to last byte) ${fmtMs(span2)}; the dependency floor is ${floorRtts} RTTs = ${fmtMs(floorRtts * PROBE_DELAY_MS)} (handshakes, then the pings and HEADs 16 at a time); node -e '' takes ${fmtMs(nodeMs)}`,
    '',
    'span vs ideal',
    (span2 / ideal2).toFixed(2) + 'x',
    '(no target)',
    '',
  ]);
  results.sections.probeTls.h2.networkSpanMs = span2;
  results.sections.probeTls.floorRtts = floorRtts;
  results.sections.probeTls.nodeMs = nodeMs;
  rows.push(['probe-tls', `function, TLS + HTTP/1.1 (registries with HTTP/2 off; ${s1.mid.requests} requests: ${protocols(s1.mid)})`, fmtMs(s1.ms), 'vs ideal', ratio1.toFixed(2) + 'x', '(no target)', '']);
  rows.push([
    'probe-tls',
    `  ${conns(s1.mid)} connections; first connection after ${fmtMs(s1.mid.firstConnectionMs)}, last byte at ${fmtMs(s1.mid.lastByteMs)}, exit ${fmtMs(s1.mid.ms - s1.mid.lastByteMs)} later`,
    '',
    '',
    '',
    '',
    '',
  ]);
}

function printTable() {
  const head = ['section', 'measurement', 'median', 'ratio of', 'ratio', 'target', 'met'];
  const body = rows.map((r) => r.map((c) => (c === true ? 'met' : c === false ? 'NOT MET' : String(c))));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  const out = [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)];
  process.stdout.write('\n' + out.join('\n') + '\n\n');
  const met = targets.filter((t) => t.met).length;
  process.stdout.write(`${met} of ${targets.length} targets met; details in ${RESULTS}\n`);
  const m = results.machine;
  process.stdout.write(
    `machine: ${m.nproc} CPUs (${m.cpu}), ${m.memTotalGiB} GiB, node ${m.node}, ${m.kustomize ?? 'kustomize ?'}; ` +
      `load average at start ${m.loadavgAtStart.join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`,
  );
  results.table = out.join('\n');
}

async function main() {
  ensureTools([
    { bin: '/usr/bin/time', pkg: 'time' },
    { bin: 'kubectl', pkg: 'kubectl' },
  ]);
  if (!existsSync(FN)) throw new Error(`bench: ${FN} is missing; run \`npm run build\` first (npm run bench does)`);
  const onSignal = (sig) => {
    log(`${sig}: stopping everything`);
    killAll();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let failed;
  try {
    if (ONLY.has('cold')) await coldStart();
    if (ONLY.has('throughput')) await throughput();
    if (ONLY.has('probe')) await probing();
    if (ONLY.has('probe-tls')) await probingTls();
  } catch (err) {
    failed = err;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        log(`cleanup: ${e.message}`);
      }
    }
    killAll();
    if (!process.env.BENCH_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
  }
  results.elapsedSeconds = Math.round((Date.now() - started) / 1000);
  results.machine.loadavgAtEnd = loadavg().map((x) => +x.toFixed(2));
  if (rows.length) printTable();
  results.error = failed ? String(failed.stack ?? failed) : undefined;
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  log(`done in ${results.elapsedSeconds} s`);
  if (failed) {
    process.stderr.write(`bench failed: ${failed.stack ?? failed}\n`);
    process.exit(1);
  }
  if (STRICT && targets.some((t) => !t.met)) process.exit(2);
}

await main();
