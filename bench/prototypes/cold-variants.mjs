#!/usr/bin/env node
// Cold start of bundle variants on the one-Deployment, glob-only ResourceList,
// interleaved with `node -e ''`, to show what the startup time is made of:
//
//   dist      dist/proxy-private-images.js as built (undici inlined: ~70% of the bytes)
//   split     the same build with esbuild `splitting: true`: the lazily imported probe
//             (undici) goes to a chunk file that a glob-only run never loads
//   split+esm split, and yaml's ESM build (yaml/browser/dist)
//
//   node bench/prototypes/cold-variants.mjs [--runs=21]
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../../scripts/esbuild-options.mjs';
import { mkdtempSync, writeFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, median, killAll } from '../lib/proc.mjs';
import { LICENSE_ID, APP_SLUG } from '../lib/workload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const args = process.argv.slice(2);
const RUNS = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 21);
const tmp = mkdtempSync(join(tmpdir(), 'ppi-cold-'));

async function variant(name, extra) {
  const outdir = join(tmp, name);
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: { 'proxy-private-images': join(ROOT, 'src', 'main.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    minify: true,
    define: { __VERSION__: '"cold"' },
    ...extra,
  });
  const main = join(outdir, 'proxy-private-images.mjs');
  const others = readdirSync(outdir).filter((f) => f !== 'proxy-private-images.mjs');
  return { main, bytes: statSync(main).size, chunks: others.map((f) => `${f} ${statSync(join(outdir, f)).size}`) };
}

try {
  const rl = join(tmp, 'rl.yaml');
  writeFileSync(
    rl,
    `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    selector:
      matchLabels: {app: web}
    template:
      metadata:
        labels: {app: web}
      spec:
        containers:
        - name: web
          image: quay.io/acme/web:1.4.2
functionConfig:
  apiVersion: fn.proxy-private-images.dev/v1alpha1
  kind: ProxyPrivateImages
  metadata: {name: bench}
  appSlug: ${APP_SLUG}
  images:
    private: ["**"]
`,
  );
  const dist = join(ROOT, 'dist', 'proxy-private-images.js');
  const split = await variant('split', { splitting: true });
  const splitEsm = await variant('split-esm', { splitting: true, alias: { yaml: join(ROOT, 'node_modules', 'yaml', 'browser', 'index.js') } });
  const cmds = {
    "node -e ''": [process.execPath, ['-e', '']],
    dist: [process.execPath, [dist]],
    split: [process.execPath, [split.main]],
    'split+esm': [process.execPath, [splitEsm.main]],
  };
  const sizes = { dist: statSync(dist).size, split: split.bytes, 'split+esm': splitEsm.bytes };
  process.stderr.write(`split chunks: ${split.chunks.join(', ')}\n`);
  const env = { ...process.env, LICENSE_ID };
  const names = Object.keys(cmds);
  const t = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await run(cmds[n][0], cmds[n][1], { stdinFile: rl, env });
  for (let i = 0; i < RUNS; i++) {
    for (let j = 0; j < names.length; j++) {
      const n = names[(i + j) % names.length];
      const r = await run(cmds[n][0], cmds[n][1], { stdinFile: rl, env });
      if (r.code !== 0) throw new Error(`${n}: exit ${r.code}: ${r.stderr}`);
      t[n].push(r.wallMs);
    }
  }
  const base = median(t["node -e ''"]);
  process.stdout.write(`\n| variant | main file | median | vs node -e '' |\n|---|---|---|---|\n`);
  for (const n of names) {
    const m = median(t[n]);
    process.stdout.write(`| ${n} | ${sizes[n] ? Math.round(sizes[n] / 1024) + ' KiB' : ''} | ${m.toFixed(0)} ms | ${(m / base).toFixed(2)}x |\n`);
  }
} finally {
  killAll();
  rmSync(tmp, { recursive: true, force: true });
}
