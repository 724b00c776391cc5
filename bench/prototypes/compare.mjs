#!/usr/bin/env node
// Compares bundle variants on the generated throughput workloads, to back the
// proposals in bench/README.md with numbers:
//
//   fn             dist/proxy-private-images.js as built by `npm run build`
//   fn+yaml-esm    src/main.ts bundled the same way, but with yaml's ESM build
//                  (yaml/browser/dist), which has no per-token process.env lookup
//   floor          yaml parseDocument + toString (yaml's node build), as in run.mjs
//   floor+yaml-esm the same with yaml's ESM build
//   cst            bench/prototypes/cst-rewrite.mjs: the same rewrite on yaml's CST
//                  (Parser tokens) with source splicing, yaml ESM build
//
//   node bench/prototypes/compare.mjs [--sizes=1000,10000] [--runs=2] [--variants=a,b]
//
// At the smallest size it checks that cst's output has the same items as fn's.
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../../scripts/esbuild-options.mjs';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { run, median, killAll } from '../lib/proc.mjs';
import { generate, LICENSE_ID } from '../lib/workload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const args = process.argv.slice(2);
const opt = (n, d) => args.find((a) => a.startsWith(`--${n}=`))?.slice(n.length + 3) ?? d;
const SIZES = opt('sizes', '1000,10000').split(',').map(Number);
const RUNS = Number(opt('runs', '2'));
const YAML_ESM = join(ROOT, 'node_modules', 'yaml', 'browser', 'index.js');

const tmp = mkdtempSync(join(tmpdir(), 'ppi-compare-'));

async function bundle(entry, outfile, { yamlEsm = false, minify = true } = {}) {
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [entry],
    outfile,
    minify,
    define: { __VERSION__: '"compare"' },
    alias: yamlEsm ? { yaml: YAML_ESM } : {},
  });
  chmodSync(outfile, 0o755);
  return outfile;
}

function itemsOf(file) {
  const rl = parse(readFileSync(file, 'utf8'), { maxAliasCount: -1 });
  return {
    items: rl.items.map((i) => JSON.stringify(i)).sort(),
    results: rl.results?.length ?? 0,
  };
}

async function main() {
  const variants = {
    fn: join(ROOT, 'dist', 'proxy-private-images.js'),
    'fn+yaml-esm': await bundle(join(ROOT, 'src', 'main.ts'), join(tmp, 'fn-esm.mjs'), { yamlEsm: true }),
    floor: await bundle(join(HERE, '..', 'lib', 'floor.mjs'), join(tmp, 'floor.mjs')),
    'floor+yaml-esm': await bundle(join(HERE, '..', 'lib', 'floor.mjs'), join(tmp, 'floor-esm.mjs'), { yamlEsm: true }),
    cst: await bundle(join(HERE, 'cst-rewrite.mjs'), join(tmp, 'cst.mjs'), { yamlEsm: true }),
  };
  const chosen = opt('variants', Object.keys(variants).join(',')).split(',');
  const table = [];
  for (const n of SIZES) {
    const input = join(tmp, `rl-${n}.yaml`);
    writeFileSync(input, generate(n).resourceList);
    const res = Object.fromEntries(chosen.map((v) => [v, { ms: [], kb: [], cpu: [] }]));
    for (let i = 0; i < RUNS; i++) {
      for (const v of i % 2 ? [...chosen].reverse() : chosen) {
        const r = await run(process.execPath, [variants[v]], {
          stdinFile: input,
          stdoutFile: join(tmp, `out-${v}-${n}.yaml`),
          env: { ...process.env, LICENSE_ID },
          rss: true,
          tmpDir: tmp,
          timeoutMs: 300_000,
        });
        if (r.code !== 0) throw new Error(`${v} at ${n}: exit ${r.code}: ${r.stderr.slice(0, 800)}`);
        res[v].ms.push(r.wallMs);
        res[v].kb.push(r.rssKB);
        res[v].cpu.push(r.cpuMs);
        process.stderr.write(`  ${n} ${v}: ${(r.wallMs / 1000).toFixed(2)} s, cpu ${(r.cpuMs / 1000).toFixed(2)} s, ${(r.rssKB / 1024).toFixed(0)} MB\n`);
      }
    }
    for (const v of chosen) table.push({ workloads: n, variant: v, medianS: +(median(res[v].ms) / 1000).toFixed(2), cpuS: +(median(res[v].cpu) / 1000).toFixed(2), peakRssMB: Math.round(median(res[v].kb) / 1024) });
    if (n === SIZES[0] && chosen.includes('cst') && chosen.includes('fn')) {
      const a = itemsOf(join(tmp, `out-fn-${n}.yaml`));
      const b = itemsOf(join(tmp, `out-cst-${n}.yaml`));
      const same = a.items.length === b.items.length && a.items.every((x, i) => x === b.items[i]);
      process.stdout.write(`cst vs fn at ${n}: items ${same ? 'identical' : 'DIFFER'} (${a.items.length} vs ${b.items.length}), results ${a.results} vs ${b.results}\n`);
    }
  }
  const floorOf = (n) => table.find((r) => r.workloads === n && r.variant === 'floor');
  process.stdout.write('\n| workloads | variant | median time | cpu time | peak RSS | time / floor | cpu / floor | RSS / floor |\n|---|---|---|---|---|---|---|---|\n');
  for (const r of table) {
    const f = floorOf(r.workloads);
    process.stdout.write(
      `| ${r.workloads} | ${r.variant} | ${r.medianS} s | ${r.cpuS} s | ${r.peakRssMB} MB | ${f ? (r.medianS / f.medianS).toFixed(2) + 'x' : ''} | ${f ? (r.cpuS / f.cpuS).toFixed(2) + 'x' : ''} | ${f ? (r.peakRssMB / f.peakRssMB).toFixed(2) + 'x' : ''} |\n`,
    );
  }
}

try {
  await main();
} finally {
  killAll();
  if (!args.includes('--keep')) rmSync(tmp, { recursive: true, force: true });
}
