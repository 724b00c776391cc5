#!/usr/bin/env node
// CPU profile of the function on a generated ResourceList (default 10,000 workloads).
//
//   node bench/profile.mjs [--workloads=10000] [--entry=src/main.ts] [--keep]
//
// Builds src/main.ts with the same esbuild options as scripts/bundle.mjs but not
// minified, so each sample can be attributed to its source module through the
// `// path` comments esbuild writes between modules. Runs it under
// `node --cpu-prof`, then prints self time by category and by module, and the
// inclusive time of the src/ functions. The profile stays in a temp dir (--keep keeps it).
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../scripts/esbuild-options.mjs';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './lib/proc.mjs';
import { generate, LICENSE_ID } from './lib/workload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(opt('workloads', '10000'));
const ENTRY = join(ROOT, opt('entry', 'src/main.ts'));
const INTERVAL_US = Number(opt('interval', '1000'));

/** Build an unminified single-file bundle like scripts/bundle.mjs does. */
export async function bundleForProfile(entry, outfile, extra = {}) {
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [entry],
    outfile,
    minify: false,
    define: { __VERSION__: '"profile"' },
    // the yaml build the function ships (scripts/bundle.mjs)
    alias: { yaml: join(ROOT, 'node_modules', 'yaml', 'browser', 'index.js') },
    ...extra,
  });
  chmodSync(outfile, 0o755);
}

/** Map each line of an esbuild bundle to the source module it came from. */
function moduleMap(bundleFile) {
  const lines = readFileSync(bundleFile, 'utf8').split('\n');
  const at = [];
  let cur = '(bundle runtime)';
  for (const line of lines) {
    const m = /^\/\/ (\S+\.(?:js|ts|mjs|cjs|json))$/.exec(line);
    if (m) cur = m[1];
    at.push(cur);
  }
  return at;
}

export function category(mod) {
  if (mod === '((garbage collector))') return 'GC (garbage collector)';
  if (/yaml\/(browser\/)?dist\/parse\//.test(mod)) return 'yaml: lex + parse (CST)';
  if (/yaml\/(browser\/)?dist\/compose\//.test(mod)) return 'yaml: compose (CST -> Document)';
  if (/yaml\/(browser\/)?dist\/stringify\//.test(mod)) return 'yaml: stringify';
  if (/yaml\/(browser\/)?dist\/schema\//.test(mod)) return 'yaml: schema tags (compose)';
  if (/yaml\/(browser\/)?dist\//.test(mod)) return 'yaml: nodes, visit, doc';
  if (mod.startsWith('src/')) return mod.split('/').slice(0, 2).join('/');
  if (mod.includes('undici')) return 'undici';
  if (mod.includes('ajv') || mod.includes('validate-schema')) return 'config validation';
  if (mod.startsWith('node:') || ['((program))', '((idle))', '((root))'].includes(mod)) return 'node runtime / bootstrap / idle';
  if (mod.startsWith('(')) return 'native / regexp / other';
  return mod;
}

export function summarize(profileFile, bundleFile) {
  const p = JSON.parse(readFileSync(profileFile, 'utf8'));
  const at = moduleMap(bundleFile);
  const bundleName = bundleFile.split('/').pop();
  const selfUs = new Map();
  p.samples.forEach((s, i) => selfUs.set(s, (selfUs.get(s) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const modOf = (n) => {
    const cf = n.callFrame;
    if (cf.url.endsWith(bundleName)) return at[cf.lineNumber] ?? '(bundle)';
    if (cf.url) return cf.url.replace(/^file:\/\//, '');
    return `(${cf.functionName || 'native'})`;
  };
  const byCat = new Map();
  const byMod = new Map();
  const byFn = new Map();
  let total = 0;
  for (const n of p.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    total += us;
    const mod = modOf(n);
    const cat = category(mod);
    byCat.set(cat, (byCat.get(cat) ?? 0) + us);
    byMod.set(mod, (byMod.get(mod) ?? 0) + us);
    const k = `${n.callFrame.functionName || '(anonymous)'} (${mod})`;
    byFn.set(k, (byFn.get(k) ?? 0) + us);
  }
  // Inclusive time of src/ functions (recursion counted once).
  const incl = new Map();
  const inclusive = (n) => {
    let t = selfUs.get(n.id) ?? 0;
    for (const c of n.children ?? []) t += inclusive(byId.get(c));
    incl.set(n.id, t);
    return t;
  };
  inclusive(p.nodes[0]);
  const srcIncl = new Map();
  const walk = (n, onStack) => {
    const mod = modOf(n);
    const key = `${n.callFrame.functionName || '(anonymous)'} (${mod})`;
    const first = !onStack.has(key);
    if (first && mod.startsWith('src/')) srcIncl.set(key, (srcIncl.get(key) ?? 0) + incl.get(n.id));
    if (first) onStack.add(key);
    for (const c of n.children ?? []) walk(byId.get(c), onStack);
    if (first) onStack.delete(key);
  };
  walk(p.nodes[0], new Set());
  const top = (m, k) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: +((100 * us) / total).toFixed(1) }));
  return {
    totalMs: Math.round(total / 1000),
    categories: top(byCat, 20),
    modules: top(byMod, 15),
    selfFunctions: top(byFn, 20),
    srcInclusive: top(srcIncl, 20),
  };
}

export function printSummary(s, out = process.stdout) {
  const sect = (title, rows) => {
    out.write(`\n${title}\n`);
    for (const r of rows) out.write(`${String(r.ms).padStart(8)} ms ${String(r.pct).padStart(5)}%  ${r.name}\n`);
  };
  out.write(`profiled CPU time: ${s.totalMs} ms\n`);
  sect('self time by category', s.categories);
  sect('self time by module', s.modules);
  sect('self time by function', s.selfFunctions);
  sect('inclusive time of src/ functions', s.srcInclusive);
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'ppi-profile-'));
  try {
    const bundle = join(tmp, 'fn.mjs');
    await bundleForProfile(ENTRY, bundle);
    const input = join(tmp, 'rl.yaml');
    writeFileSync(input, generate(N).resourceList);
    const profDir = join(tmp, 'prof');
    process.stderr.write(`profile: ${N} workloads, ${ENTRY.replace(ROOT + '/', '')} unminified, --cpu-prof-interval ${INTERVAL_US} us\n`);
    const r = await run(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${INTERVAL_US}`, bundle], {
      stdinFile: input,
      stdoutFile: join(tmp, 'out.yaml'),
      env: { ...process.env, LICENSE_ID },
      rss: true,
      tmpDir: tmp,
      timeoutMs: 300_000,
    });
    if (r.code !== 0) throw new Error(`function failed (${r.code}): ${r.stderr.slice(0, 1000)}`);
    const prof = join(profDir, readdirSync(profDir)[0]);
    const s = summarize(prof, bundle);
    process.stdout.write(`wall ${(r.wallMs / 1000).toFixed(2)} s, peak RSS ${(r.rssKB / 1024).toFixed(0)} MB\n`);
    printSummary(s);
    if (args.includes('--keep')) process.stderr.write(`kept ${tmp}\n`);
  } finally {
    if (!args.includes('--keep')) rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
